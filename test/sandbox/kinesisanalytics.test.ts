import {
  CreateApplicationCommand,
  CreateApplicationSnapshotCommand,
  DeleteApplicationCommand,
  DeleteApplicationSnapshotCommand,
  DescribeApplicationCommand,
  DescribeApplicationOperationCommand,
  DescribeApplicationSnapshotCommand,
  ListApplicationOperationsCommand,
  ListApplicationSnapshotsCommand,
  ListApplicationsCommand,
  ListTagsForResourceCommand,
  StartApplicationCommand,
  StopApplicationCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateApplicationCommand,
  type ApplicationDetail,
  type KinesisAnalyticsV2Client,
  type UpdateApplicationCommandInput,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, roleCredentials, testSandbox } from './helpers';
import {
  appArnFor,
  msfKeyPolicy,
  operatorBasePolicy,
  operatorCmkPolicy,
  seedAlias,
  seedKey,
  seedPersonas,
  seedRole,
  type KeyOptions,
  type KeyPolicyOptions,
  type MsfPersonas,
} from './fixtures';
import { cmkProblems } from '../../local/sandbox/services/kinesisanalytics';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { Key, PolicyDocument } from '../../local/sandbox/state';

const APP = 'MyCmkApplication';

let sb: RunningSandbox;
let people: MsfPersonas;
let flink: KinesisAnalyticsV2Client;
let appArn: string;

beforeEach(async () => {
  sb = await testSandbox();
  people = seedPersonas(sb);
  flink = clients(sb, roleCredentials(sb, people.operator.Arn)).flink;
  appArn = appArnFor(sb, APP);
});
afterEach(() => sb.close());

// ---- helpers ----

async function createApp(overrides: Partial<ConstructorParameters<typeof CreateApplicationCommand>[0]> = {}): Promise<ApplicationDetail> {
  const out = await flink.send(
    new CreateApplicationCommand({
      ApplicationName: APP,
      RuntimeEnvironment: 'FLINK-1_20',
      ServiceExecutionRole: people.executionRole.Arn,
      ...overrides,
    }),
  );
  return out.ApplicationDetail!;
}

async function describeApp(name = APP): Promise<ApplicationDetail> {
  return (await flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!;
}

const encryptionOf = (app: ApplicationDetail) => app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;

/** Starts the application and lets the start complete (durations are 0: the next request completes it). */
async function startApp(): Promise<void> {
  await flink.send(new StartApplicationCommand({ ApplicationName: APP }));
  expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
}

/** A key whose policy is the documented one (facts §3) for this application and operator, plus key admin. */
/**
 * A key with the documented key policy, and the operator's documented CMK IAM policy for it (facts §2 step 5):
 * MSF requires both (facts §4 (a), (b)).
 */
function msfKey(policy: Partial<KeyPolicyOptions> = {}, key: Partial<KeyOptions> = {}, operatorIamPolicy = true): Key {
  const made = seedKey(sb, { policy: msfKeyPolicy(sb, { appArn, operatorArn: people.operator.Arn, keyAdminArn: people.keyAdmin.Arn, ...policy }), ...key });
  if (operatorIamPolicy) people.operator.InlinePolicies[`Cmk-${made.KeyId}`] = operatorCmkPolicy(sb, made.Arn, appArn);
  return made;
}

function setKeyPolicy(key: Key, policy: PolicyDocument): void {
  sb.sandbox.state.kms.keys[key.KeyId].Policy = JSON.stringify(policy);
}

function toKey(keyId: string, version = 1, extra: Partial<UpdateApplicationCommandInput> = {}) {
  return flink.send(
    new UpdateApplicationCommand({
      ApplicationName: APP,
      CurrentApplicationVersionId: version,
      ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: keyId } },
      ...extra,
    }),
  );
}

async function refusal(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to be refused');
}

/** A refused call changed nothing: same key, same version, no operation, no snapshot. */
async function expectUnchanged(encryption: object, version: number): Promise<void> {
  const app = await describeApp();
  expect(encryptionOf(app)).toEqual(encryption);
  expect(app.ApplicationVersionId).toBe(version);
  expect(
    (await flink.send(new ListApplicationOperationsCommand({ ApplicationName: APP, Operation: 'UpdateApplication' }))).ApplicationOperationInfoList,
  ).toHaveLength(version - 1);
}

const AOK = { KeyType: 'AWS_OWNED_KEY' };

// ---------------------------------------------------------------------------------------------

