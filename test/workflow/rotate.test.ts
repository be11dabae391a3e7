/**
 * rotate-key: on-demand rotation of an application's key (next-capabilities §1.2), refused before any
 * write where KMS would refuse it, reported with its rotation dates; a RUNNING application is then
 * restarted (Managed Flink snapshots it first) so it uses the new material. Or KMS's automatic rotation set
 * on with a period, or off, and put back by a rollback.
 */
import { randomBytes } from 'node:crypto';
import { faultMatrix } from './faults';
import { defaultHandlers, newAppInput, world, type World } from './harness';

const snapshotsOf = (w: World) =>
  Object.values(w.sb.sandbox.state.kinesisanalytics.snapshots).sort((a, b) => a.SnapshotCreationTimestamp - b.SnapshotCreationTimestamp);
const onDemand = (w: World) => Object.values(w.sb.sandbox.state.kms.keys).map((k) => k.Rotations.filter((r) => r.RotationType === 'ON_DEMAND').length);

describe('rotate-key', () => {
  let w: World;
  afterEach(() => w?.close());

  it.each([
    ['a new application', 'new'],
    ['a READY application', 'ready'],
    ['a RUNNING application', 'running'],
  ])('rotates the key of %s on demand and reports the rotation dates', async (_what, kind) => {
    w = await world({ flinkDurations: { start: 0, update: 0 } });
    if (kind === 'new') await w.ensureExecRole('orders');
    else await w.existingApp('orders', { running: kind === 'running' });
    expect((await w.machine().run(kind === 'new' ? newAppInput('orders') : { applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);

    const result = await w.operation('rotate-key').run({ applicationName: 'orders' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      operation: 'rotate-key',
      rotation: 'on-demand',
      keyArn: key.Arn,
      rotations: [{ type: 'ON_DEMAND', date: expect.any(String) }],
      onDemandRemaining: 24,
      automaticRotation: { enabled: false },
      restart: kind === 'running' ? { restarted: true, applicationStatus: 'RUNNING' } : { restarted: false },
      restartNeeded: false,
      changes: kind === 'running' ? 2 : 1,
    });
    expect(onDemand(w)).toEqual([1]);
    expect(w.sb.sandbox.state.kms.keys[key.KeyId].KeyState).toBe('Enabled');
  });

  it('restarts a RUNNING application after the rotation from a snapshot Managed Flink takes first, under its key', async () => {
    // Prepare
    w = await world();
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    const before = await w.describe('orders');
    const snapshotsBefore = snapshotsOf(w).length;

    // Act
    const result = await w.operation('rotate-key').run({ applicationName: 'orders' });

    // Assess: a newer version, RUNNING, restored from the snapshot its restart took under the CMK.
    expect(result.status).toBe('SUCCEEDED');
    const after = await w.describe('orders');
    expect(after).toMatchObject({ ApplicationStatus: 'RUNNING', ApplicationVersionId: before.ApplicationVersionId! + 1 });
    expect(result.output.restart).toEqual({ restarted: true, applicationStatus: 'RUNNING', versionId: after.ApplicationVersionId });
    const taken = snapshotsOf(w).slice(snapshotsBefore);
    expect(taken).toHaveLength(1);
    expect(taken[0].Encryption).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn });
    expect(taken[0].SnapshotCreationTimestamp).toBeGreaterThanOrEqual(key.Rotations[0].RotationDate);
  });

  it("leaves a restarted application alone in a cleanup's RevertApplication: a restart is no key switch, and is not taken back", async () => {
    // A cleanup runs RevertApplication for every operation. Given the ledger of a rotation stopped once its
    // restart was made, it once took the restart's UpdateApplication for a switch and "reverted" it: the
    // application restarted again, once per pass.
    w = await world({ flinkDurations: { start: 0, update: 0 } });
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const handlers = defaultHandlers();
    const verify = handlers.VerifyRotation;
    let reverted: unknown;
    const versions: number[] = [];
    handlers.VerifyRotation = async (event) => {
      // The run's state here (its ledger and its restart made) is what a cleanup of it, stopped here, reads.
      versions.push((await w.describe('orders')).ApplicationVersionId!);
      reverted = await handlers.RevertApplication(event);
      versions.push((await w.describe('orders')).ApplicationVersionId!);
      return verify(event);
    };
    const snapshots = snapshotsOf(w).length;
    const result = await w.operation('rotate-key', { handlers }).run({ applicationName: 'orders' });
    expect(result.status).toBe('SUCCEEDED');
    expect(reverted).toMatchObject({ settled: true, passes: 0, results: [] });
    expect(versions[1]).toBe(versions[0]);
    // The rotation's own restart took one snapshot; nothing else did.
    expect(snapshotsOf(w).length).toBe(snapshots + 1);
    expect((await w.describe('orders')).ApplicationStatus).toBe('RUNNING');
  });

  it('with restart false, leaves a RUNNING application as it runs and says it needs a restart', async () => {
    w = await world();
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const before = await w.describe('orders');

    const result = await w.operation('rotate-key').run({ applicationName: 'orders', restart: false });

    expect(result.output).toMatchObject({ restart: { restarted: false }, restartNeeded: true, changes: 1 });
    expect((await w.describe('orders')).ApplicationVersionId).toBe(before.ApplicationVersionId);
  });

  it('refuses, before the rotation, to restart a RUNNING application whose snapshots are disabled', async () => {
    // Prepare
    w = await world();
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    w.sb.sandbox.state.kinesisanalytics.applications.orders.Configuration.ApplicationSnapshotConfigurationDescription = { SnapshotsEnabled: false };
    const before = w.sb.sandbox.snapshot();

    // Act
    const result = await w.operation('rotate-key').run({ applicationName: 'orders' });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('snapshots disabled') });
    expect(result.cause).toContain('Nothing was changed.');
    expect(w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'))).toEqual([]);
  });

  it('sets automatic rotation with a period, as its plan says, and turns it off again', async () => {
    // Prepare
    w = await world();
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    const automatic = { applicationName: 'orders', rotation: 'automatic', rotationPeriodInDays: 180 };

    // Act
    const plan = await w.operation('rotate-key').run({ ...automatic, mode: 'plan' });
    const on = await w.operation('rotate-key').run(automatic);
    const again = await w.operation('rotate-key').run(automatic);
    const off = await w.operation('rotate-key').run({ applicationName: 'orders', rotation: 'off' });

    // Assess: no new material now and no restart; the setting read back each time.
    expect(plan.output.changes.map((c: { action: string }) => c.action)).toEqual(['kms:EnableKeyRotation']);
    expect(on.output).toMatchObject({
      rotation: 'automatic',
      automaticRotation: { enabled: true, periodInDays: 180, nextRotationDate: expect.any(String) },
      restart: { restarted: false },
      restartNeeded: false,
      changes: 1,
    });
    expect(again.output.changes).toBe(0);
    expect(off.output).toMatchObject({ automaticRotation: { enabled: false }, changes: 1 });
    expect(w.sb.sandbox.state.kms.keys[key.KeyId]).toMatchObject({ RotationEnabled: false, Rotations: [] });
  });

  it('puts the automatic rotation setting back when the run fails after setting it', async () => {
    // Prepare: automatic rotation on at 365 days; VerifyRotation's read fails for good after the change.
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    expect((await w.operation('rotate-key').run({ applicationName: 'orders', rotation: 'automatic' })).status).toBe('SUCCEEDED');
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    w.sb.sandbox.faults.inject({ service: 'kms', operation: 'ListKeyRotations', error: 'ValidationException', status: 400, times: 1, skip: 1 });

    // Act
    const result = await w.operation('rotate-key').run({ applicationName: 'orders', rotation: 'automatic', rotationPeriodInDays: 90 });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationException', cause: expect.stringContaining('Rolled back.') });
    expect(w.sb.sandbox.state.kms.keys[key.KeyId]).toMatchObject({ RotationEnabled: true, RotationPeriodInDays: 365 });
  });

  it('refuses a rotation period without automatic rotation, and a restart without an on-demand rotation, before any call', async () => {
    w = await world();
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.operation('rotate-key').run({ applicationName: 'orders', rotationPeriodInDays: 180 });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('rotationPeriodInDays') });
    const restart = await w.operation('rotate-key').run({ applicationName: 'orders', rotation: 'automatic', restart: true });
    expect(restart).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('restart: follows an on-demand rotation') });
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });

  it('plans exactly the write it then makes, and a plan writes nothing', async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const before = w.sb.sandbox.snapshot();
    const plan = await w.operation('rotate-key').run({ applicationName: 'orders', mode: 'plan' });
    expect(plan.output.changes).toEqual([
      { action: 'kms:RotateKeyOnDemand', resource: expect.stringMatching(/^arn:aws:kms:/), detail: expect.stringContaining('on-demand rotation 1 of 25') },
    ]);
    expect(w.sb.sandbox.diff(before)).toEqual([]);
    w.sb.sandbox.faults.log.length = 0;
    expect((await w.operation('rotate-key').run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const writes = w.sb.sandbox.faults.log.filter((e) => !/^(Describe|Get|List)/.test(e.operation) && e.operation !== 'AssumeRole' && e.service !== 'dynamodb');
    expect(writes.map((e) => `${e.service}:${e.operation}`)).toEqual(['kms:RotateKeyOnDemand']);
  });

  it.each([
    ['on the AWS owned key', async (_w: World) => {}, 'there is no key of ours to rotate'],
    [
      'whose key is disabled',
      async (x: World) => {
        for (const k of Object.values(x.sb.sandbox.state.kms.keys)) k.KeyState = 'Disabled';
      },
      'only an enabled key rotates',
    ],
    [
      'whose key reached the cap of 25 on-demand rotations',
      async (x: World) => {
        for (const k of Object.values(x.sb.sandbox.state.kms.keys)) {
          k.Rotations = Array.from({ length: 25 }, () => ({ RotationDate: x.sb.sandbox.clock.now(), RotationType: 'ON_DEMAND' as const }));
          // Each rotation's material too, so a read has nothing to fill in.
          k.KeyMaterial = Array.from({ length: 26 }, () => randomBytes(32).toString('base64'));
        }
      },
      "KMS's lifetime cap",
    ],
    [
      'whose automatic rotation is due within 20 minutes',
      async (x: World) => {
        for (const k of Object.values(x.sb.sandbox.state.kms.keys))
          Object.assign(k, { RotationEnabled: true, RotationPeriodInDays: 90, NextRotationDate: Date.now() + 5 * 60 * 1000 });
      },
      'within 20 minutes',
    ],
  ])('refuses an application %s, changing nothing', async (what, drift, cause) => {
    w = await world();
    await w.existingApp('orders');
    if (what !== 'on the AWS owned key') expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    await drift(w);
    const before = w.sb.sandbox.snapshot();
    const result = await w.operation('rotate-key').run({ applicationName: 'orders' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining(cause) });
    expect(result.cause).toContain('Nothing was changed.');
    expect(w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'))).toEqual([]);
  });
});

