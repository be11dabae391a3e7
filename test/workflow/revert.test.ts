/**
 * revert-to-aws-owned-key: an onboarded application goes back to the AWS owned key while its operator still
 * holds its CMK rights, then loses them; the key is retained and reported with what still references it.
 */
import { CreateApplicationSnapshotCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { newAppInput, operatorOf, world, type World } from './harness';

const encryption = (app: { ApplicationConfigurationDescription?: any }) =>
  app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription ?? { KeyType: 'AWS_OWNED_KEY' };
const cmkPolicies = (w: World, app: string) =>
  Object.keys(w.sb.sandbox.state.iam.roles[`msf-cmk-operator-${app}`].InlinePolicies).filter((n) => n.startsWith('msf-cmk-key-'));

describe('revert-to-aws-owned-key', () => {
  let w: World;
  afterEach(() => w?.close());

  it.each([
    ['a new application', 'new', undefined],
    ['a READY application', 'ready', false],
    ['a RUNNING application', 'running', true],
  ])("moves %s back to the AWS owned key, removes the operator's CMK policy and retains the key", async (_what, kind, running) => {
    w = await world({ flinkDurations: { start: 0, update: 0, snapshot: 0 } });
    if (kind === 'new') await w.ensureExecRole('orders');
    else await w.existingApp('orders', { running: !!running });
    expect((await w.machine().run(kind === 'new' ? newAppInput('orders') : { applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    expect(cmkPolicies(w, 'orders')).toEqual([`msf-cmk-key-${key.KeyId}`]);

    const result = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        operation: 'revert-to-aws-owned-key',
        encryption: { KeyType: 'AWS_OWNED_KEY' },
        retainedKey: { keyArn: key.Arn, keyState: 'Enabled' },
        changes: 2,
      },
    });
    const app = await w.describe('orders');
    expect(encryption(app)).toEqual({ KeyType: 'AWS_OWNED_KEY' });
    expect(app.ApplicationStatus).toBe(running ? 'RUNNING' : 'READY');
    expect(cmkPolicies(w, 'orders')).toEqual([]);
    expect(w.sb.sandbox.state.kms.keys[key.KeyId].KeyState).toBe('Enabled');
  });

  it('reports the snapshots still under the retained key', async () => {
    w = await world({ flinkDurations: { start: 0, update: 0, snapshot: 0 } });
    await w.existingApp('orders', { running: true });
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    await operatorOf(w, 'orders').flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: 'orders', SnapshotName: 'under-cmk' }));
    w.sb.sandbox.advance(0);
    const result = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.retainedKey.referencedBy).toContain('snapshot under-cmk');
  });

  it('plans exactly the writes it then makes, and a plan writes nothing', async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const before = w.sb.sandbox.snapshot();
    const plan = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders', mode: 'plan' });
    expect(plan.status).toBe('SUCCEEDED');
    expect(w.sb.sandbox.diff(before)).toEqual([]);
    w.sb.sandbox.faults.log.length = 0;
    const run = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });
    expect(run.status).toBe('SUCCEEDED');
    const writes = w.sb.sandbox.faults.log.filter((e) => !/^(Describe|Get|List)/.test(e.operation) && e.operation !== 'AssumeRole' && e.service !== 'dynamodb');
    expect(plan.output.changes.map((c: { action: string }) => c.action)).toEqual(writes.map((e) => `${e.service}:${e.operation}`));
    expect(plan.output.changes.map((c: { action: string }) => c.action)).toEqual(['kinesisanalytics:UpdateApplication', 'iam:DeleteRolePolicy']);
  });

  it('changes nothing for an application on the AWS owned key already', async () => {
    w = await world();
    await w.existingApp('orders');
    const before = w.sb.sandbox.snapshot();
    const result = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { changes: 0 } });
    expect(w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'))).toEqual([]);
  });

  it('refuses, changing nothing, when the operator holds no rights on the CMK (facts §5)', async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const role = w.sb.sandbox.state.iam.roles['msf-cmk-operator-orders'];
    for (const n of cmkPolicies(w, 'orders')) delete role.InlinePolicies[n];
    const before = w.sb.sandbox.snapshot();
    const result = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('Nothing was changed.') });
    expect(w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'))).toEqual([]);
  });

  it('refuses onboarding fields: a revert takes only applicationName and mode', async () => {
    w = await world();
    const result = await w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders', keyId: 'alias/other' });
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'InvalidInput',
      cause: expect.stringContaining('keyId: is not a field of revert-to-aws-owned-key'),
    });
  });
});
