/**
 * onboard-fleet: the account's applications selected (pattern, runtime, list, tag), those already on a
 * customer managed key skipped, each onboarded by its own OnboardApplication child execution
 * (startExecution.sync:2, run in-process by the local runner as Step Functions runs it), one summary line
 * per application; a failing application fails alone, within the tolerated failure percentage.
 */
import { TagResourceCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ACCOUNT, REGION, world, type World } from './harness';
import { fleetGroups, fleetInput, groupConcurrency } from '../../lambdas/steps/select-applications';
import { VirtualTime } from '../../bench/virtual-time';

const appArn = (name: string) => `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/${name}`;

describe('onboard-fleet', () => {
  let w: World;
  afterEach(() => w?.close());

  /** Four applications on the AWS owned key (one on a runtime Managed Flink refuses a CMK for), one on a CMK already. */
  async function account() {
    w = await world();
    for (const name of ['orders', 'payments', 'clicks']) await w.existingApp(name);
    await w.existingApp('legacy', { runtime: 'FLINK-1_15' });
    await w.existingApp('onboarded');
    expect((await w.machine().run({ applicationName: 'onboarded' })).status).toBe('SUCCEEDED');
  }
  const keyOf = async (name: string) => (await w.describe(name)).ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType;

  it('onboards every application of the account through its own child execution, skips one already on a CMK, and the bad runtime fails alone', async () => {
    // Prepare
    await account();

    // Act
    const result = await w.operation('onboard-fleet').run({ maxConcurrency: 2, toleratedFailurePercentage: 25 });

    // Assess: 1 of 4 failed = 25 %, tolerated.
    expect(result.status).toBe('SUCCEEDED');
    const lines = Object.fromEntries(result.output.applications.map((a: any) => [a.applicationName, a]));
    expect(result.output.counts).toEqual({ selected: 4, succeeded: 3, failed: 1, skipped: 1 });
    for (const name of ['orders', 'payments', 'clicks']) {
      expect(lines[name]).toMatchObject({
        status: 'SUCCEEDED',
        keyArn: expect.stringMatching(/^arn:aws:kms:/),
        executionArn: expect.stringContaining(':OnboardApplication:'),
      });
      expect(await keyOf(name)).toBe('CUSTOMER_MANAGED_KEY');
    }
    expect(lines.legacy).toMatchObject({ status: 'FAILED', error: expect.any(String), cause: expect.stringContaining('FLINK-1_20') });
    expect(await keyOf('legacy')).toBe('AWS_OWNED_KEY');
    expect(lines.onboarded).toMatchObject({ status: 'SKIPPED', cause: expect.stringContaining('already on customer managed key') });
    // One history per application: each child is its own execution, the failed one too.
    expect(new Set(result.output.applications.filter((a: any) => a.executionArn).map((a: any) => a.executionArn)).size).toBe(4);
  });

  it('adopts the keys keyIds names; one whose policy lacks what Managed Flink needs fails that application alone, changing nothing of it', async () => {
    // Prepare: a key with KMS's default policy (the account root only) for payments.
    await account();
    const key = (await new KMSClient(w.sb.clientConfig()).send(new CreateKeyCommand({ Description: 'another team' }))).KeyMetadata!;
    const before = w.sb.sandbox.snapshot();

    // Act
    const result = await w.operation('onboard-fleet').run({
      applicationNames: ['orders', 'payments', 'clicks'],
      keyIds: { payments: key.Arn },
      toleratedFailurePercentage: 34,
    });

    // Assess: 1 of 3 failed, tolerated; payments refused before any write, the others onboarded.
    expect(result.status).toBe('SUCCEEDED');
    const lines = Object.fromEntries(result.output.applications.map((a: any) => [a.applicationName, a]));
    expect(result.output.counts).toEqual({ selected: 3, succeeded: 2, failed: 1, skipped: 0 });
    expect(lines.payments).toMatchObject({ status: 'FAILED', error: 'PreconditionFailed', cause: expect.stringContaining('cannot be adopted') });
    expect([await keyOf('orders'), await keyOf('payments'), await keyOf('clicks')]).toEqual(['CUSTOMER_MANAGED_KEY', 'AWS_OWNED_KEY', 'CUSTOMER_MANAGED_KEY']);
    const paymentsChanges = w.sb.sandbox.diff(before).filter((c) => c.path.includes('payments') && !c.path.startsWith('dynamodb'));
    expect(paymentsChanges).toEqual([]);
  });

  it('fails FleetFailed, naming the failures, when more fail than tolerated; what succeeded stays onboarded', async () => {
    await account();
    const result = await w.operation('onboard-fleet').run({ namePattern: '*e*' });
    // orders, payments and legacy match (onboarded is skipped); legacy fails, and 0 % is tolerated.
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'FleetFailed',
      cause: '1 of 3 onboardings failed (33.3%, tolerated 0%): legacy UnsupportedRuntime',
    });
    expect([await keyOf('orders'), await keyOf('payments'), await keyOf('legacy')]).toEqual(['CUSTOMER_MANAGED_KEY', 'CUSTOMER_MANAGED_KEY', 'AWS_OWNED_KEY']);
  });

  it('plans the whole fleet with zero writes, and the run then makes exactly the planned writes', async () => {
    // Prepare
    await account();
    const before = w.sb.sandbox.snapshot();
    const input = { runtimeEnvironment: 'FLINK-1_20' };

    // Act
    const plan = await w.operation('onboard-fleet').run({ ...input, mode: 'plan' });
    const planDiff = w.sb.sandbox.diff(before).filter((c) => !c.path.startsWith('dynamodb'));
    w.sb.sandbox.faults.log.length = 0;
    const run = await w.operation('onboard-fleet').run(input);

    // Assess
    expect(plan.status).toBe('SUCCEEDED');
    expect(planDiff).toEqual([]);
    const planned = plan.output.applications.flatMap((a: any) => (a.changes ?? []).map((c: any) => `${c.action}`)).sort();
    const writes = w.sb.sandbox.faults.log
      .filter(
        (e) =>
          e.outcome === 'OK' &&
          !/^(Describe|Get|List)/.test(e.operation) &&
          !['AssumeRole', 'Decrypt', 'GenerateDataKey'].includes(e.operation) &&
          e.service !== 'dynamodb',
      )
      .map((e) => `${e.service}:${e.operation}`)
      .sort();
    expect(run.output.counts).toMatchObject({ selected: 3, succeeded: 3 });
    expect(planned.length).toBeGreaterThan(0);
    expect(writes).toEqual(planned);
  });

  it('selects by an explicit list and by tag, and refuses an unknown field or application by name, before any write', async () => {
    await account();
    const root = w.root.flink;
    await root.send(new TagResourceCommand({ ResourceARN: appArn('payments'), Tags: [{ Key: 'team', Value: 'pay' }] }));
    const byTag = await w.operation('onboard-fleet').run({ tag: { key: 'team', value: 'pay' }, mode: 'plan' });
    expect(byTag.output.applications.map((a: any) => a.applicationName)).toEqual(['payments']);
    const byList = await w.operation('onboard-fleet').run({ applicationNames: ['clicks', 'onboarded'], mode: 'plan' });
    expect(byList.output.applications.map((a: any) => [a.applicationName, a.status])).toEqual([
      ['clicks', 'SUCCEEDED'],
      ['onboarded', 'SKIPPED'],
    ]);
    const bad = await w.operation('onboard-fleet').run({ applicationNames: ['nope'], maxConcurrency: 0, colour: 'red' });
    expect(bad).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(bad.cause).toContain('colour: is not a field of the fleet');
    expect(bad.cause).toContain('maxConcurrency: must be an integer from 1 to 40');
    const restarts = await w.operation('onboard-fleet').run({ maxConcurrency: 3, maxConcurrentRestarts: 4 });
    expect(restarts).toMatchObject({
      status: 'FAILED',
      error: 'InvalidInput',
      cause: 'maxConcurrentRestarts: must be an integer from 1 to maxConcurrency (3)',
    });
    const keys = await w.operation('onboard-fleet').run({ keyIds: ['orders'] });
    expect(keys).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('keyIds: must map application names') });
    const unknown = await w.operation('onboard-fleet').run({ keyIds: { nope: 'alias/x' } });
    expect(unknown).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: 'keyIds: nope does not exist in us-east-1' });
  });

  it('restarts at most maxConcurrentRestarts running applications at once, while the READY ones onboard beside them', async () => {
    // Prepare: four RUNNING applications and three READY ones; on a virtual clock (bench/virtual-time.ts, so the
    // timing does not depend on this machine's load) an update lasts 20 s, a restart 120 s, and the Wait states
    // and retries take what the definition says.
    w = await world({ flinkDurations: { update: 20_000, restart: 120_000 } });
    const running = ['runa', 'runb', 'runc', 'rund'];
    const ready = ['rdya', 'rdyb', 'rdyc'];
    for (const name of running) await w.existingApp(name, { running: true });
    for (const name of ready) await w.existingApp(name);
    const apps = w.sb.sandbox.state.kinesisanalytics.applications;
    // Sampled at every request the sandbox answers: a restart is an update of a running application in flight.
    const most = { restarting: 0, readyUpdating: 0, both: false };
    const record = w.sb.sandbox.faults.record.bind(w.sb.sandbox.faults);
    w.sb.sandbox.faults.record = (entry) => {
      record(entry);
      const inFlight = Object.values(apps).filter((a) => a.Pending?.Kind === 'update');
      const restarting = inFlight.filter((a) => a.Pending?.Restart).length;
      const readyUpdating = inFlight.length - restarting;
      most.restarting = Math.max(most.restarting, restarting);
      most.readyUpdating = Math.max(most.readyUpdating, readyUpdating);
      most.both ||= restarting > 0 && readyUpdating > 0;
    };

    // Act
    const vt = new VirtualTime(w.sb.sandbox);
    vt.start();
    const t0 = vt.now();
    const result = await w
      .operation('onboard-fleet', { waitMs: undefined, retryScale: undefined })
      .run({ maxConcurrency: 5, maxConcurrentRestarts: 2 })
      .finally(() => vt.stop());

    // Assess: every one onboarded; never more than 2 restarts at once, and the bound used; the READY ones in parallel, during restarts.
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.counts).toEqual({ selected: 7, succeeded: 7, failed: 0, skipped: 0 });
    for (const name of running) expect((await w.describe(name)).ApplicationStatus).toBe('RUNNING');
    expect(most.restarting).toBe(2);
    expect(most.readyUpdating).toBeGreaterThanOrEqual(2);
    expect(most.both).toBe(true);
    // Two waves of two restarts: more than two restarts' time, less than four.
    expect(vt.now() - t0).toBeGreaterThan(2 * 120_000);
    expect(vt.now() - t0).toBeLessThan(4 * 120_000);
  });

  it('groups the applications that are not READY apart, at maxConcurrentRestarts, the rest in the slots left; plan mode restarts nothing', () => {
    const apps = [
      { applicationName: 'a', mode: 'apply' as const, status: 'RUNNING' },
      { applicationName: 'b', mode: 'apply' as const, status: 'READY' },
      { applicationName: 'c', mode: 'apply' as const, status: 'STARTING' },
    ];
    const item = (applicationName: string, mode = 'apply') => ({ applicationName, mode });
    // Defaults: maxConcurrency 5, restarts ⌊5/2⌋ = 2.
    expect(fleetInput({})).toMatchObject({ maxConcurrency: 5, maxConcurrentRestarts: 2 });
    expect(fleetInput({ maxConcurrency: 25 }).maxConcurrentRestarts).toBe(12);
    expect(fleetInput({ maxConcurrency: 1 }).maxConcurrentRestarts).toBe(1);
    expect(fleetGroups(fleetInput({}), apps)).toEqual([
      { restarts: false, maxConcurrency: 3, startSpreadSeconds: 1, applications: [item('b')] },
      { restarts: true, maxConcurrency: 2, startSpreadSeconds: 1, applications: [item('a'), item('c')] },
    ]);
    // Fewer to restart than the bound: the rest get the slots the restarts cannot use.
    expect(fleetGroups(fleetInput({ maxConcurrency: 10, maxConcurrentRestarts: 4 }), apps).map((g) => g.maxConcurrency)).toEqual([8, 2]);
    const planned = apps.map((a) => ({ ...a, mode: 'plan' as const }));
    expect(fleetGroups(fleetInput({ mode: 'plan' }), planned)).toEqual([
      { restarts: false, maxConcurrency: 5, startSpreadSeconds: 1, applications: ['a', 'b', 'c'].map((n) => item(n, 'plan')) },
    ]);
    expect(fleetGroups(fleetInput({}), [apps[1]])).toEqual([{ restarts: false, maxConcurrency: 5, startSpreadSeconds: 1, applications: [item('b')] }]);
    // Side by side while the slots fit; at maxConcurrency 1 (1 + 1 slots) one group after the other.
    const config1 = fleetInput({ maxConcurrency: 1 });
    expect(groupConcurrency(config1, fleetGroups(config1, apps))).toBe(1);
    expect(groupConcurrency(fleetInput({}), fleetGroups(fleetInput({}), apps))).toBe(2);
    // 25 at once start over 5 s: about KMS's 5 CreateKey a second.
    expect(fleetGroups(fleetInput({ maxConcurrency: 25 }), apps).map((g) => g.startSpreadSeconds)).toEqual([5, 5]);
  });
});
