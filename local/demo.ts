/**
 * The main job (`npm start`): the CDK app deployed into the embedded sandbox — the synthesized roles,
 * functions, state machine and rules — and a realistic account (seed `demo`, with the platform key that
 * statemachine/examples/adopt-existing-key.json adopts), onboarded by starting executions through the
 * Step Functions API, with the one progress view and a report read back through the SDK — then day two
 * on the deployed operation machines: an audit of the account, an on-demand rotation and a move of the
 * RUNNING application to a new key, read back the same way.
 * `--endpoint` and `--aws` run the handlers on the in-process runner instead (runOnboardings).
 */
import { IAMClient, GetRoleCommand } from '@aws-sdk/client-iam';
import { KinesisAnalyticsV2Client, DescribeApplicationCommand, ListApplicationSnapshotsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startSandbox, type RunningSandbox } from './sandbox/server';
import { consoleMounts, consoleUrl } from './console/server';
import { assumeRoleAsService } from './sandbox/services/sts';
import { LocalStateMachine, type ExecutionResult } from './runner';
import { fromLocalEvent, isPlanReport, personas, planLines, progressRenderer } from './progress';
import { deployLocally, functionEnvironment } from './deployment';
import { cachedAssembly, deployStack, formatOutputs } from './stack';
import { executionRoleArn, seedAccount } from './seed';
import { endpointConfig, startExecution } from './start';
import { causeMessage } from '../lambdas/lib/errors';
import { describeKey, keyRotations } from '../lambdas/lib/reads';
import { ON_DEMAND_ROTATION_CAP } from '../lambdas/steps/rotate-key-on-demand';
import type { AuditReport } from '../lambdas/steps/report-findings';
import type { RotationReport } from '../lambdas/steps/verify-rotation';
import type { OnboardingReport } from '../lambdas/steps/verify-encryption';
import type { PlanReport } from '../lambdas/steps/report-plan';

export type Target = { kind: 'embedded' } | { kind: 'endpoint'; endpoint: string } | { kind: 'aws' };

const tty = process.stdout.isTTY;
const c = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = c(32),
  red = c(31),
  dim = c(2),
  bold = c(1);

/** The demo's onboardings: a new application the workflow creates, and one that is already RUNNING. */
function demoInputs(account: string) {
  return [
    {
      applicationName: 'payments',
      createApplication: {
        runtimeEnvironment: 'FLINK-1_20',
        serviceExecutionRoleArn: executionRoleArn(account, 'payments'),
        applicationDescription: 'Payment risk scoring',
      },
      tags: { team: 'payments' },
    },
    { applicationName: 'clickstream', tags: { team: 'growth' } },
  ];
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
  /** Serve the local console and keep the sandbox up after the demo, until Ctrl-C. */
  console?: boolean;
}

const logLevel = (options: { verbose?: boolean }) => (options.verbose ? 'INFO' : 'SILENT');

export interface DemoResult {
  exitCode: number;
  /** The onboarding executions' outputs, those that succeeded. */
  onboarded: (OnboardingReport | PlanReport)[];
  /** After the demo's own onboardings (no inputs given) all succeeded. */
  dayTwo?: DayTwo;
}

export async function demo(options: DemoOptions): Promise<DemoResult> {
  const sb = await startSandbox({
    port: 0,
    ...(options.console && { mounts: consoleMounts }),
    flinkDurations: options.fast ? {} : { start: 2000, stop: 1500, update: 3000, snapshot: 500, delete: 500 },
    // Waits and retry intervals of the ASL, shortened (AWS takes them as written: timeScale 1).
    stepFunctions: { timeScale: options.fast ? 0 : 0.25 },
  });
  // The functions' own log lines (Powertools JSON), without Lambda's START/END/REPORT lines.
  if (options.verbose) sb.sandbox.lambdaOutput = (_fn, line) => void (/^(START|END|REPORT) RequestId/.test(line) || console.log(line));
  try {
    console.log(bold('MSF CMK onboarding — the CDK app deployed into the embedded AWS sandbox'));
    console.log(dim(`sandbox ${sb.endpoint} · account ${sb.sandbox.account} · ${sb.sandbox.region} · IAM propagation ${options.fast ? 0 : 1500} ms`));
    const started = Date.now();
    const deployed = await deployStack(sb.sandbox, { assemblyDir: await cachedAssembly() });
    console.log(
      dim(
        `deployed ${deployed.stackName}: ${deployed.created.length} resources in ${((Date.now() - started) / 1000).toFixed(1)} s (cdk synth, then the template into the sandbox)`,
      ),
    );
    for (const line of formatOutputs(deployed).slice(3)) console.log(dim(`  ${line}`));
    const seeded = await seedAccount(sb.clientConfig(), sb.sandbox.account, 'demo');
    console.log(dim(`seeded: ${seeded.join(', ')}`));
    // Eventual consistency on from here: roles the workflow creates are invisible to STS and KMS for a while.
    sb.sandbox.iamPropagationDelayMs = options.fast ? 0 : 1500;
    sb.sandbox.faults.log.length = 0;
    const sfn = new SFNClient({ ...sb.clientConfig(), maxAttempts: 1 });
    const onboarded: DemoResult['onboarded'] = [];
    let failed = 0;
    for (const input of (options.inputs ?? demoInputs(sb.sandbox.account)) as { applicationName: string; mode?: string }[]) {
      const output = await execute(
        sfn,
        deployed.outputs.StateMachineArn,
        `OnboardApplication ${input.applicationName}${input.mode === 'plan' ? ' (plan)' : ''}`,
        input,
        `onboard-${input.applicationName}`,
      );
      if (output) onboarded.push(output);
      else failed++;
    }
    await report(sb, deployed.outputs.KeyAdminRoleArn, onboarded);
    // Day two is the demo's own account's: an input of one's own onboards just that.
    let day2: DayTwo | undefined;
    if (!options.inputs && failed) console.log(red('\nDay two skipped: it works on what the onboardings made.'));
    else if (!options.inputs) {
      day2 = await dayTwo(sb, sfn, deployed.outputs);
      failed += day2.failed;
    }
    callsReport(sb);
    if (options.console) await untilInterrupted(sb);
    return { exitCode: failed ? 1 : 0, onboarded, dayTwo: day2 };
  } finally {
    await sb.close();
  }
}

