/**
 * `npm run bench`: one local onboarding against the floor, measured side by side in one run on the same
 * kind of sandbox (these machines are noisy, so only ratios are reported as results):
 *  (a) AWS calls per onboarding (sandbox request log) ÷ the calls the documented order needs (the floor);
 *  (b) wall time of one onboarding on the local runner ÷ a bare script making the floor's SDK calls in sequence;
 *  (c) the modelled real-AWS critical path of a RUNNING application's switch: the update's own duration
 *      plus the delay until the next look notices it ended, from the workflow's own poll schedule;
 *  (d) state transitions per onboarding.
 * Each with its goal (issue 13): (a) ≤ 1.5× the floor, (b) ≤ 1.5×.
 */
import { performance } from 'node:perf_hooks';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { KMSClient, CreateKeyCommand, CreateAliasCommand } from '@aws-sdk/client-kms';
import {
  KinesisAnalyticsV2Client,
  CreateApplicationCommand,
  UpdateApplicationCommand,
  DescribeApplicationCommand,
  DescribeApplicationOperationCommand,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startSandbox } from '../local/sandbox/server';
import { assumeRoleAsService } from '../local/sandbox/services/sts';
import { LocalStateMachine } from '../local/runner';
import { deployLocally, functionEnvironment } from '../local/deployment';
import { keyPolicy, operatorBasePolicy, operatorCmkPolicy, roleTrustPolicy } from '../lambdas/lib/policies';
import { FIRST_POLL_SECONDS, MAX_POLL_SECONDS, nextWaitSeconds } from '../lambdas/lib/poll';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const A = '000000000000';
const R = 'us-east-1';
const scope = { account: A, region: R };
const flinkTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

async function fresh() {
  const sb = await startSandbox({ port: 0 });
  const cfg = sb.clientConfig();
  const iam = new IAMClient(cfg);
  await iam.send(new CreateRoleCommand({ RoleName: 'app-exec', AssumeRolePolicyDocument: flinkTrust }));
  const deployment = await deployLocally({ iam, dynamodb: new DynamoDBClient(cfg) }, { partition: 'aws', account: A, region: R });
  const orchestratorArn = deployment.orchestratorRoleArn;
  const s = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', orchestratorArn, 'bench');
  const creds = { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken };
  sb.sandbox.faults.log.length = 0;
  return { sb, orchestratorArn, creds, deployment };
}

const input = { applicationName: 'bench', createApplication: { serviceExecutionRoleArn: `arn:aws:iam::${A}:role/app-exec` } };

async function workflowOnce() {
  const { sb, creds, deployment } = await fresh();
  const m = new LocalStateMachine({ account: A, region: R, env: functionEnvironment(sb.endpoint, R, creds, deployment), waitMs: 0, retryScale: 0 });
  const t0 = performance.now();
  const result = await m.run(input);
  const ms = performance.now() - t0;
  if (result.status !== 'SUCCEEDED') throw new Error(`workflow failed: ${result.error} ${result.cause}`);
  const calls = sb.sandbox.faults.log.length;
  const transitions = result.events.filter((e) => e.type === 'StateEntered').length;
  await sb.close();
  return { ms, calls, transitions };
}

/**
 * The documented order with nothing but the calls it needs — no look-ups, no checks, no retries — as the
 * same principals: the lock, the operator (role, base policy, creates the application), the deployed key
 * administrator (key, alias), the operator's CMK policy, the switch, one look at its operation, the
 * verifying read, the release. 13 calls.
 */
