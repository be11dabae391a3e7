/**
 * The main job (`npm start`): a realistic account on the sandbox — no operator or key-admin role yet, one
 * application to create with the AWS owned key, one RUNNING on FLINK-1_20 (and a platform key for it, which
 * statemachine/examples/adopt-existing-key.json adopts) — onboarded by the real state
 * machine and handlers, with live progress and a report read back through the SDK.
 */
import { IAMClient, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { KinesisAnalyticsV2Client, CreateApplicationCommand, StartApplicationCommand, DescribeApplicationCommand, ListApplicationSnapshotsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { applicationArn, operatorRoleName } from '../lambdas/lib/names';
import { keyPolicy } from '../lambdas/lib/policies';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startSandbox, type RunningSandbox } from './sandbox/server';
import { assumeRoleAsService } from './sandbox/services/sts';
import { LocalStateMachine, type ExecutionResult } from './runner';
import { fromLocalEvent, isPlanReport, personas, planLines, progressRenderer } from './progress';
import { deployLocally, functionEnvironment } from './deployment';
import { endpointConfig } from './start';
import { causeMessage } from '../lambdas/lib/errors';
import type { Deployment } from '../lambdas/lib/settings';

export type Target = { kind: 'embedded' } | { kind: 'endpoint'; endpoint: string } | { kind: 'aws' };

const tty = process.stdout.isTTY;
const c = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = c(32), red = c(31), dim = c(2), bold = c(1);

const flinkTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

/**
 * The key statemachine/examples/adopt-existing-key.json names: one a platform team made for an
 * application before its first onboarding. Its operator role does not exist yet and KMS refuses a policy
 * naming a missing principal, so the key delegates to the account, and the operator's IAM policy — which
 * the workflow writes — gives the operator its rights; the rest is the documented policy (facts §3).
 */
async function platformKey(sb: RunningSandbox, deployment: Deployment, application: string) {
  const kms = new KMSClient(sb.clientConfig());
  const scope = { account: sb.sandbox.account, region: sb.sandbox.region };
  const operator = `arn:aws:iam::${scope.account}:role${deployment.rolePath}${operatorRoleName(deployment, application)}`;
  const full = keyPolicy({ scope, applicationArn: applicationArn(scope, application), operatorRoleArn: operator, keyAdminRoleArn: deployment.keyAdminRoleArn, delegateToAccount: true });
  const policy = { ...full, Statement: full.Statement.filter((s) => s.Principal?.AWS !== operator) };
  const key = (await kms.send(new CreateKeyCommand({ Description: `Platform key for ${application}`, Policy: JSON.stringify(policy) }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: `alias/platform/${application}`, TargetKeyId: key.KeyId }));
}

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
  await platformKey(sb, deployment, 'clickstream');
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

const personaOf = personas();

/** Runs one onboarding with the one progress view; a plan's output is its change list. */
async function onboard(machine: LocalStateMachine, input: any): Promise<ExecutionResult> {
  console.log(`\n${bold(`▶ OnboardApplication ${input.applicationName}${input.mode === 'plan' ? ' (plan)' : ''}`)}`);
  const show = progressRenderer({ print: (l) => console.log(l), personaOf, color: tty });
  const result = await machine.run(input, {
    executionName: `onboard-${input.applicationName}-${Date.now()}`,
    onEvent: (e) => {
      const p = fromLocalEvent(e);
      if (p) show(p);
    },
  });
  if (result.status !== 'SUCCEEDED') console.log(red(`  Failed: ${result.error}: ${causeMessage(result.cause)}`));
  else if (isPlanReport(result.output)) for (const l of planLines(result.output)) console.log(l);
  else console.log(green(`  Succeeded: ${result.output.applicationName} on ${result.output.encryption.KeyId}`));
  return result;
}

export interface DemoOptions {
  inputs?: unknown[];
  fast: boolean;
  /** Print the functions' own log lines (Powertools, INFO) as they run. */
  verbose?: boolean;
}

const logLevel = (options: { verbose?: boolean }) => (options.verbose ? 'INFO' : 'SILENT');

export async function demo(options: DemoOptions): Promise<number> {
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
      env: functionEnvironment(sb.endpoint, sb.sandbox.region, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken }, deployment, logLevel(options)),
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
  for (const r of results.filter((x) => x.status === 'SUCCEEDED' && !isPlanReport(x.output)).map((x) => x.output)) {
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
export async function runOnboardings(target: Exclude<Target, { kind: 'embedded' }>, inputs: unknown[], options: Omit<DemoOptions, 'inputs'>): Promise<number> {
  if (!inputs.length) throw new Error('name an application (--application) or an input file (--input)');
  let region = process.env.AWS_REGION ?? 'us-east-1';
  let env: Record<string, string>;
  let account: string;
  if (target.kind === 'endpoint') {
    const root = endpointConfig(target.endpoint);
    region = root.region;
    account = ((await (await fetch(`${target.endpoint}/_sandbox/health`)).json()) as { account: string }).account;
    const deployment = await deployLocally({ iam: new IAMClient(root), dynamodb: new DynamoDBClient(root) }, { partition: 'aws', account, region });
    const res = await fetch(`${target.endpoint}/_sandbox/credentials`, { method: 'POST', body: JSON.stringify({ roleArn: deployment.orchestratorRoleArn, sessionName: 'msf-cmk-orchestrator' }) });
    if (!res.ok) throw new Error(`the sandbox would not issue orchestrator credentials: ${await res.text()}`);
    env = functionEnvironment(target.endpoint, region, (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string }, deployment, logLevel(options));
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
    env = functionEnvironment(undefined, region, undefined, deployment, logLevel(options));
  }
  const machine = new LocalStateMachine({ account, region, env, ...(options.fast ? { waitMs: 0, retryScale: 0 } : {}) });
  let failed = 0;
  for (const input of inputs) if ((await onboard(machine, input)).status !== 'SUCCEEDED') failed++;
  return failed ? 1 : 0;
}