faultMatrix({
  operation: 'rotate-key',
  async prepare(w) {
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
  },
  run: (w) => w.operation('rotate-key').run({ applicationName: 'orders' }),
  done: (w) => ({ onDemandRotations: onDemand(w) }),
  forward: {
    'AcquireLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner' },
    'RotateKeyOnDemand: kms:RotateKeyOnDemand': { service: 'kms', operation: 'RotateKeyOnDemand' },
    'ReleaseLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  compensating: {
    'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  // Fails the rotation itself for good: nothing was made, so the report finds nothing left.
  failLate: { service: 'kms', operation: 'RotateKeyOnDemand', error: 'ValidationException', message: 'injected: the rotation fails', status: 400, times: 1 },
  lateCause: 'RotateKeyOnDemand failed with ValidationException',
});

faultMatrix({
  operation: 'rotate-key of a RUNNING application (with its restart)',
  async prepare(w) {
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
  },
  run: (w) => w.operation('rotate-key').run({ applicationName: 'orders' }),
  // A failed run keeps its rotation, so the next one adds another: done is rotated at least once and RUNNING.
  done: (w) => ({ rotated: onDemand(w)[0] >= 1, status: w.sb.sandbox.state.kinesisanalytics.applications.orders.ApplicationStatus }),
  forward: {
    'RotateKeyOnDemand: kms:RotateKeyOnDemand': { service: 'kms', operation: 'RotateKeyOnDemand' },
    'RestartApplication: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication' },
  },
  compensating: {
    'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  // Fails the restart for good: the rotation is kept, the application still runs, so nothing is left.
  failLate: { service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'InvalidArgumentException', message: 'injected', status: 400, times: 1 },
  lateCause: 'RestartApplication failed with InvalidArgumentException',
});

faultMatrix({
  operation: 'rotate-key setting automatic rotation',
  async prepare(w) {
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
  },
  run: (w) => w.operation('rotate-key').run({ applicationName: 'orders', rotation: 'automatic', rotationPeriodInDays: 180 }),
  done: (w) => Object.values(w.sb.sandbox.state.kms.keys).map((k) => ({ enabled: k.RotationEnabled, period: k.RotationPeriodInDays })),
  forward: {
    'SetAutomaticRotation: kms:EnableKeyRotation': { service: 'kms', operation: 'EnableKeyRotation' },
  },
  compensating: {
    'RestoreAutomaticRotation: kms:DisableKeyRotation': { service: 'kms', operation: 'DisableKeyRotation' },
  },
  // VerifyRotation's read of the rotations (the decision's was the first) fails for good, after the setting changed.
  failLate: { service: 'kms', operation: 'ListKeyRotations', error: 'ValidationException', message: 'injected', status: 400, times: 1, skip: 1 },
  lateCause: 'VerifyRotation failed with ValidationException',
});
