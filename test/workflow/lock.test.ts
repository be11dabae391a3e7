/**
 * One run per application: a lock item per application in DynamoDB (dynalite behind the sandbox) that a
 * fault cannot wedge — released on success and after any rollback, taken over from a holder that ended
 * with its own rollback run, kept from one that was stopped (its cleanup or `msf-cmk unlock` frees it).
 */
import { PutItemCommand, GetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { clients, deployStateMachine, ended } from '../sandbox/helpers';
import { appArn, world, newAppInput, type World } from './harness';

describe('one run per application', () => {
  let w: World;
  afterEach(() => w?.close());

  it('of five simultaneous executions for one application exactly one succeeds; the others end AlreadyInProgress having changed nothing', async () => {
    w = await world({ flinkDurations: { update: 50 } });
    await w.ensureExecRole('orders');
    const machine = w.machine({ waitMs: 20 });
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => machine.run(newAppInput('orders'), { executionName: `run-${i}` })));
    const statuses = results.map((r) => (r.status === 'SUCCEEDED' ? 'SUCCEEDED' : r.error));
    expect(statuses.filter((s) => s === 'SUCCEEDED')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'AlreadyInProgress')).toHaveLength(4);
    for (const r of results.filter((x) => x.status === 'FAILED')) {
      expect(r.cause).toMatch(/orders is held by arn:aws:states:.*run-\d.*this execution changed nothing/);
      // They stopped at the lock: no step after it ran, so no rollback either.
      const entered = r.events.filter((e) => e.type === 'StateEntered').map((e) => (e as { state: { name: string } }).state.name);
      expect(entered).toEqual(['ValidateInput', 'AcquireLock']);
    }
    expect(Object.keys(w.sb.sandbox.state.kms.keys)).toHaveLength(1);
  });

  it('releases the lock after success and after a rollback, so the next run for the application can go', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject({
      service: 'kinesisanalytics',
      operation: 'UpdateApplication',
      error: 'ValidationException',
      message: 'injected',
      status: 400,
      times: 1,
    });
    const failed = await w.machine().run(newAppInput('orders'));
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ValidationException' });
    const next = await w.machine().run(newAppInput('orders'));
    expect(next.status).toBe('SUCCEEDED');
    const again = await w.machine().run(newAppInput('orders'));
    expect(again.status).toBe('SUCCEEDED');
  });

  describe('a lock its holder never released', () => {
    /** An execution of a one-state machine in the sandbox's Step Functions that ended as `status`. */
    async function holder(status: 'SUCCEEDED' | 'FAILED' | 'ABORTED'): Promise<string> {
      const { sfn } = clients(w.sb);
      const States =
        status === 'ABORTED'
          ? { Hold: { Type: 'Wait', Seconds: 3600, End: true } }
          : { End: status === 'FAILED' ? { Type: 'Fail', Error: 'X' } : { Type: 'Succeed' } };
      const machine = await deployStateMachine(w.sb, `Holder${status}`, { StartAt: Object.keys(States)[0], States });
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine }));
      if (status === 'ABORTED') await sfn.send(new StopExecutionCommand({ executionArn }));
      expect((await ended(sfn, executionArn!)).status).toBe(status);
      return executionArn!;
    }
    const lockHeldBy = (owner: string) =>
      new DynamoDBClient(w.sb.clientConfig()).send(
        new PutItemCommand({
          TableName: w.deployment.lockTableName,
          Item: {
            lockId: { S: appArn('orders') },
            owner: { S: owner },
            acquiredAt: { N: '0' },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + 7000) },
          },
        }),
      );
    const lockItem = async () =>
      (
        await new DynamoDBClient(w.sb.clientConfig()).send(
          new GetItemCommand({ TableName: w.deployment.lockTableName, Key: { lockId: { S: appArn('orders') } } }),
        )
      ).Item;

    it.each(['SUCCEEDED', 'FAILED'] as const)('is taken over when its holder ended %s (its own Catch ran; only the release was lost)', async (status) => {
      w = await world();
      await w.ensureExecRole('orders');
      await lockHeldBy(await holder(status));
      expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
    });

    it('is kept from a holder that was stopped (no rollback ran): the refusal names the way out; unlock frees it and records who did', async () => {
      w = await world();
      await w.ensureExecRole('orders');
      const stopped = await holder('ABORTED');
      await lockHeldBy(stopped);
      const refused = await w.machine().run(newAppInput('orders'));
      expect(refused).toMatchObject({ status: 'FAILED', error: 'AlreadyInProgress' });
      expect(refused.cause).toContain(`${stopped} (ABORTED; its rollback did not run: run its cleanup, or msf-cmk unlock)`);
      const unlocked = await w.unlock('orders', 'its cleanup ran by hand');
      expect(unlocked).toMatchObject({ unlocked: true, holder: stopped, holderStatus: 'ABORTED' });
      expect((await lockItem())!.unlocks.L![0].M).toMatchObject({
        by: { S: 'arn:aws:iam::000000000000:root' },
        holder: { S: stopped },
        holderStatus: { S: 'ABORTED' },
        reason: { S: 'its cleanup ran by hand' },
      });
      expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
    });

    it('unlock refuses while the holder is RUNNING, and says there is nothing to unlock when nobody holds it', async () => {
      w = await world();
      const { sfn } = clients(w.sb);
      const machine = await deployStateMachine(w.sb, 'Running', { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 3600, End: true } } });
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine }));
      expect(await w.unlock('orders')).toMatchObject({ unlocked: false, message: expect.stringContaining('is not locked') });
      await lockHeldBy(executionArn!);
      expect(await w.unlock('orders')).toMatchObject({ unlocked: false, holderStatus: 'RUNNING', message: expect.stringContaining('is RUNNING') });
      expect((await lockItem())!.owner.S).toBe(executionArn);
      await sfn.send(new StopExecutionCommand({ executionArn }));
    });
  });
});