describe('CreateApplication and DescribeApplication', () => {
  it('creates an application with the AWS owned key in READY at version 1', async () => {
    const created = await createApp({ Tags: [{ Key: 'team', Value: 'data' }] });

    expect(created).toMatchObject({
      ApplicationARN: appArn,
      ApplicationName: APP,
      ApplicationStatus: 'READY',
      ApplicationVersionId: 1,
      RuntimeEnvironment: 'FLINK-1_20',
      ServiceExecutionRole: people.executionRole.Arn,
      ApplicationMode: 'STREAMING',
    });
    expect(encryptionOf(created)).toEqual(AOK);
    expect(created.CreateTimestamp).toBeInstanceOf(Date);
    expect(await describeApp()).toMatchObject({ ApplicationStatus: 'READY', ConditionalToken: created.ConditionalToken });
  });

  it('refuses CreateApplication when the caller may not pass the execution role', async () => {
    const noPass = seedRole(sb, 'NoPass', 'lambda.amazonaws.com', {
      Api: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' }] },
    });
    flink = clients(sb, roleCredentials(sb, noPass.Arn)).flink;

    const err = await refusal(createApp());

    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/NoPass/test-session is not authorized to perform: iam:PassRole on resource: ${people.executionRole.Arn} because no identity-based policy allows the iam:PassRole action`,
    );
  });

  it('refuses CreateApplication with an execution role that does not exist as InvalidArgumentException', async () => {
    const missing = 'arn:aws:iam::000000000000:role/Missing';

    const err = await refusal(createApp({ ServiceExecutionRole: missing }));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe(`Kinesis Analytics service doesn't have sufficient privileges to assume the role ${missing}.`);
    expect(sb.sandbox.state.kinesisanalytics.applications).toEqual({});
  });

  it('refuses a second application with the same name as ResourceInUseException', async () => {
    await createApp();

    const err = await refusal(createApp());

    expect(err.name).toBe('ResourceInUseException');
    expect(err.message).toBe(`Application ${APP} already exists.`);
  });

  it('evaluates aws:RequestTag on CreateApplication', async () => {
    const tagged = seedRole(sb, 'Tagged', 'lambda.amazonaws.com', {
      Api: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'kinesisanalytics:CreateApplication', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/team': 'data' } } },
          { Effect: 'Allow', Action: 'iam:PassRole', Resource: people.executionRole.Arn },
        ],
      },
    });
    flink = clients(sb, roleCredentials(sb, tagged.Arn)).flink;

    const err = await refusal(createApp({ Tags: [{ Key: 'team', Value: 'other' }] }));
    const created = await createApp({ Tags: [{ Key: 'team', Value: 'data' }] });

    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain('kinesisanalytics:CreateApplication on resource: *');
    expect(created.ApplicationStatus).toBe('READY');
  });

  it('creates an application directly on a customer managed key whose policy names its future ARN', async () => {
    const key = msfKey();

    const created = await createApp({ ApplicationConfiguration: { ApplicationEncryptionConfiguration: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn } } });

    expect(encryptionOf(created)).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn });
  });

  it('answers DescribeApplication for an unknown application with ResourceNotFoundException', async () => {
    const err = await refusal(describeApp('Nope'));

    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.message).toBe('Application Nope is not found.');
  });

  it('refuses DescribeApplication to a caller without kinesisanalytics permissions', async () => {
    await createApp();
    flink = clients(sb, roleCredentials(sb, people.keyAdmin.Arn)).flink;

    const err = await refusal(describeApp());

    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain(`is not authorized to perform: kinesisanalytics:DescribeApplication on resource: ${appArn}`);
  });
});

