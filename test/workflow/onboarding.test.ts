import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keyPolicy } from '../../lambdas/lib/policies';
import { steps } from '../../lambdas/steps';
import { ACCOUNT, defaultHandlers, newAppInput, world, type World } from './harness';

const KEY_ARN = expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);

/** Resources the workflow manages, counted in the sandbox's own state. */
function counts(w: World) {
  const s = w.sb.sandbox.state;
  return {
    keys: Object.keys(s.kms.keys).length,
    aliases: Object.keys(s.kms.aliases).length,
    managedRoles: Object.values(s.iam.roles).filter((r) => r.Path === '/msf-cmk/').length,
    managedPolicies: Object.values(s.iam.policies).filter((p) => p.Path === '/msf-cmk/').length,
  };
}

/** A key the platform team made (as root) whose policy already names the workflow's roles and this application. */
async function platformKey(w: World, app: string) {
  const policy = keyPolicy({
    scope: { account: ACCOUNT, region: 'us-east-1' },
    applicationArn: `arn:aws:kinesisanalytics:us-east-1:${ACCOUNT}:application/${app}`,
    operatorRoleArn: `arn:aws:iam::${ACCOUNT}:role/msf-cmk/MsfCmkOperator`,
    keyAdminRoleArn: `arn:aws:iam::${ACCOUNT}:role/msf-cmk/MsfCmkKeyAdmin`,
    delegateToAccount: true,
  });
  return (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }))).KeyMetadata!;
}

