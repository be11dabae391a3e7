/** One run per application: a lock in DynamoDB (dynalite behind the sandbox), released on success and failure. */
import { world, newAppInput, type World } from './harness';

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
      expect(r.cause).toMatch(/orders is being onboarded by arn:aws:states:.*run-\d.*this execution changed nothing/);
      // They stopped at the lock: no step after it ran, so no rollback either.
      const entered = r.events.filter((e) => e.type === 'StateEntered').map((e) => (e as { state: { name: string } }).state.name);
      expect(entered).toEqual(['ValidateInput', 'AcquireLock']);
    }
    expect(Object.keys(w.sb.sandbox.state.kms.keys)).toHaveLength(1);
  });

  it('releases the lock after success and after a rollback, so the next run for the application can go', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', message: 'injected', status: 400, times: 1 });
    const failed = await w.machine().run(newAppInput('orders'));
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ValidationException' });
    const next = await w.machine().run(newAppInput('orders'));
    expect(next.status).toBe('SUCCEEDED');
    const again = await w.machine().run(newAppInput('orders'));
    expect(again.status).toBe('SUCCEEDED');
  });
});
