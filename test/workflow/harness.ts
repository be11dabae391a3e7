/**
 * End-to-end harness: a sandbox on port 0, an account seeded as a platform team would have it, and the
 * real ASL with the real handlers on the local runner, signed as the orchestrator role.
 */
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  KinesisAnalyticsV2Client,
  CreateApplicationCommand,
  StartApplicationCommand,
  DescribeApplicationCommand,
  type ApplicationDetail,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { assumeRoleAsService, issueSession } from '../../local/sandbox/services/sts';
import { clients } from '../sandbox/helpers';
import { LocalStateMachine, STATE_MACHINE_NAMES, definitionOf, type Handler, type RunOptions } from '../../local/runner';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { deployLocally, functionEnvironment } from '../../local/deployment';
import { unlock, type UnlockResult } from '../../local/unlock';
import { steps } from '../../lambdas/steps';
import { roleTrustPolicy } from '../../lambdas/lib/policies';
import type { Deployment, Settings } from '../../lambdas/lib/settings';
import type { SandboxOptions } from '../../local/sandbox/sandbox';
import type { SandboxState, StateChange } from '../../local/sandbox/state';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
export const appArn = (app: string) => `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/${app}`;
export const operatorArn = (app: string) => `arn:aws:iam::${ACCOUNT}:role/msf-cmk/msf-cmk-operator-${app}`;
export const KEY_ADMIN_ARN = `arn:aws:iam::${ACCOUNT}:role/MsfCmkKeyAdmin`;
export const execRoleArn = (app: string) => `arn:aws:iam::${ACCOUNT}:role/${app}-flink-execution`;
export const defaultHandlers = (): Record<string, Handler> => Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));

export interface World {
  sb: RunningSandbox;
  root: { iam: IAMClient; flink: KinesisAnalyticsV2Client };
  deployment: Deployment;
  orchestratorArn: string;
  env: Record<string, string>;
  machine(options?: Partial<RunOptions>): LocalStateMachine;
  /** The state machine of another operation (statemachine/<operation>.asl.json). */
  operation(operation: string, options?: Partial<RunOptions>): LocalStateMachine;
  /** An application created by root (not by the workflow), optionally started and on another runtime. */
  existingApp(name: string, options?: { runtime?: string; running?: boolean }): Promise<void>;
  describe(name: string): Promise<ApplicationDetail>;
  /** The execution role a new application will be created with. */
  ensureExecRole(app: string): Promise<void>;
  /** `msf-cmk unlock` as the account root. */
  unlock(app: string, reason?: string): Promise<UnlockResult>;
  close(): Promise<void>;
}

/**
 * What a run changed in the account, but for the application's lock item: the workflow's own
 * bookkeeping, kept after release (with the unlock audit) by design.
 */
export function accountChanges(w: World, before: SandboxState): StateChange[] {
  return w.sb.sandbox.diff(before).filter((c) => c.path !== `dynamodb.tables.${w.deployment.lockTableName}`);
}

/**
 * `settings`: the deployment's, over the defaults (as `-c name=value` would give them). `sharedOperator`: an
 * existing role of the account (as a CI/CD pipeline's), with its own Managed Flink rights, made before the
 * deployment and trusting its orchestrator after it; the deployment's sharedOperatorRoleArn.
 */