describe('OnboardApplication end to end on the sandbox (real ASL, real handlers)', () => {
  let w: World;
  afterEach(() => w?.close());

  it('creates a new application with the AWS owned key, then moves it onto a new CMK', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const result = await w.machine().run(newAppInput('orders'));
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.output).toMatchObject({
      applicationName: 'orders',
      encryption: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: KEY_ARN },
      previousEncryption: { KeyType: 'AWS_OWNED_KEY' },
      created: { operatorRole: true, keyAdminRole: true, application: true, key: true, cmkPolicy: true },
    });
    const app = await w.describe('orders');
    expect(app.ApplicationStatus).toBe('READY');
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: result.output.key.keyArn });
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, managedRoles: 2, managedPolicies: 1 });
  });

  it('moves an existing READY application and keeps it READY', async () => {
    w = await world();
    await w.existingApp('ledger');
    const result = await w.machine().run({ applicationName: 'ledger' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.created.application).toBe(false);
    expect((await w.describe('ledger')).ApplicationStatus).toBe('READY');
  });

  it('moves a RUNNING application: MSF snapshots it under the AWS owned key and restarts it on the CMK', async () => {
    w = await world({ flinkDurations: { start: 50, update: 50 } });
    await w.existingApp('clickstream', { running: true });
    const before = await w.describe('clickstream');
    const result = await w.machine({ waitMs: 60 }).run({ applicationName: 'clickstream' });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const after = await w.describe('clickstream');
    expect(after.ApplicationStatus).toBe('RUNNING');
    expect(after.ApplicationVersionId).toBe(before.ApplicationVersionId! + 1);
    // The restart went through UPDATING, seen by at least one poll.
    const polls = result.events.filter((e) => e.type === 'StateEntered' && e.state.name === 'CheckUpdate');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    const snapshots = Object.values(w.sb.sandbox.state.kinesisanalytics.snapshots).filter((s) => s.ApplicationName === 'clickstream');
    expect(snapshots.map((s) => s.Encryption)).toContainEqual({ KeyType: 'AWS_OWNED_KEY' });
  });

  it('fails at EnsureApplication with UnsupportedRuntime for FLINK-1_18, before any key exists', async () => {
    w = await world();
    await w.existingApp('legacy', { runtime: 'FLINK-1_18' });
    const result = await w.machine().run({ applicationName: 'legacy' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'UnsupportedRuntime', cause: expect.stringContaining('FLINK-1_18') });
    const failedAt = result.events.find((e) => e.type === 'StateFailed');
    expect(failedAt).toMatchObject({ state: { name: 'EnsureApplication' } });
    expect(counts(w).keys).toBe(0);
  });

  it('fails at EnsureApplication with ApplicationNotFound when the application is missing and no createApplication spec is given', async () => {
    w = await world();
    const result = await w.machine().run({ applicationName: 'ghost' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ApplicationNotFound', cause: expect.stringContaining('ghost') });
    expect(counts(w).keys).toBe(0);
  });

  it('ends a bad input at ValidateInput with InvalidInput naming the field, having made no AWS call', async () => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run({ applicationName: 'orders', rolePath: 'no-slashes' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('rolePath') });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });

  it('retries IAM eventual consistency (fresh roles invisible to STS and KMS) and succeeds without duplicates', async () => {
    w = await world({ iamPropagationDelayMs: 300 });
    await w.ensureExecRole('orders');
    const retriedErrors: string[] = [];
    const result = await w.machine({ retryScale: 0.05 }).run(newAppInput('orders'), { onTaskError: (_s, e) => retriedErrors.push(e.name) });
    expect(result.status).toBe('SUCCEEDED');
    expect(retriedErrors).toContain('RoleNotYetAssumable');
    expect(result.events.some((e) => e.type === 'StateRetried')).toBe(true);
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, managedRoles: 2, managedPolicies: 1 });
  });

  it('retries injected throttling on IAM, KMS and Managed Flink writes and succeeds without duplicates', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const f = w.sb.sandbox.faults;
    f.throttle('iam', 'CreateRole', 2);
    f.throttle('kms', 'CreateKey', 2);
    f.throttle('iam', 'AttachRolePolicy', 2);
    f.throttle('kinesisanalytics', 'UpdateApplication', 2);
    const result = await w.machine().run(newAppInput('orders'));
    expect(result.status).toBe('SUCCEEDED');
    expect(f.pending()).toEqual([]);
    const retried = result.events.filter((e) => e.type === 'StateRetried').map((e) => (e as { state: { name: string } }).state.name);
    expect(retried).toEqual(expect.arrayContaining(['EnsureOperatorRole', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk']));
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, managedRoles: 2, managedPolicies: 1 });
  });

  it('is idempotent: a second run of the same input converges with no second key, role or policy', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const first = await w.machine().run(newAppInput('orders'));
    const second = await w.machine().run(newAppInput('orders'));
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output.key.keyArn).toBe(first.output.key.keyArn);
    expect(second.output.created).toEqual({ operatorRole: false, keyAdminRole: false, application: false, key: false, cmkPolicy: false });
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, managedRoles: 2, managedPolicies: 1 });
  });

  it('adopts an existing key named in the input after checking its policy', async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.ensureExecRole('orders');
    // A first onboarding makes the operator and key-admin roles that the platform's own key will name.
    await w.machine().run(newAppInput('orders'));
    const key = await platformKey(w, 'ledger');
    const result = await w.machine().run({ applicationName: 'ledger', keyId: key.Arn });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { key: { keyArn: key.Arn, adopted: true, created: false } } });
    expect(counts(w).keys).toBe(2);
  });

  it('moves an application from one CMK to another keeping the operator\'s rights on both (facts §5 CMK#1 → CMK#2)', async () => {
    w = await world();
    await w.existingApp('ledger');
    const first = await w.machine().run({ applicationName: 'ledger' });
    const second = await platformKey(w, 'ledger');
    const result = await w.machine().run({ applicationName: 'ledger', keyId: second.Arn });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { encryption: { KeyId: second.Arn }, previousEncryption: { KeyId: first.output.key.keyArn } } });
    const attached = w.sb.sandbox.state.iam.roles.MsfCmkOperator.AttachedPolicyArns;
    expect(attached).toEqual(expect.arrayContaining([first.output.operatorPolicies.cmk, result.output.operatorPolicies.cmk]));
    expect(result.output.operatorPolicies.cmk).not.toBe(first.output.operatorPolicies.cmk);
  });

  it('refuses to adopt a key whose policy does not name the application', async () => {
    w = await world();
    await w.existingApp('ledger');
    const key = (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({}))).KeyMetadata!;
    const result = await w.machine().run({ applicationName: 'ledger', keyId: key.Arn, delegateToAccount: true });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('application/ledger') });
    expect((await w.describe('ledger')).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType ?? 'AWS_OWNED_KEY').toBe('AWS_OWNED_KEY');
  });
});

