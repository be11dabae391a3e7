/**
 * OnboardApplication end to end on the sandbox: the real ASL and the real handlers on the local runner,
 * acting as the deployment's orchestrator, key administrator and each application's own operator.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keyPolicy } from '../../lambdas/lib/policies';
import { steps } from '../../lambdas/steps';
import type { RequestLogEntry } from '../../local/sandbox/faults';
import { ACCOUNT, KEY_ADMIN_ARN, REGION, appArn, defaultHandlers, newAppInput, operatorArn, world, type World, accountChanges } from './harness';

const KEY_ARN = expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);

/** Resources the workflow manages, counted in the sandbox's own state. */
function counts(w: World) {
  const s = w.sb.sandbox.state;
  const operators = Object.values(s.iam.roles).filter((r) => r.Path === '/msf-cmk/');
  return {
    keys: Object.keys(s.kms.keys).length,
    aliases: Object.keys(s.kms.aliases).length,
    operatorRoles: operators.length,
    inlinePolicies: operators.flatMap((r) => Object.keys(r.InlinePolicies)).length,
    managedPolicies: Object.values(s.iam.policies).filter((p) => p.Path === '/msf-cmk/').length,
  };
}

/** Writes in a request log: every call that is not a read or an AssumeRole. */
const writes = (log: RequestLogEntry[]) =>
  log.filter((e) => !/^(Get|List|Describe)/.test(e.operation) && e.operation !== 'AssumeRole').map((e) => `${e.service}:${e.operation}`);

/**
 * A key the platform team made (as root) whose policy already allows what MSF needs for this application.
 * Before the application's first onboarding its operator role does not exist, and KMS refuses a policy
 * naming a principal that does not exist: such a key delegates to the account, and the operator's IAM
 * policy (which the workflow writes) gives the operator its rights.
 */
async function platformKey(w: World, app: string, operatorExists = false) {
  const full = keyPolicy({
    scope: { account: ACCOUNT, region: REGION },
    applicationArn: appArn(app),
    operatorRoleArn: operatorArn(app),
    keyAdminRoleArn: KEY_ADMIN_ARN,
    delegateToAccount: !operatorExists,
  });
  const policy = operatorExists ? full : { ...full, Statement: full.Statement.filter((s) => s.Principal?.AWS !== operatorArn(app)) };
  return (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }))).KeyMetadata!;
}

