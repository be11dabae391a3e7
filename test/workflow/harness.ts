/**
 * End-to-end harness: a sandbox on port 0, an account seeded as a platform team would have it, and the
 * real ASL with the real handlers on the local runner, signed as the orchestrator role.
 */
import { IAMClient, CreateRoleCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisAnalyticsV2Client, CreateApplicationCommand, StartApplicationCommand, DescribeApplicationCommand, type ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { assumeRoleAsService } from '../../local/sandbox/services/sts';
import { LocalStateMachine, type Handler, type RunOptions } from '../../local/runner';
import { ensureOrchestratorRole, sandboxEnv } from '../../local/demo';
import { steps } from '../../lambdas/steps';
import type { SandboxOptions } from '../../local/sandbox/sandbox';

export const ACCOUNT = '000000000000';
export const execRoleArn = (app: string) => `arn:aws:iam::${ACCOUNT}:role/${app}-flink-execution`;
export const defaultHandlers = (): Record<string, Handler> => Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));

export interface World {
  sb: RunningSandbox;
  root: { iam: IAMClient; flink: KinesisAnalyticsV2Client };
  orchestratorArn: string;
  env: Record<string, string>;
  machine(options?: Partial<RunOptions>): LocalStateMachine;
  /** An application created by root (not by the workflow), optionally started and on another runtime. */
  existingApp(name: string, options?: { runtime?: string; running?: boolean }): Promise<void>;
  describe(name: string): Promise<ApplicationDetail>;
  /** The execution role a new application will be created with. */
  ensureExecRole(app: string): Promise<void>;
  close(): Promise<void>;
}

export async function world(options: SandboxOptions = {}): Promise<World> {
  // The account is seeded as it stands long before the run: propagation applies only to what the run creates.
  const sb = await startSandbox({ port: 0, ...options, iamPropagationDelayMs: 0 });
  const cfg = sb.clientConfig();
  const root = { iam: new IAMClient(cfg), flink: new KinesisAnalyticsV2Client(cfg) };
  const orchestratorArn = await ensureOrchestratorRole(root.iam, ACCOUNT, sb.sandbox.region, new DynamoDBClient(cfg));
  const s = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', orchestratorArn, 'orchestrator');
  const env = sandboxEnv(sb.endpoint, sb.sandbox.region, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken });
  const flinkTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
  sb.sandbox.iamPropagationDelayMs = options.iamPropagationDelayMs ?? 0;
  const made = new Set<string>();
  const ensureExecRole = async (app: string) => {
    if (made.has(app)) return;
    await root.iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
    made.add(app);
  };
  return {
    sb,
    root,
    orchestratorArn,
    env,
    machine: (o = {}) => new LocalStateMachine({ account: ACCOUNT, region: sb.sandbox.region, env, waitMs: 0, retryScale: 0, ...o }),
    existingApp: async (name, o = {}) => {
      await ensureExecRole(name);
      await root.flink.send(new CreateApplicationCommand({ ApplicationName: name, RuntimeEnvironment: (o.runtime ?? 'FLINK-1_20') as never, ServiceExecutionRole: execRoleArn(name) }));
      if (o.running) {
        await root.flink.send(new StartApplicationCommand({ ApplicationName: name, RunConfiguration: {} }));
        sb.sandbox.advance(sb.sandbox.flinkDurations.start);
      }
    },
    describe: async (name) => (await root.flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!,
    ensureExecRole,
    close: () => sb.close(),
  };
}

export const newAppInput = (name: string) => ({ applicationName: name, createApplication: { serviceExecutionRoleArn: execRoleArn(name) } });
