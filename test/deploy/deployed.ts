/** The CDK app deployed into a fresh sandbox, as the deploy tests share it. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { readAssembly, deployTemplate } from '../../local/sandbox/deploy';
import { STACK_NAME, cachedAssembly } from '../../local/stack';
import { clients, testSandbox } from '../sandbox/helpers';
import type { SandboxOptions } from '../../local/sandbox/sandbox';
import type { RunningSandbox } from '../../local/sandbox/server';

const trust = (service: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
export const execRoleArn = (account: string, app: string) => `arn:aws:iam::${account}:role/${app}-flink-execution`;

/**
 * A sandbox (Wait states instant unless `sandbox` says otherwise) with the stack deployed from the assembly,
 * optionally edited first; `apps` get Flink execution roles and `lambdaRoles` roles Lambda may assume.
 */
export async function deployed(
  context: Record<string, unknown> = {},
  options: {
    edit?: (template: any) => void;
    apps?: string[];
    lambdaRoles?: string[];
    sandbox?: SandboxOptions;
    /** What the account holds before the stack exists (so no rule of the stack sees it made). */
    seed?: (sb: RunningSandbox) => Promise<void>;
  } = {},
) {
  const { edit, apps = ['orders', 'clicks', 'ledger', 'clickstream'], lambdaRoles = ['OnboardingRequester'] } = options;
  const sb = await testSandbox({ stepFunctions: { timeScale: 0 }, ...options.sandbox });
  try {
    // The account's own roles first: the deploy's burst of IAM writes then has the request rate to itself.
    for (const app of apps)
      await clients(sb).iam.send(
        new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: trust('kinesisanalytics.amazonaws.com') }),
      );
    for (const role of lambdaRoles)
      await clients(sb).iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: trust('lambda.amazonaws.com') }));
    await options.seed?.(sb);
    const assembly = readAssembly(await cachedAssembly(context), STACK_NAME);
    edit?.(assembly.template);
    const result = await deployTemplate(sb.sandbox, STACK_NAME, assembly);
    return { sb, result, assembly };
  } catch (e) {
    await sb.close();
    throw e;
  }
}

/** Stops the execution (StopExecution, as the console's Stop does) as soon as it has entered `state`. */
export async function stopIn(sb: RunningSandbox, executionArn: string, state: string): Promise<void> {
  const entered = () =>
    sb.sandbox.state.stepfunctions!.executions[executionArn].events.some(
      (e: any) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === state,
    );
  for (const until = Date.now() + 60_000; Date.now() < until && !entered(); ) await new Promise((r) => setTimeout(r, 2));
  await clients(sb).sfn.send(new StopExecutionCommand({ executionArn, cause: `stopped in ${state} by the test` }));
}

/** An application's lock item in the deployed stack's lock table (a consistent read). */
export async function lockItem(sb: RunningSandbox, app: string) {
  const lockId = `arn:aws:kinesisanalytics:${sb.sandbox.region}:${sb.sandbox.account}:application/${app}`;
  return (
    await new DynamoDBClient(sb.clientConfig()).send(
      new GetItemCommand({ TableName: 'msf-cmk-onboarding-locks', Key: { lockId: { S: lockId } }, ConsistentRead: true }),
    )
  ).Item;
}

/** The name CloudFormation gave the stack's CleanupRule. */
export async function cleanupRuleName(sb: RunningSandbox): Promise<string> {
  return ((await clients(sb).events.send(new ListRulesCommand({}))).Rules ?? []).find((r) => r.Name?.includes('CleanupRule'))!.Name!;
}
