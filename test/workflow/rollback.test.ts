/**
 * Safe by construction: every mutating call of an onboarding — the forward steps', the compensations' and
 * the lock's — meets each kind of fault, and every run ends in one of two states: onboarded exactly once,
 * or the account as it was (keys this run created, pending deletion, excepted; MSF's operation history is
 * history, not a resource). A compensation that fails for good ends RollbackIncomplete naming exactly what
 * the account shows is left, and a later run still converges. Faults come from the sandbox, not from mocks.
 *
 * The faults are those of ./faults.ts. (The sandbox's Lambda service will kill a real worker for a crash;
 * the in-process runner can only stop the handler at its call.)
 */
import { CreateApplicationSnapshotCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { FaultSpec } from '../../local/sandbox/faults';
import type { SandboxState, StateChange } from '../../local/sandbox/state';
import { FAULTS, leftovers, type Fault } from './faults';
import { issueSession } from '../../local/sandbox/services/sts';
import { clients } from '../sandbox/helpers';
import { KEY_ADMIN_ARN, appArn, defaultHandlers, newAppInput, operatorArn, world, type World } from './harness';

/** The mutating calls of a new application's onboarding, by who makes them (input filters pick the call). */
const FORWARD: Record<string, Omit<FaultSpec, 'error'>> = {
  'AcquireLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner' },
  'EnsureOperatorRole: iam:CreateRole': { service: 'iam', operation: 'CreateRole' },
  'EnsureOperatorRole: iam:PutRolePolicy': { service: 'iam', operation: 'PutRolePolicy', inputContains: '"PolicyName":"msf-cmk-base"' },
  'EnsureApplication: kinesisanalytics:CreateApplication': { service: 'kinesisanalytics', operation: 'CreateApplication' },
  'CreateKey: kms:CreateKey': { service: 'kms', operation: 'CreateKey' },
  'CreateKey: kms:CreateAlias': { service: 'kms', operation: 'CreateAlias' },
  'GrantOperatorKeyAccess: iam:PutRolePolicy': { service: 'iam', operation: 'PutRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
  'SwitchApplicationToCmk: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication' },
  'ReleaseLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
};
/** The compensations' mutating calls, reached by failing the first poll of the switch for good. */
const COMPENSATING: Record<string, Omit<FaultSpec, 'error'>> = {
  'RevertApplication: kinesisanalytics:UpdateApplication': {
    service: 'kinesisanalytics',
    operation: 'UpdateApplication',
    inputContains: '"KeyTypeUpdate":"AWS_OWNED_KEY"',
  },
  'RevokeOperatorKeyAccess: iam:DeleteRolePolicy': { service: 'iam', operation: 'DeleteRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
  'RetireKey: kms:ScheduleKeyDeletion': { service: 'kms', operation: 'ScheduleKeyDeletion' },
  'RetireKey: kms:DeleteAlias': { service: 'kms', operation: 'DeleteAlias' },
  'DeleteCreatedApplication: kinesisanalytics:DeleteApplication': { service: 'kinesisanalytics', operation: 'DeleteApplication' },
  'RestoreOperatorRole: iam:DeleteRolePolicy': { service: 'iam', operation: 'DeleteRolePolicy', inputContains: '"PolicyName":"msf-cmk-base"' },
  'RestoreOperatorRole: iam:DeleteRole': { service: 'iam', operation: 'DeleteRole' },
  'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
};
const FAIL_THE_SWITCH: FaultSpec = {
  service: 'kinesisanalytics',
  operation: 'DescribeApplicationOperation',
  error: 'ValidationException',
  message: 'injected: the update cannot be followed',
  status: 400,
  times: 1,
};

/** What an onboarded account holds, ids aside: exactly one of each, the application on its key. */
function onboarded(w: World) {
  const s = w.sb.sandbox.state;
  const live = Object.values(s.kms.keys).filter((k) => k.KeyState === 'Enabled');
  const app = s.kinesisanalytics.applications.orders;
  return {
    liveKeys: live.length,
    aliases: Object.keys(s.kms.aliases),
    operatorRoles: Object.values(s.iam.roles)
      .filter((r) => r.Path === '/msf-cmk/')
      .map((r) => [r.RoleName, Object.keys(r.InlinePolicies).length]),
    app: app && { keyType: app.Encryption.KeyType, onLiveKey: live.some((k) => k.Arn === app.Encryption.KeyId) },
  };
}
const ONBOARDED = {
  liveKeys: 1,
  aliases: ['alias/msf-cmk/orders'],
  operatorRoles: [['msf-cmk-operator-orders', 2]],
  app: { keyType: 'CUSTOMER_MANAGED_KEY', onLiveKey: true },
};

describe('fault matrix: every mutating call × throttled twice, permanent, lost response, crash', () => {
  const table: string[] = [];
  afterAll(() => console.log(`fault matrix (${table.length} scenarios; call × fault → outcome)\n${table.join('\n')}`));

  let w: World;
  let before: SandboxState;
  beforeEach(async () => {
    w = await world();
    await w.ensureExecRole('orders');
    before = w.sb.sandbox.snapshot();
  });
  afterEach(() => w.close());

  /**
   * The next run onboards. A lock whose release failed for good stays with its holder; in AWS the holder
   * has ended and AcquireLock takes the lock over (lock.test.ts), but an in-process execution is unknown to
   * Step Functions, so here it takes `msf-cmk unlock` — the path for a holder known not to run.
   */
  async function nextRunGoes(): Promise<string> {
    let next = await w.machine().run(newAppInput('orders'));
    let note = '';
    if (next.error === 'AlreadyInProgress') {
      expect(next.cause).toContain('msf-cmk unlock');
      expect((await w.unlock('orders', 'its release failed')).unlocked).toBe(true);
      next = await w.machine().run(newAppInput('orders'));
      note = '; its lock, left by a lost release, freed by unlock';
    }
    expect(next.status).toBe('SUCCEEDED');
    expect(onboarded(w)).toEqual(ONBOARDED);
    return note;
  }

  /** Ends as onboarded exactly once, or as before; either way the lock is free for the next run. */
  async function expectCleanEnd(result: Awaited<ReturnType<ReturnType<World['machine']>['run']>>): Promise<string> {
    w.sb.sandbox.advance(0);
    if (result.status === 'SUCCEEDED') {
      expect(onboarded(w)).toEqual(ONBOARDED);
    } else {
      expect(leftovers(w.sb.sandbox.diff(before), w.sb.sandbox.state)).toEqual([]);
      // Refused at the lock (no Catch before it: nothing was decided), or rolled back to nothing.
      const failedAt = result.events.filter((e) => e.type === 'StateFailed').map((e) => (e as { state: { name: string } }).state.name);
      if (!failedAt.includes('AcquireLock')) expect(result.cause).toMatch(/Rolled back\.|Nothing was changed\./);
    }
    w.sb.sandbox.faults.clear();
    const released = await nextRunGoes();
    return `${result.status === 'SUCCEEDED' ? 'SUCCEEDED, onboarded once' : `${result.error}, rolled back to the state before`}${released}`;
  }

  describe.each(Object.keys(FORWARD))('%s', (call) => {
    it.each(Object.keys(FAULTS) as Fault[])('%s: ends onboarded once or as before, and the next run onboards', async (fault) => {
      w.sb.sandbox.faults.inject(FAULTS[fault](FORWARD[call]));
      const result = await w.machine().run(newAppInput('orders'));
      table.push(`${call.padEnd(60)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
    });
  });

  describe.each(Object.keys(COMPENSATING))('%s (in a rollback)', (call) => {
    it.each(Object.keys(FAULTS) as Fault[])('%s: rolls back completely, or ends RollbackIncomplete naming what the account shows is left', async (fault) => {
      w.sb.sandbox.faults.inject(FAIL_THE_SWITCH);
      w.sb.sandbox.faults.inject(FAULTS[fault](COMPENSATING[call]));
      const result = await w.machine().run(newAppInput('orders'));
      expect(result.status).toBe('FAILED');
      w.sb.sandbox.advance(0);
      const left = leftovers(w.sb.sandbox.diff(before), w.sb.sandbox.state);
      if (result.error === 'RollbackIncomplete') {
        // Every leftover the account shows is named in the cause, by its ARN or name.
        expect(left.length).toBeGreaterThan(0);
        const named = (c: StateChange) => {
          const id = c.path.split('.').slice(2).join('.');
          return (
            result.cause!.includes(id) ||
            (JSON.stringify(c.after ?? c.before).includes('msf-cmk-operator-orders') && result.cause!.includes('msf-cmk-operator-orders'))
          );
        };
        expect(left.filter((c) => !named(c) && !c.path.startsWith('dynamodb'))).toEqual([]);
        // Once the fault is gone, the next run converges.
        w.sb.sandbox.faults.clear();
        const note = await nextRunGoes();
        table.push(`${call.padEnd(60)} × ${fault.padEnd(15)} → RollbackIncomplete naming ${left.length} leftover(s); the next run onboards${note}`);
      } else {
        expect(result.error).toBe('ValidationException');
        expect(result.cause).toContain('CheckUpdate failed with ValidationException');
        table.push(`${call.padEnd(60)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
      }
    });
  });
});

describe('the examples of issue 8, each a regression test', () => {
  let w: World;
  afterEach(() => w?.close());
  const keyOf = (app: string) =>
    Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.Tags.some((t) => t.TagValue === appArn(app)) && k.KeyState === 'Enabled');

  it("a run that reuses another run's execution name, and fails, touches nothing of the other application", async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.existingApp('payments');
    const name = 'nightly';
    expect((await w.machine().run({ applicationName: 'ledger' }, { executionName: name })).status).toBe('SUCCEEDED');
    const ledgerKey = keyOf('ledger')!;
    // Same name, same state machine (a local runner allows it), another application; and the same name in another machine.
    for (const stateMachineName of ['OnboardApplication', 'OnboardApplicationCopy']) {
      w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', status: 400, times: 1 });
      const failed = await w.machine({ stateMachineName }).run({ applicationName: 'payments' }, { executionName: name });
      expect(failed).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('Rolled back.') });
    }
    expect(w.sb.sandbox.state.kms.keys[ledgerKey.KeyId].KeyState).toBe('Enabled');
    expect((await w.describe('ledger')).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({
      KeyType: 'CUSTOMER_MANAGED_KEY',
      KeyId: ledgerKey.Arn,
    });
    expect(w.sb.sandbox.state.iam.roles['msf-cmk-operator-ledger']).toBeDefined();
  });

  it("one application's rollback leaves the key administrator every other key's policy names, and it still manages them", async () => {
    w = await world();
    await w.existingApp('ledger');
    await w.existingApp('payments');
    expect((await w.machine().run({ applicationName: 'ledger' })).status).toBe('SUCCEEDED');
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', status: 400, times: 1 });
    expect((await w.machine().run({ applicationName: 'payments' })).status).toBe('FAILED');
    expect(w.sb.sandbox.state.iam.roles.MsfCmkKeyAdmin).toBeDefined();
    const s = issueSession(w.sb.sandbox, KEY_ADMIN_ARN, 'check');
    const admin = new KMSClient({
      ...w.sb.clientConfig(),
      credentials: { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken },
    });
    await expect(admin.send(new DescribeKeyCommand({ KeyId: keyOf('ledger')!.Arn }))).resolves.toBeDefined();
  });

  describe('a re-run that rewrites a policy and then fails restores the exact before-image', () => {
    /** Onboards, drifts one document, re-runs with the verification failing, and returns what was drifted and what is there now. */
    async function drifted(drift: (state: SandboxState) => { read: (state: SandboxState) => unknown }) {
      w = await world();
      await w.existingApp('orders');
      expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
      const probe = drift(w.sb.sandbox.state);
      const driftedImage = structuredClone(probe.read(w.sb.sandbox.state));
      const beforeRun = w.sb.sandbox.snapshot();
      // The re-run's second DescribeApplication is its verification (the first is DecideEnsureApplication's).
      w.sb.sandbox.faults.inject({
        service: 'kinesisanalytics',
        operation: 'DescribeApplication',
        error: 'ValidationException',
        status: 400,
        skip: 1,
        times: 1,
      });
      const result = await w.machine().run({ applicationName: 'orders' });
      expect(result).toMatchObject({ status: 'FAILED', cause: expect.stringMatching(/^VerifyEncryption failed with ValidationException: .*Rolled back\./) });
      expect(probe.read(w.sb.sandbox.state)).toEqual(driftedImage);
      expect(leftovers(w.sb.sandbox.diff(beforeRun), w.sb.sandbox.state)).toEqual([]);
    }

    it('the key policy (our statements edited)', () =>
      drifted((s) => {
        const key = Object.values(s.kms.keys)[0];
        const policy = JSON.parse(key.Policy);
        policy.Statement = policy.Statement.filter((st: any) => st.Sid !== 'AllowAccountToRecoverKeyAdministration');
        key.Policy = JSON.stringify(policy);
        return { read: (now) => JSON.parse(now.kms.keys[key.KeyId].Policy) };
      }));

    it("the operator's CMK policy (an outdated one)", () =>
      drifted((s) => {
        const role = s.iam.roles['msf-cmk-operator-orders'];
        const name = Object.keys(role.InlinePolicies).find((n) => n.startsWith('msf-cmk-key-'))!;
        (role.InlinePolicies[name] as any).Statement = (role.InlinePolicies[name] as any).Statement.slice(0, 2);
        return { read: (now) => now.iam.roles['msf-cmk-operator-orders'].InlinePolicies[name] };
      }));

    it("the operator's base policy", () =>
      drifted((s) => {
        const role = s.iam.roles['msf-cmk-operator-orders'];
        (role.InlinePolicies['msf-cmk-base'] as any).Statement[0].Action = 'kinesisanalytics:Describe*';
        return { read: (now) => now.iam.roles['msf-cmk-operator-orders'].InlinePolicies['msf-cmk-base'] };
      }));

    it("the operator's trust policy (the orchestrator missing from it)", () =>
      drifted((s) => {
        const role = s.iam.roles['msf-cmk-operator-orders'];
        role.AssumeRolePolicyDocument = {
          Version: '2012-10-17',
          Statement: [{ Sid: 'TrustedCallers', Effect: 'Allow', Principal: { AWS: KEY_ADMIN_ARN }, Action: 'sts:AssumeRole' }],
        };
        return { read: (now) => now.iam.roles['msf-cmk-operator-orders'].AssumeRolePolicyDocument };
      }));
  });

  it('a crash between CreateKey and CreateAlias leaves no live key: the rollback finds it by its ownership tags and retires it', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const before = w.sb.sandbox.snapshot();
    w.sb.sandbox.faults.inject({ service: 'kms', operation: 'CreateKey', error: 'Runtime.ExitError', status: 500, times: 1, afterEffect: true });
    const result = await w.machine().run(newAppInput('orders'));
    expect(result).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('CreateKey failed with Runtime.ExitError') });
    expect(result.cause).toMatch(/key arn:aws:kms:.* is scheduled for deletion/);
    expect(leftovers(w.sb.sandbox.diff(before), w.sb.sandbox.state)).toEqual([]);
    expect(Object.values(w.sb.sandbox.state.kms.keys).map((k) => k.KeyState)).toEqual(['PendingDeletion']);
  });

  it('a retirement whose ScheduleKeyDeletion keeps failing keeps the alias on its live key, so the next run reuses that key', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject(FAIL_THE_SWITCH);
    w.sb.sandbox.faults.inject({ service: 'kms', operation: 'ScheduleKeyDeletion', error: 'KMSInternalException', status: 500 });
    const failed = await w.machine().run(newAppInput('orders'));
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: 'RollbackIncomplete',
      cause: expect.stringMatching(/key arn:aws:kms:.* is Enabled, not scheduled for deletion/),
    });
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    expect(w.sb.sandbox.state.kms.aliases['alias/msf-cmk/orders'].TargetKeyId).toBe(key.KeyId);
    w.sb.sandbox.faults.clear();
    const next = await w.machine().run(newAppInput('orders'));
    expect(next).toMatchObject({ status: 'SUCCEEDED', output: { key: { keyArn: key.Arn, created: false } } });
    expect(Object.keys(w.sb.sandbox.state.kms.keys)).toHaveLength(1);
  });

  it("an error after CreateKey, once the SDK's own retries of CreateAlias are spent, is not retried: no second key", async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject({ service: 'kms', operation: 'CreateAlias', error: 'ThrottlingException', status: 400 });
    const result = await w.machine().run(newAppInput('orders'));
    expect(result).toMatchObject({
      status: 'FAILED',
      cause: expect.stringMatching(/^CreateKey failed with ApplyInterrupted: kms:CreateAlias .* after kms:CreateKey made arn:aws:kms:/),
    });
    expect(Object.values(w.sb.sandbox.state.kms.keys).map((k) => k.KeyState)).toEqual(['PendingDeletion']);
  });

  it.each([
    ['a lost answer', { afterEffect: true, error: 'RequestTimeout', status: 500 }],
    ['a 500', { error: 'InternalServerError', status: 500 }],
  ])('%s on AcquireLock and on ReleaseLock blocks nobody: retried, own lock recognised, released', async (_what, fault) => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject({ service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner', times: 1, ...fault });
    w.sb.sandbox.faults.inject({ service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner', times: 1, ...fault });
    expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
    expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
  });

  it('a RUNNING application whose restart fails is put back on its key and started again: the result is honest', async () => {
    w = await world({ flinkDurations: { start: 20, update: 20 } });
    await w.existingApp('clickstream', { running: true });
    const handlers = defaultHandlers();
    const apply = handlers.SwitchApplicationToCmk;
    // The key becomes unusable while the update restarts the application: MSF's restart fails, it stops.
    handlers.SwitchApplicationToCmk = async (event) => {
      const out = await apply(event);
      if (event.phase === 'apply') for (const k of Object.values(w.sb.sandbox.state.kms.keys)) k.KeyState = 'Disabled';
      return out;
    };
    const result = await w.machine({ handlers, waitMs: 30 }).run({ applicationName: 'clickstream' });
    w.sb.sandbox.advance(100);
    const app = await w.describe('clickstream');
    expect(result).toMatchObject({ status: 'FAILED', error: 'ApplicationUpdateFailed', cause: expect.stringContaining('Rolled back.') });
    expect(app.ApplicationStatus).toBe('RUNNING');
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType ?? 'AWS_OWNED_KEY').toBe('AWS_OWNED_KEY');
  });

  it('a RUNNING application that cannot be started again is reported plainly as left stopped', async () => {
    w = await world({ flinkDurations: { start: 20, update: 20 } });
    await w.existingApp('clickstream', { running: true });
    const handlers = defaultHandlers();
    const apply = handlers.SwitchApplicationToCmk;
    handlers.SwitchApplicationToCmk = async (event) => {
      const out = await apply(event);
      if (event.phase === 'apply') for (const k of Object.values(w.sb.sandbox.state.kms.keys)) k.KeyState = 'Disabled';
      return out;
    };
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'StartApplication', error: 'InvalidApplicationConfigurationException', status: 400 });
    const result = await w.machine({ handlers, waitMs: 30 }).run({ applicationName: 'clickstream' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'RollbackIncomplete' });
    expect(result.cause).toContain(`${appArn('clickstream')} is back on AWS_OWNED_KEY but left READY (stopped); it was RUNNING`);
  });

  it('keeps a key a snapshot still needs enabled, tagged and reported, and reverts the application', async () => {
    w = await world({ flinkDurations: { start: 20, update: 20, snapshot: 0 } });
    await w.existingApp('clickstream', { running: true });
    const handlers = defaultHandlers();
    const check = handlers.CheckUpdate;
    handlers.CheckUpdate = async (event) => {
      const out: any = await check(event);
      // Once the application runs on the CMK, its operator takes a snapshot (under the CMK).
      if (out.done) {
        const s = issueSession(w.sb.sandbox, operatorArn('clickstream'), 'snapshot');
        const operator = clients(w.sb, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken });
        await operator.flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: 'clickstream', SnapshotName: 'under-cmk' }));
      }
      return out;
    };
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'DescribeApplication', error: 'ValidationException', status: 400, skip: 1, times: 1 });
    const result = await w.machine({ handlers, waitMs: 30 }).run({ applicationName: 'clickstream' });
    expect(result.status).toBe('FAILED');
    expect(result.cause).toMatch(/VerifyEncryption failed/);
    expect(result.cause).toMatch(/was kept enabled: .*snapshot under-cmk.* still reference it/);
    w.sb.sandbox.advance(100);
    const app = await w.describe('clickstream');
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType ?? 'AWS_OWNED_KEY').toBe('AWS_OWNED_KEY');
    expect(app.ApplicationStatus).toBe('RUNNING');
    const keys = Object.values(w.sb.sandbox.state.kms.keys);
    expect(keys).toHaveLength(1);
    expect(keys[0].KeyState).toBe('Enabled');
    expect(keys[0].Tags).toContainEqual({ TagKey: 'msf-cmk:retained', TagValue: expect.stringContaining('snapshot under-cmk') });
  });

  it('never deletes what existed before: an existing application and its operator role survive a rollback', async () => {
    w = await world();
    await w.existingApp('ledger');
    expect((await w.machine().run({ applicationName: 'ledger' })).status).toBe('SUCCEEDED');
    await w.existingApp('payments');
    const before = w.sb.sandbox.snapshot();
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', status: 400 });
    const result = await w.machine().run({ applicationName: 'payments' });
    expect(result.status).toBe('FAILED');
    w.sb.sandbox.advance(0);
    expect(leftovers(w.sb.sandbox.diff(before), w.sb.sandbox.state)).toEqual([]);
    expect(w.sb.sandbox.state.iam.roles['msf-cmk-operator-ledger']).toBeDefined();
    expect(w.sb.sandbox.state.kinesisanalytics.applications.payments).toBeDefined();
  });
});
