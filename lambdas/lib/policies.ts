/**
 * The policy documents this workflow writes: the CMK's key policy, the operator's base and CMK policies,
 * the key administrator's policy and the roles' trust policy. Pure functions, no I/O.
 *
 * Output is deterministic (fixed statement order, sorted and de-duplicated arrays, a single value as a
 * plain string as in the documented examples), because the workflow compares the document it would
 * write with the one in AWS to decide whether anything changed.
 */
import {
  IN_USE_KEY,
  IN_USE_VALUE,
  MANAGED_BY_KEY,
  MANAGED_BY_VALUE,
  applicationArn as applicationArnOf,
  partitionOf,
  sharedOperatorPolicyArn,
  type Scope,
} from './names';

export type ConditionValue = string | string[];
export type Condition = Record<string, Record<string, ConditionValue>>;
export interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS?: string | string[]; Service?: string | string[] };
  Action: string | string[];
  /** Absent only in trust policies. */
  Resource?: string | string[];
  Condition?: Condition;
}
export type PolicyDocument = { Version: '2012-10-17'; Id?: string; Statement: Statement[] };

/** facts §1: the `kms:ViaService` value for calls MSF makes on a caller's behalf. */
export const viaService = (region: string) => `kinesisanalytics.${region}.amazonaws.com`;

/** What an operator does with a CMK, always through MSF (facts §3/§4 operator statements). */
export const OPERATOR_KEY_ACTIONS = [
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
] as const;

/** facts §1: both must be in the key policy, or MSF rejects the key. */
export const MSF_SERVICE_PRINCIPALS = ['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'] as const;
const [DURABLE_STATE_SERVICE, RUNNING_STATE_SERVICE] = MSF_SERVICE_PRINCIPALS;

/** facts §1: the encryption-context condition key MSF's KMS requests carry. */
export const ENCRYPTION_CONTEXT_KEY = 'kms:EncryptionContext:aws:kinesisanalytics:arn';

/** One value as a string, several as a sorted, de-duplicated array (stable JSON across runs). */
function values(...items: string[]): string | string[] {
  const sorted = [...new Set(items)].sort();
  return sorted.length === 1 ? sorted[0] : sorted;
}

const document = (Statement: Statement[], Id?: string): PolicyDocument =>
  Id ? { Version: '2012-10-17', Id, Statement } : { Version: '2012-10-17', Statement };

/** facts §1/§3: grants only for Decrypt, only constrained to a subset of this application's context. */
const grantConstraints = (appArn: string) => ({
  StringEquals: { [ENCRYPTION_CONTEXT_KEY]: appArn, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
  'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
});

/**
 * What the key administrator may do to a key: manage it, never use it (facts §1 "separate roles"; the
 * action list follows the facts §3 sample key-admin IAM policy). No Encrypt, Decrypt, GenerateDataKey…,
 * ReEncrypt… or CreateGrant: a key admin who could grant itself Decrypt could read the application's state.
 * RevokeGrant/ListGrants let it see and clean up grants MSF created, without creating any.
 */
export const KEY_READ_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
] as const;

/** The changing part: only on keys the workflow manages (keyAdminPolicy); TagResource also at creation. */
export const KEY_CHANGE_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
] as const;

export const KEY_MANAGEMENT_ACTIONS = [...KEY_READ_ACTIONS, ...KEY_CHANGE_ACTIONS].sort();

/** What the account (through IAM) may do to a key without delegateToAccount: recover its administration. */
export const KEY_RECOVERY_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'] as const;

/** CreateAlias/UpdateAlias/DeleteAlias are authorized on both the alias and the key (KMS docs). */
export const ALIAS_ACTIONS = ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'] as const;