describe('OnboardApplication end to end on the sandbox (real ASL, real handlers)', () => {
  let w: World;
  afterEach(() => w?.close());

  it('creates a new application with the AWS owned key, then moves it onto a new CMK, with its own operator role', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const result = await w.machine().run(newAppInput('orders'));
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.output).toMatchObject({
      applicationName: 'orders',
      encryption: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: KEY_ARN },
      previousEncryption: { KeyType: 'AWS_OWNED_KEY' },
      operatorRoleArn: operatorArn('orders'),
      keyAdminRoleArn: KEY_ADMIN_ARN,
      created: { operatorRole: true, application: true, key: true },
    });
    const app = await w.describe('orders');
    expect(app.ApplicationStatus).toBe('READY');
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({
      KeyType: 'CUSTOMER_MANAGED_KEY',
      KeyId: result.output.key.keyArn,
    });
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, operatorRoles: 1, inlinePolicies: 2, managedPolicies: 0 });
    // Owned by this execution and this application, from the moment each was created.
    const key = Object.values(w.sb.sandbox.state.kms.keys)[0];
    expect(key.Tags).toEqual(
      expect.arrayContaining([
        { TagKey: 'msf-cmk:application-arn', TagValue: appArn('orders') },
        { TagKey: 'msf-cmk:created-by-execution', TagValue: result.executionArn },
      ]),
    );
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
    const polls = result.events.filter((e) => e.type === 'StateEntered' && e.state.name === 'CheckUpdate');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    const snapshots = Object.values(w.sb.sandbox.state.kinesisanalytics.snapshots).filter((s) => s.ApplicationName === 'clickstream');
    expect(snapshots.map((s) => s.Encryption)).toContainEqual({ KeyType: 'AWS_OWNED_KEY' });
  });

  it.each([['FLINK-1_18, before anything is written', { runtime: 'FLINK-1_18' }, 'legacy', 'UnsupportedRuntime', 'FLINK-1_18']])(
    'refuses an application on %s (UnsupportedRuntime) while deciding: nothing was changed',
    async (_what, options, name, error, words) => {
      w = await world();
      await w.existingApp(name, options);
      w.sb.sandbox.faults.log.length = 0;
      const before = w.sb.sandbox.snapshot();
      const result = await w.machine().run({ applicationName: name });
      expect(result).toMatchObject({ status: 'FAILED', error, cause: expect.stringContaining(words) });
      expect(result.cause).toMatch(/^DecideEnsureApplication failed with UnsupportedRuntime: .*\. Nothing was changed\.$/);
      expect(writes(w.sb.sandbox.faults.log)).toEqual(['dynamodb:UpdateItem', 'dynamodb:UpdateItem']); // the lock, taken and released
      expect(accountChanges(w, before)).toEqual([]);
    },
  );

  it('refuses a missing application without a createApplication spec (ApplicationNotFound) before any write', async () => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run({ applicationName: 'ghost' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ApplicationNotFound', cause: expect.stringContaining('ghost') });
    expect(writes(w.sb.sandbox.faults.log).filter((op) => !op.startsWith('dynamodb:'))).toEqual([]);
  });

  it('ends a bad input at ValidateInput with InvalidInput naming the field, having made no AWS call', async () => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run({ applicationName: 'orders', rolePath: '/other/' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('rolePath: is not a known field') });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });

  it('refuses an execution name that cannot be an ownership tag value, before any AWS call', async () => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run({ applicationName: 'orders' }, { executionName: 'run(1)!' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('execution name "run(1)!"') });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });

  it('onboards an application whose name has a dot under an alias where the dot is a slash (KMS aliases allow no dot)', async () => {
    w = await world();
    await w.existingApp('orders.v2');
    const result = await w.machine().run({ applicationName: 'orders.v2' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { key: { aliasName: 'alias/msf-cmk/orders/v2' } } });
  });

  it('retries IAM eventual consistency (fresh roles invisible to STS and KMS) and succeeds without duplicates', async () => {
    w = await world({ iamPropagationDelayMs: 300 });
    await w.ensureExecRole('orders');
    const retriedErrors: string[] = [];
    const result = await w.machine({ retryScale: 0.05 }).run(newAppInput('orders'), { onTaskError: (_s, e) => retriedErrors.push(e.name) });
    expect(result.status).toBe('SUCCEEDED');
    expect(retriedErrors).toContain('RoleNotYetAssumable');
    expect(result.events.some((e) => e.type === 'StateRetried')).toBe(true);
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, operatorRoles: 1, inlinePolicies: 2, managedPolicies: 0 });
  });

  it('retries injected throttling on IAM, KMS and Managed Flink writes and succeeds without duplicates', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const f = w.sb.sandbox.faults;
    f.throttle('iam', 'CreateRole', 2);
    f.throttle('kms', 'CreateKey', 2);
    f.inject({ service: 'iam', operation: 'PutRolePolicy', inputContains: 'msf-cmk-key-', error: 'Throttling', status: 400, times: 2 });
    f.throttle('kinesisanalytics', 'UpdateApplication', 2);
    const result = await w.machine().run(newAppInput('orders'));
    expect(result.status).toBe('SUCCEEDED');
    expect(f.pending()).toEqual([]);
    const retried = result.events.filter((e) => e.type === 'StateRetried').map((e) => (e as { state: { name: string } }).state.name);
    expect(retried).toEqual(expect.arrayContaining(['EnsureOperatorRole', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk']));
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, operatorRoles: 1, inlinePolicies: 2, managedPolicies: 0 });
  });

  it('is idempotent: a second run of the same input decides no change and writes nothing', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const first = await w.machine().run(newAppInput('orders'));
    w.sb.sandbox.faults.log.length = 0;
    const second = await w.machine().run(newAppInput('orders'));
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output).toMatchObject({
      key: { keyArn: first.output.key.keyArn },
      created: { operatorRole: false, application: false, key: false },
      changes: 0,
    });
    expect(writes(w.sb.sandbox.faults.log).filter((op) => !op.startsWith('dynamodb:'))).toEqual([]);
    expect(counts(w)).toEqual({ keys: 1, aliases: 1, operatorRoles: 1, inlinePolicies: 2, managedPolicies: 0 });
  });

  it("gives two applications two operators that cannot reach each other's keys, and shares only the deployed key administrator", async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.existingApp('payments');
    const [a, b] = [await w.machine().run({ applicationName: 'ledger' }), await w.machine().run({ applicationName: 'payments' })];
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(a.output.operatorRoleArn).not.toBe(b.output.operatorRoleArn);
    const policyOf = (keyArn: string) => JSON.parse(Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.Arn === keyArn)!.Policy);
    const principals = (keyArn: string) => policyOf(keyArn).Statement.flatMap((s: any) => [s.Principal?.AWS ?? []].flat());
    expect(principals(a.output.key.keyArn)).not.toContain(b.output.operatorRoleArn);
    expect(principals(b.output.key.keyArn)).not.toContain(a.output.operatorRoleArn);
    expect(principals(a.output.key.keyArn)).toContain(KEY_ADMIN_ARN);
  });

  it('adopts an existing key named in the input after evaluating its policy for every request MSF will make', async () => {
    w = await world();
    await w.existingApp('ledger');
    const key = await platformKey(w, 'ledger');
    const result = await w.machine().run({ applicationName: 'ledger', keyId: key.Arn });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { key: { keyArn: key.Arn, adopted: true, created: false } } });
    expect(counts(w).keys).toBe(1);
  });

  it('refuses, before any write, to adopt a key whose policy lacks the service principals, and prints the statements to add', async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.machine().run({ applicationName: 'ledger' }); // the operator role exists now, so a key policy may name it
    const full = keyPolicy({
      scope: { account: ACCOUNT, region: REGION },
      applicationArn: appArn('ledger'),
      operatorRoleArn: operatorArn('ledger'),
      keyAdminRoleArn: KEY_ADMIN_ARN,
    });
    const withoutServices = { ...full, Statement: full.Statement.filter((s) => !s.Principal?.Service) };
    const key = (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({ Policy: JSON.stringify(withoutServices) }))).KeyMetadata!;
    const before = w.sb.sandbox.snapshot();
    const result = await w.machine().run({ applicationName: 'ledger', keyId: key.Arn });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed' });
    expect(result.cause).toMatch(
      /^DecideCreateKey failed with PreconditionFailed: Key .* cannot be adopted: its key policy does not allow: kms:DescribeKey by kinesisanalytics\.amazonaws\.com/,
    );
    expect(result.cause).toContain('"Sid":"AllowMsfInfrastructureToCreateDecryptGrantForRunningState"');
    expect(result.cause).toContain('Nothing was changed.');
    expect(accountChanges(w, before)).toEqual([]);
  });

  it('refuses a key that names the application only in text, not in an Allow statement (a Deny that mentions it)', async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.machine().run({ applicationName: 'ledger' });
    const full = keyPolicy({
      scope: { account: ACCOUNT, region: REGION },
      applicationArn: appArn('ledger'),
      operatorRoleArn: operatorArn('ledger'),
      keyAdminRoleArn: KEY_ADMIN_ARN,
    });
    // Every string the old text search looked for is there; the Deny takes the operator's use away.
    const denying = {
      ...full,
      Statement: [...full.Statement, { Sid: 'NoOperatorUse', Effect: 'Deny', Principal: { AWS: operatorArn('ledger') }, Action: 'kms:Decrypt', Resource: '*' }],
    };
    const key = (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({ Policy: JSON.stringify(denying) }))).KeyMetadata!;
    const result = await w.machine().run({ applicationName: 'ledger', keyId: key.Arn });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining(`kms:Decrypt by ${operatorArn('ledger')}`) });
  });

  it("moves an application from one CMK to another keeping the operator's rights on both (facts §5 CMK#1 → CMK#2)", async () => {
    w = await world();
    await w.existingApp('ledger');
    const first = await w.machine().run({ applicationName: 'ledger' });
    const second = await platformKey(w, 'ledger', true);
    const result = await w.machine().run({ applicationName: 'ledger', keyId: second.Arn });
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: { encryption: { KeyId: second.Arn }, previousEncryption: { KeyId: first.output.key.keyArn } },
    });
    const inline = Object.keys(w.sb.sandbox.state.iam.roles['msf-cmk-operator-ledger'].InlinePolicies);
    expect(inline.sort()).toEqual(['msf-cmk-base', first.output.operatorPolicies.cmk, result.output.operatorPolicies.cmk].sort());
  });
});

