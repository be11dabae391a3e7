/**
 * Fleet sizing of the operator model (issue 9): each application has its own operator role, so its IAM
 * footprint is constant — one role, two inline policies, no managed policy — and the account's 1,000-role
 * quota, not the 10-managed-policies-per-role quota, bounds a fleet. Sizes as IAM counts them
 * (characters, whitespace not counted), for the longest application name Managed Flink allows.
 */
import { applicationArn, operatorRoleName, type Scope } from '../../lambdas/lib/names';
import { operatorBasePolicy, operatorCmkPolicy } from '../../lambdas/lib/policies';
import { DEFAULT_LIMITS } from '../../local/sandbox/quotas';

const SCOPE: Scope = { partition: 'aws', region: 'ap-southeast-2', account: '111122223333' } as Scope;
const size = (d: unknown) => JSON.stringify(d).replace(/\s/g, '').length;
const longName = (i: number) => `app-${String(i).padStart(4, '0')}-`.padEnd(128, 'x'); // MSF names: ≤128

describe('per-application operator roles within IAM per-role limits', () => {
  const footprint = (i: number) => {
    const app = applicationArn(SCOPE, longName(i));
    const key = `arn:aws:kms:${SCOPE.region}:${SCOPE.account}:key/1234abcd-12ab-34cd-56ef-${String(i).padStart(12, '0')}`;
    const base = operatorBasePolicy({
      scope: SCOPE,
      applicationArn: app,
      createWithExecutionRoleArn: `arn:aws:iam::${SCOPE.account}:role/exec`,
      createRequestTag: { Key: 'managed-by', Value: 'msf-cmk-orchestrator' },
    });
    return size(base) + size(operatorCmkPolicy({ scope: SCOPE, keyArn: key, applicationArn: app }));
  };

  it.each([1, 11, 17, 101, 200])('application %i: its operator role inline policies stay under 10,240 characters and no managed policy is attached', (i) => {
    expect(footprint(i)).toBeLessThan(DEFAULT_LIMITS.iam.RolePolicySize.value);
    // The footprint does not grow with the fleet: the 200th application costs what the first does.
    expect(footprint(i)).toBe(footprint(1));
  });

  it('200 applications need 200 distinct operator roles, within the 1,000 roles per account', () => {
    const names = new Set(Array.from({ length: 200 }, (_, i) => operatorRoleName({ operatorRolePrefix: 'msf-cmk-operator-' }, longName(i))));
    expect(names.size).toBe(200);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
    expect(names.size).toBeLessThan(DEFAULT_LIMITS.iam.RolesPerAccount.value);
  });
});
