/**
 * Undo and resume (saga): a failure after the first write rolls back in reverse order and undoes only
 * what this execution did; a re-run after a crash converges; nothing is duplicated. Faults come from the
 * sandbox, not from mocks of our code.
 */
import { CreateApplicationSnapshotCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import type { FaultSpec } from '../../local/sandbox/faults';
import type { SandboxState, StateChange } from '../../local/sandbox/state';
import { defaultHandlers, newAppInput, world, type World } from './harness';
import { clients } from '../sandbox/helpers';
import { issueSession } from '../../local/sandbox/services/sts';

/** The write each mutating step makes that the fault hits (input filters pick the step's own call). */
const WRITES: Record<string, Omit<FaultSpec, 'error'>> = {
  EnsureOperatorRole: { service: 'iam', operation: 'PutRolePolicy', inputContains: '"RoleName":"MsfCmkOperator"' },
  EnsureApplication: { service: 'kinesisanalytics', operation: 'CreateApplication' },
  EnsureKeyAdminRole: { service: 'iam', operation: 'PutRolePolicy', inputContains: '"RoleName":"MsfCmkKeyAdmin"' },
  CreateKey: { service: 'kms', operation: 'CreateAlias' },
  GrantOperatorKeyAccess: { service: 'iam', operation: 'AttachRolePolicy' },
  SwitchApplicationToCmk: { service: 'kinesisanalytics', operation: 'UpdateApplication' },
};
/** Where a crash after the side effect hits: CreateKey's own first write (its alias call recovers a lost response). */
const CRASH_AT: Record<string, Omit<FaultSpec, 'error'>> = { ...WRITES, CreateKey: { service: 'kms', operation: 'CreateKey' } };
const THROTTLE: Record<string, string> = { iam: 'Throttling', kms: 'ThrottlingException', kinesisanalytics: 'ThrottlingException' };

/** What a rollback may leave: keys it created, pending deletion (documented), and MSF's operation history. */
function unexpected(changes: StateChange[], after: SandboxState): StateChange[] {
  return changes.filter((c) => {
    const key = /^kms\.keys\.(.+)$/.exec(c.path);
    if (key && c.before === undefined && after.kms.keys[key[1]]?.KeyState === 'PendingDeletion') return false;
    return !c.path.startsWith('kinesisanalytics.operations.');
  });
}

const counts = (w: World) => {
  const s = w.sb.sandbox.state;
  return {
    keys: Object.keys(s.kms.keys).length,
    liveKeys: Object.values(s.kms.keys).filter((k) => k.KeyState === 'Enabled').length,
    aliases: Object.keys(s.kms.aliases).length,
    roles: Object.values(s.iam.roles).filter((r) => r.Path === '/msf-cmk/').length,
    policies: Object.values(s.iam.policies).filter((p) => p.Path === '/msf-cmk/').length,
    apps: Object.keys(s.kinesisanalytics.applications).length,
  };
};
const ONBOARDED = { keys: 1, liveKeys: 1, aliases: 1, roles: 2, policies: 1, apps: 1 };

describe('fault matrix: every mutating step × throttling, a permanent error, a crash after the side effect', () => {
  const matrix: string[] = [];
  afterAll(() => console.log(`fault matrix (step × fault → outcome)\n${matrix.join('\n')}`));

  describe.each(Object.keys(WRITES))('%s', (step) => {
    let w: World;
    beforeEach(async () => {
      w = await world();
      await w.ensureExecRole('orders');
    });
    afterEach(() => w.close());

    it('ThrottlingException twice, then success, with no duplicates', async () => {
      const write = WRITES[step];
      w.sb.sandbox.faults.inject({ ...write, error: THROTTLE[write.service], status: 400, times: 2 });
      const result = await w.machine().run(newAppInput('orders'));
      expect(result.status).toBe('SUCCEEDED');
      expect(w.sb.sandbox.faults.pending()).toEqual([]);
      expect(counts(w)).toEqual(ONBOARDED);
      matrix.push(`${step.padEnd(24)} throttled ×2   → retried, SUCCEEDED, no duplicates`);
    });

    it('a permanent error rolls back to the state before the run (only a created key stays, pending deletion)', async () => {
      const before = w.sb.sandbox.snapshot();
      w.sb.sandbox.faults.inject({ ...WRITES[step], error: 'ValidationError', message: 'injected permanent failure', status: 400 });
      const result = await w.machine().run(newAppInput('orders'));
      expect(result.status).toBe('FAILED');
      expect(result.error).toMatch(/^(ValidationError|ValidationException)$/);
      expect(result.cause).toContain(`${step} failed`);
      expect(result.cause).toContain('Rolled back.');
      w.sb.sandbox.advance(0);
      expect(unexpected(w.sb.sandbox.diff(before), w.sb.sandbox.state)).toEqual([]);
      matrix.push(`${step.padEnd(24)} permanent      → rolled back, ${result.error}; state diff empty apart from keys pending deletion`);
    });

    it('a crash after the side effect rolls back what the crashed call did, and a re-run converges', async () => {
      w.sb.sandbox.faults.inject({ ...CRASH_AT[step], error: 'RequestTimeout', message: 'the response never arrived', status: 500, times: 1, afterEffect: true });
      const first = await w.machine().run(newAppInput('orders'));
      expect(first).toMatchObject({ status: 'FAILED', error: 'RequestTimeout' });
      const second = await w.machine().run(newAppInput('orders'));
      expect(second.status).toBe('SUCCEEDED');
      // A key the crashed run made stays only pending deletion (documented); nothing else is left twice.
      const { keys, ...rest } = counts(w);
      const { keys: _onboardedKeys, ...expected } = ONBOARDED;
      expect(rest).toEqual(expected);
      expect(keys).toBeLessThanOrEqual(2);
      matrix.push(`${step.padEnd(24)} crash after it → rolled back; re-run SUCCEEDED, no duplicates`);
    });
  });
});

describe('rollback', () => {
  let w: World;
  afterEach(() => w?.close());

  it('ends RollbackIncomplete, listing what is left by ARN, when a compensation keeps failing', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', message: 'injected', status: 400 });
    w.sb.sandbox.faults.inject({ service: 'iam', operation: 'DeleteRole', error: 'ServiceFailure', message: 'injected', status: 500 });
    const result = await w.machine().run(newAppInput('orders'));
    expect(result).toMatchObject({ status: 'FAILED', error: 'RollbackIncomplete' });
    expect(result.cause).toContain('SwitchApplicationToCmk failed with ValidationException');
    expect(result.cause).toContain('arn:aws:iam::000000000000:role/msf-cmk/MsfCmkKeyAdmin');
    expect(result.cause).toContain('arn:aws:iam::000000000000:role/msf-cmk/MsfCmkOperator');
    expect(result.cause).toContain('arn:aws:kinesisanalytics:us-east-1:000000000000:application/orders');
  });

  it('never deletes what existed before: an existing application, and roles another run created, survive a rollback', async () => {
    w = await world();
    await w.existingApp('ledger');
    expect((await w.machine().run({ applicationName: 'ledger' })).status).toBe('SUCCEEDED');
    await w.existingApp('payments');
    const before = w.sb.sandbox.snapshot();
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', message: 'injected', status: 400 });
    const result = await w.machine().run({ applicationName: 'payments' });
    expect(result.status).toBe('FAILED');
    w.sb.sandbox.advance(0);
    const changes = unexpected(w.sb.sandbox.diff(before), w.sb.sandbox.state);
    expect(changes).toEqual([]);
    expect(w.sb.sandbox.state.iam.roles.MsfCmkOperator).toBeDefined();
    expect(w.sb.sandbox.state.kinesisanalytics.applications.payments).toBeDefined();
  });

  it('reverts a switched RUNNING application to the AWS owned key, and keeps a key a snapshot still needs (tagged, reported)', async () => {
    w = await world({ flinkDurations: { start: 20, update: 20, snapshot: 0 } });
    await w.existingApp('clickstream', { running: true });
    const handlers = defaultHandlers();
    const check = handlers.CheckUpdate;
    handlers.CheckUpdate = async (event) => {
      const out: any = await check(event);
      // Once the application runs on the CMK, its operator takes a snapshot (under the CMK).
      if (out.done) {
        const s = issueSession(w.sb.sandbox, 'arn:aws:iam::000000000000:role/msf-cmk/MsfCmkOperator', 'snapshot');
        const operator = clients(w.sb, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken });
        await operator.flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: 'clickstream', SnapshotName: 'under-cmk' }));
      }
      return out;
    };
    w.sb.sandbox.faults.inject({ service: 'kms', operation: 'DescribeKey', caller: 'arn:aws:sts::000000000000:assumed-role/MsfCmkKeyAdmin/VerifyEncryption', error: 'ValidationException', message: 'injected late failure', status: 400 });
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
});
