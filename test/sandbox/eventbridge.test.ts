/**
 * EventBridge in the sandbox, through the real EventBridge client: rules and targets, PutEvents matched
 * against rules and delivered to Step Functions as the target's role, and CloudTrail-shaped events
 * from `emitEvent` (facts §8).
 */
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, deployFunction, deployStateMachine, roleCredentials, testSandbox, ended } from './helpers';
import { apiCallEvent, emitEvent } from '../../local/sandbox/services/eventbridge';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const RULE_ARN = (name: string) => `arn:aws:events:us-east-1:${ACCOUNT}:rule/${name}`;
const REQUEST_PATTERN = JSON.stringify({
  source: ['msf.onboarding'],
  'detail-type': ['Onboarding Requested'],
  detail: { applicationName: [{ exists: true }] },
});
/**
 * Facts §8: the CloudTrail pattern for Managed Flink API calls, for CreateApplication only: every call
 * is recorded, so UpdateApplication (the workflow's own switch to the key) would start another run.
 */
const CLOUDTRAIL_PATTERN = JSON.stringify({
  source: ['aws.kinesisanalytics'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: { eventSource: ['kinesisanalytics.amazonaws.com'], eventName: ['CreateApplication'] },
});
const flinkTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

async function executions(sfn: SFNClient, stateMachineArn: string) {
  return (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
}

describe('EventBridge on the sandbox', () => {
  let sb: RunningSandbox;
  let smArn: string;
  let eventsRoleArn: string;

  beforeAll(async () => {
    sb = await testSandbox();
    const { iam } = clients(sb);
    // A state machine that returns its input: what is asserted here is what EventBridge delivers.
    const echo = await deployFunction(sb, 'Echo', 'exports.handler = async (event) => ({ received: event });');
    smArn = await deployStateMachine(sb, 'Receiver', { StartAt: 'Echo', States: { Echo: { Type: 'Task', Resource: echo, End: true } } });
    // The role EventBridge assumes to start the state machine, as CDK's SfnStateMachine target creates it.
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    eventsRoleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'EventsInvokeOnboarding', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'EventsInvokeOnboarding',
        PolicyName: 'start',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: smArn }] }),
      }),
    );
    for (const app of ['orders', 'clicks']) await iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
  });
  afterAll(() => sb.close());

  it('puts, describes, lists and deletes a rule on the default bus', async () => {
    const { events } = clients(sb);
    const { RuleArn } = await events.send(new PutRuleCommand({ Name: 'scratch', EventPattern: REQUEST_PATTERN, State: 'DISABLED', Description: 'd' }));
    expect(RuleArn).toBe(RULE_ARN('scratch'));
    expect(await events.send(new DescribeRuleCommand({ Name: 'scratch' }))).toMatchObject({
      Name: 'scratch',
      Arn: RuleArn,
      EventPattern: REQUEST_PATTERN,
      State: 'DISABLED',
      Description: 'd',
      EventBusName: 'default',
      CreatedBy: ACCOUNT,
    });
    expect((await events.send(new ListRulesCommand({ NamePrefix: 'scr' }))).Rules!.map((r) => r.Name)).toEqual(['scratch']);
    await events.send(new DeleteRuleCommand({ Name: 'scratch' }));
    await expect(events.send(new DescribeRuleCommand({ Name: 'scratch' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Rule scratch does not exist on EventBus default.',
    });
  });

  it('refuses an invalid event pattern with InvalidEventPatternException and its reason', async () => {
    const { events } = clients(sb);
    const err = await events.send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ source: 'msf.onboarding' }) })).catch((e) => e);
    expect(err).toMatchObject({
      name: 'InvalidEventPatternException',
      message: 'Event pattern is not valid. Reason: "source" must be an object or an array at $.source',
    });
  });

  it('refuses a state machine target without RoleArn, and a rule with targets cannot be deleted', async () => {
    const { events } = clients(sb);
    await events.send(new PutRuleCommand({ Name: 'guarded', EventPattern: REQUEST_PATTERN }));
    const err = await events.send(new PutTargetsCommand({ Rule: 'guarded', Targets: [{ Id: 'sfn', Arn: smArn }] })).catch((e) => e);
    expect(err).toMatchObject({ name: 'ValidationException', message: `RoleArn is required for target ${smArn}.` });
    await events.send(new PutTargetsCommand({ Rule: 'guarded', Targets: [{ Id: 'sfn', Arn: smArn, RoleArn: eventsRoleArn }] }));
    await expect(events.send(new DeleteRuleCommand({ Name: 'guarded' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    await events.send(new RemoveTargetsCommand({ Rule: 'guarded', Ids: ['sfn'] }));
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'guarded' }))).Targets).toEqual([]);
    await events.send(new DeleteRuleCommand({ Name: 'guarded' }));
  });

  describe('delivery to a state machine', () => {
    beforeAll(async () => {
      const { events } = clients(sb);
      await events.send(new PutRuleCommand({ Name: 'onboarding-requests', EventPattern: REQUEST_PATTERN }));
      await events.send(
        new PutTargetsCommand({
          Rule: 'onboarding-requests',
          Targets: [
            {
              Id: 'onboard',
              Arn: smArn,
              RoleArn: eventsRoleArn,
              InputTransformer: {
                InputPathsMap: { app: '$.detail.applicationName', role: '$.detail.executionRole' },
                InputTemplate:
                  '{"applicationName": <app>, "createApplication": {"serviceExecutionRoleArn": "<role>"}, "tags": {"requested-by": "<aws.events.rule-name>"}}',
              },
              RetryPolicy: { MaximumRetryAttempts: 2 },
              DeadLetterConfig: { Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:onboarding-dlq` },
            },
          ],
        }),
      );
    });

    it('starts an execution for a matching PutEvents entry, with the transformed input', async () => {
      const { events, sfn } = clients(sb);
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'msf.onboarding',
              DetailType: 'Onboarding Requested',
              Detail: JSON.stringify({ applicationName: 'orders', executionRole: `arn:aws:iam::${ACCOUNT}:role/orders-flink-execution` }),
            },
          ],
        }),
      );
      expect(out.FailedEntryCount).toBe(0);
      expect(out.Entries![0].EventId).toMatch(/^[0-9a-f-]{36}$/);
      const [execution] = await executions(sfn, smArn);
      const done = await ended(sfn, execution.executionArn!);
      expect(JSON.parse(done.input!)).toEqual({
        applicationName: 'orders',
        createApplication: { serviceExecutionRoleArn: `arn:aws:iam::${ACCOUNT}:role/orders-flink-execution` },
        tags: { 'requested-by': 'onboarding-requests' },
      });
      expect(done.status).toBe('SUCCEEDED');
      expect(JSON.parse(done.output!).received).toEqual(JSON.parse(done.input!));
    });

    it('starts nothing for an event no rule matches, nor for a disabled rule', async () => {
      const { events, sfn } = clients(sb);
      const before = (await executions(sfn, smArn)).length;
      await events.send(
        new PutEventsCommand({ Entries: [{ Source: 'msf.onboarding', DetailType: 'Something Else', Detail: JSON.stringify({ applicationName: 'x' }) }] }),
      );
      await events.send(new PutRuleCommand({ Name: 'onboarding-requests', EventPattern: REQUEST_PATTERN, State: 'DISABLED' }));
      await events.send(
        new PutEventsCommand({ Entries: [{ Source: 'msf.onboarding', DetailType: 'Onboarding Requested', Detail: JSON.stringify({ applicationName: 'x' }) }] }),
      );
      await events.send(new PutRuleCommand({ Name: 'onboarding-requests', EventPattern: REQUEST_PATTERN, State: 'ENABLED' }));
      expect((await executions(sfn, smArn)).length).toBe(before);
    });

    it('refuses aws.* sources and malformed details per entry, and delivers the rest', async () => {
      const { events } = clients(sb);
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            { Source: 'aws.kinesisanalytics', DetailType: 'AWS API Call via CloudTrail', Detail: '{}' },
            { Source: 'msf.onboarding', DetailType: 'Onboarding Requested', Detail: '{not json' },
            { Source: 'msf.onboarding', DetailType: 'Noise', Detail: '{}' },
          ],
        }),
      );
      expect(out.FailedEntryCount).toBe(2);
      expect(out.Entries).toEqual([
        { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        { EventId: expect.any(String) },
      ]);
    });

    it('keeps a failed delivery (the target role may not start the machine) for the dead-letter queue, and starts nothing', async () => {
      const { events, sfn, iam } = clients(sb);
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
      const weak = (await iam.send(new CreateRoleCommand({ RoleName: 'EventsNoPermission', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
      await events.send(new PutRuleCommand({ Name: 'weak', EventPattern: JSON.stringify({ source: ['msf.weak'] }) }));
      await events.send(
        new PutTargetsCommand({
          Rule: 'weak',
          Targets: [{ Id: 't', Arn: smArn, RoleArn: weak, DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:000000000000:dlq' } }],
        }),
      );
      const before = (await executions(sfn, smArn)).length;
      const { Entries } = await events.send(new PutEventsCommand({ Entries: [{ Source: 'msf.weak', DetailType: 'x', Detail: '{}' }] }));
      expect((await executions(sfn, smArn)).length).toBe(before);
      expect(sb.sandbox.state.events!.failedInvocations.at(-1)).toMatchObject({
        EventId: Entries![0].EventId,
        RuleArn: RULE_ARN('weak'),
        TargetId: 't',
        ErrorCode: 'AccessDeniedException',
        ErrorMessage: expect.stringMatching(
          new RegExp(
            `^User: arn:aws:sts::${ACCOUNT}:assumed-role/EventsNoPermission/\\w+ is not authorized to perform: states:StartExecution on resource: ${smArn} because`,
          ),
        ),
        DeadLetterArn: 'arn:aws:sqs:us-east-1:000000000000:dlq',
      });
    });

    it('refuses PutEvents to a caller without events:PutEvents on the bus', async () => {
      const { iam } = clients(sb);
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
      const role = (await iam.send(new CreateRoleCommand({ RoleName: 'NoEvents', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
      const { events } = clients(sb, roleCredentials(sb, role));
      const err = await events.send(new PutEventsCommand({ Entries: [{ Source: 'msf.onboarding', DetailType: 'x', Detail: '{}' }] })).catch((e) => e);
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toBe(
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/NoEvents/test-session is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default because no identity-based policy allows the events:PutEvents action`,
      );
    });
  });

  it("starts one execution when Managed Flink's CreateApplication emits its CloudTrail event through the facts §8 pattern", async () => {
    const { events, sfn } = clients(sb);
    await events.send(new PutRuleCommand({ Name: 'on-create-application', EventPattern: CLOUDTRAIL_PATTERN }));
    await events.send(
      new PutTargetsCommand({
        Rule: 'on-create-application',
        Targets: [
          {
            Id: 'onboard',
            Arn: smArn,
            RoleArn: eventsRoleArn,
            InputTransformer: { InputPathsMap: { app: '$.detail.requestParameters.applicationName' }, InputTemplate: '{"applicationName": <app>}' },
          },
        ],
      }),
    );
    const creator = (
      await clients(sb).iam.send(
        new CreateRoleCommand({
          RoleName: 'AppCreator',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
    ).Role!.Arn!;
    const session = roleCredentials(sb, creator);
    const principal = sb.sandbox.resolveAccessKey(session.accessKeyId, session.sessionToken).principal;
    const request = {
      ApplicationName: 'clicks',
      RuntimeEnvironment: 'FLINK-1_20',
      ServiceExecutionRole: `arn:aws:iam::${ACCOUNT}:role/clicks-flink-execution`,
      ApplicationConfiguration: { ApplicationEncryptionConfiguration: { KeyType: 'AWS_OWNED_KEY' } },
    };
    const before = (await executions(sfn, smArn)).length;

    // Managed Flink's CreateApplication itself emits the CloudTrail event; exactly one onboarding starts.
    await clients(sb).flink.send(new CreateApplicationCommand(request as never));

    const started = await executions(sfn, smArn);
    expect(started.length).toBe(before + 1);
    const done = await ended(sfn, started[0].executionArn!);
    expect(JSON.parse(done.input!)).toEqual({ applicationName: 'clicks' });
    expect(done.status).toBe('SUCCEEDED');
    expect(apiCallEvent(sb.sandbox, principal, 'kinesisanalytics', 'CreateApplication', request)).toMatchObject({
      source: 'aws.kinesisanalytics',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: 'kinesisanalytics.amazonaws.com',
        eventName: 'CreateApplication',
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AppCreator/test-session` },
        requestParameters: {
          applicationName: 'clicks',
          runtimeEnvironment: 'FLINK-1_20',
          applicationConfiguration: { applicationEncryptionConfiguration: { keyType: 'AWS_OWNED_KEY' } },
        },
        eventType: 'AwsApiCall',
        readOnly: false,
      },
    });
    // A read-only call does not reach a plain ENABLED rule (facts §8).
    emitEvent(sb.sandbox, apiCallEvent(sb.sandbox, principal, 'kinesisanalytics', 'DescribeApplication', { ApplicationName: 'clicks' }));
    expect((await executions(sfn, smArn)).length).toBe(before + 1);
  });
});