describe('UpdateApplication to a customer managed key', () => {
  it('switches a READY application: UPDATING, then READY on the key at version 2, operation SUCCESSFUL, no snapshot', async () => {
    await createApp();
    const key = msfKey();

    const out = await toKey(key.Arn);
    const after = await describeApp();
    const op = await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: out.OperationId }));

    expect(out.ApplicationDetail).toMatchObject({ ApplicationStatus: 'UPDATING', ApplicationVersionId: 2, ApplicationVersionUpdatedFrom: 1 });
    expect(after.ApplicationStatus).toBe('READY');
    expect(encryptionOf(after)).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn });
    expect(op.ApplicationOperationInfoDetails).toMatchObject({
      Operation: 'UpdateApplication',
      OperationStatus: 'SUCCESSFUL',
      ApplicationVersionChangeDetails: { ApplicationVersionUpdatedFrom: 1, ApplicationVersionUpdatedTo: 2 },
    });
    expect((await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: APP }))).SnapshotSummaries).toEqual([]);
  });

  it('restarts a RUNNING application: snapshot under the AWS owned key, UPDATING, then RUNNING on the key', async () => {
    sb.sandbox.flinkDurations.update = 30_000;
    await createApp();
    await startApp();
    const key = msfKey();

    const out = await toKey(key.Arn);
    const during = await describeApp();
    sb.sandbox.advance(30_000);
    const after = await describeApp();
    const op = await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: out.OperationId }));
    const snapshots = (await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: APP }))).SnapshotSummaries!;

    expect(during.ApplicationStatus).toBe('UPDATING');
    expect(after).toMatchObject({ ApplicationStatus: 'RUNNING', ApplicationVersionId: 2 });
    expect(encryptionOf(after)).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn });
    expect(op.ApplicationOperationInfoDetails).toMatchObject({ OperationStatus: 'SUCCESSFUL' });
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ SnapshotStatus: 'READY', ApplicationVersionId: 1, ApplicationEncryptionConfigurationDescription: AOK });
  });

  it("a RUNNING application's update lasts flinkDurations.restart when it is set, not flinkDurations.update", async () => {
    sb.sandbox.flinkDurations.update = 10_000;
    sb.sandbox.flinkDurations.restart = 40_000;
    await createApp();
    await startApp();
    await toKey(msfKey().Arn);
    sb.sandbox.advance(39_000);
    expect((await describeApp()).ApplicationStatus).toBe('UPDATING');
    sb.sandbox.advance(1_000);
    expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
  });

  it('takes later snapshots under the new key', async () => {
    await createApp();
    await startApp();
    const key = msfKey();
    await toKey(key.Arn);
    await describeApp();

    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'after-switch' }));
    const snapshot = (await flink.send(new DescribeApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'after-switch' }))).SnapshotDetails;

    expect(snapshot).toMatchObject({
      SnapshotStatus: 'READY',
      ApplicationVersionId: 2,
      ApplicationEncryptionConfigurationDescription: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn },
    });
  });

  it.each([
    ['key id', (k: Key) => k.KeyId],
    ['alias name', () => 'alias/msf'],
    ['alias ARN', (k: Key) => `arn:aws:kms:us-east-1:${k.AWSAccountId}:alias/msf`],
  ])('accepts the key by %s and echoes it as given', async (_form, ref) => {
    await createApp();
    const key = msfKey();
    seedAlias(sb, 'alias/msf', key);

    await toKey(ref(key));

    expect(encryptionOf(await describeApp())).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: ref(key) });
  });

  it('accepts the ConditionalToken instead of the version id', async () => {
    const created = await createApp();
    const key = msfKey();

    const out = await flink.send(
      new UpdateApplicationCommand({
        ApplicationName: APP,
        ConditionalToken: created.ConditionalToken,
        ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: key.Arn } },
      }),
    );

    expect(out.ApplicationDetail?.ApplicationVersionId).toBe(2);
    expect(out.ApplicationDetail?.ConditionalToken).not.toBe(created.ConditionalToken);
  });

  it('refuses a stale CurrentApplicationVersionId with ConcurrentModificationException', async () => {
    await createApp();
    const key = msfKey();
    await toKey(key.Arn);

    const err = await refusal(toKey(key.Arn, 1));

    expect(err.name).toBe('ConcurrentModificationException');
    expect(err.message).toBe(`The provided application version id 1 does not match the current version id 2 of application ${APP}.`);
  });

  it('refuses an update naming neither the version id nor the conditional token with InvalidArgumentException', async () => {
    await createApp();
    const key = msfKey();

    const err = await refusal(
      flink.send(
        new UpdateApplicationCommand({
          ApplicationName: APP,
          ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: key.Arn } },
        }),
      ),
    );

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe('Either CurrentApplicationVersionId or ConditionalToken must be specified.');
    await expectUnchanged(AOK, 1);
  });

  it('refuses an update while the application is STARTING with ResourceInUseException', async () => {
    sb.sandbox.flinkDurations.start = 60_000;
    await createApp();
    await flink.send(new StartApplicationCommand({ ApplicationName: APP }));
    const key = msfKey();

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('ResourceInUseException');
    expect(err.message).toBe(`Application ${APP} is in STARTING status; wait until it is READY or RUNNING.`);
    await expectUnchanged(AOK, 1);
  });
});

