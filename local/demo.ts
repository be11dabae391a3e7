/**
 * The main job (`npm start`): the CDK app deployed into the embedded sandbox — the synthesized roles,
 * functions, state machine and rules — and a realistic account (seed `demo`), onboarded by starting
 * executions through the Step Functions API, with live progress and a report read back through the SDK.
 * `--endpoint` and `--aws` run the handlers on the in-process runner instead (runOnboardings).
 */
import { IAMClient, GetRoleCommand } from '@aws-sdk/client-iam';
import { KinesisAnalyticsV2Client, DescribeApplicationCommand, ListApplicationSnapshotsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startSandbox, type RunningSandbox } from './sandbox/server';
import { LocalStateMachine, type EventLog, type ExecutionResult } from './runner';
import { deployLocally, functionEnvironment } from './deployment';
import { cachedAssembly, deployStack, formatOutputs } from './stack';
import { executionRoleArn, seedAccount } from './seed';
import { startExecution } from './start';
import { steps } from '../lambdas/steps';

export type Target = { kind: 'embedded' } | { kind: 'endpoint'; endpoint: string } | { kind: 'aws' };

const tty = process.stdout.isTTY;
const c = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = c(32), red = c(31), dim = c(2), bold = c(1), yellow = c(33);

/** The demo's onboardings: a new application the workflow creates, and one that is already RUNNING. */
function demoInputs(account: string) {
  return [
    {
      applicationName: 'payments',
      createApplication: { runtimeEnvironment: 'FLINK-1_20', serviceExecutionRoleArn: executionRoleArn(account, 'payments'), applicationDescription: 'Payment risk scoring' },
      tags: { team: 'payments' },
    },
    { applicationName: 'clickstream', tags: { team: 'growth' } },
  ];
}

/** Prints one line per state as it finishes (state, persona, duration, retries), and the state that failed. */
function progress() {
  const entered = new Map<string, number>();
  const errors = new Map<string, string[]>();
  let lastFailed: { name: string; at: number } | undefined;
  const line = (mark: string, name: string, ms: number, errs: string[]) => {
    const persona = steps[name]?.persona ?? '';
    const retries = errs.length ? yellow(`  ${errs.length} ${errs.length === 1 ? 'retry' : 'retries'} (${[...new Set(errs)].join(', ')})`) : '';
    console.log(`  ${mark} ${name.padEnd(24)} ${dim(persona.padEnd(13))} ${String(Math.round(ms)).padStart(6)} ms${retries}`);
  };
  return {
    onTaskError: (state: string, e: Error) => errors.set(state, [...(errors.get(state) ?? []), e.name]),
    onEvent: (e: EventLog) => {
      if (e.type === 'ExecutionFailed' && lastFailed) {
        const errs = errors.get(lastFailed.name) ?? [];
        line(red('✗'), lastFailed.name, lastFailed.at - (entered.get(lastFailed.name) ?? lastFailed.at), errs.slice(0, -1));
        console.log(red(`      ${e.Error}: ${String(e.Cause)}`));
        return;
      }
      if (!('state' in e)) return;
      const name = e.state.name;
      // A retried state is entered once per attempt; its duration runs from the first.
      if (e.type === 'StateEntered' && !errors.has(name)) entered.set(name, e.timestamp);
      if (e.type === 'StateFailed') lastFailed = { name, at: e.timestamp };
      if (e.type !== 'StateExited' || e.state.type === 'Choice') return;
      line(green('✓'), name, e.timestamp - (entered.get(name) ?? e.timestamp), errors.get(name) ?? []);
      errors.delete(name);
    },
  };
}

async function onboard(machine: LocalStateMachine, input: any): Promise<ExecutionResult> {
  console.log(`\n${bold(`▶ OnboardApplication ${input.applicationName}`)}`);
  const p = progress();
  const result = await machine.run(input, { executionName: `onboard-${input.applicationName}-${Date.now()}`, ...p });
  if (result.status === 'SUCCEEDED') console.log(green(`  Succeeded: ${result.output.applicationName} on ${result.output.encryption.KeyId}`));
  else console.log(red(`  Failed: ${result.error}: ${result.cause}`));
  return result;
}

export async function demo(options: { inputs?: unknown[]; fast: boolean; verbose?: boolean }): Promise<number> {
  const sb = await startSandbox({
    port: 0,
    flinkDurations: options.fast ? {} : { start: 2000, stop: 1500, update: 3000, snapshot: 500, delete: 500 },
    // Waits and retry intervals of the ASL, shortened (AWS takes them as written: timeScale 1).
    stepFunctions: { timeScale: options.fast ? 0 : 0.25 },
  });
  if (options.verbose) sb.sandbox.lambdaOutput = (fn, line) => console.log(dim(`    │ ${fn.replace(/^MsfCmkOnboarding-/, '')}: ${line}`));
  try {
    console.log(bold('MSF CMK onboarding — the CDK app deployed into the embedded AWS sandbox'));
    console.log(dim(`sandbox ${sb.endpoint} · account ${sb.sandbox.account} · ${sb.sandbox.region} · IAM propagation ${options.fast ? 0 : 1500} ms`));
    const started = Date.now();
    const deployed = await deployStack(sb.sandbox, { assemblyDir: await cachedAssembly() });
    console.log(dim(`deployed ${deployed.stackName}: ${deployed.created.length} resources in ${((Date.now() - started) / 1000).toFixed(1)} s (cdk synth, then the template into the sandbox)`));
    for (const line of formatOutputs(deployed).slice(3)) console.log(dim(`  ${line}`));
    const seeded = await seedAccount(sb.clientConfig(), sb.sandbox.account, 'demo');
    console.log(dim(`seeded: ${seeded.join(', ')}`));
    // Eventual consistency on from here: roles the workflow creates are invisible to STS and KMS for a while.
    sb.sandbox.iamPropagationDelayMs = options.fast ? 0 : 1500;
    sb.sandbox.faults.log.length = 0;
    const sfn = new SFNClient({ ...sb.clientConfig(), maxAttempts: 1 });
    const results: any[] = [];
    for (const input of options.inputs ?? demoInputs(sb.sandbox.account)) {
      console.log(`\n${bold(`▶ OnboardApplication ${(input as any).applicationName}`)}`);
      const done = await startExecution({ client: sfn, stateMachineArn: deployed.outputs.StateMachineArn, input, name: `onboard-${(input as any).applicationName}-${Date.now()}`, pollMs: 50 }, (l) => console.log(l.startsWith('▶') ? dim(l) : l));
      results.push(done.status === 'SUCCEEDED' ? JSON.parse(done.output!) : undefined);
    }
    await report(sb, deployed.outputs.KeyAdminRoleArn, results.filter(Boolean));
    return results.every(Boolean) ? 0 : 1;
  } finally {
    await sb.close();
  }
}

