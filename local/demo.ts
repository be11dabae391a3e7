/**
 * The main job (`npm start`): a realistic account on the sandbox — no operator or key-admin role yet, one
 * application to create with the AWS owned key, one RUNNING on FLINK-1_20 — onboarded by the real state
 * machine and handlers, with live progress and a report read back through the SDK.
 */
import { IAMClient, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { KinesisAnalyticsV2Client, CreateApplicationCommand, StartApplicationCommand, DescribeApplicationCommand, ListApplicationSnapshotsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startSandbox, type RunningSandbox } from './sandbox/server';
import { assumeRoleAsService } from './sandbox/services/sts';
import { LocalStateMachine, type EventLog, type ExecutionResult } from './runner';
import { deployLocally, functionEnvironment } from './deployment';
import { steps } from '../lambdas/steps';
import type { Deployment } from '../lambdas/lib/settings';

export type Target = { kind: 'embedded' } | { kind: 'endpoint'; endpoint: string } | { kind: 'aws' };

const tty = process.stdout.isTTY;
const c = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = c(32), red = c(31), dim = c(2), bold = c(1), yellow = c(33);

const flinkTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

/** Seeds the account as a platform team would have it before onboarding, and deploys the orchestrator. */
async function seed(sb: RunningSandbox) {
  const cfg = sb.clientConfig();
  const iam = new IAMClient(cfg);
  const flink = new KinesisAnalyticsV2Client(cfg);
  const account = sb.sandbox.account;
  for (const app of ['orders', 'clickstream']) {
    await iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: JSON.stringify(flinkTrust) }));
  }
  await flink.send(
    new CreateApplicationCommand({
      ApplicationName: 'clickstream',
      RuntimeEnvironment: 'FLINK-1_20',
      ServiceExecutionRole: `arn:aws:iam::${account}:role/clickstream-flink-execution`,
      ApplicationDescription: 'Clickstream sessionization (already running)',
    }),
  );
  await flink.send(new StartApplicationCommand({ ApplicationName: 'clickstream', RunConfiguration: {} }));
  const deployment = await deployLocally({ iam, dynamodb: new DynamoDBClient(cfg) }, { partition: 'aws', account, region: sb.sandbox.region });
  return {
    deployment,
    inputs: [
      {
        applicationName: 'orders',
        createApplication: { runtimeEnvironment: 'FLINK-1_20', serviceExecutionRoleArn: `arn:aws:iam::${account}:role/orders-flink-execution`, applicationDescription: 'Order enrichment' },
        tags: { team: 'payments' },
      },
      { applicationName: 'clickstream', tags: { team: 'growth' } },
    ],
  };
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

export async function demo(options: { inputs?: unknown[]; fast: boolean }): Promise<number> {
  const sb = await startSandbox({
    port: 0,
    flinkDurations: options.fast ? {} : { start: 2000, stop: 1500, update: 3000, snapshot: 500, delete: 500 },
  });
  try {
    console.log(bold('MSF CMK onboarding — on the embedded AWS sandbox'));
    console.log(dim(`sandbox ${sb.endpoint} · account ${sb.sandbox.account} · ${sb.sandbox.region} · IAM propagation ${options.fast ? 0 : 1500} ms`));
    const { deployment, inputs } = await seed(sb);
    // Eventual consistency on from here: roles the workflow creates are invisible to STS and KMS for a while.
    sb.sandbox.iamPropagationDelayMs = options.fast ? 0 : 1500;
    // Lambda assumes the functions' execution role; that is where the orchestrator's credentials come from.
    const s = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', deployment.orchestratorRoleArn, 'msf-cmk-orchestrator');
    sb.sandbox.faults.log.length = 0;
    const machine = new LocalStateMachine({
      account: sb.sandbox.account,
      region: sb.sandbox.region,
      env: functionEnvironment(sb.endpoint, sb.sandbox.region, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken }, deployment),
      waitMs: options.fast ? 0 : 1000,
      retryScale: options.fast ? 0 : 0.25,
    });
    const results: ExecutionResult[] = [];
    for (const input of options.inputs ?? inputs) results.push(await onboard(machine, input));
    await report(sb, deployment, results);
    return results.every((r) => r.status === 'SUCCEEDED') ? 0 : 1;
  } finally {
    await sb.close();
  }
}

async function report(sb: RunningSandbox, deployment: Deployment, results: ExecutionResult[]) {
  const flink = new KinesisAnalyticsV2Client(sb.clientConfig());
  console.log(`\n${bold('Report')}`);
  console.log(`  key admin role   ${deployment.keyAdminRoleArn} (deployed)`);
  for (const r of results.filter((x) => x.status === 'SUCCEEDED').map((x) => x.output)) {
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
  const log = sb.sandbox.faults.log;
  const byService = new Map<string, number>();
  for (const e of log) byService.set(e.service, (byService.get(e.service) ?? 0) + 1);
  const refused = log.filter((e) => e.outcome !== 'OK');
  console.log(`  AWS calls: ${log.length} (${[...byService].map(([k, v]) => `${k} ${v}`).join(', ')}); ${refused.length} answered with an error and retried or handled: ${[...new Set(refused.map((e) => `${e.service}:${e.operation} ${e.outcome}`))].join(', ') || 'none'}`);
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