/**
 * The CMK's key policy (facts §3), for one key serving one application:
 * - the operator's three statements and the five MSF service-principal statements exactly as documented
 *   (same Principal, Action and Condition; our Sids);
 * - the key administrator's statement, which the documented example lacks and which the key needs to stay
 *   manageable (facts §2 step 4): management and alias actions only, no cryptographic use, but including
 *   kms:PutKeyPolicy so CreateKey passes KMS's lockout safety check;
 * - a recovery path: the account may read and rewrite the key policy (and describe the key) through IAM,
 *   nothing more. KMS binds a role named in a key policy to that role's unique id, so a key-admin role
 *   deleted and re-created is a stranger to the key; without this statement nobody could manage the key
 *   again short of AWS Support. With it, an account administrator (IAM allows them kms:PutKeyPolicy) can
 *   name the new role — a deliberate act CloudTrail records and the guard watches — but cannot use the key
 *   without first rewriting its policy;
 * - only with `delegateToAccount`, KMS's default "Enable IAM User Permissions" statement (account root,
 *   kms:*), which replaces the recovery statement. With it, IAM policies in the account count for this key:
 *   any principal whose identity policy allows kms:* on `*` can use or manage it too — hence off by default,
 *   an option for organisations that govern KMS access through IAM. The operator's IAM CMK policy is
 *   attached either way: MSF checks the caller's IAM policy as well as the key policy (facts §4 (a)/(b));
 * - only with `deletionGuard`, a Deny of DisableKey and ScheduleKeyDeletion to every principal (the key
 *   administrator and the account root included: an explicit deny beats every allow) while the key is
 *   tagged in use. Removing the tag first is the deliberate second act; the key administrator may, and
 *   CloudTrail records it.
 */
export function keyPolicy(p: {
  scope: Scope;
  applicationArn: string;
  operatorRoleArn: string;
  keyAdminRoleArn: string;
  delegateToAccount?: boolean;
  deletionGuard?: boolean;
}): PolicyDocument {
  const app = p.applicationArn;
  const via = viaService(p.scope.region);
  const operator = { AWS: p.operatorRoleArn };
  const service = (...principals: string[]) => ({ Service: values(...principals) });
  const serviceSource = { 'aws:SourceArn': app, 'aws:SourceAccount': p.scope.account };
  const account = { AWS: `arn:${partitionOf(p.scope)}:iam::${p.scope.account}:root` };
  const statements: Statement[] = [
    p.delegateToAccount
      ? { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: account, Action: 'kms:*', Resource: '*' }
      : { Sid: 'AllowAccountToRecoverKeyAdministration', Effect: 'Allow', Principal: account, Action: values(...KEY_RECOVERY_ACTIONS), Resource: '*' },
  ];
  statements.push(
    {
      Sid: 'AllowKeyAdministration',
      Effect: 'Allow',
      Principal: { AWS: p.keyAdminRoleArn },
      Action: values(...KEY_MANAGEMENT_ACTIONS, ...ALIAS_ACTIONS),
      Resource: '*',
    },
    {
      Sid: 'AllowOperatorToDescribeKeyViaMsf',
      Effect: 'Allow',
      Principal: operator,
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': via } },
    },
    {
      Sid: 'AllowOperatorToUseKeyViaMsfForApplicationState',
      Effect: 'Allow',
      Principal: operator,
      Action: values('kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'),
      Resource: '*',
      Condition: { StringEquals: { [ENCRYPTION_CONTEXT_KEY]: app, 'kms:ViaService': via } },
    },
    {
      Sid: 'AllowOperatorToCreateDecryptGrantViaMsfForRunningState',
      Effect: 'Allow',
      Principal: operator,
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: { ...grantConstraints(app).StringEquals, 'kms:ViaService': via },
        'ForAllValues:StringEquals': grantConstraints(app)['ForAllValues:StringEquals'],
      },
    },
    {
      Sid: 'AllowMsfToDescribeKey',
      Effect: 'Allow',
      Principal: service(...MSF_SERVICE_PRINCIPALS),
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: serviceSource },
    },
    {
      Sid: 'AllowMsfToGenerateDataKeyForDurableState',
      Effect: 'Allow',
      Principal: service(DURABLE_STATE_SERVICE),
      Action: 'kms:GenerateDataKey',
      Resource: '*',
      Condition: { StringEquals: { ...serviceSource, [ENCRYPTION_CONTEXT_KEY]: app } },
    },
    {
      Sid: 'AllowMsfToDecryptDurableState',
      Effect: 'Allow',
      Principal: service(DURABLE_STATE_SERVICE),
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { [ENCRYPTION_CONTEXT_KEY]: app } },
    },
    {
      Sid: 'AllowMsfInfrastructureToUseKeyForRunningState',
      Effect: 'Allow',
      Principal: service(RUNNING_STATE_SERVICE),
      Action: values('kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'),
      Resource: '*',
      Condition: { StringEquals: { [ENCRYPTION_CONTEXT_KEY]: app } },
    },
    {
      Sid: 'AllowMsfInfrastructureToCreateDecryptGrantForRunningState',
      Effect: 'Allow',
      Principal: service(RUNNING_STATE_SERVICE),
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: grantConstraints(app),
    },
  );
  if (p.deletionGuard) {
    statements.push({
      Sid: 'DenyDisableOrDeletionWhileInUse',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: values('kms:DisableKey', 'kms:ScheduleKeyDeletion'),
      Resource: '*',
      Condition: { StringEquals: { [`aws:ResourceTag/${IN_USE_KEY}`]: IN_USE_VALUE } },
    });
  }
  return document(statements, 'msf-cmk-key-policy');
}

