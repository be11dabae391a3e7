/**
 * A fleet at account scale (issue 9): many applications in one account onboard through one OnboardFleet
 * execution with per-application operator roles and zero IAM or KMS limit errors, and the 11th, 17th and
 * 101st applications' operator roles and keys are checked one by one — counts where a shared role holding
 * one grant per key would have run out of IAM's per-role room (10 managed policies, 10,240 characters inline;
 * the shared operator model has one constant policy instead: shared-operator-scale.test.ts). In-process
 * runner, zero latencies, the sandbox's resource limits on (its
 * request rates off, as in every workflow test: the runner retries at once; `npm run bench:fleet` runs 200
 * with the rates on and real backoff on a virtual clock).
 */
import { ACCOUNT, REGION, operatorArn, world, type World } from '../workflow/harness';
import { DEFAULT_LIMITS } from '../../local/sandbox/quotas';
import { findRole } from '../../local/sandbox/lookup';

/**
 * 101 by default, the smallest fleet that crosses the 101st: an onboarding costs 60–170 ms of CPU here, so
 * 200 (about 20–35 s) would be a third of `npm test`; 101 keeps it near 10 s. FLEET_N=200 runs the issue's
 * 200 (as `npm run bench:fleet` does, with request rates on).
 */
const N = Number(process.env.FLEET_N ?? 101);
const name = (i: number) => `app-${String(i).padStart(3, '0')}`;
const size = (d: unknown) => JSON.stringify(d).replace(/\s/g, '').length;

describe(`a fleet of ${N} applications in one account`, () => {
  let w: World;
  afterEach(() => w?.close());

  it('plans it with zero writes, then onboards every one with its own operator role and key making exactly the planned writes, no IAM or KMS limit error; the 11th, 17th and 101st checked one by one', async () => {
    // Prepare: two in three READY, one in three RUNNING (its onboarding restarts it), created in order.
    w = await world();
    for (let i = 1; i <= N; i++) await w.existingApp(name(i), { running: i % 3 === 0 });
    const before = w.sb.sandbox.snapshot();

    // Act
    const plan = await w.operation('onboard-fleet').run({ maxConcurrency: 25, mode: 'plan' });
    const planDiff = w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'));
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.operation('onboard-fleet').run({ maxConcurrency: 25 });

    // Assess: the plan wrote nothing and listed exactly the writes the run made (service:operation, as a multiset).
    expect({ status: plan.status, planDiff }).toEqual({ status: 'SUCCEEDED', planDiff: [] });
    const planned = plan.output.applications.flatMap((a: any) => (a.changes ?? []).map((c: any) => c.action)).sort();
    const writes = w.sb.sandbox.faults.log
      .filter((e) => e.outcome === 'OK' && !/^(Describe|Get|List)/.test(e.operation) && !['AssumeRole', 'Decrypt', 'GenerateDataKey'].includes(e.operation))
      .filter((e) => e.service !== 'dynamodb')
      .map((e) => `${e.service}:${e.operation}`)
      .sort();
    expect(planned.length).toBeGreaterThan(N * 4);
    expect(writes).toEqual(planned);
    // All onboarded, and no call refused for a limit or a rate.
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.counts).toEqual({ selected: N, succeeded: N, failed: 0, skipped: 0 });
    const refused = w.sb.sandbox.faults.log.filter((e) => /LimitExceeded|Throttl|TooManyRequests/.test(e.outcome));
    expect(refused).toEqual([]);
    const state = w.sb.sandbox.state;
    const operators = Object.values(state.iam.roles).filter((r) => r.RoleName.startsWith('msf-cmk-operator-'));
    expect(operators).toHaveLength(N);
    const lines = Object.fromEntries(result.output.applications.map((a: any) => [a.applicationName, a]));
    for (const i of new Set([1, 11, 17, 101, N].filter((x) => x <= N))) {
      const app = name(i);
      const role = findRole(state, operatorArn(app))!;
      const key = Object.values(state.kms.keys).find((k) => k.Arn === lines[app].keyArn)!;
      // Its own role: two inline policies (base, and the grant on its own key), no managed policy, far within IAM's per-role limits.
      expect(Object.keys(role.InlinePolicies).sort()).toEqual(['msf-cmk-base', `msf-cmk-key-${key.KeyId}`]);
      expect(role.AttachedPolicyArns).toEqual([]);
      const inline = Object.values(role.InlinePolicies).reduce((n, d) => n + size(d), 0);
      expect(inline).toBeLessThan(DEFAULT_LIMITS.iam.RolePolicySize.value / 4);
      expect(size(role.AssumeRolePolicyDocument)).toBeLessThan(DEFAULT_LIMITS.iam.AssumeRolePolicySize.value);
      // The grant names this application's key and this application only; the key's policy names this operator.
      const grant = JSON.stringify(role.InlinePolicies[`msf-cmk-key-${key.KeyId}`]);
      expect(grant).toContain(key.Arn);
      expect(new Set(grant.match(/application\/[\w.-]+/g))).toEqual(new Set([`application/${app}`]));
      expect(key.KeyState).toBe('Enabled');
      expect(key.Policy).toContain(role.Arn);
      expect(key.Policy).toContain(`arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/${app}`);
      expect((await w.describe(app)).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({
        KeyType: 'CUSTOMER_MANAGED_KEY',
        KeyId: key.Arn,
      });
      expect((await w.describe(app)).ApplicationStatus).toBe(i % 3 === 0 ? 'RUNNING' : 'READY');
    }
  });
});