async function report(sb: RunningSandbox, keyAdminRoleArn: string, outputs: any[]) {
  const flink = new KinesisAnalyticsV2Client(sb.clientConfig());
  console.log(`\n${bold('Report')}`);
  console.log(`  key admin role   ${keyAdminRoleArn} (deployed)`);
  for (const r of outputs) {
    // Read back with the SDK, not from the execution output.
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: r.applicationName }))).ApplicationDetail!;
    const enc = app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
    console.log(`  ${bold(r.applicationName)}  ${app.ApplicationStatus} v${app.ApplicationVersionId}  ${enc?.KeyType} ${enc?.KeyId ?? ''}`);
    console.log(`    key ${r.key.keyArn} (${r.key.aliasName ?? 'adopted'}, ${r.key.keyState})  was ${r.previousEncryption.KeyType}`);
    console.log(`    operator ${r.operatorRoleArn}: inline ${r.operatorPolicies.base}, ${r.operatorPolicies.cmk}`);
    // Snapshots taken before the switch stay under the previous key (facts §6).
    const snaps = (await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: r.applicationName }))).SnapshotSummaries ?? [];
    for (const snap of snaps) {
      const e = snap.ApplicationEncryptionConfigurationDescription;
      console.log(dim(`    snapshot ${snap.SnapshotName} under ${e?.KeyType ?? 'AWS_OWNED_KEY'}${e?.KeyId ? ` ${e.KeyId}` : ''} (kept; not re-encrypted)`));
    }
  }
  // The workflow's own calls: not Step Functions invoking the functions, nor this report's reads as root.
  const log = sb.sandbox.faults.log.filter((e) => e.service !== 'lambda' && !e.caller.endsWith(':root'));
  const byService = new Map<string, number>();
  for (const e of log) byService.set(e.service, (byService.get(e.service) ?? 0) + 1);
  const refused = log.filter((e) => e.outcome !== 'OK');
  console.log(`  AWS calls by the functions: ${log.length} (${[...byService].map(([k, v]) => `${k} ${v}`).join(', ')}); ${refused.length} answered with an error and retried or handled: ${[...new Set(refused.map((e) => `${e.service}:${e.operation} ${e.outcome}`))].join(', ') || 'none'}`);
}

/** Onboard on a sandbox already listening, or on real AWS, with no seeding (the deployment is made if missing). */
export async function runOnboardings(target: Exclude<Target, { kind: 'embedded' }>, inputs: unknown[], options: { fast: boolean }): Promise<number> {
  if (!inputs.length) throw new Error('name an application (--application) or an input file (--input)');
  const region = process.env.AWS_REGION ?? 'us-east-1';
  let env: Record<string, string>;
  let account: string;
  if (target.kind === 'endpoint') {
    const root = { endpoint: target.endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    account = ((await (await fetch(`${target.endpoint}/_sandbox/health`)).json()) as { account: string }).account;
    const deployment = await deployLocally({ iam: new IAMClient(root), dynamodb: new DynamoDBClient(root) }, { partition: 'aws', account, region });
    const res = await fetch(`${target.endpoint}/_sandbox/credentials`, { method: 'POST', body: JSON.stringify({ roleArn: deployment.orchestratorRoleArn, sessionName: 'msf-cmk-orchestrator' }) });
    if (!res.ok) throw new Error(`the sandbox would not issue orchestrator credentials: ${await res.text()}`);
    env = functionEnvironment(target.endpoint, region, (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string }, deployment);
  } else {
    // Real AWS from a laptop: the caller's role (standard credential chain) plays the orchestrator.
    const iam = new IAMClient({ region });
    const identity = await new STSClient({ region }).send(new GetCallerIdentityCommand({}));
    account = identity.Account!;
    const [, partition, , , , resource] = identity.Arn!.split(':');
    if (!resource.startsWith('assumed-role/')) throw new Error(`--aws runs as a role session (AWS_PROFILE of a role); ${identity.Arn} is not one`);
    // A session ARN drops the role's path, which trust policies need.
    const callerRole = (await iam.send(new GetRoleCommand({ RoleName: resource.split('/')[1] }))).Role!.Arn!;
    const deployment = await deployLocally({ iam, dynamodb: new DynamoDBClient({ region }) }, { partition, account, region }, {}, callerRole);
    env = functionEnvironment(undefined, region, undefined, deployment);
  }
  const machine = new LocalStateMachine({ account, region, env, ...(options.fast ? { waitMs: 0, retryScale: 0 } : {}) });
  let failed = 0;
  for (const input of inputs) if ((await onboard(machine, input)).status !== 'SUCCEEDED') failed++;
  return failed ? 1 : 0;
}