/** Every Sid keyPolicy writes (with any options): the statements the workflow owns in a key policy. */
export const KEY_POLICY_SIDS: ReadonlySet<string> = new Set(
  [true, false].flatMap((option) =>
    keyPolicy({
      scope: { account: '000000000000', region: 'us-east-1' },
      applicationArn: '',
      operatorRoleArn: '',
      keyAdminRoleArn: '',
      delegateToAccount: option,
      deletionGuard: option,
    }).Statement.map((s) => s.Sid),
  ),
);

/**
 * The operator's base policy (facts §2 step 1, facts §4 "Recommended split"), in force before any key
 * exists: `kinesisanalytics:*` on this application only — tighter than the documented `*`. No kms: at all;
 * the CMK rights come later with {@link operatorCmkPolicy}.
 *
 * When the workflow creates the application (`createWithExecutionRoleArn`), also:
 * - kinesisanalytics:CreateApplication on `*`, the only resource AWS accepts for it; with
 *   `createRequestTag`, only when the request carries that tag (`aws:RequestTag/<key>`, which
 *   CreateApplication supports) — the workflow tags what it creates, so it can require its own tag;
 * - iam:PassRole on exactly that execution role, and only to MSF (`iam:PassedToService`), where the
 *   documented example has no condition and the samples pass any role.
 */
export function operatorBasePolicy(p: {
  scope: Scope;
  applicationArn: string;
  createWithExecutionRoleArn?: string;
  createRequestTag?: { Key: string; Value: string };
}): PolicyDocument {
  const statements: Statement[] = [{ Sid: 'ManageThisApplication', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: p.applicationArn }];
  if (p.createWithExecutionRoleArn) {
    const tag = p.createRequestTag;
    statements.push(
      {
        Sid: 'CreateApplication',
        Effect: 'Allow',
        Action: 'kinesisanalytics:CreateApplication',
        Resource: '*',
        ...(tag && { Condition: { StringEquals: { [`aws:RequestTag/${tag.Key}`]: tag.Value } } }),
      },
      {
        Sid: 'PassExecutionRoleToMsf',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: p.createWithExecutionRoleArn,
        Condition: { StringEquals: { 'iam:PassedToService': DURABLE_STATE_SERVICE } },
      },
    );
  }
  return document(statements);
}

/**
 * The operator's CMK policy (facts §4), attached after the key exists (facts §2 step 5): the documented
 * four kms statements on exactly this key ARN, every one bound to `kms:ViaService` (usable only through
 * MSF, never directly) and all but DescribeKey to this application's encryption context. Follows the docs,
 * not the samples: no kms:Encrypt (facts §4 "Discrepancy").
 */
