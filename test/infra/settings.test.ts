/** The CDK context settings: the functions' schema, read from `-c` strings and cdk.json JSON alike, refused before anything is synthesized. */
import { Construct } from 'constructs';
import { readSettings } from '../../infra/settings';

/**
 * Context set as an App sets it, on a bare construct tree: `new App()` without an outdir makes a
 * `cdk.out*` folder in the temporary directory that nothing would remove.
 */
function read(context: Record<string, unknown>) {
  const root = new Construct(undefined as never, '');
  for (const [k, v] of Object.entries(context)) root.node.setContext(k, v);
  return readSettings(root.node);
}

describe('CDK context settings', () => {
  it.each([
    [{ rolePath: 'msf-cmk' }, /^Invalid CDK context: rolePath: must match pattern/],
    [{ rolePath: '/' }, /^Invalid CDK context: rolePath: must match pattern/],
    [{ operatorRolePrefix: 'has space' }, /^Invalid CDK context: operatorRolePrefix: must match pattern/],
    [{ aliasPrefix: 'no-trailing-slash' }, /^Invalid CDK context: aliasPrefix: must match pattern/],
    [{ aliasPrefix: 'aws/keys/' }, /^Invalid CDK context: aliasPrefix: alias\/aws\/ is reserved/],
    [{ autoOnboarding: 'yes' }, /^Invalid CDK context: autoOnboarding: must be boolean$/],
    [{ pendingWindowDays: '6' }, /^Invalid CDK context: pendingWindowDays: must be >= 7$/],
    [{ pendingWindowDays: 31 }, /^Invalid CDK context: pendingWindowDays: must be <= 30$/],
    [{ keyAdminRoleName: 'msf-cmk-operator-admins' }, /^Invalid CDK context: keyAdminRoleName: .* starts with operatorRolePrefix/],
    [{ requestBusName: 'default' }, /^Invalid CDK context: requestBusName: must match pattern/],
    [{ requestPrincipals: 'arn:aws:iam::111122223333:role/a,alice' }, /^Invalid CDK context: requestPrincipals\/1: must match pattern/],
    [{ requestPrincipals: '[]' }, /^Invalid CDK context: requestPrincipals: must NOT have fewer than 1 items$/],
    [{ defaultBusRequests: 'maybe' }, /^Invalid CDK context: defaultBusRequests: must be boolean$/],
  ])('refuses %j', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('defaults to the schema defaults: auto-onboarding off, a 30-day pending window, no delegation to IAM, requests on their own bus from the account only', () => {
    expect(read({})).toEqual({
      rolePath: '/msf-cmk/',
      operatorRolePrefix: 'msf-cmk-operator-',
      keyAdminRoleName: 'MsfCmkKeyAdmin',
      aliasPrefix: 'msf-cmk/',
      lockTableName: 'msf-cmk-onboarding-locks',
      pendingWindowDays: 30,
      delegateToAccount: false,
      keyDeletionGuard: false,
      autoOnboarding: false,
      dailyAudit: false,
      hourlySweep: false,
      securityHubFindings: false,
      requestBusName: 'msf-cmk-onboarding-requests',
      defaultBusRequests: false,
    });
  });

  it('reads requestPrincipals as a comma-separated list from `-c` and as a JSON array from cdk.json', () => {
    // Prepare
    const principals = ['arn:aws:iam::111122223333:role/path/requester', '444455556666'];
    // Act
    const read2 = [
      read({ requestPrincipals: principals.join(',') }),
      read({ requestPrincipals: JSON.stringify(principals) }),
      read({ requestPrincipals: principals }),
    ];
    // Assess
    expect(read2.map((s) => s.requestPrincipals)).toEqual([principals, principals, principals]);
  });

  it('takes values from `-c` (strings) and from cdk.json (JSON) alike', () => {
    // Prepare
    const fromCli = {
      autoOnboarding: 'true',
      pendingWindowDays: '7',
      rolePath: '/a/b/',
      operatorRolePrefix: 'op-',
      aliasPrefix: 'x/',
      delegateToAccount: 'true',
      keyDeletionGuard: 'true',
    };
    const fromJson = {
      autoOnboarding: true,
      pendingWindowDays: 7,
      rolePath: '/a/b/',
      operatorRolePrefix: 'op-',
      aliasPrefix: 'x/',
      delegateToAccount: true,
      keyDeletionGuard: true,
    };
    // Act
    const settings = [read(fromCli), read(fromJson), read({ autoOnboarding: 'false' }).autoOnboarding];
    // Assess
    const expected = {
      rolePath: '/a/b/',
      operatorRolePrefix: 'op-',
      keyAdminRoleName: 'MsfCmkKeyAdmin',
      aliasPrefix: 'x/',
      lockTableName: 'msf-cmk-onboarding-locks',
      autoOnboarding: true,
      pendingWindowDays: 7,
      delegateToAccount: true,
      keyDeletionGuard: true,
      requestBusName: 'msf-cmk-onboarding-requests',
      defaultBusRequests: false,
      dailyAudit: false,
      hourlySweep: false,
      securityHubFindings: false,
    };
    expect(settings).toEqual([expected, expected, false]);
  });
});