describe('UpdateApplication refuses a key MSF cannot use, and changes nothing', () => {
  beforeEach(async () => {
    await createApp();
  });

  it('refuses a key whose policy does not name kinesisanalytics.amazonaws.com', async () => {
    const key = msfKey({ without: ['kinesisanalytics'] });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(`The key policy of ${key.Arn} does not allow kinesisanalytics.amazonaws.com to perform kms:DescribeKey for ${appArn}`);
    expect(err.message).toContain('does not allow kinesisanalytics.amazonaws.com to perform kms:GenerateDataKey');
    expect(err.message).not.toContain('infrastructure.kinesisanalytics.amazonaws.com');
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key whose policy does not name infrastructure.kinesisanalytics.amazonaws.com', async () => {
    const key = msfKey({ without: ['infrastructure'] });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(`The key policy of ${key.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:DescribeKey`);
    expect(err.message).toContain('infrastructure.kinesisanalytics.amazonaws.com to perform kms:CreateGrant');
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key whose policy has no operator statements', async () => {
    const key = msfKey({ without: ['operator'] });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(
      `arn:aws:sts::000000000000:assumed-role/Operator/test-session is not authorized to perform kms:DescribeKey on ${key.Arn} via kinesisanalytics.us-east-1.amazonaws.com`,
    );
    expect(err.message).not.toContain('The key policy of');
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key policy that names the operator when the operator has no CMK IAM policy: MSF requires both (facts §4 (a))', async () => {
    const key = msfKey({}, {}, false);

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain('no IAM policy of the caller allows it');
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key policy that delegates to the account when the operator has no CMK IAM policy', async () => {
    const key = msfKey({ without: ['operator'], delegateToAccount: true }, {}, false);

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain('assumed-role/Operator/test-session is not authorized to perform kms:CreateGrant');
    await expectUnchanged(AOK, 1);
  });

  it('accepts a key policy that delegates to the account once the operator has the CMK IAM policy (facts §4)', async () => {
    const key = msfKey({ without: ['operator'], delegateToAccount: true });

    await toKey(key.Arn);

    expect(encryptionOf(await describeApp())).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn });
  });

  it('ignores the operator IAM policy when the key policy does not delegate to the account', async () => {
    const key = msfKey({ without: ['operator'] });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    await expectUnchanged(AOK, 1);
  });

  it.each(['Disabled', 'PendingDeletion'] as const)('refuses a key in state %s with InvalidArgumentException', async (state) => {
    const key = msfKey({}, { keyState: state });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe(`Invalid encryption configuration for ${appArn}: KMS key ${key.Arn} is ${state}; the key must be Enabled.`);
    await expectUnchanged(AOK, 1);
  });

  it('refuses an asymmetric key', async () => {
    const key = msfKey({}, { keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toContain('has KeySpec RSA_2048 and KeyUsage SIGN_VERIFY; a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) is required');
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key in another Region', async () => {
    const key = msfKey({}, { region: 'eu-west-1' });

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe(
      `Invalid encryption configuration for ${appArn}: KMS key ${key.Arn} is not in the application's account 000000000000 and Region us-east-1.`,
    );
    await expectUnchanged(AOK, 1);
  });

  it('refuses a key that does not exist', async () => {
    const missing = 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000';

    const err = await refusal(toKey(missing));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toContain(`KMS key ${missing} does not exist in account 000000000000 and Region us-east-1`);
    await expectUnchanged(AOK, 1);
  });

  it('refuses CUSTOMER_MANAGED_KEY without KeyIdUpdate, and AWS_OWNED_KEY with one', async () => {
    const key = msfKey();
    const update = (u: object) =>
      flink.send(
        new UpdateApplicationCommand({
          ApplicationName: APP,
          CurrentApplicationVersionId: 1,
          ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: u as never },
        }),
      );

    const noKey = await refusal(update({ KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY' }));
    const withKey = await refusal(update({ KeyTypeUpdate: 'AWS_OWNED_KEY', KeyIdUpdate: key.Arn }));

    expect([noKey.name, noKey.message]).toEqual(['InvalidArgumentException', 'A KeyId is required when KeyType is CUSTOMER_MANAGED_KEY.']);
    expect([withKey.name, withKey.message]).toEqual(['InvalidArgumentException', 'A KeyId must not be specified when KeyType is AWS_OWNED_KEY.']);
    await expectUnchanged(AOK, 1);
  });
});

describe('runtime rule (facts §6)', () => {
  it('refuses a customer managed key for a FLINK-1_18 application', async () => {
    await createApp({ RuntimeEnvironment: 'FLINK-1_18' });
    const key = msfKey();

    const err = await refusal(toKey(key.Arn));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe(
      `Invalid encryption configuration for ${appArn}: Customer managed keys require runtime FLINK-1_20 or later, but the application uses FLINK-1_18.`,
    );
    await expectUnchanged(AOK, 1);
  });

  it('accepts the key together with a RuntimeEnvironmentUpdate to FLINK-2_2', async () => {
    await createApp({ RuntimeEnvironment: 'FLINK-1_18' });
    const key = msfKey();

    await toKey(key.Arn, 1, { RuntimeEnvironmentUpdate: 'FLINK-2_2' });

    expect(await describeApp()).toMatchObject({ RuntimeEnvironment: 'FLINK-2_2', ApplicationVersionId: 2 });
  });
});

describe('leaving a customer managed key (facts §5, §7)', () => {
  const toAwsOwned = (version: number) =>
    flink.send(
      new UpdateApplicationCommand({
        ApplicationName: APP,
        CurrentApplicationVersionId: version,
        ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'AWS_OWNED_KEY' } },
      }),
    );

  it('switches back to the AWS owned key while the operator still has rights on the key', async () => {
    await createApp();
    const key = msfKey();
    await toKey(key.Arn);

    await toAwsOwned(2);

    expect(await describeApp()).toMatchObject({ ApplicationVersionId: 3, ApplicationStatus: 'READY' });
    expect(encryptionOf(await describeApp())).toEqual(AOK);
  });

  it('refuses to switch back to the AWS owned key after the operator lost its rights on the key', async () => {
    await createApp();
    const key = msfKey();
    await toKey(key.Arn);
    setKeyPolicy(key, msfKeyPolicy(sb, { appArn, operatorArn: people.operator.Arn, keyAdminArn: people.keyAdmin.Arn, without: ['operator'] }));

    const err = await refusal(toAwsOwned(2));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(`assumed-role/Operator/test-session is not authorized to perform kms:DescribeKey on ${key.Arn}`);
    await expectUnchanged({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn }, 2);
  });

  it('moves from one key to another only when the operator has rights on both', async () => {
    await createApp();
    const first = msfKey();
    await toKey(first.Arn);
    const second = msfKey();
    setKeyPolicy(first, msfKeyPolicy(sb, { appArn, operatorArn: people.operator.Arn, keyAdminArn: people.keyAdmin.Arn, without: ['operator'] }));

    const err = await refusal(toKey(second.Arn, 2));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(`is not authorized to perform kms:DescribeKey on ${first.Arn}`);
    await expectUnchanged({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: first.Arn }, 2);
  });
});

