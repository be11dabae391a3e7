/**
 * The deployed triggers, run offline: the very patterns, input transformers and request-bus policy the CDK
 * stack deploys (infra/event-patterns.ts, lambdas/lib/policies.ts), on the sandbox's EventBridge and Step
 * Functions, with the real ASL and handlers.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateEventBusCommand, PutEventsCommand, PutPermissionCommand, PutRuleCommand, PutTargetsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, deployOrchestrator, deployStateMachine, roleCredentials, testSandbox } from '../sandbox/helpers';
import { requestBusPolicy } from '../../lambdas/lib/policies';
import { validateSettings } from '../../lambdas/lib/settings';
import type { Principal } from '../../local/sandbox/sandbox';
import { LocalStateMachine } from '../../local/runner';
import { REQUEST_DETAIL_TYPE, REQUEST_INPUT_PATH, REQUEST_SOURCE, autoOnboardingInput, autoOnboardingPattern, onboardingRequestPattern } from '../../infra/event-patterns';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const OUTSIDER_ACCOUNT = '111122223333';
const { requestBusName: BUS } = validateSettings({});
const EVENTS = path.resolve(__dirname, '../../events');
const entriesFiles = (JSON.parse(readFileSync(path.join(EVENTS, 'index.json'), 'utf8')).entries as { file: string }[]).map((e) => e.file);
const lambdaTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
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
  /** The one principal the request bus's policy names (requestPrincipals), with no IAM policy of its own. */
  let requester: ReturnType<typeof clients>['events'];
  const request = (detail: object): PutEventsRequestEntry => ({ EventBusName: BUS, Source: REQUEST_SOURCE, DetailType: REQUEST_DETAIL_TYPE, Detail: JSON.stringify(detail) });

  beforeAll(async () => {
    sb = await testSandbox();
    const { iam, events } = clients(sb);
    await deployOrchestrator(sb);
    for (const app of ['orders', 'clicks']) await iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
    smArn = await deployStateMachine(sb, 'OnboardApplication', new LocalStateMachine({ account: A, region: sb.sandbox.region }).definition);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const roleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'EventsStartOnboarding', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
    await iam.send(new PutRolePolicyCommand({ RoleName: 'EventsStartOnboarding', PolicyName: 'start', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: smArn }] }) }));
    // The request bus with its policy and rule, and the auto-onboarding rule, as the stack deploys them
    // with autoOnboarding=true and requestPrincipals=[the requester role].
    const requesterArn = (await iam.send(new CreateRoleCommand({ RoleName: 'OnboardingRequester', AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
    requester = clients(sb, roleCredentials(sb, requesterArn)).events;
    await events.send(new CreateEventBusCommand({ Name: BUS }));
    await events.send(new PutPermissionCommand({ EventBusName: BUS, Policy: JSON.stringify(requestBusPolicy({ scope: { account: A, region: sb.sandbox.region }, busName: BUS, principals: [requesterArn] })) }));
    await events.send(new PutRuleCommand({ Name: 'request', EventBusName: BUS, EventPattern: JSON.stringify(onboardingRequestPattern()) }));
    await events.send(new PutTargetsCommand({ Rule: 'request', EventBusName: BUS, Targets: [{ Id: 'sfn', Arn: smArn, RoleArn: roleArn, InputPath: REQUEST_INPUT_PATH }] }));
    const t = autoOnboardingInput();
    await events.send(new PutRuleCommand({ Name: 'auto', EventPattern: JSON.stringify(autoOnboardingPattern({ partition: 'aws', account: A, operatorRolePrefix: 'msf-cmk-operator-' })) }));
    await events.send(new PutTargetsCommand({ Rule: 'auto', Targets: [{ Id: 'sfn', Arn: smArn, RoleArn: roleArn, InputTransformer: { InputPathsMap: t.inputPathsMap, InputTemplate: t.inputTemplate } }] }));
  });
  afterAll(() => sb.close());

  it('a request event onboards the application it names; the workflow\'s own CreateApplication starts no second run', async () => {
    const { sfn, flink } = clients(sb);
    const detail = { applicationName: 'orders', createApplication: { serviceExecutionRoleArn: `arn:aws:iam::${A}:role/orders-flink-execution` } };
    const out = await requester.send(new PutEventsCommand({ Entries: [request(detail)] }));
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
  describe('who may start an onboarding: only the principals the request bus names', () => {
    const started = async () => (await clients(sb).sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn }))).executions?.length ?? 0;

    it("refuses an outsider's request by the bus policy: a principal of this account it does not name, even one allowed events:PutEvents on every bus", async () => {
      // Prepare
      const { iam } = clients(sb);
      const role = (await iam.send(new CreateRoleCommand({ RoleName: 'SomeoneElse', AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
      await iam.send(new PutRolePolicyCommand({ RoleName: 'SomeoneElse', PolicyName: 'events', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] }) }));
      const before = await started();
      // Act
      const err = await clients(sb, roleCredentials(sb, role)).events.send(new PutEventsCommand({ Entries: [request({ applicationName: 'victim' })] })).catch((e) => e);
      // Assess
      expect(err).toMatchObject({ name: 'AccessDeniedException', message: expect.stringMatching(/is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:000000000000:event-bus\/msf-cmk-onboarding-requests with an explicit deny in a resource-based policy$/) });
      expect(await started()).toBe(before);
    });

    it("refuses another account's request by the bus policy", async () => {
      // Prepare: the sandbox holds one account, so the other account's call is made in process.
      const caller: Principal = { arn: `arn:aws:iam::${OUTSIDER_ACCOUNT}:root`, account: OUTSIDER_ACCOUNT, kind: 'root', userId: OUTSIDER_ACCOUNT };
      const ctx = { sandbox: sb.sandbox, caller, requestId: 'r', service: 'events', operation: 'PutEvents' };
      const before = await started();
      // Act
      const put = async () => sb.sandbox.services.get('events')!.operations.PutEvents({ Entries: [{ ...request({ applicationName: 'victim' }), EventBusName: `arn:aws:events:us-east-1:${A}:event-bus/${BUS}` }] }, ctx);
      // Assess
      await expect(put()).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining(`User: arn:aws:iam::${OUTSIDER_ACCOUNT}:root is not authorized to perform: events:PutEvents`) });
      expect(await started()).toBe(before);
    });

    it('starts nothing from a request event on the default bus (no default-bus rule unless defaultBusRequests)', async () => {
      // Prepare
      const before = await started();
      // Act
      const out = await clients(sb).events.send(new PutEventsCommand({ Entries: [{ ...request({ applicationName: 'victim' }), EventBusName: undefined }] }));
      // Assess
      expect(out.FailedEntryCount).toBe(0);
      expect(await started()).toBe(before);
    });

    it.each(entriesFiles)('events/%s, sent as `aws events put-events --entries file://…` sends it, matches the request rule and starts one execution with its detail', async (file) => {
      // Prepare
      const entries = JSON.parse(readFileSync(path.join(EVENTS, file), 'utf8')) as PutEventsRequestEntry[];
      const before = new Set(((await clients(sb).sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn }))).executions ?? []).map((e) => e.executionArn));
      // Act
      const out = await requester.send(new PutEventsCommand({ Entries: entries }));
      // Assess
      expect(out.FailedEntryCount).toBe(0);
      const added = ((await clients(sb).sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn }))).executions ?? []).filter((e) => !before.has(e.executionArn));
      const inputs = await Promise.all(added.map(async (e) => JSON.parse((await clients(sb).sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))).input!)));
      expect(inputs).toEqual(entries.map((e) => JSON.parse(e.Detail!)));
      await allEnded(clients(sb).sfn, smArn);
    });
  });
});
