/**
 * Fewer calls, same safety: what an onboarding asks AWS, counted in the sandbox's request log. Account,
 * Region and roles come from the execution and the deployment; each persona is assumed once per run; a
 * poll is one DescribeApplicationOperation and the final DescribeApplication is the verification.
 */
import type { RequestLogEntry } from '../../local/sandbox/faults';
import { newAppInput, world, type World } from './harness';

const ops = (log: RequestLogEntry[]) => log.map((e) => `${e.service}:${e.operation}`);
const count = (log: RequestLogEntry[], op: string) => ops(log).filter((o) => o === op).length;

/** The calls the documented order needs for a new application (bench/onboarding.bench.ts makes exactly these). */
const FLOOR = 13;

describe('the calls an onboarding makes', () => {
  let w: World;
  afterEach(() => w?.close());

  it('onboards a new application in at most 1.5× the floor of 13 calls, assuming each persona once', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    w.sb.sandbox.faults.log.length = 0;
    expect(await w.machine().run(newAppInput('orders'))).toMatchObject({ status: 'SUCCEEDED' });
    const log = w.sb.sandbox.faults.log;
    expect(log.length).toBeLessThanOrEqual(Math.floor(FLOOR * 1.5));
    // The operator and the key administrator, one session each for the whole run.
    expect(count(log, 'sts:AssumeRole')).toBe(2);
    expect(ops(log).filter((o) => ['sts:GetCallerIdentity', 'iam:GetUser'].includes(o))).toEqual([]);
  });

  it('polls a restarting application with DescribeApplicationOperation only, and reads the application twice: to decide and to verify', async () => {
    w = await world({ flinkDurations: { start: 50, update: 200 } });
    await w.existingApp('clickstream', { running: true });
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine({ waitMs: 60 }).run({ applicationName: 'clickstream' });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const log = w.sb.sandbox.faults.log;
    const polls = result.events.filter((e) => e.type === 'StateEntered' && e.state.name === 'CheckUpdate').length;
    expect(polls).toBeGreaterThan(1);
    expect(count(log, 'kinesisanalytics:DescribeApplicationOperation')).toBe(polls);
    expect(count(log, 'kinesisanalytics:DescribeApplication')).toBe(2);
  });
});