describe('a key that becomes unusable before the restart (facts §6 [RB], §7)', () => {
  beforeEach(() => {
    sb.sandbox.flinkDurations.update = 10_000;
  });

  it('fails the operation and rolls back to RUNNING on the previous configuration when system rollback is on', async () => {
    await createApp({ ApplicationConfiguration: { ApplicationSystemRollbackConfiguration: { RollbackEnabled: true } } });
    await startApp();
    const key = msfKey();
    const out = await toKey(key.Arn);
    sb.sandbox.state.kms.keys[key.KeyId].KeyState = 'Disabled';

    sb.sandbox.advance(10_000);
    const rollingBack = await describeApp();
    const op = (await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: out.OperationId })))
      .ApplicationOperationInfoDetails!;
    sb.sandbox.advance(10_000);
    const after = await describeApp();
    const rollback = (
      await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: op.OperationFailureDetails?.RollbackOperationId }))
    ).ApplicationOperationInfoDetails!;

    expect(rollingBack.ApplicationStatus).toBe('ROLLING_BACK');
    expect(op.OperationStatus).toBe('FAILED');
    expect(op.OperationFailureDetails?.ErrorInfo?.ErrorString).toBe(
      `Application ${APP} could not restart with its KMS key: KMS key ${key.Arn} is Disabled; the key must be Enabled.`,
    );
    expect(rollback).toMatchObject({ Operation: 'RollbackApplication', OperationStatus: 'SUCCESSFUL' });
    expect(after).toMatchObject({
      ApplicationStatus: 'RUNNING',
      ApplicationVersionId: 3,
      ApplicationVersionRolledBackFrom: 2,
      ApplicationVersionRolledBackTo: 1,
    });
    expect(encryptionOf(after)).toEqual(AOK);
  });

  it('fails the operation and leaves the application READY when system rollback is off', async () => {
    await createApp();
    await startApp();
    const key = msfKey();
    const out = await toKey(key.Arn);
    setKeyPolicy(key, msfKeyPolicy(sb, { appArn, operatorArn: people.operator.Arn, keyAdminArn: people.keyAdmin.Arn, without: ['infrastructure'] }));

    sb.sandbox.advance(10_000);
    const after = await describeApp();
    const op = (await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: out.OperationId })))
      .ApplicationOperationInfoDetails!;

    expect(after.ApplicationStatus).toBe('READY');
    expect(op.OperationStatus).toBe('FAILED');
    expect(op.OperationFailureDetails?.ErrorInfo?.ErrorString).toContain(
      `The key policy of ${key.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:DescribeKey`,
    );
    expect(op.OperationFailureDetails?.RollbackOperationId).toBeUndefined();
  });

  it('fails StartApplication of an application whose key was disabled while it was READY', async () => {
    await createApp();
    const key = msfKey();
    await toKey(key.Arn);
    sb.sandbox.advance(10_000);
    sb.sandbox.state.kms.keys[key.KeyId].KeyState = 'Disabled';

    const out = await flink.send(new StartApplicationCommand({ ApplicationName: APP }));
    sb.sandbox.advance(10_000);
    const op = (await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId: out.OperationId })))
      .ApplicationOperationInfoDetails!;

    expect(op).toMatchObject({ Operation: 'StartApplication', OperationStatus: 'FAILED' });
    expect((await describeApp()).ApplicationStatus).toBe('READY');
  });
});

