/**
 * Seeds roles and keys straight into `sb.sandbox.state`, so Managed Flink tests do not depend on the
 * IAM and KMS services. Policies are the documented ones: key policy facts §3, operator policies facts §4.
 */
import { randomUUID } from 'node:crypto';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { Key, KeyState, PolicyDocument, Role } from '../../local/sandbox/state';

type Statement = Record<string, unknown>;
const doc = (Statement: Statement[], Id?: string): PolicyDocument => ({ Version: '2012-10-17', ...(Id ? { Id } : {}), Statement });

export function trustPolicy(service: string): PolicyDocument {
  return doc([{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }]);
}

/** A role, visible at once, with inline policies by name. */
export function seedRole(sb: RunningSandbox, name: string, trustedService: string, inline: Record<string, PolicyDocument> = {}): Role {
  const { sandbox } = sb;
  const role: Role = {
    RoleName: name,
    RoleId: sandbox.randomId('AROA'),
    Arn: `arn:aws:iam::${sandbox.account}:role/${name}`,
    Path: '/',
    CreateDate: sandbox.clock.now(),
    MaxSessionDuration: 3600,
    AssumeRolePolicyDocument: trustPolicy(trustedService),
    Tags: [],
    InlinePolicies: { ...inline },
    AttachedPolicyArns: [],
    VisibleAt: sandbox.clock.now(),
  };
  sandbox.state.iam.roles[name] = role;
  return role;
}

export interface KeyOptions {
  policy: PolicyDocument;
  region?: string;
  keyState?: KeyState;
  keySpec?: string;
  keyUsage?: string;
}

/** A KMS key with the given policy (region defaults to the sandbox's). */
export function seedKey(sb: RunningSandbox, o: KeyOptions): Key {
  const { sandbox } = sb;
  const KeyId = randomUUID();
  const region = o.region ?? sandbox.region;
  const key: Key = {
    KeyId,
    Arn: `arn:aws:kms:${region}:${sandbox.account}:key/${KeyId}`,
    AWSAccountId: sandbox.account,
    Region: region,
    CreationDate: sandbox.clock.now(),
    Description: 'MSF application state key',
    KeyState: o.keyState ?? 'Enabled',
    KeySpec: o.keySpec ?? 'SYMMETRIC_DEFAULT',
    KeyUsage: o.keyUsage ?? 'ENCRYPT_DECRYPT',
    Origin: 'AWS_KMS',
    MultiRegion: false,
    Policy: JSON.stringify(o.policy),
    Tags: [],
    RotationEnabled: false,
    Rotations: [],
  };
  sandbox.state.kms.keys[KeyId] = key;
  return key;
}

export function seedAlias(sb: RunningSandbox, aliasName: string, key: Key): void {
  const now = sb.sandbox.clock.now();
  sb.sandbox.state.kms.aliases[aliasName] = {
    AliasName: aliasName,
    AliasArn: `arn:aws:kms:${key.Region}:${key.AWSAccountId}:${aliasName}`,
    TargetKeyId: key.KeyId,
    CreationDate: now,
    LastUpdatedDate: now,
  };
}

export const appArnFor = (sb: RunningSandbox, name: string) => `arn:aws:kinesisanalytics:${sb.sandbox.region}:${sb.sandbox.account}:application/${name}`;
const viaService = (sb: RunningSandbox) => `kinesisanalytics.${sb.sandbox.region}.amazonaws.com`;

export interface KeyPolicyOptions {
  appArn: string;
  operatorArn: string;
  keyAdminArn: string;
  /** Which documented parts to leave out, to test that each one is required. */
  without?: ('operator' | 'kinesisanalytics' | 'infrastructure')[];
  /** Add the "delegate to the account" root statement (IAM policies then count, facts §4). */
  delegateToAccount?: boolean;
}

