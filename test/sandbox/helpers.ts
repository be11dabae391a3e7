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
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deployLocally } from '../../local/deployment';
import { deploymentEnvironment, type Deployment } from '../../lambdas/lib/settings';

/**
 * What the stack deploys besides functions and state machines (local/deployment.ts), with the sandbox's
 * Step Functions giving its functions that deployment's environment.
 */
export async function deployOrchestrator(sb: RunningSandbox): Promise<Deployment> {
  const cfg = sb.clientConfig();
  const deployment = await deployLocally({ iam: new IAMClient(cfg), dynamodb: new DynamoDBClient(cfg) }, { partition: 'aws', account: sb.sandbox.account, region: sb.sandbox.region });
  sb.sandbox.stepFunctions.environment = deploymentEnvironment(deployment);
  return deployment;
}

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

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

/**
 * A state machine as CDK deploys it: `definition` with function ARNs already substituted, and a role that
 * trusts Step Functions and may invoke the msf-cmk functions. Returns its ARN.
 */
export async function deployStateMachine(sb: RunningSandbox, name: string, definition: unknown): Promise<string> {
  const { iam, sfn } = clients(sb);
  const { account, region } = sb.sandbox;
  const roleName = `${name}-StateMachineRole`;
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  const invoke = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: `arn:aws:lambda:${region}:${account}:function:msf-cmk-*` }] };
  const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'invoke-functions', PolicyDocument: JSON.stringify(invoke) }));
  const out = await sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: role.Role!.Arn! }));
  return out.stateMachineArn!;
}

/** Polls DescribeExecution until the execution has ended. */
export async function ended(sfn: SFNClient, executionArn: string) {
  for (let i = 0; i < 400; i++) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${executionArn} still RUNNING`);
}