describe('a key that goes away while the application runs (next §1.4)', () => {
  const onKey = async (): Promise<Key> => {
    const key = msfKey();
    await createApp({ ApplicationConfiguration: { ApplicationEncryptionConfiguration: { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: key.Arn } } });
    await startApp();
    return key;
  };
  const snapshotStatus = async (SnapshotName: string) =>
    (await flink.send(new DescribeApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName }))).SnapshotDetails!.SnapshotStatus;
  const operation = async (OperationId: string | undefined) =>
    (await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: APP, OperationId }))).ApplicationOperationInfoDetails!;

  it.each(['Disabled', 'PendingDeletion'] as const)('keeps the application RUNNING with its key %s, and ends its next snapshot FAILED', async (state) => {
    const key = await onKey();
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'before' }));
    const before = await snapshotStatus('before');

    sb.sandbox.state.kms.keys[key.KeyId].KeyState = state;
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'after' }));

    expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
    expect(before).toBe('READY');
    expect(await snapshotStatus('after')).toBe('FAILED');
  });

  it('fails a stop whose snapshot cannot be written and leaves the application RUNNING; a forced stop takes no snapshot and stops it', async () => {
    const key = await onKey();
    sb.sandbox.state.kms.keys[key.KeyId].KeyState = 'Disabled';

    const stop = await flink.send(new StopApplicationCommand({ ApplicationName: APP }));
    const failed = await operation(stop.OperationId);
    const running = await describeApp();
    const forced = await flink.send(new StopApplicationCommand({ ApplicationName: APP, Force: true }));
    const snapshots = (await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: APP }))).SnapshotSummaries!;

    expect(failed).toMatchObject({ Operation: 'StopApplication', OperationStatus: 'FAILED' });
    expect(failed.OperationFailureDetails?.ErrorInfo?.ErrorString).toBe(
      `Application ${APP} could not take its snapshot to stop with its KMS key: KMS key ${key.Arn} is Disabled; the key must be Enabled.`,
    );
    expect(running.ApplicationStatus).toBe('RUNNING');
    expect(await operation(forced.OperationId)).toMatchObject({ OperationStatus: 'SUCCESSFUL' });
    expect((await describeApp()).ApplicationStatus).toBe('READY');
    expect(snapshots.map((s) => s.SnapshotStatus)).toEqual(['FAILED']);
  });

  it('cannot restore a snapshot whose key was deleted: that start fails, a start from a later snapshot under another key runs', async () => {
    const gone = await onKey();
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'under-gone' }));
    const next = msfKey();
    await toKey(next.Arn);
    await flink.send(new StopApplicationCommand({ ApplicationName: APP }));
    delete sb.sandbox.state.kms.keys[gone.KeyId];

    const fromGone = await flink.send(
      new StartApplicationCommand({
        ApplicationName: APP,
        RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT', SnapshotName: 'under-gone' } },
      }),
    );
    const failed = await operation(fromGone.OperationId);
    const ready = await describeApp();
    const fromLatest = await flink.send(new StartApplicationCommand({ ApplicationName: APP }));

    expect(failed.OperationStatus).toBe('FAILED');
    expect(failed.OperationFailureDetails?.ErrorInfo?.ErrorString).toBe(
      `Application ${APP} could not start with its KMS key: KMS key ${gone.Arn} does not exist in account 000000000000 and Region us-east-1.`,
    );
    expect(ready.ApplicationStatus).toBe('READY');
    expect(await operation(fromLatest.OperationId)).toMatchObject({ OperationStatus: 'SUCCESSFUL' });
    expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
  });

  it('restores from the latest READY snapshot, passing over a newer one that FAILED', async () => {
    await createApp();
    await startApp();
    const key = msfKey();
    await toKey(key.Arn);
    expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
    sb.sandbox.state.kms.keys[key.KeyId].KeyState = 'Disabled';
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 'failed' }));
    await flink.send(new StopApplicationCommand({ ApplicationName: APP, Force: true }));
    await flink.send(
      new UpdateApplicationCommand({
        ApplicationName: APP,
        CurrentApplicationVersionId: 2,
        ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'AWS_OWNED_KEY' } },
      }),
    );

    // The READY system snapshot the switch to the key took is under the AWS owned key.
    const start = await flink.send(new StartApplicationCommand({ ApplicationName: APP }));

    expect(await snapshotStatus('failed')).toBe('FAILED');
    expect(await operation(start.OperationId)).toMatchObject({ OperationStatus: 'SUCCESSFUL' });
    expect((await describeApp()).ApplicationStatus).toBe('RUNNING');
  });
});

