/** The key admin's reach beyond the workflow's own keys, evaluated with the sandbox's policy engine. */
import { evaluate } from '../../local/sandbox/authz';
import { keyAdminPolicy } from '../../lambdas/lib/policies';

const A = '000000000000';
const ADMIN_SESSION = `arn:aws:sts::${A}:assumed-role/MsfCmkKeyAdmin/s1`;
const FOREIGN_KEY = `arn:aws:kms:us-east-1:${A}:key/11111111-2222-3333-4444-555555555555`;
// Another team's key with KMS's default policy: IAM policies in the account count for it.
const DELEGATING = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' }],
};

const decide = (action: string, resourceTags: Record<string, string> = {}) =>
  evaluate({
    principal: ADMIN_SESSION,
    action,
    resource: FOREIGN_KEY,
    resourceAccount: A,
    context: {
      'aws:PrincipalArn': `arn:aws:iam::${A}:role/msf-cmk/MsfCmkKeyAdmin`,
      ...Object.fromEntries(Object.entries(resourceTags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
    },
    identityPolicies: [{ name: 'admin', document: keyAdminPolicy({ scope: { account: A, region: 'us-east-1' }, aliasPrefix: 'msf-cmk/' }) as never }],
    resourcePolicy: DELEGATING,
  }).decision;

describe('key admin on keys the workflow does not manage', () => {
  it.each(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:RevokeGrant'])(
    "may not %s another team's key, even one whose policy delegates to IAM",
    (action) => {
      expect(decide(action)).toBe('ImplicitlyDenied');
    },
  );

  it('may read it (DescribeKey, GetKeyPolicy) to check a key named for adoption', () => {
    expect(decide('kms:DescribeKey')).toBe('Allowed');
    expect(decide('kms:GetKeyPolicy')).toBe('Allowed');
  });

  it("may manage a key that carries the workflow's managed-by tag", () => {
    expect(decide('kms:PutKeyPolicy', { 'managed-by': 'msf-cmk-orchestrator' })).toBe('Allowed');
  });
});
