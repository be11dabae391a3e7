/**
 * The documented order walked by hand through the SDK, as four actors (facts §2): root sets up the
 * roles, the operator creates the application with the AWS owned key, the key admin creates the CMK
 * with the facts §3 key policy plus an admin statement, root attaches the facts §4 operator CMK policy,
 * the operator switches. Then the same walk with each prerequisite missing in turn.
 */
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { CreateApplicationCommand, DescribeApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const APP = 'MyCmkApplication';
const APP_ARN = `arn:aws:kinesisanalytics:us-east-1:${A}:application/${APP}`;
const OPERATOR = `arn:aws:iam::${A}:role/Operator`;
const ADMIN = `arn:aws:iam::${A}:role/KeyAdmin`;
const EXEC = `arn:aws:iam::${A}:role/MyCmkApplicationRole`;
const VIA = 'kinesisanalytics.us-east-1.amazonaws.com';
const lambdaTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const doc = (Statement: object[]) => ({ Version: '2012-10-17', Statement });

/** facts §3, verbatim apart from the tokens, plus the key-admin statement the doc says to add. */
function factsKeyPolicy() {
  const ec = { 'kms:EncryptionContext:aws:kinesisanalytics:arn': APP_ARN };
  return doc([
    {
      Sid: 'AllowOperatorToDescribeKey',
      Effect: 'Allow',
      Principal: { AWS: OPERATOR },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': VIA } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToUseKeyForApplicationState',
      Effect: 'Allow',
      Principal: { AWS: OPERATOR },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: '*',
      Condition: { StringEquals: { ...ec, 'kms:ViaService': VIA } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToCreateGrantForRunningState',
      Effect: 'Allow',
      Principal: { AWS: OPERATOR },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: { ...ec, 'kms:ViaService': VIA, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
    {
      Sid: 'AllowMSFServiceToDescribeKey',
      Effect: 'Allow',
      Principal: { Service: ['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceArn': APP_ARN, 'aws:SourceAccount': A } },
    },
    {
      Sid: 'AllowMSFServiceToGenerateDataKeyForDurableState',
      Effect: 'Allow',
      Principal: { Service: 'kinesisanalytics.amazonaws.com' },
      Action: ['kms:GenerateDataKey'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceArn': APP_ARN, ...ec, 'aws:SourceAccount': A } },
    },
    {
      Sid: 'AllowMSFServiceToDecryptForDurableState',
      Effect: 'Allow',
      Principal: { Service: 'kinesisanalytics.amazonaws.com' },
      Action: ['kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: ec },
    },
    {
      Sid: 'AllowMSFServiceToUseKeyForRunningState',
      Effect: 'Allow',
      Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: '*',
      Condition: { StringEquals: ec },
    },
    {
      Sid: 'AllowMSFServiceToCreateGrantForRunningState',
      Effect: 'Allow',
      Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: { ...ec, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
    { Sid: 'KeyAdministration', Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' },
  ]);
}

/** facts §4, the operator's CMK statements (the base statements are attached first, separately). */
function factsOperatorCmkPolicy(keyArn: string) {
  const ec = { 'kms:ViaService': VIA, 'kms:EncryptionContext:aws:kinesisanalytics:arn': APP_ARN };
  return doc([
    { Sid: 'AllowDescribeKey', Effect: 'Allow', Action: ['kms:DescribeKey'], Resource: keyArn, Condition: { StringEquals: { 'kms:ViaService': VIA } } },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForDurableState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keyArn,
      Condition: { StringEquals: ec },
    },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForRunningState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: keyArn,
      Condition: { StringEquals: ec },
    },
    {
      Sid: 'AllowMyCmkApplicationCreateGrantForRunningState',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: keyArn,
      Condition: {
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
        StringEquals: { ...ec, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
      },
    },
  ]);
}

interface Walk {
  /** Changes the key policy before the key admin creates the key. */
  keyPolicy?: (p: ReturnType<typeof factsKeyPolicy>) => object;
  attachOperatorCmkPolicy?: boolean;
  runtime?: string;
  /** Something done just before the switch (as root or the key admin). */
  beforeSwitch?: (ctx: { sb: RunningSandbox; keyArn: string; admin: ReturnType<typeof clients> }) => Promise<void>;
  /** The KeyIdUpdate the operator sends (default: the key ARN). */
  keyIdUpdate?: (keyArn: string) => string;
}

async function walk(sb: RunningSandbox, w: Walk = {}) {
  const root = clients(sb);
  // Root: the operator (base policy only), the key admin, and the application's execution role.
  await root.iam.send(new CreateRoleCommand({ RoleName: 'Operator', AssumeRolePolicyDocument: lambdaTrust }));
  await root.iam.send(
    new PutRolePolicyCommand({
      RoleName: 'Operator',
      PolicyName: 'base',
      PolicyDocument: JSON.stringify(
        doc([
          { Sid: 'AllowMSFAPICalls', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' },
          { Sid: 'AllowPassingServiceExecutionRole', Effect: 'Allow', Action: ['iam:PassRole'], Resource: EXEC },
        ]),
      ),
    }),
  );
  await root.iam.send(new CreateRoleCommand({ RoleName: 'KeyAdmin', AssumeRolePolicyDocument: lambdaTrust }));
  await root.iam.send(
    new PutRolePolicyCommand({
      RoleName: 'KeyAdmin',
      PolicyName: 'admin',
      PolicyDocument: JSON.stringify(doc([{ Effect: 'Allow', Action: ['kms:CreateKey', 'kms:ListKeys', 'kms:ListAliases'], Resource: '*' }])),
    }),
  );
  await root.iam.send(
    new CreateRoleCommand({
      RoleName: 'MyCmkApplicationRole',
      AssumeRolePolicyDocument: JSON.stringify(doc([{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }])),
    }),
  );
  const operator = clients(sb, roleCredentials(sb, OPERATOR));
  const admin = clients(sb, roleCredentials(sb, ADMIN));
  // Operator: the application with the AWS owned key, left READY.
  await operator.flink.send(
    new CreateApplicationCommand({ ApplicationName: APP, RuntimeEnvironment: (w.runtime ?? 'FLINK-1_20') as never, ServiceExecutionRole: EXEC }),
  );
  // Key admin: the CMK.
  const policy = w.keyPolicy ? w.keyPolicy(factsKeyPolicy()) : factsKeyPolicy();
  const key = (await admin.kms.send(new CreateKeyCommand({ Policy: JSON.stringify(policy), KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' })))
    .KeyMetadata!;
  // Root: the operator's CMK policy, next to its base policy.
  if (w.attachOperatorCmkPolicy !== false) {
    const p = (await root.iam.send(new CreatePolicyCommand({ PolicyName: 'OperatorCmk', PolicyDocument: JSON.stringify(factsOperatorCmkPolicy(key.Arn!)) })))
      .Policy!;
    await root.iam.send(new AttachRolePolicyCommand({ RoleName: 'Operator', PolicyArn: p.Arn! }));
  }
  await w.beforeSwitch?.({ sb, keyArn: key.Arn!, admin });
  // Operator: the switch.
  const before = (await operator.flink.send(new DescribeApplicationCommand({ ApplicationName: APP }))).ApplicationDetail!;
  const update = operator.flink.send(
    new UpdateApplicationCommand({
      ApplicationName: APP,
      CurrentApplicationVersionId: before.ApplicationVersionId,
      ApplicationConfigurationUpdate: {
        ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: w.keyIdUpdate ? w.keyIdUpdate(key.Arn!) : key.Arn },
      },
    }),
  );
  const after = async () => (await operator.flink.send(new DescribeApplicationCommand({ ApplicationName: APP }))).ApplicationDetail!;
  return { update, before, after, keyArn: key.Arn!, operator, admin };
}

const withoutService = (name: string) => (p: ReturnType<typeof factsKeyPolicy>) => ({
  ...p,
  Statement: p.Statement.flatMap((s: any) => {
    if (!s.Principal.Service) return [s];
    const rest = [s.Principal.Service].flat().filter((x: string) => x !== name);
    return rest.length ? [{ ...s, Principal: { Service: rest } }] : [];
  }),
});

describe('the documented order, walked by hand through the SDK (facts §2)', () => {
  let sb: RunningSandbox;
  beforeEach(async () => {
    sb = await testSandbox();
  });
  afterEach(() => sb.close());

  it('succeeds: the application reports CUSTOMER_MANAGED_KEY with the key', async () => {
    const { update, after, keyArn, before } = await walk(sb);
    await expect(update).resolves.toMatchObject({ OperationId: expect.any(String) });
    sb.sandbox.advance(0);
    const app = await after();
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: keyArn });
    expect(app.ApplicationVersionId).toBe(before.ApplicationVersionId! + 1);
  });

  const refusals: [string, Walk, RegExp][] = [
    [
      'the key policy lacks kinesisanalytics.amazonaws.com',
      { keyPolicy: withoutService('kinesisanalytics.amazonaws.com') },
      /kinesisanalytics\.amazonaws\.com/,
    ],
    [
      'the key policy lacks infrastructure.kinesisanalytics.amazonaws.com',
      { keyPolicy: withoutService('infrastructure.kinesisanalytics.amazonaws.com') },
      /infrastructure\.kinesisanalytics\.amazonaws\.com/,
    ],
    [
      'the key policy has no operator statements',
      { keyPolicy: (p) => ({ ...p, Statement: p.Statement.filter((s: any) => s.Principal.AWS !== OPERATOR) }) },
      /Operator/,
    ],
    [
      'the key policy delegates to the account instead of naming the operator, and the operator CMK IAM policy is not attached',
      {
        keyPolicy: (p) => ({
          ...p,
          Statement: [
            ...p.Statement.filter((s: any) => s.Principal.AWS !== OPERATOR),
            { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
          ],
        }),
        attachOperatorCmkPolicy: false,
      },
      /Operator/,
    ],
    [
      'the key is disabled',
      { beforeSwitch: async ({ keyArn, admin }) => void (await admin.kms.send(new DisableKeyCommand({ KeyId: keyArn }))) },
      /[Dd]isabled/,
    ],
    ['the application runs FLINK-1_18', { runtime: 'FLINK-1_18' }, /FLINK-1_18|1\.20|1_20/],
    ['the key is in another region', { keyIdUpdate: (arn) => arn.replace('us-east-1', 'eu-west-1') }, /region|eu-west-1/],
  ];

  it.each(refusals)('refuses the switch when %s, and the application keeps the AWS owned key', async (_what, w, message) => {
    const { update, after: readBack, before } = await walk(sb, w);
    const err = await update.then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeDefined();
    expect(err.name).toMatch(/Exception$/);
    expect(err.message).toMatch(message);
    const app = await readBack();
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType ?? 'AWS_OWNED_KEY').toBe('AWS_OWNED_KEY');
    expect(app.ApplicationVersionId).toBe(before.ApplicationVersionId);
  });

  it('passes with a key policy that delegates to the account when the operator CMK IAM policy is attached (KMS delegation rule)', async () => {
    const { update } = await walk(sb, {
      keyPolicy: (p) => ({
        ...p,
        Statement: [
          ...p.Statement.filter((s: any) => s.Principal.AWS !== OPERATOR),
          { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
        ],
      }),
    });
    await expect(update).resolves.toMatchObject({ OperationId: expect.any(String) });
  });

  it('refuses switching back to the AWS owned key after the operator lost its rights on the CMK', async () => {
    const { update, operator, keyArn } = await walk(sb);
    await update;
    sb.sandbox.advance(0);
    // The operator loses the key: the key policy no longer names it, and no IAM policy can count.
    const key = Object.values(sb.sandbox.state.kms.keys).find((k) => k.Arn === keyArn)!;
    key.Policy = JSON.stringify(withoutOperator(JSON.parse(key.Policy)));
    const current = (await operator.flink.send(new DescribeApplicationCommand({ ApplicationName: APP }))).ApplicationDetail!;
    const back = operator.flink.send(
      new UpdateApplicationCommand({
        ApplicationName: APP,
        CurrentApplicationVersionId: current.ApplicationVersionId,
        ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'AWS_OWNED_KEY' } },
      }),
    );
    await expect(back).rejects.toMatchObject({ message: expect.stringMatching(/Operator/) });
    const app = (await operator.flink.send(new DescribeApplicationCommand({ ApplicationName: APP }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: keyArn });
  });
});

function withoutOperator(p: any) {
  return { ...p, Statement: p.Statement.filter((s: any) => s.Principal.AWS !== OPERATOR) };
}