async function floorOnce() {
  const { sb, orchestratorArn, creds, deployment } = await fresh();
  const base = { endpoint: sb.endpoint, region: R, maxAttempts: 1 };
  const t0 = performance.now();
  const iam = new IAMClient({ ...base, credentials: creds });
  const sts = new STSClient({ ...base, credentials: creds });
  const dynamodb = new DynamoDBClient({ ...base, credentials: creds });
  const appArn = `arn:aws:kinesisanalytics:${R}:${A}:application/bench`;
  const lockKey = { lockId: { S: appArn } };
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: deployment.lockTableName,
      Key: lockKey,
      UpdateExpression: 'SET #o = :me',
      ConditionExpression: 'attribute_not_exists(#o)',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':me': { S: 'floor' } },
    }),
  );
  const trust = JSON.stringify(roleTrustPolicy({ trustedPrincipalArns: [orchestratorArn] }));
  const op = (
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'MsfCmkOperator',
        Path: deployment.rolePath,
        AssumeRolePolicyDocument: trust,
        PermissionsBoundary: deployment.permissionsBoundaryArn,
      }),
    )
  ).Role!;
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'MsfCmkOperator',
      PolicyName: 'base',
      PolicyDocument: JSON.stringify(operatorBasePolicy({ scope, applicationArn: appArn, createWithExecutionRoleArn: `arn:aws:iam::${A}:role/app-exec` })),
    }),
  );
  const assume = async (arn: string) => {
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'floor' }))).Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
  };
  const flink = new KinesisAnalyticsV2Client({ ...base, credentials: await assume(op.Arn!) });
  const app = (
    await flink.send(
      new CreateApplicationCommand({ ApplicationName: 'bench', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: `arn:aws:iam::${A}:role/app-exec` }),
    )
  ).ApplicationDetail!;
  const kms = new KMSClient({ ...base, credentials: await assume(deployment.keyAdminRoleArn) });
  const policy = keyPolicy({ scope, applicationArn: appArn, operatorRoleArn: op.Arn!, keyAdminRoleArn: deployment.keyAdminRoleArn });
  const key = (await kms.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/msf-cmk/bench', TargetKeyId: key.KeyId! }));
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'MsfCmkOperator',
      PolicyName: 'cmk',
      PolicyDocument: JSON.stringify(operatorCmkPolicy({ scope, keyArn: key.Arn!, applicationArn: appArn })),
    }),
  );
  const update = await flink.send(
    new UpdateApplicationCommand({
      ApplicationName: 'bench',
      CurrentApplicationVersionId: app.ApplicationVersionId,
      ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: key.Arn } },
    }),
  );
  await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: 'bench', OperationId: update.OperationId }));
  await flink.send(new DescribeApplicationCommand({ ApplicationName: 'bench' }));
  await dynamodb.send(
    new UpdateItemCommand({ TableName: deployment.lockTableName, Key: lockKey, UpdateExpression: 'REMOVE #o', ExpressionAttributeNames: { '#o': 'owner' } }),
  );
  const ms = performance.now() - t0;
  const calls = sb.sandbox.faults.log.length;
  await sb.close();
  return { ms, calls };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** When the workflow notices an update of `seconds` has ended: its looks come after 5 s, then doubling waits up to the cap. */
function noticedAfter(seconds: number): number {
  let at = 0;
  for (let wait = FIRST_POLL_SECONDS; ; wait = nextWaitSeconds(wait)) {
    at += wait;
    if (at >= seconds) return at;
  }
}

const GOAL = 1.5;
const verdict = (ratio: number) => (ratio <= GOAL ? `meets ≤ ${GOAL}×` : `MISSES ≤ ${GOAL}×`);

async function main() {
  await workflowOnce();
  await floorOnce(); // warm-up: module loading, JIT, the evaluator's first simulation
  const wf: { ms: number; calls: number; transitions: number }[] = [];
  const fl: { ms: number; calls: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Interleaved, so drift on a noisy machine hits both sides alike.
    wf.push(await workflowOnce());
    fl.push(await floorOnce());
  }
  const wfMs = median(wf.map((x) => x.ms));
  const flMs = median(fl.map((x) => x.ms));
  const calls = wf[0].calls / fl[0].calls;
  const wall = wfMs / flMs;
  console.log(`onboarding benchmark — ${ROUNDS} interleaved rounds, medians, one new application, no faults, no delays`);
  console.log(
    `(a) AWS calls per onboarding: workflow ${wf[0].calls}, floor ${fl[0].calls} → ratio ${calls.toFixed(2)}× (goal ≤ ${Math.floor(fl[0].calls * GOAL)} calls: ${verdict(calls)})`,
  );
  const best = Math.min(...wf.map((x) => x.ms)) / Math.min(...fl.map((x) => x.ms));
  console.log(
    `(b) wall time: workflow on the local runner ${wfMs.toFixed(1)} ms, bare SDK script ${flMs.toFixed(1)} ms → ratio ${wall.toFixed(2)}× (goal: ${verdict(wall)}; fastest of each ${best.toFixed(2)}×)`,
  );
  const updates = [60, 90, 120, 180, 300];
  const path = updates.map((d) => `${d} s → ${noticedAfter(d)} s (${(noticedAfter(d) / d).toFixed(2)}×)`).join(', ');
  console.log(
    `(c) modelled critical path of a RUNNING application's switch on AWS (update + detection delay, polls ${FIRST_POLL_SECONDS} s doubling to ${MAX_POLL_SECONDS} s): ${path}; the delay is never more than ${MAX_POLL_SECONDS} s`,
  );
  console.log(`(d) state transitions per onboarding: ${wf[0].transitions}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