/** The facts §3 key policy plus a key-admin statement ([SAMPLES]). */
export function msfKeyPolicy(sb: RunningSandbox, o: KeyPolicyOptions): PolicyDocument {
  const { appArn, operatorArn } = o;
  const account = sb.sandbox.account;
  const via = viaService(sb);
  const without = new Set(o.without ?? []);
  const services = ['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'].filter((s) => !without.has(s.split('.')[0] as never));
  const operator: Statement[] = [
    {
      Sid: 'AllowOperatorToDescribeKey',
      Effect: 'Allow',
      Principal: { AWS: operatorArn },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': via } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToUseKeyForApplicationState',
      Effect: 'Allow',
      Principal: { AWS: operatorArn },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn, 'kms:ViaService': via } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToCreateGrantForRunningState',
      Effect: 'Allow',
      Principal: { AWS: operatorArn },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn, 'kms:ViaService': via, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
  ];
  const service: Statement[] = [
    ...(services.length
      ? [
          {
            Sid: 'AllowMSFServiceToDescribeKey',
            Effect: 'Allow',
            Principal: { Service: services },
            Action: 'kms:DescribeKey',
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceArn': appArn, 'aws:SourceAccount': account } },
          },
        ]
      : []),
    ...(without.has('kinesisanalytics')
      ? []
      : [
          {
            Sid: 'AllowMSFServiceToGenerateDataKeyForDurableState',
            Effect: 'Allow',
            Principal: { Service: 'kinesisanalytics.amazonaws.com' },
            Action: ['kms:GenerateDataKey'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceArn': appArn, 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn, 'aws:SourceAccount': account } },
          },
          {
            Sid: 'AllowMSFServiceToDecryptForDurableState',
            Effect: 'Allow',
            Principal: { Service: 'kinesisanalytics.amazonaws.com' },
            Action: ['kms:Decrypt'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn } },
          },
        ]),
    ...(without.has('infrastructure')
      ? []
      : [
          {
            Sid: 'AllowMSFServiceToUseKeyForRunningState',
            Effect: 'Allow',
            Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn } },
          },
          {
            Sid: 'AllowMSFServiceToCreateGrantForRunningState',
            Effect: 'Allow',
            Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: {
              StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
              'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
            },
          },
        ]),
  ];
  return doc(
    [
      { Sid: 'AllowKeyAdministration', Effect: 'Allow', Principal: { AWS: o.keyAdminArn }, Action: 'kms:*', Resource: '*' },
      ...(o.delegateToAccount
        ? [{ Sid: 'EnableIAMPolicies', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }]
        : []),
      ...(without.has('operator') ? [] : operator),
      ...service,
    ],
    'MyMsfCmkApplicationKeyPolicy',
  );
}

/** The operator's base policy (facts §4 [SAMPLES]): MSF API calls and passing roles. */
export function operatorBasePolicy(sb: RunningSandbox): PolicyDocument {
  return doc([
    { Sid: 'AllowMSFAPICalls', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' },
    { Sid: 'AllowPassingServiceExecutionRole', Effect: 'Allow', Action: ['iam:PassRole'], Resource: `arn:aws:iam::${sb.sandbox.account}:role/*` },
  ]);
}

/** The operator's CMK policy (facts §4, the four kms: statements). */
export function operatorCmkPolicy(sb: RunningSandbox, keyArn: string, appArn: string): PolicyDocument {
  const via = viaService(sb);
  const scoped = { 'kms:ViaService': via, 'kms:EncryptionContext:aws:kinesisanalytics:arn': appArn };
  return doc([
    { Sid: 'AllowDescribeKey', Effect: 'Allow', Action: ['kms:DescribeKey'], Resource: keyArn, Condition: { StringEquals: { 'kms:ViaService': via } } },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForDurableState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keyArn,
      Condition: { StringEquals: scoped },
    },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForRunningState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: keyArn,
      Condition: { StringEquals: scoped },
    },
    {
      Sid: 'AllowMyCmkApplicationCreateGrantForRunningState',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: keyArn,
      Condition: {
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
        StringEquals: { ...scoped, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
      },
    },
  ]);
}

export interface MsfPersonas {
  operator: Role;
  keyAdmin: Role;
  executionRole: Role;
}

/**
 * The documented actors (facts §1): an operator with the base policy (workload credentials come from
 * `roleCredentials`, whose default service is Lambda), a key administrator, and the application's
 * execution role that MSF assumes.
 */
export function seedPersonas(sb: RunningSandbox): MsfPersonas {
  return {
    operator: seedRole(sb, 'Operator', 'lambda.amazonaws.com', { OperatorBase: operatorBasePolicy(sb) }),
    keyAdmin: seedRole(sb, 'KeyAdmin', 'lambda.amazonaws.com'),
    executionRole: seedRole(sb, 'MyCmkApplicationRole', 'kinesisanalytics.amazonaws.com'),
  };
}
