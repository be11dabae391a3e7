/**
 * Sandbox throughput, side by side in one run (`npm run bench:sandbox`). A benchmark, not a test.
 *
 * (a) sts:GetCallerIdentity as root: the floor — SigV4 verification and dispatch, no policy evaluated.
 * (b) iam:GetRole as a role session: one identity-policy evaluation.
 * (c) kms:DescribeKey as a role the key policy names: key-policy evaluation (if KMS is emulated).
 * (d) kinesisanalytics:DescribeApplication as a role session (if Managed Flink is emulated).
 *
 * Each runs a fixed number of requests at a fixed concurrency after a warm-up, through the real SDK
 * clients over loopback, and is cut short by a time budget so the whole run stays well under 30 s.
 * Client and server share this process, so every figure includes the SDK's own signing and parsing.
 */
import { performance } from 'node:perf_hooks';
import { CreateRoleCommand, GetRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { KMSClient } from '@aws-sdk/client-kms';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { startSandbox, type RunningSandbox } from '../local/sandbox/server';
import { assumeRoleAsService } from '../local/sandbox/services/sts';

const REQUESTS = 2000;
const CONCURRENCY = 8;
const WARM_UP = 200;
/** Per scenario, so four scenarios plus setup stay under 30 s even on a slow machine. */
const BUDGET_MS = 6000;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
interface Scenario {
  name: string;
  call: () => Promise<unknown>;
}
interface Result {
  name: string;
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
}

const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const trust = (service: string) => doc({ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' });

function clientsFor(sb: RunningSandbox, credentials: Credentials = sb.clientConfig().credentials) {
  const config = { endpoint: sb.endpoint, region: sb.sandbox.region, credentials, maxAttempts: 1 };
  return { iam: new IAMClient(config), sts: new STSClient(config), kms: new KMSClient(config), flink: new KinesisAnalyticsV2Client(config) };
}

/** A role that Lambda can assume, with one inline policy, and a workload session of it. */
async function workload(sb: RunningSandbox, name: string, policy?: string) {
  const { iam } = clientsFor(sb);
  const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust('lambda.amazonaws.com') }));
  if (policy) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'bench', PolicyDocument: policy }));
  const s = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', Role!.Arn!, 'bench');
  return { arn: Role!.Arn!, clients: clientsFor(sb, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken }) };
}

async function scenarios(sb: RunningSandbox): Promise<{ run: Scenario[]; skipped: string[] }> {
  const root = clientsFor(sb);
  const run: Scenario[] = [{ name: '(a) sts GetCallerIdentity, root', call: () => root.sts.send(new GetCallerIdentityCommand({})) }];
  const skipped: string[] = [];

  const reader = await workload(sb, 'BenchReader', doc({ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }));
  run.push({ name: '(b) iam GetRole, role session', call: () => reader.clients.iam.send(new GetRoleCommand({ RoleName: 'BenchReader' })) });

  if (sb.sandbox.services.get('kms')?.operations.DescribeKey) {
    const keyUser = await workload(sb, 'BenchKeyUser');
    const policy = doc(
      { Sid: 'KeyAdministration', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${sb.sandbox.account}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'KeyUser', Effect: 'Allow', Principal: { AWS: keyUser.arn }, Action: 'kms:DescribeKey', Resource: '*' },
    );
    const { KeyMetadata } = await root.kms.send(new CreateKeyCommand({ Policy: policy, Description: 'bench' }));
    run.push({ name: '(c) kms DescribeKey, key-policy role', call: () => keyUser.clients.kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn })) });
  } else skipped.push('(c) kms DescribeKey: KMS DescribeKey is not emulated yet');

  if (sb.sandbox.services.get('kinesisanalytics')?.operations.DescribeApplication) {
    const { Role: exec } = await root.iam.send(
      new CreateRoleCommand({ RoleName: 'BenchAppRole', AssumeRolePolicyDocument: trust('kinesisanalytics.amazonaws.com') }),
    );
    await root.flink.send(new CreateApplicationCommand({ ApplicationName: 'BenchApp', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: exec!.Arn }));
    const operator = await workload(sb, 'BenchOperator', doc({ Effect: 'Allow', Action: 'kinesisanalytics:DescribeApplication', Resource: '*' }));
    run.push({
      name: '(d) kinesisanalytics DescribeApplication',
      call: () => operator.clients.flink.send(new DescribeApplicationCommand({ ApplicationName: 'BenchApp' })),
    });
  } else skipped.push('(d) kinesisanalytics DescribeApplication: not emulated yet');

  return { run, skipped };
}

/** `count` calls, `CONCURRENCY` at a time; stops early when the budget is spent. */
async function measure(s: Scenario, count: number, budgetMs: number): Promise<Result> {
  const latencies: number[] = [];
  const started = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < count && performance.now() - started < budgetMs) {
      issued++;
      const t = performance.now();
      await s.call();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { name: s.name, requests: latencies.length, seconds, p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  // What is measured is the sandbox's own speed, not AWS's request rates.
  const sb = await startSandbox({ port: 0, host: '127.0.0.1', rates: false });
  try {
    const { run, skipped } = await scenarios(sb);
    const results: Result[] = [];
    // Warm every scenario before measuring any, so the first one does not pay for JIT warm-up.
    // This also proves each call succeeds: an error ends the run.
    for (const s of run) await measure(s, WARM_UP, BUDGET_MS);
    for (const s of run) {
      sb.sandbox.faults.log.length = 0; // the request log is not what is measured
      results.push(await measure(s, REQUESTS, BUDGET_MS));
    }
    const baseline = results[0].requests / results[0].seconds;
    console.log(
      `sandbox throughput: ${REQUESTS} requests per scenario, concurrency ${CONCURRENCY}, after ${WARM_UP} warm-up requests (node ${process.version})`,
    );
    console.table(
      results.map((r) => ({
        scenario: r.name,
        requests: r.requests,
        'req/s': Math.round(r.requests / r.seconds),
        'p50 ms': r.p50.toFixed(2),
        'p99 ms': r.p99.toFixed(2),
        'vs (a)': (r.requests / r.seconds / baseline).toFixed(2),
      })),
    );
    for (const s of skipped) console.log(`skipped ${s}`);
    const short = results.filter((r) => r.requests < REQUESTS);
    for (const r of short) console.log(`note: ${r.name} hit the ${BUDGET_MS} ms budget after ${r.requests} requests`);
  } finally {
    await sb.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
