/**
 * rotate-key: on-demand rotation of an application's key (next-capabilities §1.2), refused before any
 * write where KMS would refuse it, reported with its rotation dates; a RUNNING application is reported as
 * needing a restart to use the new material.
 */
import { randomBytes } from 'node:crypto';
import { faultMatrix } from './faults';
import { newAppInput, world, type World } from './harness';

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
      keyArn: key.Arn,
      rotations: [{ type: 'ON_DEMAND', date: expect.any(String) }],
      onDemandRemaining: 24,
      automaticRotation: { enabled: false },
      restartNeeded: kind === 'running',
      changes: 1,
    });
    expect(onDemand(w)).toEqual([1]);
    expect(w.sb.sandbox.state.kms.keys[key.KeyId].KeyState).toBe('Enabled');
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