/** The account the demo left, in the console, until Ctrl-C (SIGINT or SIGTERM). */
async function untilInterrupted(sb: RunningSandbox): Promise<void> {
  console.log(`\n${bold('Console')} ${consoleUrl(sb.endpoint)}  ${dim('(the sandbox stays up; Ctrl-C to stop)')}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** StartExecution on a deployed state machine with the one progress view; the output, or undefined when it did not succeed. */
async function execute(sfn: SFNClient, stateMachineArn: string, title: string, input: object, name: string): Promise<any> {
  console.log(`\n${bold(`▶ ${title}`)}`);
  const done = await startExecution({ client: sfn, stateMachineArn, input, name: `${name}-${Date.now()}`, pollMs: 50, color: tty }, (l) =>
    console.log(l.startsWith('▶') ? dim(l) : l),
  );
  return done.status === 'SUCCEEDED' ? JSON.parse(done.output!) : undefined;
}

async function report(sb: RunningSandbox, keyAdminRoleArn: string, outputs: any[]) {
  const flink = new KinesisAnalyticsV2Client(sb.clientConfig());
  console.log(`\n${bold('Report')}`);
  console.log(`  key admin role   ${keyAdminRoleArn} (deployed)`);
  for (const r of outputs.filter((o) => !isPlanReport(o))) {
    // Read back with the SDK, not from the execution output.
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: r.applicationName }))).ApplicationDetail!;
    const enc = app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
    console.log(`  ${bold(r.applicationName)}  ${app.ApplicationStatus} v${app.ApplicationVersionId}  ${enc?.KeyType} ${enc?.KeyId ?? ''}`);
    console.log(`    key ${r.key.keyArn} (${r.key.aliasName ?? 'adopted'}, ${r.key.keyState})  was ${r.previousEncryption.KeyType}`);
    console.log(
      `    operator ${r.operatorRoleArn}: ${r.operatorPolicies.base ? `inline ${r.operatorPolicies.base}, ${r.operatorPolicies.cmk}` : `shared, with ${r.operatorPolicies.cmk}`}`,
    );
    await snapshotLines(flink, r.applicationName);
  }
}

/** Snapshots taken before a switch stay under the key they were taken with (facts §6). */
async function snapshotLines(flink: KinesisAnalyticsV2Client, applicationName: string) {
  const snaps = (await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: applicationName }))).SnapshotSummaries ?? [];
  for (const snap of snaps) {
    const e = snap.ApplicationEncryptionConfigurationDescription;
    console.log(dim(`    snapshot ${snap.SnapshotName} under ${e?.KeyType ?? 'AWS_OWNED_KEY'}${e?.KeyId ? ` ${e.KeyId}` : ''} (kept; not re-encrypted)`));
  }
}

/** Day two works on the RUNNING application: where a rotation needs a restart and a move leaves a snapshot under the old key. */
const DAY_TWO_APPLICATION = 'clickstream';

export interface DayTwo {
  audit?: AuditReport;
  rotation?: RotationReport;
  move?: OnboardingReport;
  /** Read back through the SDK after the operations, not taken from their outputs. */
  readBack: {
    application: { status?: string; keyType?: string; keyId?: string };
    previousKeyState?: string;
    rotations: { date: string; type: string }[];
  };
  failed: number;
}

/** Audits the account, rotates one key on demand and moves one application to a new key, each on its deployed state machine. */
async function dayTwo(sb: RunningSandbox, sfn: SFNClient, outputs: Record<string, string>): Promise<DayTwo> {
  const app = DAY_TWO_APPLICATION;
  console.log(`\n${bold('Day two')}  ${dim('audit the account, rotate one key, move one application')}`);
  const audit: AuditReport | undefined = await execute(sfn, outputs.AuditStateMachineArn, 'Audit (every application of the account)', {}, 'audit');
  const rotation: RotationReport | undefined = await execute(
    sfn,
    outputs.RotateKeyStateMachineArn,
    `RotateKey ${app}`,
    { applicationName: app },
    `rotate-${app}`,
  );
  const move: OnboardingReport | undefined = await execute(
    sfn,
    outputs.MoveKeyStateMachineArn,
    `MoveKey ${app} (to a new key)`,
    { applicationName: app },
    `move-${app}`,
  );

  const flink = new KinesisAnalyticsV2Client(sb.clientConfig());
  // Key policies name no account-wide reader of rotations: the key administrator reads them, as VerifyRotation does.
  const kms = new KMSClient(await asKeyAdministrator(sb, outputs));
  console.log(`\n${bold('Day two, read back')}`);
  const detail = (await flink.send(new DescribeApplicationCommand({ ApplicationName: app }))).ApplicationDetail!;
  const enc = detail.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
  console.log(`  ${bold(app)}  ${detail.ApplicationStatus} v${detail.ApplicationVersionId}  ${enc?.KeyType} ${enc?.KeyId ?? ''}`);
  let previousKeyState: string | undefined;
  if (move?.previousKey) {
    previousKeyState = (await describeKey(kms, move.previousKey.keyArn))?.KeyState ?? 'gone';
    console.log(`    moved from ${move.previousKey.keyArn}, which is ${previousKeyState}`);
  }
  await snapshotLines(flink, app);
  const rotations = rotation
    ? (await keyRotations(kms, rotation.keyArn)).map((r) => ({ date: new Date(r.RotationDate!).toISOString(), type: r.RotationType! }))
    : [];
  if (rotation) {
    const onDemand = rotations.filter((r) => r.type === 'ON_DEMAND').length;
    console.log(
      `  key ${rotation.keyArn}: ${rotations.length} ${rotations.length === 1 ? 'rotation' : 'rotations'}, ${ON_DEMAND_ROTATION_CAP - onDemand} on-demand left`,
    );
    for (const r of rotations) console.log(dim(`    ${r.date} ${r.type}`));
  }
  return {
    audit,
    rotation,
    move,
    readBack: { application: { status: detail.ApplicationStatus, keyType: enc?.KeyType, keyId: enc?.KeyId }, previousKeyState, rotations },
    failed: [audit, rotation, move].filter((o) => !o).length,
  };
}

/** The session of the demo's own reads as the key administrator, kept out of the functions' call count. */
const READ_BACK_SESSION = 'msf-cmk-demo-read-back';

/** SDK settings for the key administrator, reached as the functions reach it: the orchestrator (their role) assumes it. */
async function asKeyAdministrator(sb: RunningSandbox, outputs: Record<string, string>) {
  const orchestrator = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', outputs.OrchestratorRoleArn, READ_BACK_SESSION);
  const sts = new STSClient({
    ...sb.clientConfig(),
    credentials: { accessKeyId: orchestrator.AccessKeyId, secretAccessKey: orchestrator.SecretAccessKey, sessionToken: orchestrator.SessionToken },
  });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: outputs.KeyAdminRoleArn, RoleSessionName: READ_BACK_SESSION }))).Credentials!;
  return { ...sb.clientConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } };
}

/** The functions' own calls: not Step Functions invoking them, nor this demo's reads (as root, or as the key administrator). */
function callsReport(sb: RunningSandbox) {
  const log = sb.sandbox.faults.log.filter((e) => e.service !== 'lambda' && !e.caller.endsWith(':root') && !e.caller.endsWith(`/${READ_BACK_SESSION}`));
  const byService = new Map<string, number>();
  for (const e of log) byService.set(e.service, (byService.get(e.service) ?? 0) + 1);
  const refused = log.filter((e) => e.outcome !== 'OK');
  console.log(
    `\n  AWS calls by the functions: ${log.length} (${[...byService].map(([k, v]) => `${k} ${v}`).join(', ')}); ${refused.length} answered with an error and retried or handled: ${[...new Set(refused.map((e) => `${e.service}:${e.operation} ${e.outcome}`))].join(', ') || 'none'}`,
  );
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
    const res = await fetch(`${target.endpoint}/_sandbox/credentials`, {
      method: 'POST',
      body: JSON.stringify({ roleArn: deployment.orchestratorRoleArn, sessionName: 'msf-cmk-orchestrator' }),
    });
    if (!res.ok) throw new Error(`the sandbox would not issue orchestrator credentials: ${await res.text()}`);
    env = functionEnvironment(
      target.endpoint,
      region,
      (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string },
      deployment,
      logLevel(options),
    );
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
