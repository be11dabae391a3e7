/**
 * move-key (facts §5 "CMK#1 → CMK#2"): a second key with the documented policy takes the application's
 * alias, the operator holds both keys' policies while the switch runs, the application moves, and the old
 * key stays enabled with the operator's rights on it, reported with what still references it.
 */
import { CreateApplicationSnapshotCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { faultMatrix } from './faults';
import { newAppInput, operatorOf, world, type World } from './harness';

const keyOfApp = (w: World, app: string) => w.sb.sandbox.state.kinesisanalytics.applications[app].Encryption.KeyId;
const cmkPolicies = (w: World, app: string) =>
  Object.keys(w.sb.sandbox.state.iam.roles[`msf-cmk-operator-${app}`].InlinePolicies)
    .filter((n) => n.startsWith('msf-cmk-key-'))
    .sort();

describe('move-key', () => {
  let w: World;
  afterEach(() => w?.close());

  it.each([
    ['a new application', 'new'],
    ['a READY application', 'ready'],
    ['a RUNNING application', 'running'],
  ])("moves %s to a new key, keeps the old one enabled with the operator's rights on it, and moves the alias", async (_what, kind) => {
    w = await world({ flinkDurations: { start: 0, update: 0, snapshot: 0 } });
    if (kind === 'new') await w.ensureExecRole('orders');
    else await w.existingApp('orders', { running: kind === 'running' });
    expect((await w.machine().run(kind === 'new' ? newAppInput('orders') : { applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const old = Object.values(w.sb.sandbox.state.kms.keys)[0];

    const result = await w.operation('move-key').run({ applicationName: 'orders' });

    expect(result.status).toBe('SUCCEEDED');
    const next = Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.KeyId !== old.KeyId)!;
    expect(result.output).toMatchObject({
      encryption: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: next.Arn },
      previousEncryption: { KeyId: old.Arn },
      key: { created: true },
      previousKey: { keyArn: old.Arn, keyState: 'Enabled' },
    });
    expect(keyOfApp(w, 'orders')).toBe(next.Arn);
    expect((await w.describe('orders')).ApplicationStatus).toBe(kind === 'running' ? 'RUNNING' : 'READY');
    expect(w.sb.sandbox.state.kms.keys[old.KeyId].KeyState).toBe('Enabled');
    expect(w.sb.sandbox.state.kms.aliases['alias/msf-cmk/orders'].TargetKeyId).toBe(next.KeyId);
    expect(cmkPolicies(w, 'orders')).toEqual([`msf-cmk-key-${old.KeyId}`, `msf-cmk-key-${next.KeyId}`].sort());
  });

  it('reports the snapshots that keep the old key alive, and offers its retirement only when nothing references it', async () => {
    w = await world({ flinkDurations: { start: 0, update: 0, snapshot: 0 } });
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    await operatorOf(w, 'orders').flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: 'orders', SnapshotName: 'under-cmk1' }));
    w.sb.sandbox.advance(0);
    const kept = await w.operation('move-key').run({ applicationName: 'orders' });
    expect(kept.output.previousKey).toMatchObject({ retirable: false, referencedBy: expect.arrayContaining(['snapshot under-cmk1']) });

    const ready = await world();
    try {
      await ready.existingApp('ledger');
      expect((await ready.machine().run({ applicationName: 'ledger' })).status).toBe('SUCCEEDED');
      expect((await ready.operation('move-key').run({ applicationName: 'ledger' })).output.previousKey).toMatchObject({ retirable: true, referencedBy: [] });
    } finally {
      await ready.close();
    }
  });

  it('plans exactly the writes it then makes, and a plan writes nothing', async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const before = w.sb.sandbox.snapshot();
    const plan = await w.operation('move-key').run({ applicationName: 'orders', mode: 'plan' });
    expect(plan.status).toBe('SUCCEEDED');
    expect(w.sb.sandbox.diff(before)).toEqual([]);
    w.sb.sandbox.faults.log.length = 0;
    expect((await w.operation('move-key').run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const writes = w.sb.sandbox.faults.log.filter((e) => !/^(Describe|Get|List)/.test(e.operation) && e.operation !== 'AssumeRole' && e.service !== 'dynamodb');
    const planned = plan.output.changes.map((c: { action: string }) => c.action);
    expect(planned).toEqual(writes.map((e) => `${e.service}:${e.operation}`));
    expect(planned).toEqual(['kms:CreateKey', 'kms:UpdateAlias', 'iam:PutRolePolicy', 'kinesisanalytics:UpdateApplication']);
  });

  it('adopts the key the input names instead of creating one, and refuses the key the application is on', async () => {
    w = await world();
    await w.existingApp('orders');
    await w.existingApp('payments');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const current = keyOfApp(w, 'orders')!;
    const same = await w.operation('move-key').run({ applicationName: 'orders', keyId: current });
    expect(same).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('the application is on it already') });
    // A key whose policy names another application cannot serve this one.
    expect((await w.machine().run({ applicationName: 'payments' })).status).toBe('SUCCEEDED');
    const other = await w.operation('move-key').run({ applicationName: 'orders', keyId: keyOfApp(w, 'payments') });
    expect(other).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('cannot be adopted') });
  });

  it('refuses, changing nothing, an application on the AWS owned key (that is onboarding)', async () => {
    w = await world();
    await w.existingApp('orders');
    const before = w.sb.sandbox.snapshot();
    const result = await w.operation('move-key').run({ applicationName: 'orders' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('onboard it instead') });
    expect(w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'))).toEqual([]);
  });
});

let original: string;
faultMatrix({
  operation: 'move-key',
  async prepare(w) {
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    original = keyOfApp(w, 'orders')!;
  },
  run: (w) => w.operation('move-key').run({ applicationName: 'orders' }),
  done(w) {
    const s = w.sb.sandbox.state;
    const live = Object.values(s.kms.keys).filter((k) => k.KeyState === 'Enabled');
    const now = keyOfApp(w, 'orders');
    return {
      onNewKey: now !== original && live.some((k) => k.Arn === now),
      aliasOnIt: live.find((k) => k.Arn === now)?.KeyId === s.kms.aliases['alias/msf-cmk/orders'].TargetKeyId,
      liveKeys: live.length,
      cmkPolicies: cmkPolicies(w, 'orders').length,
    };
  },
  forward: {
    'AcquireLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner' },
    'CreateKey: kms:CreateKey': { service: 'kms', operation: 'CreateKey' },
    'CreateKey: kms:UpdateAlias': { service: 'kms', operation: 'UpdateAlias' },
    'GrantOperatorKeyAccess: iam:PutRolePolicy': { service: 'iam', operation: 'PutRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
    'SwitchApplicationToCmk: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication' },
    'ReleaseLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  // `skip: 1` passes the forward call of the same operation (the switch, the alias move) by.
  compensating: {
    'RevertApplication: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication', skip: 1 },
    'RevokeOperatorKeyAccess: iam:DeleteRolePolicy': { service: 'iam', operation: 'DeleteRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
    'RetireKey: kms:UpdateAlias': { service: 'kms', operation: 'UpdateAlias', skip: 1 },
    'RetireKey: kms:ScheduleKeyDeletion': { service: 'kms', operation: 'ScheduleKeyDeletion' },
    'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  // The verification's DescribeApplication is the run's second (the first is DecideEnsureApplication's).
  failLate: {
    service: 'kinesisanalytics',
    operation: 'DescribeApplication',
    error: 'ValidationException',
    message: 'injected: the application cannot be read back',
    status: 400,
    skip: 1,
    times: 1,
  },
  lateCause: 'VerifyEncryption failed with ValidationException',
});