describe('ordering proof: each step refuses to act without its precondition, and nothing is half switched', () => {
  let w: World;
  afterEach(() => w?.close());

  const encryptionOf = async (name: string) =>
    (await w.describe(name)).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription ?? { KeyType: 'AWS_OWNED_KEY' };

  /** Runs with a sandbox-side change made right after `afterStep` succeeds. */
  async function runWithHook(input: object, afterStep: string, hook: (output: any) => void) {
    const handlers = defaultHandlers();
    const original = handlers[afterStep];
    handlers[afterStep] = async (event) => {
      const out = await original(event);
      hook(out);
      return out;
    };
    return w.machine({ handlers }).run(input);
  }

  it('SwitchApplicationToCmk ends in PreconditionFailed when the operator CMK policy was detached just before it', async () => {
    w = await world();
    await w.existingApp('ledger');
    const before = await w.describe('ledger');
    const result = await runWithHook({ applicationName: 'ledger' }, 'GrantOperatorKeyAccess', (out) => {
      const role = w.sb.sandbox.state.iam.roles['MsfCmkOperator'];
      role.AttachedPolicyArns = role.AttachedPolicyArns.filter((a) => a !== out.policyArn);
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('is not attached') });
    expect(await encryptionOf('ledger')).toEqual({ KeyType: 'AWS_OWNED_KEY' });
    expect((await w.describe('ledger')).ApplicationVersionId).toBe(before.ApplicationVersionId);
  });

  it.each(['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'])(
    'the switch is refused by Managed Flink when the key policy lost %s, and the application keeps the AWS owned key',
    async (principal) => {
      w = await world();
      await w.existingApp('ledger');
      const result = await runWithHook({ applicationName: 'ledger' }, 'CreateKey', (out) => {
        const key = w.sb.sandbox.state.kms.keys[out.keyId];
        const policy = JSON.parse(key.Policy);
        policy.Statement = policy.Statement.flatMap((s: any) => {
          const services = [s.Principal?.Service ?? []].flat().filter((p: string) => p !== principal);
          if (!s.Principal?.Service) return [s];
          return services.length ? [{ ...s, Principal: { Service: services.length === 1 ? services[0] : services } }] : [];
        });
        key.Policy = JSON.stringify(policy);
      });
      expect(result.status).toBe('FAILED');
      expect(result.events.find((e) => e.type === 'StateFailed')).toMatchObject({ state: { name: 'SwitchApplicationToCmk' } });
      expect(result.cause).toContain(principal);
      expect(await encryptionOf('ledger')).toEqual({ KeyType: 'AWS_OWNED_KEY' });
    },
  );

  it('the switch is refused by Managed Flink when the key was disabled after it was created', async () => {
    w = await world();
    await w.existingApp('ledger');
    const result = await runWithHook({ applicationName: 'ledger' }, 'GrantOperatorKeyAccess', () => {
      for (const k of Object.values(w.sb.sandbox.state.kms.keys)) k.KeyState = 'Disabled';
    });
    expect(result.status).toBe('FAILED');
    expect(result.cause).toMatch(/disabled|Disabled/);
    expect(await encryptionOf('ledger')).toEqual({ KeyType: 'AWS_OWNED_KEY' });
  });

  it.each([
    ['CreateKey', 'the operator role and the application'],
    ['GrantOperatorKeyAccess', 'the key and the application'],
    ['SwitchApplicationToCmk', 'the key first'],
    ['VerifyEncryption', 'after the switch'],
  ])('%s called without its predecessors throws PreconditionFailed and makes no AWS call', async (step, words) => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    Object.assign(process.env, w.env);
    const state = {
      config: { applicationName: 'ledger', aliasPrefix: 'msf-cmk/', operatorRoleName: 'MsfCmkOperator', keyAdminRoleName: 'MsfCmkKeyAdmin', rolePath: '/msf-cmk/', delegateToAccount: false, pendingWindowDays: 30, lockTableName: 'msf-cmk-onboarding-locks', tags: {} },
      context: { partition: 'aws', account: ACCOUNT, region: 'us-east-1', orchestratorRoleArn: w.orchestratorArn, executionId: 'e', executionName: 'e' },
    };
    await expect(steps[step].handler(state)).rejects.toMatchObject({ name: 'PreconditionFailed', message: expect.stringContaining(words) });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });
});
