/**
 * `npm run bench:fleet`: the fleet (OnboardFleet) against one application and against the runbook (the same
 * applications onboarded one after another), side by side in one run, in **modelled time**: the real ASL on
 * the local runner, with the sandbox's request rates on (AWS's defaults: KMS CreateKey 5/s, IAM writes
 * 10/s…) and a latency model on a virtual clock (bench/virtual-time.ts), so Wait states, retry backoff with
 * its jitter, Managed Flink's update and restart and IAM propagation take the time they would on AWS, and
 * computing here takes none. For N = 1, 10, 50, 200 applications (a mix: new, READY after a run, RUNNING), at
 * maxConcurrency C = 25 with the default maxConcurrentRestarts:
 *  - fleet ÷ (⌈N/C⌉ × one application's critical path): the issue's goal is ≤ 1.3 at N = 200 (one
 *    application = a RUNNING one onboarded alone, the slowest kind: each wave is as slow as its slowest);
 *  - fleet ÷ runbook;
 *  - AWS calls per application, fleet ÷ runbook (the goal: within 10 %);
 *  - throttling errors seen, limit errors, failures, and the most restarts at once.
 * A last row runs N = 200 with at most 5 restarts at once, the price of a tighter bound on restarts.
 * BENCH_SIZES=1,10 picks sizes; BENCH_RESTARTS=8 sets that last row's bound.
 */
import { performance } from 'node:perf_hooks';
import { AsyncLocalStorage } from 'node:async_hooks';
import { IAMClient, CreateRoleCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisAnalyticsV2Client, CreateApplicationCommand, StartApplicationCommand, StopApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { startSandbox, type RunningSandbox } from '../local/sandbox/server';
import { issueSession } from '../local/sandbox/services/sts';
import { isThrottlingCode } from '../local/sandbox/quotas';
import { LocalStateMachine, STATE_MACHINE_NAMES, definitionOf, type Handler } from '../local/runner';
import { deployLocally, functionEnvironment } from '../local/deployment';
import { steps } from '../lambdas/steps';
import { defaultMaxConcurrentRestarts } from '../lambdas/steps/select-applications';
import { VirtualTime } from './virtual-time';

const A = '000000000000';
const R = 'us-east-1';
const C = 25;
const SIZES = (process.env.BENCH_SIZES ?? '1,10,50,200').split(',').map(Number);

/**
 * The latency model (assumed: AWS publishes none of these). A Lambda step costs an invocation (with its
 * state transitions) plus each AWS call it makes, one after another, each uniformly between half and 1.5 ×
 * its mean (so that 25 children started at once do not stay in lockstep, as they would not on AWS);
 * Managed Flink takes `update` to apply a configuration change to a READY application and `restart` to
 * snapshot, stop and start a RUNNING one under its new key; a new IAM role is invisible to STS and KMS for
 * `iamPropagationMs`.
 */
export const MODEL = {
  invokeMs: 100,
  callMs: 80,
  flink: { update: 20_000, restart: 120_000, start: 60_000, stop: 30_000, snapshot: 10_000, delete: 10_000 },
  iamPropagationMs: 8_000,
};

const varied = (mean: number) => Math.round(mean * (0.5 + Math.random()));

type Kind = 'new' | 'ready' | 'running';
/** The mix: application i is new (created, never run), READY (ran and was stopped) or RUNNING, in turn. */
const kindOf = (i: number): Kind => (['new', 'ready', 'running'] as const)[(i - 1) % 3];
const nameOf = (i: number) => `app-${String(i).padStart(3, '0')}`;

interface Account {
  sb: RunningSandbox;
  vt: VirtualTime;
  names: string[];
  machine(operation: string): LocalStateMachine;
  /** The most RUNNING applications restarting at once, sampled at every request. */
  mostRestarting: () => number;
  close(): Promise<void>;
}

const calls = new AsyncLocalStorage<{ n: number }>();

/** A fresh account with `kinds` as its applications, seeded at zero latency, then the model switched on. */
async function account(kinds: Kind[]): Promise<Account> {
  const sb = await startSandbox({ port: 0, rates: false });
  const cfg = sb.clientConfig();
  const iam = new IAMClient(cfg);
  const flink = new KinesisAnalyticsV2Client(cfg);
  const deployment = await deployLocally({ iam, dynamodb: new DynamoDBClient(cfg) }, { partition: 'aws', account: A, region: R });
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  const names = kinds.map((_, i) => nameOf(i + 1));
  for (const [i, kind] of kinds.entries()) {
    const name = names[i];
    await iam.send(new CreateRoleCommand({ RoleName: `${name}-flink-execution`, AssumeRolePolicyDocument: trust }));
    await flink.send(
      new CreateApplicationCommand({
        ApplicationName: name,
        RuntimeEnvironment: 'FLINK-1_20',
        ServiceExecutionRole: `arn:aws:iam::${A}:role/${name}-flink-execution`,
      }),
    );
    if (kind !== 'new') await flink.send(new StartApplicationCommand({ ApplicationName: name, RunConfiguration: {} }));
    if (kind === 'ready') await flink.send(new StopApplicationCommand({ ApplicationName: name }));
  }
  sb.sandbox.tick();
  // The model: AWS's request rates, Managed Flink's durations, IAM propagation; a long orchestrator session
  // stands in for Lambda refreshing its function's credentials.
  sb.sandbox.quotas.configure({ rates: {} });
  Object.assign(sb.sandbox.flinkDurations, MODEL.flink);
  sb.sandbox.iamPropagationDelayMs = MODEL.iamPropagationMs;
  const s = issueSession(sb.sandbox, deployment.orchestratorRoleArn, 'bench', 43_200);
  const env = functionEnvironment(sb.endpoint, R, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken }, deployment);
  const vt = new VirtualTime(sb.sandbox);
  vt.onRequest = () => {
    const store = calls.getStore();
    if (store) store.n++;
  };
  const handlers: Record<string, Handler> = Object.fromEntries(
    Object.entries(steps).map(([k, v]) => [
      k,
      async (event: unknown) => {
        const store = { n: 0 };
        await vt.sleep(varied(MODEL.invokeMs));
        try {
          return await calls.run(store, () => v.handler(event as never));
        } finally {
          if (store.n) await vt.sleep(Array.from({ length: store.n }, () => varied(MODEL.callMs)).reduce((x, y) => x + y));
        }
      },
    ]),
  );
  const apps = sb.sandbox.state.kinesisanalytics.applications;
  let most = 0;
  const record = sb.sandbox.faults.record.bind(sb.sandbox.faults);
  sb.sandbox.faults.record = (entry) => {
    record(entry);
    most = Math.max(most, Object.values(apps).filter((a) => a.Pending?.Kind === 'update' && a.Pending.Restart).length);
  };
  sb.sandbox.faults.log.length = 0;
  return {
    sb,
    vt,
    names,
    machine: (operation) =>
      new LocalStateMachine({
        account: A,
        region: R,
        env,
        handlers,
        definitionPath: definitionOf(operation),
        stateMachineName: STATE_MACHINE_NAMES[operation],
      }),
    mostRestarting: () => most,
    close: async () => {
      vt.stop();
      await sb.close();
    },
  };
}

