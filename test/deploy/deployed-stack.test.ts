/**
 * The CDK app deployed into the sandbox, run the way AWS runs it: the synthesized template's roles,
 * policies, functions (from their bundled asset), state machine and rules, started through the Step
 * Functions API and by EventBridge events — no handler is imported by the test or the sandbox.
 */
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { readAssembly, deployTemplate } from '../../local/sandbox/deploy';
import { STACK_NAME, cachedAssembly as testAssembly } from '../../local/stack';
import { REQUEST_DETAIL_TYPE, REQUEST_SOURCE } from '../../infra/event-patterns';
import { clients, ended, testSandbox } from '../sandbox/helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const flinkTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const execRole = (app: string) => `arn:aws:iam::${A}:role/${app}-flink-execution`;

async function executionsOf(sfn: SFNClient, stateMachineArn: string, count: number) {
  for (let i = 0; i < 600; i++) {
    const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
    if (list.length >= count && list.every((e) => e.status !== 'RUNNING')) return Promise.all(list.map((e) => sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))));
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('executions still RUNNING');
}

/** A sandbox with the stack deployed from the assembly (optionally edited first); returns its outputs. */
async function deployed(context: Record<string, unknown> = {}, edit?: (template: any) => void) {
  const sb = await testSandbox({ stepFunctions: { timeScale: 0 } });
  const assembly = readAssembly(await testAssembly(context), STACK_NAME);
  edit?.(assembly.template);
  const result = await deployTemplate(sb.sandbox, STACK_NAME, assembly);
  for (const app of ['orders', 'clicks', 'ledger']) await clients(sb).iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
  return { sb, result, assembly };
}

describe('the CDK app deployed into the sandbox', () => {
  let sb: RunningSandbox;
  let outputs: Record<string, string>;
  let template: any;

  beforeAll(async () => {
    const d = await deployed({ autoOnboarding: true });
    ({ sb, assembly: { template } } = d);
    outputs = d.result.outputs;
  }, 120_000);
  afterAll(() => sb.close());

  it('makes every resource of the template, and prints the outputs cdk deploy prints', () => {
    const stack = sb.sandbox.state.cloudformation!.stacks[STACK_NAME];
    expect(Object.keys(stack.Resources).sort()).toEqual(Object.keys(template.Resources).sort());
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(template.Outputs).sort());
    expect(outputs.StateMachineArn).toMatch(new RegExp(`^arn:aws:states:us-east-1:${A}:stateMachine:${STACK_NAME}-OnboardApplication`));
    const functions = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(Object.keys(sb.sandbox.state.lambda!.functions)).toHaveLength(functions.length);
    // Every function runs with the synthesized orchestrator role, the one the output names.
    expect(new Set(Object.values(sb.sandbox.state.lambda!.functions).map((f) => f.Role))).toEqual(new Set([outputs.OrchestratorRoleArn]));
  });

  it('re-deploys in place: the same template changes nothing and keeps every ARN', async () => {
    const before = sb.sandbox.snapshot();
    const again = await deployTemplate(sb.sandbox, STACK_NAME, readAssembly(await testAssembly({ autoOnboarding: true }), STACK_NAME));
    expect(again).toMatchObject({ created: [], updated: [], deleted: [], outputs });
    expect(sb.sandbox.diff(before).filter((c) => !c.path.startsWith('cloudformation'))).toEqual([]);
  });

  it('start-execution on the output ARN onboards a new application: SUCCEEDED, the application on its new CMK', async () => {
    const { sfn, flink } = clients(sb);
    const input = { applicationName: 'orders', createApplication: { serviceExecutionRoleArn: execRole('orders') } };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
    const done = await ended(sfn, executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'orders' }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: JSON.parse(done.output!).encryption.KeyId });
    // Each Task ran as Lambda runs it: the function's log group holds its START/END lines.
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    expect(events!.filter((e) => e.type === 'LambdaFunctionSucceeded').length).toBeGreaterThan(8);
  }, 60_000);

  it('a request event starts an onboarding of the application it names; with auto-onboarding, one created by someone else is onboarded once', async () => {
    const { events, sfn, flink } = clients(sb);
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions!.length;
    const detail = { applicationName: 'ledger', createApplication: { serviceExecutionRoleArn: execRole('ledger') } };
    const put = await events.send(new PutEventsCommand({ Entries: [{ Source: REQUEST_SOURCE, DetailType: REQUEST_DETAIL_TYPE, Detail: JSON.stringify(detail) }] }));
    expect(put.FailedEntryCount).toBe(0);
    await flink.send(new CreateApplicationCommand({ ApplicationName: 'clicks', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: execRole('clicks') }));
    // The workflow's own CreateApplication (for ledger) starts no run of its own.
    const done = (await executionsOf(sfn, outputs.StateMachineArn, before + 2)).slice(0, -before || undefined);
    expect(done.map((e) => [JSON.parse(e.input!).applicationName, e.status]).sort()).toEqual([['clicks', 'SUCCEEDED'], ['ledger', 'SUCCEEDED']]);
    for (const name of ['ledger', 'clicks']) {
      const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!;
      expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType).toBe('CUSTOMER_MANAGED_KEY');
    }
  }, 60_000);
});

describe('the orchestrator role the sandbox runs with is the synthesized one', () => {
  // (Without AssumePersonas a run still succeeds, in AWS too: a same-account trust policy that names the
  // orchestrator role grants AssumeRole by itself.)
  it('without the statement of the CDK policy that lets it create operator roles, the execution fails with AccessDenied on iam:CreateRole', async () => {
    const { sb, result } = await deployed({ autoOnboarding: true }, (template) => {
      const sid = 'WriteOnlyBoundedOperatorRoles';
      const policy = Object.values(template.Resources as Record<string, any>).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument.Statement.some((s: any) => s.Sid === sid));
      policy.Properties.PolicyDocument.Statement = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Sid !== sid);
    });
    try {
      const { sfn, flink } = clients(sb);
      await flink.send(new CreateApplicationCommand({ ApplicationName: 'orders', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: execRole('orders') }));
      const before = sb.sandbox.snapshot();
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: result.outputs.StateMachineArn, input: JSON.stringify({ applicationName: 'orders' }) }));
      const done = await ended(sfn, executionArn!);
      expect(done.status).toBe('FAILED');
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
      const failure = events!.find((e) => e.type === 'LambdaFunctionFailed')!.lambdaFunctionFailedEventDetails!;
      expect(failure.error).toBe('AccessDenied');
      expect(JSON.parse(failure.cause!).errorMessage).toMatch(new RegExp(`^User: arn:aws:sts::${A}:assumed-role/${STACK_NAME}-OrchestratorRole\\w+-\\w+/[^ ]+ is not authorized to perform: iam:CreateRole on resource: `));
      // Nothing was changed in the account (the lock is the workflow's own bookkeeping).
      expect(sb.sandbox.diff(before).filter((c) => !/^(stepfunctions|dynamodb|logs)/.test(c.path))).toEqual([]);
    } finally {
      await sb.close();
    }
  }, 120_000);
});