export function operatorCmkPolicy(p: { scope: Scope; keyArn: string; applicationArn: string }): PolicyDocument {
  const via = { 'kms:ViaService': viaService(p.scope.region) };
  const viaForApp = { ...via, [ENCRYPTION_CONTEXT_KEY]: p.applicationArn };
  const grant = grantConstraints(p.applicationArn);
  return document([
    { Sid: 'DescribeKeyViaMsf', Effect: 'Allow', Action: 'kms:DescribeKey', Resource: p.keyArn, Condition: { StringEquals: via } },
    {
      Sid: 'UseKeyViaMsfForDurableState',
      Effect: 'Allow',
      Action: values('kms:Decrypt', 'kms:GenerateDataKey'),
      Resource: p.keyArn,
      Condition: { StringEquals: viaForApp },
    },
    {
      Sid: 'UseKeyViaMsfForRunningState',
      Effect: 'Allow',
      Action: values('kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'),
      Resource: p.keyArn,
      Condition: { StringEquals: viaForApp },
    },
    {
      Sid: 'CreateDecryptGrantViaMsfForRunningState',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: p.keyArn,
      Condition: { StringEquals: { ...grant.StringEquals, ...via }, 'ForAllValues:StringEquals': grant['ForAllValues:StringEquals'] },
    },
  ]);
}

/**
 * A shared operator's CMK policy (setting sharedOperatorRoleArn), one constant managed policy for any number
 * of applications: the statements of operatorCmkPolicy on this account's and Region's keys that carry the
 * workflow's managed-by tag (the keys it creates; a shared deployment adopts none), each bound to
 * `kms:ViaService` and to the encryption context of an application of this account and Region. Which key
 * serves which application is the key policy's to say (it names the role and that one application's ARN;
 * without the account delegation, which the settings refuse with a shared operator, IAM alone grants nothing
 * on a key): so the operator can use a key only through Managed Flink, for the application its policy names.
 */