interface Run {
  modelledMs: number;
  calls: number;
  throttles: number;
  /** Throttling errors by service:operation. */
  throttled: Record<string, number>;
  /** CreateKey's answers: OK, throttled, or refused while the new operator role propagates. */
  createKey: Record<string, number>;
  limits: number;
  failed: number;
  mostRestarting: number;
  wallMs: number;
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

async function measure(kinds: Kind[], act: (a: Account) => Promise<number>): Promise<Run> {
  const a = await account(kinds);
  const wall = performance.now();
  a.vt.start();
  const t0 = a.vt.now();
  const failed = await act(a);
  const modelledMs = a.vt.now() - t0;
  const log = a.sb.sandbox.faults.log;
  const run = {
    modelledMs,
    calls: log.length,
    throttles: log.filter((e) => isThrottlingCode(e.outcome)).length,
    throttled: countBy(log.filter((e) => isThrottlingCode(e.outcome)).map((e) => `${e.service}:${e.operation}`)),
    createKey: countBy(log.filter((e) => e.operation === 'CreateKey').map((e) => e.outcome)),
    limits: log.filter((e) => /LimitExceeded/.test(e.outcome)).length,
    failed,
    mostRestarting: a.mostRestarting(),
    wallMs: performance.now() - wall,
  };
  await a.close();
  return run;
}

const fleet = (n: number, maxConcurrentRestarts?: number) =>
  measure(
    Array.from({ length: n }, (_, i) => kindOf(i + 1)),
    async (a) => {
      const r = await a.machine('onboard-fleet').run({ maxConcurrency: C, ...(maxConcurrentRestarts && { maxConcurrentRestarts }) });
      if (r.status !== 'SUCCEEDED' && !r.output) throw new Error(`fleet ${r.status}: ${r.error} ${r.cause?.slice(0, 500)}`);
      return r.output?.counts?.failed ?? n;
    },
  );

/** The runbook: the same applications, one onboarding after another. */
const runbook = (kinds: Kind[]) =>
  measure(kinds, async (a) => {
    let failed = 0;
    const m = a.machine('onboard-application');
    for (const name of a.names) {
      const r = await m.run({ applicationName: name });
      if (r.status !== 'SUCCEEDED') {
        failed++;
        if (process.env.BENCH_DEBUG) console.error(`${name} ${r.error} ${r.cause?.slice(0, 400)}`);
      }
    }
    return failed;
  });

const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

async function main() {
  const t = performance.now();
  const single: Record<Kind, Run> = {
    new: await runbook(['new']),
    ready: await runbook(['ready']),
    running: await runbook(['running']),
  };
  const one = single.running.modelledMs;
  console.log(
    `fleet benchmark — modelled time (latency model: Lambda step ${MODEL.invokeMs} ms + ${MODEL.callMs} ms per AWS call, each ±50 %; Managed Flink update ${MODEL.flink.update / 1000} s, restart ${MODEL.flink.restart / 1000} s; IAM propagation ${MODEL.iamPropagationMs / 1000} s; AWS's default request rates), C = ${C}, maxConcurrentRestarts default ⌊C/2⌋ = ${defaultMaxConcurrentRestarts(C)}`,
  );
  console.log(
    `one application alone (its critical path): new ${min(single.new.modelledMs)} (${single.new.calls} calls), READY ${min(single.ready.modelledMs)} (${single.ready.calls}), RUNNING ${min(one)} (${single.running.calls}) — the RUNNING one is "one application's" below`,
  );
  console.log('');
  console.log(
    `${pad('N', 4)} ${pad('restarts', 8)} ${pad('fleet', 10)} ${pad('⌈N/C⌉×one', 10)} ${pad('ratio', 6)} ${pad('runbook', 11)} ${pad('fleet÷runbook', 13)} ${pad('calls/app', 9)} ${pad('runbook', 7)} ${pad('ratio', 6)} ${pad('throttles', 9)} ${pad('limits', 6)} ${pad('failed', 6)} ${pad('restarting≤', 11)} ${pad('wall', 6)}`,
  );
  const rows: [number, number | undefined][] = SIZES.map((n) => [n, undefined]);
  if (SIZES.includes(200)) rows.push([200, Number(process.env.BENCH_RESTARTS ?? 5)]);
  const runbooks = new Map<number, Run>();
  const notes: string[] = [];
  for (const [n, restarts] of rows) {
    const f = await fleet(n, restarts);
    let rb = runbooks.get(n);
    if (!rb) runbooks.set(n, (rb = await runbook(Array.from({ length: n }, (_, i) => kindOf(i + 1)))));
    const bound = Math.ceil(n / C) * one;
    const ratio = f.modelledMs / bound;
    const callsRatio = f.calls / n / (rb.calls / n);
    console.log(
      `${pad(n, 4)} ${pad(restarts ?? defaultMaxConcurrentRestarts(C), 8)} ${pad(min(f.modelledMs), 10)} ${pad(min(bound), 10)} ${pad(ratio.toFixed(2), 6)} ${pad(min(rb.modelledMs), 11)} ${pad((f.modelledMs / rb.modelledMs).toFixed(3), 13)} ${pad((f.calls / n).toFixed(1), 9)} ${pad((rb.calls / n).toFixed(1), 7)} ${pad(callsRatio.toFixed(2), 6)} ${pad(f.throttles, 9)} ${pad(f.limits, 6)} ${pad(f.failed, 6)} ${pad(f.mostRestarting, 11)} ${pad(`${((f.wallMs + rb.wallMs) / 1000).toFixed(0)} s`, 6)}`,
    );
    notes.push(
      `N = ${n}${restarts ? ` (restarts ${restarts})` : ''}: throttled ${JSON.stringify(f.throttled)}, each retried by its state's Retry (1 s, doubling, full jitter); runbook throttled ${rb.throttles}; CreateKey answered ${JSON.stringify(f.createKey)}`,
    );
    if (n === 200 && restarts === undefined)
      console.log(
        `     goal (issue 9) at N = 200: fleet ≤ 1.3 × ⌈N/C⌉ × one: ${ratio <= 1.3 ? 'meets' : 'MISSES'} (${ratio.toFixed(2)}); calls per application within 10 %: ${Math.abs(callsRatio - 1) <= 0.1 ? 'meets' : 'MISSES'} (${callsRatio.toFixed(2)})`,
      );
  }
  console.log('');
  for (const note of notes) console.log(note);
  console.log(`\n(wall: real seconds for the fleet and its runbook on this machine; total ${((performance.now() - t) / 1000).toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
