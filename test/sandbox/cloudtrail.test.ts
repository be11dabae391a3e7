/**
 * CloudTrail events on the sandbox's default event bus, observed as a customer observes them: an
 * EventBridge rule whose target (a one-state state machine) receives each event as its input.
 * Every IAM, STS, KMS and Managed Flink call emits "AWS API Call via CloudTrail"; KMS also sends its
 * own `KMS CMK Rotation` and `KMS CMK Deletion` events [KMS-EV].
 */
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  ListKeyRotationsCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { CreateApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, deployStateMachine, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const DAY = 86_400_000;
const PASS = { StartAt: 'Received', States: { Received: { Type: 'Pass', End: true } } };
const trust = (Service: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service }, Action: 'sts:AssumeRole' }] });
const keyResource = (ARN: string) => ({ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN });
/** CloudTrail's KMS date format, e.g. "Jun 30, 2020 2:34:07 AM". */
const KMS_DATE = /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('CloudTrail events on the sandbox', () => {
  let sb: RunningSandbox;
  let c: ReturnType<typeof clients>;
  let eventsRole: string;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;

  /** A rule with this pattern, from now on; returns a reader of the events it delivered, oldest first. */
  const capture = async (
    pattern: object,
    State: 'ENABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
  ) => {
    const name = unique('Capture');
    const stateMachineArn = await deployStateMachine(sb, name, PASS);
    await c.events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern), State }));
    await c.events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'capture', Arn: stateMachineArn, RoleArn: eventsRole }] }));
    return async (): Promise<any[]> => {
      const { executions = [] } = await c.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
      const inputs = await Promise.all(executions.map((e) => c.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))));
      return inputs.map((d) => JSON.parse(d.input!)).sort((a, b) => a.time.localeCompare(b.time));
    };
  };
  const detailsByName = (events: any[]) => Object.fromEntries(events.map((e) => [e.detail.eventName, e.detail]));

  beforeAll(async () => {
    sb = await testSandbox({ rates: false });
    c = clients(sb);
    eventsRole = (await c.iam.send(new CreateRoleCommand({ RoleName: 'EventsCapture', AssumeRolePolicyDocument: trust('events.amazonaws.com') }))).Role!.Arn!;
    await c.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'EventsCapture',
        PolicyName: 'start',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: '*' }] }),
      }),
    );
  });
  afterAll(() => sb.close());

  it("records ScheduleKeyDeletion with AWS's shape: camelCase request, the response with keyState and deletionDate, the key as resource", async () => {
    const read = await capture({ source: ['aws.kms'], detail: { eventName: ['ScheduleKeyDeletion'] } });
    const key = (await c.kms.send(new CreateKeyCommand({}))).KeyMetadata!;

    const out = await c.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    const [event] = await read();

    expect(event).toMatchObject({ source: 'aws.kms', 'detail-type': 'AWS API Call via CloudTrail', account: ACCOUNT, region: 'us-east-1' });
    expect(event.detail).toMatchObject({
      eventSource: 'kms.amazonaws.com',
      eventName: 'ScheduleKeyDeletion',
      eventType: 'AwsApiCall',
      awsRegion: 'us-east-1',
      userIdentity: { type: 'Root', arn: ROOT, accountId: ACCOUNT },
      requestParameters: { keyId: key.KeyId, pendingWindowInDays: 7 },
      responseElements: { keyId: key.Arn, keyState: 'PendingDeletion', pendingWindowInDays: 7, deletionDate: expect.stringMatching(KMS_DATE) },
      resources: [keyResource(key.Arn!)],
      readOnly: false,
      requestID: out.$metadata.requestId,
    });
    expect(event.detail.errorCode).toBeUndefined();
  });

  it('records every KMS call that can hurt a key, with its key (and alias) as resources and no grant token', async () => {
    const hurting = ['DisableKey', 'EnableKey', 'CancelKeyDeletion', 'PutKeyPolicy', 'CreateGrant', 'RevokeGrant', 'CreateAlias', 'UpdateAlias', 'DeleteAlias'];
    const read = await capture({ source: ['aws.kms'], detail: { eventName: hurting } });
    const [key, other] = await Promise.all([c.kms.send(new CreateKeyCommand({})), c.kms.send(new CreateKeyCommand({}))]).then((r) =>
      r.map((k) => k.KeyMetadata!),
    );
    const alias = unique('alias/hurt');
    const aliasArn = `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`;
    const { Policy } = await c.kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }));

    await c.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await c.kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await c.kms.send(new ScheduleKeyDeletionCommand({ KeyId: other.KeyId, PendingWindowInDays: 7 }));
    await c.kms.send(new CancelKeyDeletionCommand({ KeyId: other.KeyId }));
    await c.kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy }));
    const { GrantId } = await c.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROOT, Operations: ['Decrypt'] }));
    await c.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId }));
    await c.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    await c.kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: other.KeyId }));
    await c.kms.send(new DeleteAliasCommand({ AliasName: alias }));
    const byName = detailsByName(await read());

    expect(Object.keys(byName).sort()).toEqual([...hurting].sort());
    expect(byName.DisableKey).toMatchObject({ requestParameters: { keyId: key.KeyId }, responseElements: null, resources: [keyResource(key.Arn!)] });
    expect(byName.CancelKeyDeletion).toMatchObject({ responseElements: { keyId: other.Arn }, resources: [keyResource(other.Arn!)] });
    expect(byName.PutKeyPolicy).toMatchObject({ requestParameters: { keyId: key.KeyId, policy: Policy }, responseElements: null });
    expect(byName.CreateGrant).toMatchObject({ requestParameters: { keyId: key.KeyId, granteePrincipal: ROOT, operations: ['Decrypt'] } });
    expect(byName.CreateGrant.responseElements).toEqual({ grantId: GrantId });
    expect(byName.RevokeGrant).toMatchObject({ requestParameters: { keyId: key.KeyId, grantId: GrantId }, resources: [keyResource(key.Arn!)] });
    expect(byName.CreateAlias.resources).toEqual([keyResource(key.Arn!), keyResource(aliasArn)]);
    expect(byName.UpdateAlias.resources).toEqual([keyResource(other.Arn!), keyResource(aliasArn)]);
    // The alias is gone after the call; its key is resolved before it.
    expect(byName.DeleteAlias.resources).toEqual([keyResource(other.Arn!), keyResource(aliasArn)]);
  });

  it('records a refused call with errorCode and errorMessage as the caller received them, and no response', async () => {
    const read = await capture({ source: ['aws.kms'], detail: { eventName: ['DisableKey'], errorCode: [{ exists: true }] } });
    const key = (await c.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const role = (await c.iam.send(new CreateRoleCommand({ RoleName: unique('NoKms'), AssumeRolePolicyDocument: trust('lambda.amazonaws.com') }))).Role!;

    const err = (await failure(clients(sb, roleCredentials(sb, role.Arn!)).kms.send(new DisableKeyCommand({ KeyId: key.KeyId })))) as Error;
    const [event] = await read();

    expect(event.detail).toMatchObject({
      eventName: 'DisableKey',
      errorCode: 'AccessDeniedException',
      errorMessage: err.message,
      responseElements: null,
      userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/test-session` },
      resources: [keyResource(key.Arn!)],
    });
  });

  it('flags read-only calls, which reach only rules that take all management events', async () => {
    const pattern = { source: ['aws.kms'], detail: { eventName: ['DescribeKey', 'EnableKeyRotation'] } };
    const all = await capture(pattern);
    const plain = await capture(pattern, 'ENABLED');
    const key = (await c.kms.send(new CreateKeyCommand({}))).KeyMetadata!;

    await c.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    await c.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));

    expect((await all()).map((e) => [e.detail.eventName, e.detail.readOnly, e.detail.responseElements]).sort()).toEqual([
      ['DescribeKey', true, null],
      ['EnableKeyRotation', false, null],
    ]);
    expect((await plain()).map((e) => e.detail.eventName)).toEqual(['EnableKeyRotation']);
  });

  it('records IAM as a global service in us-east-1 and STS AssumeRole as read-only, without the secret access key', async () => {
    const read = await capture({ source: ['aws.iam', 'aws.sts'], detail: { eventName: ['CreateRole', 'AssumeRole'] } });
    const caller = (await c.iam.send(new CreateRoleCommand({ RoleName: unique('Caller'), AssumeRolePolicyDocument: trust('lambda.amazonaws.com') }))).Role!;
    const target = (
      await c.iam.send(
        new CreateRoleCommand({
          RoleName: unique('Target'),
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: caller.Arn }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
    ).Role!;

    const { Credentials } = await clients(sb, roleCredentials(sb, caller.Arn!)).sts.send(
      new AssumeRoleCommand({ RoleArn: target.Arn, RoleSessionName: 'audit' }),
    );
    const events = await read();
    const created = events.find((e) => e.detail.eventName === 'CreateRole' && e.detail.requestParameters.roleName === target.RoleName);
    const assumed = events.find((e) => e.detail.eventName === 'AssumeRole');

    expect(created).toMatchObject({
      source: 'aws.iam',
      detail: {
        eventSource: 'iam.amazonaws.com',
        awsRegion: 'us-east-1',
        readOnly: false,
        responseElements: { role: { arn: target.Arn, roleId: target.RoleId } },
      },
    });
    expect(assumed).toMatchObject({
      source: 'aws.sts',
      detail: {
        eventSource: 'sts.amazonaws.com',
        readOnly: true,
        requestParameters: { roleArn: target.Arn, roleSessionName: 'audit' },
        responseElements: { credentials: { accessKeyId: Credentials!.AccessKeyId, sessionToken: Credentials!.SessionToken } },
      },
    });
    expect(assumed.detail.responseElements.credentials.secretAccessKey).toBeUndefined();
  });

  it("records Managed Flink's calls generically, UpdateApplication as well as CreateApplication", async () => {
    const read = await capture({ source: ['aws.kinesisanalytics'], detail: { eventName: ['CreateApplication', 'UpdateApplication'] } });
    const role = (
      await c.iam.send(new CreateRoleCommand({ RoleName: unique('flink-exec'), AssumeRolePolicyDocument: trust('kinesisanalytics.amazonaws.com') }))
    ).Role!;
    const name = unique('trail-app');

    await c.flink.send(new CreateApplicationCommand({ ApplicationName: name, RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: role.Arn }));
    await c.flink.send(
      new UpdateApplicationCommand({
        ApplicationName: name,
        CurrentApplicationVersionId: 1,
        ApplicationConfigurationUpdate: { ApplicationSnapshotConfigurationUpdate: { SnapshotsEnabledUpdate: false } },
      }),
    );
    const byName = detailsByName(await read());

    expect(byName.CreateApplication).toMatchObject({
      eventSource: 'kinesisanalytics.amazonaws.com',
      readOnly: false,
      requestParameters: { applicationName: name, runtimeEnvironment: 'FLINK-1_20' },
      responseElements: { applicationDetail: { applicationName: name, applicationVersionId: 1 } },
    });
    expect(byName.UpdateApplication).toMatchObject({
      requestParameters: {
        applicationName: name,
        currentApplicationVersionId: 1,
        applicationConfigurationUpdate: { applicationSnapshotConfigurationUpdate: { snapshotsEnabledUpdate: false } },
      },
      responseElements: { applicationDetail: { applicationVersionId: 2 }, operationId: expect.any(String) },
    });
  });

  it("sends KMS's own KMS CMK Rotation event on every rotation, on demand and automatic, and KMS CMK Deletion when the key is deleted", async () => {
    const read = await capture({ source: ['aws.kms'], 'detail-type': ['KMS CMK Rotation', 'KMS CMK Deletion'] });
    const key = (await c.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await c.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));

    await c.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    sb.sandbox.advance(90 * DAY);
    const { Rotations } = await c.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    await c.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    sb.sandbox.advance(7 * DAY);
    const events = (await read()).filter((e) => e.resources[0] === key.Arn);

    expect(events.map((e) => e['detail-type'])).toEqual(['KMS CMK Rotation', 'KMS CMK Rotation', 'KMS CMK Deletion']);
    expect(events[0]).toMatchObject({
      source: 'aws.kms',
      account: ACCOUNT,
      region: 'us-east-1',
      resources: [key.Arn],
      detail: { 'key-id': key.KeyId, 'key-origin': 'AWS_KMS', 'rotation-type': 'ON_DEMAND', 'current-key-material-id': Rotations![0].KeyMaterialId },
    });
    expect(events[1].detail).toEqual({
      'key-id': key.KeyId,
      'key-origin': 'AWS_KMS',
      'rotation-type': 'AUTOMATIC',
      'previous-key-material-id': Rotations![0].KeyMaterialId,
      'current-key-material-id': Rotations![1].KeyMaterialId,
    });
    expect(events[0].detail['previous-key-material-id']).toMatch(/^[0-9a-f]{64}$/);
    expect(events[2]).toMatchObject({ detail: { 'key-id': key.KeyId }, resources: [key.Arn] });
  });
});