describe('ordering proof: each step refuses to act without its precondition, and nothing is half switched', () => {
  let w: World;
  afterEach(() => w?.close());

  const encryptionOf = async (name: string) =>
    (await w.describe(name)).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription ?? { KeyType: 'AWS_OWNED_KEY' };

  /** Runs with a sandbox-side change made right after `step` has applied. */
  async function runWithHook(input: object, step: string, hook: (output: any) => void) {
    const handlers = defaultHandlers();
    const original = handlers[step];
    handlers[step] = async (event) => {
      const out = await original(event);
      if (event.phase === 'apply') hook(out);
      return out;
    };
    return w.machine({ handlers }).run(input);
  }

  it('the switch is refused by Managed Flink when the operator CMK policy was removed just before it, and rolls back', async () => {
    w = await world();
    await w.existingApp('ledger');
    const before = await w.describe('ledger');
    const result = await runWithHook({ applicationName: 'ledger' }, 'GrantOperatorKeyAccess', (out) => {
      delete w.sb.sandbox.state.iam.roles[out.roleName].InlinePolicies[out.policyName];
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidApplicationConfigurationException' });
    expect(result.cause).toContain('SwitchApplicationToCmk failed');
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
      expect(result.cause).toContain('SwitchApplicationToCmk failed');
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
    ['EnsureApplication', 'after operator'],
    ['CreateKey', 'after operator, application'],
    ['GrantOperatorKeyAccess', 'after key, application'],
    ['SwitchApplicationToCmk', 'after operatorKeyAccess'],
  ])('%s applied without its predecessors throws PreconditionFailed and makes no AWS call', async (step, words) => {
    w = await world();
    await w.existingApp('ledger');
    Object.assign(process.env, w.env);
    const validated = await steps.ValidateInput.handler({
      input: { applicationName: 'ledger' },
      execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:OnboardApplication:e1`, Name: 'e1' },
    });
    // Every step decided (as the state machine does before applying any), and only the lock held.
    let state: any = { ...(validated as object), lock: { lockId: appArn('ledger'), owner: 'e1', expiresAt: 0 } };
    for (const name of ['EnsureOperatorRole', 'EnsureApplication', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk']) {
      state = { ...state, ledger: { ...state.ledger, [name]: await steps[name].handler({ phase: 'decide', state }) } };
    }
    w.sb.sandbox.faults.log.length = 0;
    await expect(steps[step].handler({ phase: 'apply', state })).rejects.toMatchObject({ name: 'PreconditionFailed', message: expect.stringContaining(words) });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });
});
