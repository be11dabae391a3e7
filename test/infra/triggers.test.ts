/**
 * The deployed triggers, run offline: the very patterns and input transformers the CDK stack deploys
 * (infra/event-patterns.ts), on the sandbox's EventBridge and Step Functions, with the real ASL and handlers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, deployOrchestrator, deployStateMachine, testSandbox } from '../sandbox/helpers';
import { LocalStateMachine } from '../../local/runner';
import { REQUEST_DETAIL_TYPE, REQUEST_INPUT_PATH, REQUEST_SOURCE, autoOnboardingInput, autoOnboardingPattern, onboardingRequestPattern } from '../../infra/event-patterns';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const flinkTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

async function allEnded(sfn: SFNClient, stateMachineArn: string) {
  for (let i = 0; i < 400; i++) {
    const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
    if (list.every((e) => e.status !== 'RUNNING')) return Promise.all(list.map((e) => sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))));
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('executions still RUNNING');
}

describe('EventBridge triggers of the deployed stack, run on the sandbox', () => {
  let sb: RunningSandbox;
  let smArn: string;

  beforeAll(async () => {
    sb = await testSandbox();
    const { iam, events } = clients(sb);
    await deployOrchestrator(sb);
    for (const app of ['orders', 'clicks']) await iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
    smArn = await deployStateMachine(sb, 'OnboardApplication', new LocalStateMachine({ account: A, region: sb.sandbox.region }).definition);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const roleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'EventsStartOnboarding', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
    await iam.send(new PutRolePolicyCommand({ RoleName: 'EventsStartOnboarding', PolicyName: 'start', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: smArn }] }) }));
    // Both rules, as the stack deploys them with autoOnboarding=true.
    await events.send(new PutRuleCommand({ Name: 'request', EventPattern: JSON.stringify(onboardingRequestPattern()) }));
    await events.send(new PutTargetsCommand({ Rule: 'request', Targets: [{ Id: 'sfn', Arn: smArn, RoleArn: roleArn, InputPath: REQUEST_INPUT_PATH }] }));
    const t = autoOnboardingInput();
    await events.send(new PutRuleCommand({ Name: 'auto', EventPattern: JSON.stringify(autoOnboardingPattern({ partition: 'aws', account: A, operatorRolePrefix: 'msf-cmk-operator-' })) }));
    await events.send(new PutTargetsCommand({ Rule: 'auto', Targets: [{ Id: 'sfn', Arn: smArn, RoleArn: roleArn, InputTransformer: { InputPathsMap: t.inputPathsMap, InputTemplate: t.inputTemplate } }] }));
  });
  afterAll(() => sb.close());

  it('a request event onboards the application it names; the workflow\'s own CreateApplication starts no second run', async () => {
    const { events, sfn, flink } = clients(sb);
    const detail = { applicationName: 'orders', createApplication: { serviceExecutionRoleArn: `arn:aws:iam::${A}:role/orders-flink-execution` } };
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: REQUEST_SOURCE, DetailType: REQUEST_DETAIL_TYPE, Detail: JSON.stringify(detail) }] }));
    expect(out.FailedEntryCount).toBe(0);
    const done = await allEnded(sfn, smArn);
    expect(done.map((e) => [JSON.parse(e.input!).applicationName, e.status])).toEqual([['orders', 'SUCCEEDED']]);
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'orders' }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType).toBe('CUSTOMER_MANAGED_KEY');
  });

  it('with auto-onboarding on, an application someone else creates is onboarded exactly once', async () => {
    const { sfn, flink } = clients(sb);
    await flink.send(new CreateApplicationCommand({ ApplicationName: 'clicks', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: `arn:aws:iam::${A}:role/clicks-flink-execution` }));
    const done = await allEnded(sfn, smArn);
    const clicks = done.filter((e) => JSON.parse(e.input!).applicationName === 'clicks');
    expect(clicks.map((e) => e.status)).toEqual(['SUCCEEDED']);
    expect(JSON.parse(clicks[0].input!)).toEqual({ applicationName: 'clicks' });
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'clicks' }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType).toBe('CUSTOMER_MANAGED_KEY');
  });
});