export async function world(options: SandboxOptions & { settings?: Partial<Settings>; sharedOperator?: string } = {}): Promise<World> {
  const { settings: given, sharedOperator, ...sandboxOptions } = options;
  const settings = sharedOperator ? { ...given, sharedOperatorRoleArn: sharedOperatorArn(sharedOperator) } : given;
  // The account is seeded as it stands long before the run: propagation applies only to what the run creates.
  // No request rates unless asked: the runner retries at once (retryScale 0), so a throttled call could never
  // wait for its bucket to refill (ten onboardings in a second exceed KMS CreateKey's 5/s). The rates are
  // tested with real intervals in test/sandbox/quotas.test.ts.
  const sb = await startSandbox({ port: 0, rates: false, ...sandboxOptions, iamPropagationDelayMs: 0 });
  const cfg = sb.clientConfig();
  const root = { iam: new IAMClient(cfg), flink: new KinesisAnalyticsV2Client(cfg) };
  if (sharedOperator) await createPipelineRole(root.iam, sharedOperator);
  const deployment = await deployLocally(
    { iam: root.iam, dynamodb: new DynamoDBClient(cfg) },
    { partition: 'aws', account: ACCOUNT, region: REGION },
    settings,
  );
  const orchestratorArn = deployment.orchestratorRoleArn;
  if (sharedOperator)
    await root.iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: sharedOperator,
        PolicyDocument: JSON.stringify(roleTrustPolicy({ trustedPrincipalArns: [orchestratorArn] })),
      }),
    );
  const s = assumeRoleAsService(sb.sandbox, 'lambda.amazonaws.com', orchestratorArn, 'orchestrator');
  const env = functionEnvironment(
    sb.endpoint,
    sb.sandbox.region,
    { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken },
    deployment,
  );
  const flinkTrust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
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
    deployment,
    orchestratorArn,
    env,
    machine: (o = {}) => new LocalStateMachine({ account: ACCOUNT, region: sb.sandbox.region, env, waitMs: 0, retryScale: 0, ...o }),
    operation: (operation, o = {}) =>
      new LocalStateMachine({
        account: ACCOUNT,
        region: sb.sandbox.region,
        env,
        waitMs: 0,
        retryScale: 0,
        definitionPath: definitionOf(operation),
        stateMachineName: STATE_MACHINE_NAMES[operation],
        ...o,
      }),
    existingApp: async (name, o = {}) => {
      await ensureExecRole(name);
      await root.flink.send(
        new CreateApplicationCommand({
          ApplicationName: name,
          RuntimeEnvironment: (o.runtime ?? 'FLINK-1_20') as never,
          ServiceExecutionRole: execRoleArn(name),
        }),
      );
      if (o.running) {
        await root.flink.send(new StartApplicationCommand({ ApplicationName: name, RunConfiguration: {} }));
        sb.sandbox.advance(sb.sandbox.flinkDurations.start);
      }
    },
    describe: async (name) => (await root.flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!,
    ensureExecRole,
    unlock: (app, reason = 'test') =>
      unlock(
        { dynamodb: new DynamoDBClient(cfg), sfn: new SFNClient(cfg), sts: new STSClient(cfg) },
        { lockTableName: deployment.lockTableName, applicationArn: appArn(app), reason },
      ),
    close: () => sb.close(),
  };
}

export const sharedOperatorArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/pipelines/${name}`;

/** A pipeline's role: it manages every Managed Flink application of the account and passes their execution roles. */
async function createPipelineRole(iam: IAMClient, name: string): Promise<void> {
  const trust = roleTrustPolicy({ trustedPrincipalArns: [`arn:aws:iam::${ACCOUNT}:root`] });
  await iam.send(new CreateRoleCommand({ RoleName: name, Path: '/pipelines/', AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const own = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `arn:aws:iam::${ACCOUNT}:role/*-flink-execution`,
        Condition: { StringEquals: { 'iam:PassedToService': 'kinesisanalytics.amazonaws.com' } },
      },
    ],
  };
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'deploy-flink-applications', PolicyDocument: JSON.stringify(own) }));
}

export const newAppInput = (name: string) => ({ applicationName: name, createApplication: { serviceExecutionRoleArn: execRoleArn(name) } });

/** The application's operator, as a test acts: a CMK application's snapshots need its rights on the key. */
export function operatorOf(w: World, app: string) {
  const s = issueSession(w.sb.sandbox, operatorArn(app), 'test');
  return clients(w.sb, { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken });
}