describe('cmkProblems', () => {
  it('is empty for the documented key and lists each missing right otherwise', () => {
    const creds = roleCredentials(sb, people.operator.Arn);
    const session = sb.sandbox.resolveAccessKey(creds.accessKeyId, creds.sessionToken).principal;
    const good = msfKey();
    const bad = msfKey({ without: ['infrastructure'] });

    expect(cmkProblems(sb.sandbox, session, appArn, good.Arn)).toEqual([]);
    expect(cmkProblems(sb.sandbox, session, appArn, bad.Arn)).toEqual([
      `The key policy of ${bad.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:DescribeKey for ${appArn}`,
      `The key policy of ${bad.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:Decrypt for ${appArn}`,
      `The key policy of ${bad.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:GenerateDataKeyWithoutPlaintext for ${appArn}`,
      `The key policy of ${bad.Arn} does not allow infrastructure.kinesisanalytics.amazonaws.com to perform kms:CreateGrant for ${appArn}`,
    ]);
  });
});

describe('start, stop, operations, snapshots, tags, delete', () => {
  it('stops with a snapshot, force-stops without one, and lists operations by name and status', async () => {
    await createApp();
    await startApp();
    await flink.send(new StopApplicationCommand({ ApplicationName: APP }));
    await startApp();

    await flink.send(new StopApplicationCommand({ ApplicationName: APP, Force: true }));
    const ops = (await flink.send(new ListApplicationOperationsCommand({ ApplicationName: APP, Operation: 'StopApplication', OperationStatus: 'SUCCESSFUL' })))
      .ApplicationOperationInfoList!;

    expect((await describeApp()).ApplicationStatus).toBe('READY');
    expect((await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: APP }))).SnapshotSummaries).toHaveLength(1);
    expect(ops.map((o) => o.Operation)).toEqual(['StopApplication', 'StopApplication']);
  });

  it('applies code, property and parallelism updates as a new version', async () => {
    await createApp({
      ApplicationConfiguration: {
        ApplicationCodeConfiguration: {
          CodeContentType: 'ZIPFILE',
          CodeContent: { S3ContentLocation: { BucketARN: 'arn:aws:s3:::code', FileKey: 'app-1.jar' } },
        },
      },
    });

    await flink.send(
      new UpdateApplicationCommand({
        ApplicationName: APP,
        CurrentApplicationVersionId: 1,
        ApplicationConfigurationUpdate: {
          ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { FileKeyUpdate: 'app-2.jar' } } },
          EnvironmentPropertyUpdates: { PropertyGroups: [{ PropertyGroupId: 'g', PropertyMap: { k: 'v' } }] },
          FlinkApplicationConfigurationUpdate: { ParallelismConfigurationUpdate: { ConfigurationTypeUpdate: 'CUSTOM', ParallelismUpdate: 4 } },
        },
      }),
    );
    const config = (await describeApp()).ApplicationConfigurationDescription!;

    expect(config.ApplicationCodeConfigurationDescription?.CodeContentDescription?.S3ApplicationCodeLocationDescription).toEqual({
      BucketARN: 'arn:aws:s3:::code',
      FileKey: 'app-2.jar',
    });
    expect(config.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions).toEqual([{ PropertyGroupId: 'g', PropertyMap: { k: 'v' } }]);
    expect(config.FlinkApplicationConfigurationDescription?.ParallelismConfigurationDescription).toMatchObject({ ConfigurationType: 'CUSTOM', Parallelism: 4 });
    expect(encryptionOf(await describeApp())).toEqual(AOK);
  });

  it('refuses to stop a READY application with ResourceInUseException', async () => {
    await createApp();

    const err = await refusal(flink.send(new StopApplicationCommand({ ApplicationName: APP })));

    expect(err.name).toBe('ResourceInUseException');
    expect(err.message).toBe(`Application ${APP} is in READY status and cannot be stopped.`);
  });

  it('deletes a snapshot only with its creation timestamp', async () => {
    await createApp();
    await startApp();
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1' }));
    const s = (await flink.send(new DescribeApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1' }))).SnapshotDetails!;

    const err = await refusal(
      flink.send(new DeleteApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1', SnapshotCreationTimestamp: new Date(0) })),
    );
    const missing = await refusal(flink.send(new DeleteApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1' } as never)));
    await flink.send(
      new DeleteApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1', SnapshotCreationTimestamp: s.SnapshotCreationTimestamp }),
    );

    expect(err.name).toBe('InvalidArgumentException');
    expect(missing).toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value null at 'snapshotCreationTimestamp' failed to satisfy constraint: Member must not be null",
    });
    expect((await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: APP }))).SnapshotSummaries).toEqual([]);
  });

  it('tags, untags and lists tags by application ARN', async () => {
    await createApp({ Tags: [{ Key: 'a', Value: '1' }] });

    await flink.send(new TagResourceCommand({ ResourceARN: appArn, Tags: [{ Key: 'b', Value: '2' }] }));
    await flink.send(new UntagResourceCommand({ ResourceARN: appArn, TagKeys: ['a'] }));
    const tags = (await flink.send(new ListTagsForResourceCommand({ ResourceARN: appArn }))).Tags;

    expect(tags).toEqual([{ Key: 'b', Value: '2' }]);
  });

  it('deletes an application and a snapshot with their timestamps in whole seconds, as the AWS CLI (botocore) sends them', async () => {
    // Frozen first: real time passing between the two calls would move the half second.
    sb.sandbox.clock.freeze();
    sb.sandbox.clock.advance(1500 - (sb.sandbox.clock.now() % 1000));
    const created = await createApp();
    await startApp();
    sb.sandbox.clock.advance(250);
    await flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1' }));
    const snapshot = (await flink.send(new DescribeApplicationSnapshotCommand({ ApplicationName: APP, SnapshotName: 's1' }))).SnapshotDetails!;
    const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

    await flink.send(
      new DeleteApplicationSnapshotCommand({
        ApplicationName: APP,
        SnapshotName: 's1',
        SnapshotCreationTimestamp: seconds(snapshot.SnapshotCreationTimestamp!),
      }),
    );
    await flink.send(new StopApplicationCommand({ ApplicationName: APP, Force: true }));
    await flink.send(new DeleteApplicationCommand({ ApplicationName: APP, CreateTimestamp: seconds(created.CreateTimestamp!) }));

    expect(created.CreateTimestamp!.getTime() % 1000).toBe(500);
    expect((await flink.send(new ListApplicationsCommand({}))).ApplicationSummaries).toEqual([]);
  });

  it('deletes an application only with its CreateTimestamp', async () => {
    const created = await createApp();

    const err = await refusal(flink.send(new DeleteApplicationCommand({ ApplicationName: APP, CreateTimestamp: new Date(0) })));
    await flink.send(new DeleteApplicationCommand({ ApplicationName: APP, CreateTimestamp: created.CreateTimestamp }));
    const list = await flink.send(new ListApplicationsCommand({}));

    expect(err.name).toBe('InvalidArgumentException');
    expect(err.message).toBe(`The CreateTimestamp does not match the creation time of application ${APP}.`);
    expect(list.ApplicationSummaries).toEqual([]);
  });

  it('refuses to start a customer managed key application for a caller without rights on the key', async () => {
    await createApp();
    const key = msfKey();
    await toKey(key.Arn);
    const other = seedRole(sb, 'Other', 'lambda.amazonaws.com', { OperatorBase: operatorBasePolicy(sb) });
    flink = clients(sb, roleCredentials(sb, other.Arn)).flink;

    const err = await refusal(flink.send(new StartApplicationCommand({ ApplicationName: APP })));

    expect(err.name).toBe('InvalidApplicationConfigurationException');
    expect(err.message).toContain(`assumed-role/Other/test-session is not authorized to perform kms:DescribeKey on ${key.Arn}`);
    expect((await describeApp()).ApplicationStatus).toBe('READY');
  });
});
