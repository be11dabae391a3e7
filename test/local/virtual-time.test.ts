/**
 * The fleet benchmark's modelled time (bench/virtual-time.ts): timers are virtual, the sandbox clock jumps
 * to the earliest only when nothing is in flight, and what is due on the clock (a Managed Flink update)
 * completes then.
 */
import { performance } from 'node:perf_hooks';
import { CreateApplicationCommand, DescribeApplicationCommand, KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { VirtualTime } from '../../bench/virtual-time';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('virtual time for benchmarks', () => {
  let sb: RunningSandbox;
  let vt: VirtualTime;
  afterEach(async () => {
    vt?.stop();
    await sb?.close();
  });

  it('an hour of timers passes in moments, in order, and the sandbox clock with them; an HTTP call in flight holds it', async () => {
    sb = await startSandbox({ port: 0 });
    const iam = new IAMClient({ ...sb.clientConfig(), maxAttempts: 1 });
    const flink = new KinesisAnalyticsV2Client({ ...sb.clientConfig(), maxAttempts: 1 });
    vt = new VirtualTime(sb.sandbox);
    vt.start();
    const t0 = vt.now();
    const wall = performance.now();
    const order: string[] = [];
    const at = (label: string, ms: number) => vt.sleep(ms).then(() => order.push(`${label}@${Math.round((vt.now() - t0) / 1000)}s`));

    // A role created, then (the call in flight) an application, while two timers wait.
    const timers = Promise.all([at('hour', 3_600_000), at('minute', 60_000)]);
    await iam.send(new CreateRoleCommand({ RoleName: 'exec', AssumeRolePolicyDocument: TRUST }));
    const before = vt.now();
    await timers;

    expect(before).toBe(t0);
    expect(order).toEqual(['minute@60s', 'hour@3600s']);
    expect(vt.now() - t0).toBe(3_600_000);
    expect(performance.now() - wall).toBeLessThan(5_000);
    // The clock the sandbox answers with moved too: an application created now is an hour younger.
    await flink.send(
      new CreateApplicationCommand({ ApplicationName: 'a', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: 'arn:aws:iam::000000000000:role/exec' }),
    );
    const created = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'a' }))).ApplicationDetail!.CreateTimestamp!;
    expect(Math.abs(created.getTime() - (t0 + 3_600_000))).toBeLessThan(1_000);
  });
});