export function sharedOperatorKeyPolicy(p: { scope: Scope }): PolicyDocument {
  const keys = `arn:${partitionOf(p.scope)}:kms:${p.scope.region}:${p.scope.account}:key/*`;
  // Only the workflow's own keys, none of which delegates to IAM: another key whose policy does would
  // otherwise be the role's to use for any application.
  const via = { 'kms:ViaService': viaService(p.scope.region), [`aws:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE };
  const anyApplication = { StringLike: { [ENCRYPTION_CONTEXT_KEY]: applicationArnOf(p.scope, '*') } };
  return document([
    { Sid: 'DescribeKeysViaMsf', Effect: 'Allow', Action: 'kms:DescribeKey', Resource: keys, Condition: { StringEquals: via } },
    {
      Sid: 'UseKeysViaMsfForApplicationState',
      Effect: 'Allow',
      Action: values('kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'),
      Resource: keys,
      Condition: { StringEquals: via, ...anyApplication },
    },
    {
      Sid: 'CreateDecryptGrantsViaMsfForRunningState',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: keys,
      Condition: {
        StringEquals: { ...via, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        ...anyApplication,
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
  ]);
}

/**
 * The session policy the orchestrator assumes a shared operator role with. That role is someone else's and
 * may hold far more than an operator needs, so each session is cut down to this one application's operator:
 * Managed Flink on the application (created only with the workflow's tag), a role passed only to Managed
 * Flink, and KMS only through Managed Flink for this application's encryption context. STS takes at most
 * 2,048 characters.
 */
export function sharedOperatorSessionPolicy(p: { scope: Scope; applicationArn: string }): PolicyDocument {
  const via = { 'kms:ViaService': viaService(p.scope.region) };
  return document([
    { Sid: 'ThisApplication', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: p.applicationArn },
    {
      Sid: 'CreateItTagged',
      Effect: 'Allow',
      Action: 'kinesisanalytics:CreateApplication',
      Resource: '*',
      Condition: { StringEquals: { [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE } },
    },
    {
      Sid: 'PassRolesToMsf',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { StringEquals: { 'iam:PassedToService': DURABLE_STATE_SERVICE } },
    },
    { Sid: 'DescribeKeysViaMsf', Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*', Condition: { StringEquals: via } },
    {
      Sid: 'UseKeysViaMsfForThisApplication',
      Effect: 'Allow',
      Action: values('kms:CreateGrant', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'),
      Resource: '*',
      Condition: { StringEquals: { ...via, [ENCRYPTION_CONTEXT_KEY]: p.applicationArn } },
    },
  ]);
}

/**
 * The key administrator's identity policy (facts §3 "Sample key-admin IAM policy", tightened):
 * - kms:CreateKey only for symmetric encryption keys (the only kind MSF is known to take, facts §1), with
 *   kms:ListKeys and kms:ListAliases — all three authorize on `*` only;
 * - management actions (incl. kms:TagResource, which CreateKey with Tags needs) on this account's and
 *   Region's keys; without a delegating key policy these matter only as far as KMS consults IAM;
 * - alias actions on `alias/<aliasPrefix>*` (aliases have no policy: IAM alone decides) and on the keys.
 * No cryptographic actions.
 */
export function keyAdminPolicy(p: { scope: Scope; aliasPrefix: string }): PolicyDocument {
  const kmsArn = `arn:${partitionOf(p.scope)}:kms:${p.scope.region}:${p.scope.account}`;
  const keys = `${kmsArn}:key/*`;
  return document([
    {
      Sid: 'CreateSymmetricEncryptionKeys',
      Effect: 'Allow',
      Action: 'kms:CreateKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' } },
    },
    { Sid: 'ListKeysAndAliases', Effect: 'Allow', Action: values('kms:ListAliases', 'kms:ListKeys'), Resource: '*' },
    { Sid: 'ReadKeys', Effect: 'Allow', Action: values(...KEY_READ_ACTIONS), Resource: keys },
    // Changes only to keys this workflow manages: a key whose policy delegates to IAM stays out of reach
    // unless it carries our tag. (Tagging stays unconditioned: CreateKey with Tags needs it.)
    {
      Sid: 'ManageWorkflowKeys',
      Effect: 'Allow',
      Action: values(...KEY_CHANGE_ACTIONS.filter((a) => a !== 'kms:TagResource')),
      Resource: keys,
      Condition: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE } },
    },
    { Sid: 'TagKeys', Effect: 'Allow', Action: 'kms:TagResource', Resource: keys },
    { Sid: 'ManageAliases', Effect: 'Allow', Action: values(...ALIAS_ACTIONS), Resource: values(`${kmsArn}:alias/${p.aliasPrefix}*`, keys) },
  ]);
}

/**
 * Trust policy for the operator and key-admin roles (facts §1 separate personas; DESIGN §4): sts:AssumeRole
 * by exactly these principal ARNs — the orchestrator's role — and nobody else, not even the account root.
 */
export function roleTrustPolicy(p: { trustedPrincipalArns: string[] }): PolicyDocument {
  if (!p.trustedPrincipalArns.length) throw new Error('roleTrustPolicy needs at least one trusted principal ARN');
  return document([{ Sid: 'TrustedCallers', Effect: 'Allow', Principal: { AWS: values(...p.trustedPrincipalArns) }, Action: 'sts:AssumeRole' }]);
}

/**
 * The permissions boundary of every role the workflow creates — the per-application operator roles: the
 * most those roles can ever do, whatever the orchestrator writes into them. Managed Flink, passing an
 * execution role to it, and the KMS actions an operator uses through MSF (facts §4). No IAM, no STS, no
 * other service, no key management, no kms:Encrypt/ReEncrypt. It lives outside the managed path, so the
 * orchestrator cannot edit it; orchestratorPolicy requires it on every role write.
 */
export function managedRolesBoundary(): PolicyDocument {
  return document([
    { Sid: 'ManagedFlink', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' },
    {
      Sid: 'PassExecutionRolesToManagedFlink',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { StringEquals: { 'iam:PassedToService': MSF_SERVICE_PRINCIPALS[0] } },
    },
    {
      Sid: 'KeysThroughManagedFlink',
      Effect: 'Allow',
      Action: values(...OPERATOR_KEY_ACTIONS),
      Resource: '*',
    },
  ]);
}

/** Name of the boundary policy (path "/", outside any rolePath), as CDK deploys it. */
export const BOUNDARY_POLICY_NAME = 'msf-cmk-managed-roles-boundary';
export const boundaryPolicyArn = (scope: Scope) => `arn:${partitionOf(scope)}:iam::${scope.account}:policy/${BOUNDARY_POLICY_NAME}`;

/**
 * The orchestrator's own role policy (DESIGN §4 "Personas are real"): it creates, reads, converges and
 * removes only the roles it manages — the per-application operator roles under `rolePath` — and assumes
 * them and the deployed key administrator; it changes nothing in KMS or Managed Flink itself (facts §1: the
 * key admin and the operator do).
 * - Every write to a role it manages (CreateRole, Put/DeleteRolePolicy, PutRolePermissionsBoundary)
 *   requires the managed-roles boundary (`iam:PermissionsBoundary`), so whatever inline policy it writes, a
 *   role it can assume never exceeds managedRolesBoundary: it cannot make itself an administrator. It may
 *   not remove a boundary, nor attach managed policies.
 * - Reads of Managed Flink applications, their operations and snapshots: to decide, poll and verify without
 *   taking on the operator's identity, so the operator is assumed only to act. Read-only by action list.
 * - tag:GetResources finds what an execution created by its ownership tags, when a crash lost the result;
 *   with iam:ListRoles (names only) the sweeper finds what stopped executions left.
 * - Its lock table (one item per application, scanned by the sweeper), whether a lock's holder execution has
 *   ended, and an ended execution's history (its ledger, for its cleanup).
 * - Only with `sharedOperatorRoleArn`: reading that role (its trust and attached policies) and assuming it,
 *   always with sharedOperatorSessionPolicy (personas.ts), so never with more than one application's operator rights.
 * - Only with `securityHubFindings`: importing the audit's findings into Security Hub as this account's own
 *   default product — the one product ARN, no reads of Security Hub, no other product or account.
 */
export function orchestratorPolicy(p: {
  scope: Scope;
  rolePath: string;
  keyAdminRoleArn: string;
  lockTableName: string;
  permissionsBoundaryArn: string;
  securityHubFindings?: boolean;
  sharedOperatorRoleArn?: string;
}): PolicyDocument {
  const partition = partitionOf(p.scope);
  const roles = `arn:${partition}:iam::${p.scope.account}:role${p.rolePath}*`;
  const bounded = { StringEquals: { 'iam:PermissionsBoundary': p.permissionsBoundaryArn } };
  const reads = ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies'];
  // With a shared operator no run makes or changes a role under rolePath: reading them is left (the sweeper's).
  const shared = !!p.sharedOperatorRoleArn;
  const statements: Statement[] = [
    shared
      ? { Sid: 'ReadOperatorRoles', Effect: 'Allow', Action: values(...reads), Resource: roles }
      : {
          Sid: 'ReadAndRemoveOperatorRoles',
          Effect: 'Allow',
          Action: values(...reads, 'iam:DeleteRole', 'iam:TagRole', 'iam:UpdateAssumeRolePolicy'),
          Resource: roles,
        },
    ...(shared
      ? []
      : [
          {
            Sid: 'WriteOnlyBoundedOperatorRoles',
            Effect: 'Allow' as const,
            Action: values('iam:CreateRole', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy'),
            Resource: roles,
            Condition: bounded,
          },
        ]),
    { Sid: 'AssumePersonas', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: shared ? p.keyAdminRoleArn : values(roles, p.keyAdminRoleArn) },
    {
      Sid: 'ReadManagedFlinkApplications',
      Effect: 'Allow',
      Action: values(
        'kinesisanalytics:DescribeApplication',
        'kinesisanalytics:DescribeApplicationOperation',
        'kinesisanalytics:DescribeApplicationSnapshot',
        'kinesisanalytics:ListApplicationOperations',
        'kinesisanalytics:ListApplicationSnapshots',
        'kinesisanalytics:ListTagsForResource',
      ),
      Resource: `arn:${partition}:kinesisanalytics:${p.scope.region}:${p.scope.account}:application/*`,
    },
    // These two authorize on `*` only.
    { Sid: 'FindByTags', Effect: 'Allow', Action: values('iam:ListRoles', 'kinesisanalytics:ListApplications', 'tag:GetResources'), Resource: '*' },
    // Whether a lock's holder has ended, so its lock may be taken over (AcquireLock).
    {
      // Whether a lock's holder has ended; and an ended execution's history, the ledger its cleanup undoes.
      Sid: 'ReadLockHolders',
      Effect: 'Allow',
      Action: values('states:DescribeExecution', 'states:GetExecutionHistory'),
      Resource: `arn:${partition}:states:${p.scope.region}:${p.scope.account}:execution:*`,
    },
    {
      Sid: 'OneRunPerApplication',
      Effect: 'Allow',
      // Scan: the sweeper's read of the locks still held.
      Action: values('dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'),
      Resource: `arn:${partition}:dynamodb:${p.scope.region}:${p.scope.account}:table/${p.lockTableName}`,
    },
  ];
  // A shared operator is someone else's role: read (to check its trust and policy) and assume, never write.
  if (p.sharedOperatorRoleArn)
    statements.push(
      {
        Sid: 'ReadAndAssumeSharedOperator',
        Effect: 'Allow',
        Action: values('iam:GetRole', 'iam:ListAttachedRolePolicies', 'sts:AssumeRole'),
        Resource: p.sharedOperatorRoleArn,
      },
      // The audit compares the stack's policy as it stands with what the stack wrote.
      {
        Sid: 'ReadSharedOperatorPolicy',
        Effect: 'Allow',
        Action: values('iam:GetPolicy', 'iam:GetPolicyVersion'),
        Resource: sharedOperatorPolicyArn(p.scope),
      },
    );
  if (p.securityHubFindings)
    statements.push({ Sid: 'PublishAuditFindings', Effect: 'Allow', Action: 'securityhub:BatchImportFindings', Resource: securityHubProductArn(p.scope) });
  return document(statements);
}

/** This account's own Security Hub product, the one its own findings are imported as (next §2.3). */
export const securityHubProductArn = (scope: Scope) =>
  `arn:${partitionOf(scope)}:securityhub:${scope.region}:${scope.account}:product/${scope.account}/default`;

/** `events:PutEvents` on the request bus: the one way an onboarding request gets in. */
export const REQUEST_ACTION = 'events:PutEvents';

/** The ARN of an event bus in this scope (the stack builds it from the name, never from the bus itself). */
export const eventBusArn = (scope: Scope, busName: string) => `arn:${partitionOf(scope)}:events:${scope.region}:${scope.account}:event-bus/${busName}`;

/**
 * The request bus's resource policy (issue 13 item 7: who may start an onboarding). The principals are
 * account ids or IAM ARNs; none given = this account's root.
 * - `AllowOnboardingRequests` lets them put events on the bus. Naming an account (its root) admits every
 *   principal of that account whose own IAM policy allows events:PutEvents on the bus; a same-account
 *   principal needs its IAM policy or this statement, another account's both (IAM's evaluation logic).
 * - When a role or user is named, `RefuseEveryoneElse` denies everyone who is neither a named principal
 *   nor of a named account — otherwise any principal of this account with events:PutEvents on `*` could
 *   still choose an execution's input. A Deny in an event bus policy is standard policy grammar; that
 *   EventBridge honours it as IAM does is not confirmed by our sources (docs/sandbox.md).
 */
export function requestBusPolicy(p: { scope: Scope; busName: string; principals?: string[] }): PolicyDocument {
  const partition = partitionOf(p.scope);
  // Each principal as an ARN, with its account when it names a whole account (the scope's may be a token).
  const given = p.principals?.length
    ? p.principals.map((x) =>
        /^\d{12}$/.test(x) ? { arn: `arn:${partition}:iam::${x}:root`, account: x } : { arn: x, account: /^arn:[^:]+:iam::(\d{12}):root$/.exec(x)?.[1] },
      )
    : [{ arn: `arn:${partition}:iam::${p.scope.account}:root`, account: p.scope.account }];
  const principals = given.map((g) => g.arn);
  const accounts = given.flatMap((g) => (g.account ? [g.account] : []));
  const named = given.filter((g) => !g.account).map((g) => g.arn);
  const resource = eventBusArn(p.scope, p.busName);
  const statements: Statement[] = [
    { Sid: 'AllowOnboardingRequests', Effect: 'Allow', Principal: { AWS: values(...principals) }, Action: REQUEST_ACTION, Resource: resource },
  ];
  if (named.length) {
    statements.push({
      Sid: 'RefuseEveryoneElse',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: REQUEST_ACTION,
      Resource: resource,
      Condition: {
        ArnNotEquals: { 'aws:PrincipalArn': values(...named) },
        ...(accounts.length && { StringNotEquals: { 'aws:PrincipalAccount': values(...accounts) } }),
      },
    });
  }
  return document(statements);
}
