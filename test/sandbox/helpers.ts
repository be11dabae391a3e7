/** Test helpers: a sandbox on port 0 and SDK clients for root or for a role session. */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { KMSClient } from '@aws-sdk/client-kms';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { SFNClient, CreateStateMachineCommand, DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { assumeRoleAsService } from '../../local/sandbox/services/sts';
import type { SandboxOptions } from '../../local/sandbox/sandbox';
import { LambdaClient, CreateFunctionCommand } from '@aws-sdk/client-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export async function testSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ port: 0, ...options });
}

/** One client of each service, signed with the given credentials (root `test`/`test` by default). */
export function clients(sb: RunningSandbox, credentials: Credentials = sb.clientConfig().credentials) {
  const config = { endpoint: sb.endpoint, region: sb.sandbox.region, credentials, maxAttempts: 1 };
  return {
    iam: new IAMClient(config),
    sts: new STSClient(config),
    kms: new KMSClient(config),
    flink: new KinesisAnalyticsV2Client(config),
    sfn: new SFNClient(config),
    events: new EventBridgeClient(config),
    lambda: new LambdaClient(config),
  };
}

/**
 * Credentials for a role as a workload gets them (the Lambda service assumes the execution role):
 * the role's trust policy must name `lambda.amazonaws.com` — or pass another service principal.
 */
export function roleCredentials(sb: RunningSandbox, roleArn: string, service = 'lambda.amazonaws.com'): Credentials {
  const s = assumeRoleAsService(sb.sandbox, service, roleArn, 'test-session');
  return { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken };
}

const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

/**
 * A Node.js function from its source (`exports.handler = …` in index.js), in a folder of its own, with an
 * execution role that may do nothing unless `policy` says otherwise. Returns its ARN.
 */
export async function deployFunction(
  sb: RunningSandbox,
  name: string,
  source: string,
  options: { environment?: Record<string, string>; policy?: object; timeout?: number } = {},
): Promise<string> {
  const { iam, lambda } = clients(sb);
  const dir = mkdtempSync(join(tmpdir(), `fn-${name}-`));
  writeFileSync(join(dir, 'index.js'), source);
  const role = await iam.send(new CreateRoleCommand({ RoleName: `${name}-fn`, AssumeRolePolicyDocument: JSON.stringify(lambdaTrust) }));
  if (options.policy) await iam.send(new PutRolePolicyCommand({ RoleName: `${name}-fn`, PolicyName: 'fn', PolicyDocument: JSON.stringify(options.policy) }));
  const out = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: role.Role!.Arn!,
      Timeout: options.timeout ?? 30,
      Code: { S3Bucket: 'hot-reload', S3Key: dir },
      Environment: { Variables: options.environment ?? {} },
    }),
  );
  return out.FunctionArn!;
}

/**
 * A state machine as CDK deploys it: `definition` with function ARNs already substituted, and a role that
 * trusts Step Functions and may invoke every function of the account (and do what `options.policy` allows,
 * e.g. start other state machines). Returns its ARN.
 */
export async function deployStateMachine(sb: RunningSandbox, name: string, definition: unknown, options: { policy?: object } = {}): Promise<string> {
  const { iam, sfn } = clients(sb);
  const { account, region } = sb.sandbox;
  const roleName = `${name}-StateMachineRole`;
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  const invoke = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: `arn:aws:lambda:${region}:${account}:function:*` }],
  };
  const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'invoke-functions', PolicyDocument: JSON.stringify(invoke) }));
  if (options.policy) await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'extra', PolicyDocument: JSON.stringify(options.policy) }));
  const out = await sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: role.Role!.Arn! }));
  return out.stateMachineArn!;
}

/** Polls DescribeExecution until the execution has ended. */
export async function ended(sfn: SFNClient, executionArn: string) {
  // Up to 100 s (inside Jest's 120 s): a loaded CI machine runs a deployed onboarding several times slower than a laptop.
  for (const until = Date.now() + 100_000; Date.now() < until; ) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${executionArn} still RUNNING`);
}
