/**
 * The policy builders, proven with the sandbox's policy engine (the same evaluator the sandbox enforces
 * with): compliance tables — what each persona must NOT be able to do first, then what it must — plus a
 * statement-by-statement comparison with the documented examples (facts §3, §4).
 *
 * Requests are built as AWS would present them: an assumed-role session as principal, with the global
 * and KMS condition keys AWS adds (aws:PrincipalArn, kms:ViaService, the encryption context, grant
 * constraints, aws:SourceArn/SourceAccount for service principals), supplied here explicitly.
 */
import { isDeepStrictEqual } from 'node:util';
import { evaluate, validatePolicy, type Decision, type PolicyKind } from '../../local/sandbox/authz';
import { applicationArn, type Scope } from '../../lambdas/lib/names';
import {
  keyAdminPolicy,
  keyPolicy,
  operatorBasePolicy,
  operatorCmkPolicy,
  orchestratorPolicy,
  roleTrustPolicy,
  viaService,
  type PolicyDocument,
  type Statement,
  boundaryPolicyArn,
  managedRolesBoundary,
} from '../../lambdas/lib/policies';

// ---------------------------------------------------------------------------------------------------
// The world: one account, one application and its key; roles under the workflow's path.
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const SCOPE: Scope = { account: ACCOUNT, region: REGION };
const APP_ARN = applicationArn(SCOPE, 'MyCmkApplication');
const OTHER_APP_ARN = applicationArn(SCOPE, 'OtherApplication');
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
const ALIAS_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:alias/msf-cmk/MyCmkApplication`;
const OPERATOR_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/msf-cmk/msf-cmk-operator-MyCmkApplication`;
const KEY_ADMIN_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/MsfCmkKeyAdmin`;
const ACCOUNT_ADMIN_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/AccountAdmin`;
const ADMINISTRATOR_ACCESS: PolicyDocument = { Version: '2012-10-17', Statement: [{ Sid: 'All', Effect: 'Allow', Action: '*', Resource: '*' }] };
const ORCHESTRATOR_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/MsfCmkOrchestrator`;
const OTHER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/SomeoneElse`;
const EXEC_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/MyCmkApplicationRole`;
const VIA = viaService(REGION);
const MSF = 'kinesisanalytics.amazonaws.com';
const MSF_INFRA = 'infrastructure.kinesisanalytics.amazonaws.com';
const MANAGED_BY = { Key: 'managed-by', Value: 'msf-cmk-orchestrator' };

const KEY_POLICY = keyPolicy({ scope: SCOPE, applicationArn: APP_ARN, operatorRoleArn: OPERATOR_ROLE_ARN, keyAdminRoleArn: KEY_ADMIN_ROLE_ARN });
const DELEGATING_KEY_POLICY = keyPolicy({
  scope: SCOPE,
  applicationArn: APP_ARN,
  operatorRoleArn: OPERATOR_ROLE_ARN,
  keyAdminRoleArn: KEY_ADMIN_ROLE_ARN,
  delegateToAccount: true,
});
const BASE_POLICY = operatorBasePolicy({ scope: SCOPE, applicationArn: APP_ARN, createWithExecutionRoleArn: EXEC_ROLE_ARN, createRequestTag: MANAGED_BY });
const CMK_POLICY = operatorCmkPolicy({ scope: SCOPE, keyArn: KEY_ARN, applicationArn: APP_ARN });
const KEY_ADMIN_POLICY = keyAdminPolicy({ scope: SCOPE, aliasPrefix: 'msf-cmk/' });
const TRUST_POLICY = roleTrustPolicy({ trustedPrincipalArns: [ORCHESTRATOR_ROLE_ARN] });
const ORCHESTRATOR_POLICY = orchestratorPolicy({
  scope: SCOPE,
  rolePath: '/msf-cmk/',
  keyAdminRoleArn: KEY_ADMIN_ROLE_ARN,
  lockTableName: 'msf-cmk-onboarding-locks',
  permissionsBoundaryArn: boundaryPolicyArn(SCOPE),
});
const PUBLISHING_ORCHESTRATOR_POLICY = orchestratorPolicy({
  scope: SCOPE,
  rolePath: '/msf-cmk/',
  keyAdminRoleArn: KEY_ADMIN_ROLE_ARN,
  lockTableName: 'msf-cmk-onboarding-locks',
  permissionsBoundaryArn: boundaryPolicyArn(SCOPE),
  securityHubFindings: true,
});
/** Another key in the account, with KMS's default policy only (IAM decides): the IAM policies must not reach it. */
const FOREIGN_KEY_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: DELEGATING_KEY_POLICY.Statement.filter((s) => s.Action === 'kms:*') };

const withoutOperatorStatements = (doc: PolicyDocument): PolicyDocument => ({
  ...doc,
  Statement: doc.Statement.filter((s) => s.Principal?.AWS !== OPERATOR_ROLE_ARN),
});

// ---------------------------------------------------------------------------------------------------
// Requests and the compliance-table runner.
type Context = Record<string, string | string[]>;
interface Case {
  name: string;
  /** A role ARN (called as a session of it) or a service principal. */
  principal: string;
  action: string;
  resource?: string;
  context?: Context;
  allowed: boolean;
}
/** Which policies are in force: the caller's identity policies, and the resource's policy (by ARN). */
interface Policies {
  identity?: Record<string, PolicyDocument[]>;
  resource?: Record<string, PolicyDocument>;
}

const ctx = {
  via: { 'kms:ViaService': VIA } as Context,
  app: (arn = APP_ARN): Context => ({ 'kms:EncryptionContext:aws:kinesisanalytics:arn': arn }),
  grant: (operations: string[], type = 'EncryptionContextSubset'): Context => ({ 'kms:GrantOperations': operations, 'kms:GrantConstraintType': type }),
  source: (arn = APP_ARN, account = ACCOUNT): Context => ({ 'aws:SourceArn': arn, 'aws:SourceAccount': account }),
};

/**
 * Actions without resource-level permissions (kms:CreateKey, kinesisanalytics:CreateApplication) are
 * requested on `*`, and AWS matches only a policy Resource of `*` against it. The engine instead treats a
 * request `*` as a pattern that overlaps any policy resource (so `kinesisanalytics:*` on one application
 * would grant CreateApplication); a literal no ARN pattern matches gives AWS's semantics.
 */
const NO_RESOURCE = 'no-resource';

function decide(c: Case, policies: Policies): Decision {
  const isRole = c.principal.startsWith('arn:');
  const resource = c.resource ?? KEY_ARN;
  return evaluate({
    principal: isRole ? `arn:aws:sts::${ACCOUNT}:assumed-role/${c.principal.split('/').pop()}/s1` : c.principal,
    action: c.action,
    resource: resource === '*' ? NO_RESOURCE : resource,
    resourceAccount: ACCOUNT,
    context: { ...(isRole && { 'aws:PrincipalArn': c.principal, 'aws:PrincipalAccount': ACCOUNT }), ...c.context },
    identityPolicies: (policies.identity?.[c.principal] ?? []).map((document, i) => ({ name: `Policy${i}`, document })),
    resourcePolicy: policies.resource?.[resource],
  }).decision;
}

/** Runs a table; the diff of expected vs actual names every case that went the wrong way. */
function expectTable(table: Case[], policies: Policies) {
  const expected = Object.fromEntries(table.map((c) => [c.name, c.allowed ? 'Allowed' : 'ImplicitlyDenied']));
  const actual = Object.fromEntries(table.map((c) => [c.name, decide(c, policies)]));
  expect(actual).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------------
// The operator's use of the key: only through MSF, only for its application (facts §3, §4).
const operatorKeyUse: Case[] = [
  // non-compliant
  { name: 'DescribeKey directly (no kms:ViaService)', principal: OPERATOR_ROLE_ARN, action: 'kms:DescribeKey', allowed: false },
  {
    name: 'DescribeKey via another service',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:DescribeKey',
    context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` },
    allowed: false,
  },
  { name: 'GenerateDataKey directly with its context', principal: OPERATOR_ROLE_ARN, action: 'kms:GenerateDataKey', context: ctx.app(), allowed: false },
  { name: 'Decrypt directly with its context', principal: OPERATOR_ROLE_ARN, action: 'kms:Decrypt', context: ctx.app(), allowed: false },
  {
    name: 'GenerateDataKey via MSF for another application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:GenerateDataKey',
    context: { ...ctx.via, ...ctx.app(OTHER_APP_ARN) },
    allowed: false,
  },
  {
    name: 'Decrypt via MSF for another application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:Decrypt',
    context: { ...ctx.via, ...ctx.app(OTHER_APP_ARN) },
    allowed: false,
  },
  { name: 'Decrypt via MSF without encryption context', principal: OPERATOR_ROLE_ARN, action: 'kms:Decrypt', context: ctx.via, allowed: false },
  {
    name: 'Encrypt via MSF (samples only, not documented)',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:Encrypt',
    context: { ...ctx.via, ...ctx.app() },
    allowed: false,
  },
  {
    name: 'CreateGrant via MSF with Encrypt',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.via, ...ctx.app(), ...ctx.grant(['Decrypt', 'Encrypt']) },
    allowed: false,
  },
  {
    name: 'CreateGrant via MSF with EncryptionContextEquals',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.via, ...ctx.app(), ...ctx.grant(['Decrypt'], 'EncryptionContextEquals') },
    allowed: false,
  },
  {
    name: 'CreateGrant via MSF for another application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.via, ...ctx.app(OTHER_APP_ARN), ...ctx.grant(['Decrypt']) },
    allowed: false,
  },
  {
    name: 'CreateGrant directly',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.app(), ...ctx.grant(['Decrypt']) },
    allowed: false,
  },
  {
    name: 'Decrypt via MSF on another key',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:Decrypt',
    resource: OTHER_KEY_ARN,
    context: { ...ctx.via, ...ctx.app() },
    allowed: false,
  },
  { name: 'another role: Decrypt via MSF', principal: OTHER_ROLE_ARN, action: 'kms:Decrypt', context: { ...ctx.via, ...ctx.app() }, allowed: false },
  // compliant
  { name: 'DescribeKey via MSF', principal: OPERATOR_ROLE_ARN, action: 'kms:DescribeKey', context: ctx.via, allowed: true },
  {
    name: 'GenerateDataKey via MSF for its application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:GenerateDataKey',
    context: { ...ctx.via, ...ctx.app() },
    allowed: true,
  },
  {
    name: 'GenerateDataKeyWithoutPlaintext via MSF for its application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:GenerateDataKeyWithoutPlaintext',
    context: { ...ctx.via, ...ctx.app() },
    allowed: true,
  },
  { name: 'Decrypt via MSF for its application', principal: OPERATOR_ROLE_ARN, action: 'kms:Decrypt', context: { ...ctx.via, ...ctx.app() }, allowed: true },
  {
    name: 'CreateGrant(Decrypt, EncryptionContextSubset) via MSF',
    principal: OPERATOR_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.via, ...ctx.app(), ...ctx.grant(['Decrypt']) },
    allowed: true,
  },
];

describe('operator use of the key', () => {
  it('allows only MSF-mediated use for its application with the key policy alone (no IAM policy)', () => {
    expectTable(operatorKeyUse, { resource: { [KEY_ARN]: KEY_POLICY, [OTHER_KEY_ARN]: FOREIGN_KEY_POLICY } });
  });

  it('allows only MSF-mediated use for its application with the IAM CMK policy alone when the key policy delegates to the account', () => {
    const keyPolicyWithoutOperator = withoutOperatorStatements(DELEGATING_KEY_POLICY);
    expect(keyPolicyWithoutOperator.Statement.length).toBe(DELEGATING_KEY_POLICY.Statement.length - 3);
    expectTable(operatorKeyUse, {
      identity: { [OPERATOR_ROLE_ARN]: [CMK_POLICY] },
      resource: { [KEY_ARN]: keyPolicyWithoutOperator, [OTHER_KEY_ARN]: FOREIGN_KEY_POLICY },
    });
  });

  it('allows only MSF-mediated use for its application with the policies the workflow writes (base + CMK, key policy)', () => {
    expectTable(operatorKeyUse, {
      identity: { [OPERATOR_ROLE_ARN]: [BASE_POLICY, CMK_POLICY] },
      resource: { [KEY_ARN]: KEY_POLICY, [OTHER_KEY_ARN]: FOREIGN_KEY_POLICY },
    });
  });

  it('refuses every use to the IAM CMK policy alone when the key policy does not delegate to the account (KMS rule); only DescribeKey, which the recovery path delegates, passes', () => {
    const table = operatorKeyUse.map((c) => ({ ...c, allowed: c.name === 'DescribeKey via MSF' }));
    expectTable(table, {
      identity: { [OPERATOR_ROLE_ARN]: [CMK_POLICY] },
      resource: { [KEY_ARN]: withoutOperatorStatements(KEY_POLICY) },
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The key administrator: manages, never uses (facts §1, §3).
const keyAdminCases: Case[] = [
  // non-compliant
  ...['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'].flatMap((action) => [
    { name: `${action} directly`, principal: KEY_ADMIN_ROLE_ARN, action, context: ctx.app(), allowed: false },
    { name: `${action} via MSF for the application`, principal: KEY_ADMIN_ROLE_ARN, action, context: { ...ctx.via, ...ctx.app() }, allowed: false },
  ]),
  {
    name: 'CreateGrant(Decrypt) via MSF',
    principal: KEY_ADMIN_ROLE_ARN,
    action: 'kms:CreateGrant',
    context: { ...ctx.via, ...ctx.app(), ...ctx.grant(['Decrypt']) },
    allowed: false,
  },
  {
    name: 'CreateKey for an RSA signing key',
    principal: KEY_ADMIN_ROLE_ARN,
    action: 'kms:CreateKey',
    resource: '*',
    context: { 'kms:KeySpec': 'RSA_2048', 'kms:KeyUsage': 'SIGN_VERIFY' },
    allowed: false,
  },
  {
    name: 'CreateKey for an HMAC key',
    principal: KEY_ADMIN_ROLE_ARN,
    action: 'kms:CreateKey',
    resource: '*',
    context: { 'kms:KeySpec': 'HMAC_256', 'kms:KeyUsage': 'GENERATE_VERIFY_MAC' },
    allowed: false,
  },
  {
    name: 'CreateAlias outside its prefix (alias side)',
    principal: KEY_ADMIN_ROLE_ARN,
    action: 'kms:CreateAlias',
    resource: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/prod-db`,
    allowed: false,
  },
  { name: 'the operator: PutKeyPolicy', principal: OPERATOR_ROLE_ARN, action: 'kms:PutKeyPolicy', allowed: false },
  { name: 'the operator: ScheduleKeyDeletion', principal: OPERATOR_ROLE_ARN, action: 'kms:ScheduleKeyDeletion', allowed: false },
  // compliant
  {
    name: 'CreateKey for a symmetric encryption key',
    principal: KEY_ADMIN_ROLE_ARN,
    action: 'kms:CreateKey',
    resource: '*',
    context: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' },
    allowed: true,
  },
  { name: 'ListAliases', principal: KEY_ADMIN_ROLE_ARN, action: 'kms:ListAliases', resource: '*', allowed: true },
  { name: 'CreateAlias under its prefix (alias side)', principal: KEY_ADMIN_ROLE_ARN, action: 'kms:CreateAlias', resource: ALIAS_ARN, allowed: true },
  ...[
    'kms:CreateAlias',
    'kms:DescribeKey',
    'kms:GetKeyPolicy',
    'kms:PutKeyPolicy',
    'kms:DisableKey',
    'kms:EnableKey',
    'kms:ScheduleKeyDeletion',
    'kms:CancelKeyDeletion',
    'kms:TagResource',
    'kms:RotateKeyOnDemand',
  ].map((action) => ({ name: `${action} on the key`, principal: KEY_ADMIN_ROLE_ARN, action, allowed: true })),
];

describe('key administrator', () => {
  it.each([
    ['does not delegate', KEY_POLICY],
    ['delegates to the account', DELEGATING_KEY_POLICY],
  ])('manages but never uses the key when the key policy %s', (_, policy) => {
    expectTable(keyAdminCases, {
      identity: { [KEY_ADMIN_ROLE_ARN]: [KEY_ADMIN_POLICY], [OPERATOR_ROLE_ARN]: [BASE_POLICY, CMK_POLICY] },
      resource: { [KEY_ARN]: policy },
    });
  });

  it('manages the key with the key policy alone (the key stays manageable without IAM)', () => {
    const table = keyAdminCases.filter((c) => c.resource === undefined);
    expect(table.filter((c) => c.allowed).length).toBeGreaterThan(5);
    expectTable(table, { resource: { [KEY_ARN]: KEY_POLICY } });
  });

  it('has no cryptographic or wildcard action in any statement the key admin is granted', () => {
    const adminActions = [
      ...KEY_POLICY.Statement.filter((s) => s.Principal?.AWS === KEY_ADMIN_ROLE_ARN).flatMap((s) => [s.Action].flat()),
      ...KEY_ADMIN_POLICY.Statement.flatMap((s) => [s.Action].flat()),
    ];
    expect(adminActions).toContain('kms:PutKeyPolicy');
    expect(adminActions.filter((a) => /\*|Encrypt|Decrypt|GenerateDataKey|ReEncrypt|CreateGrant|Sign|Verify|Mac|DeriveSharedSecret/.test(a))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The recovery path: with the key administrator gone (a re-created role is a new principal to KMS), an
// account administrator may rewrite the key policy through IAM — and nothing else.
const recoveryCases: Case[] = [
  // non-compliant: use and destruction stay with the principals the key policy names
  ...['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom'].map((action) => ({
    name: `${action} via MSF for the application`,
    principal: ACCOUNT_ADMIN_ROLE_ARN,
    action,
    context: { ...ctx.via, ...ctx.app() },
    allowed: false,
  })),
  ...['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:CreateGrant', 'kms:TagResource', 'kms:CreateAlias'].map((action) => ({
    name: action,
    principal: ACCOUNT_ADMIN_ROLE_ARN,
    action,
    allowed: false,
  })),
  { name: 'an IAM principal without kms rights: PutKeyPolicy', principal: OTHER_ROLE_ARN, action: 'kms:PutKeyPolicy', allowed: false },
  // compliant
  ...['kms:PutKeyPolicy', 'kms:GetKeyPolicy', 'kms:DescribeKey'].map((action) => ({ name: action, principal: ACCOUNT_ADMIN_ROLE_ARN, action, allowed: true })),
];

describe('key policy recovery path', () => {
  it('lets an administrator the account allows kms:PutKeyPolicy rewrite the policy, and use or destroy nothing', () => {
    expectTable(recoveryCases, { identity: { [ACCOUNT_ADMIN_ROLE_ARN]: [ADMINISTRATOR_ACCESS] }, resource: { [KEY_ARN]: KEY_POLICY } });
  });
});

// ---------------------------------------------------------------------------------------------------
// The MSF service principals: each documented action, for the right principal, for this application only.
const fullServiceContext = (arn = APP_ARN): Context => ({ ...ctx.source(arn), ...ctx.app(arn) });
const serviceCases: Case[] = [
  // non-compliant
  {
    name: `${MSF}: DescribeKey for another application (aws:SourceArn)`,
    principal: MSF,
    action: 'kms:DescribeKey',
    context: ctx.source(OTHER_APP_ARN),
    allowed: false,
  },
  { name: `${MSF}: DescribeKey from another account`, principal: MSF, action: 'kms:DescribeKey', context: ctx.source(APP_ARN, '210987654321'), allowed: false },
  { name: `${MSF_INFRA}: DescribeKey without source`, principal: MSF_INFRA, action: 'kms:DescribeKey', allowed: false },
  {
    name: `${MSF}: GenerateDataKey with another application's context`,
    principal: MSF,
    action: 'kms:GenerateDataKey',
    context: { ...ctx.source(), ...ctx.app(OTHER_APP_ARN) },
    allowed: false,
  },
  {
    name: `${MSF}: GenerateDataKey for another application's source`,
    principal: MSF,
    action: 'kms:GenerateDataKey',
    context: { ...ctx.source(OTHER_APP_ARN), ...ctx.app() },
    allowed: false,
  },
  {
    name: `${MSF}: Decrypt with another application's context`,
    principal: MSF,
    action: 'kms:Decrypt',
    context: fullServiceContext(OTHER_APP_ARN),
    allowed: false,
  },
  {
    name: `${MSF}: GenerateDataKeyWithoutPlaintext (running state is infrastructure's)`,
    principal: MSF,
    action: 'kms:GenerateDataKeyWithoutPlaintext',
    context: fullServiceContext(),
    allowed: false,
  },
  {
    name: `${MSF}: CreateGrant (running state is infrastructure's)`,
    principal: MSF,
    action: 'kms:CreateGrant',
    context: { ...fullServiceContext(), ...ctx.grant(['Decrypt']) },
    allowed: false,
  },
  { name: `${MSF}: Encrypt`, principal: MSF, action: 'kms:Encrypt', context: fullServiceContext(), allowed: false },
  { name: `${MSF_INFRA}: Encrypt`, principal: MSF_INFRA, action: 'kms:Encrypt', context: fullServiceContext(), allowed: false },
  {
    name: `${MSF_INFRA}: GenerateDataKey (durable state is ${MSF}'s)`,
    principal: MSF_INFRA,
    action: 'kms:GenerateDataKey',
    context: fullServiceContext(),
    allowed: false,
  },
  {
    name: `${MSF_INFRA}: Decrypt with another application's context`,
    principal: MSF_INFRA,
    action: 'kms:Decrypt',
    context: fullServiceContext(OTHER_APP_ARN),
    allowed: false,
  },
  {
    name: `${MSF_INFRA}: CreateGrant with another application's context`,
    principal: MSF_INFRA,
    action: 'kms:CreateGrant',
    context: { ...ctx.app(OTHER_APP_ARN), ...ctx.grant(['Decrypt']) },
    allowed: false,
  },
  {
    name: `${MSF_INFRA}: CreateGrant with Encrypt`,
    principal: MSF_INFRA,
    action: 'kms:CreateGrant',
    context: { ...ctx.app(), ...ctx.grant(['Decrypt', 'Encrypt']) },
    allowed: false,
  },
  {
    name: `${MSF_INFRA}: CreateGrant with ReEncryptFrom`,
    principal: MSF_INFRA,
    action: 'kms:CreateGrant',
    context: { ...ctx.app(), ...ctx.grant(['ReEncryptFrom']) },
    allowed: false,
  },
  {
    name: 's3.amazonaws.com: Decrypt with the application context',
    principal: 's3.amazonaws.com',
    action: 'kms:Decrypt',
    context: fullServiceContext(),
    allowed: false,
  },
  // compliant
  { name: `${MSF}: DescribeKey for the application`, principal: MSF, action: 'kms:DescribeKey', context: ctx.source(), allowed: true },
  { name: `${MSF_INFRA}: DescribeKey for the application`, principal: MSF_INFRA, action: 'kms:DescribeKey', context: ctx.source(), allowed: true },
  { name: `${MSF}: GenerateDataKey for durable state`, principal: MSF, action: 'kms:GenerateDataKey', context: fullServiceContext(), allowed: true },
  { name: `${MSF}: Decrypt durable state`, principal: MSF, action: 'kms:Decrypt', context: ctx.app(), allowed: true },
  { name: `${MSF_INFRA}: Decrypt running state`, principal: MSF_INFRA, action: 'kms:Decrypt', context: ctx.app(), allowed: true },
  {
    name: `${MSF_INFRA}: GenerateDataKeyWithoutPlaintext for running state`,
    principal: MSF_INFRA,
    action: 'kms:GenerateDataKeyWithoutPlaintext',
    context: ctx.app(),
    allowed: true,
  },
  {
    name: `${MSF_INFRA}: CreateGrant(Decrypt, EncryptionContextSubset)`,
    principal: MSF_INFRA,
    action: 'kms:CreateGrant',
    context: { ...ctx.app(), ...ctx.grant(['Decrypt']) },
    allowed: true,
  },
];

describe('MSF service principals', () => {
  it.each([
    ['does not delegate', KEY_POLICY],
    ['delegates to the account', DELEGATING_KEY_POLICY],
  ])('may do exactly the documented actions for this application when the key policy %s', (_, policy) => {
    expectTable(serviceCases, { resource: { [KEY_ARN]: policy } });
  });
});

// ---------------------------------------------------------------------------------------------------
// The operator's base policy (facts §4 "Recommended split"): this application only, no KMS.
const createContext = (tags: Record<string, string>): Context => ({
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  'aws:TagKeys': Object.keys(tags),
});
const baseCases: Case[] = [
  // non-compliant
  {
    name: 'UpdateApplication on another application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kinesisanalytics:UpdateApplication',
    resource: OTHER_APP_ARN,
    allowed: false,
  },
  {
    name: 'DeleteApplication on another application',
    principal: OPERATOR_ROLE_ARN,
    action: 'kinesisanalytics:DeleteApplication',
    resource: OTHER_APP_ARN,
    allowed: false,
  },
  {
    name: 'CreateApplication without the managed-by tag',
    principal: OPERATOR_ROLE_ARN,
    action: 'kinesisanalytics:CreateApplication',
    resource: '*',
    context: createContext({ team: 'x' }),
    allowed: false,
  },
  {
    name: 'CreateApplication with another managed-by value',
    principal: OPERATOR_ROLE_ARN,
    action: 'kinesisanalytics:CreateApplication',
    resource: '*',
    context: createContext({ [MANAGED_BY.Key]: 'someone-else' }),
    allowed: false,
  },
  {
    name: 'PassRole of another role to MSF',
    principal: OPERATOR_ROLE_ARN,
    action: 'iam:PassRole',
    resource: OTHER_ROLE_ARN,
    context: { 'iam:PassedToService': MSF },
    allowed: false,
  },
  {
    name: 'PassRole of the execution role to EC2',
    principal: OPERATOR_ROLE_ARN,
    action: 'iam:PassRole',
    resource: EXEC_ROLE_ARN,
    context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    allowed: false,
  },
  ...['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'].map((action) => ({
    name: `${action} via MSF on a key whose policy delegates to the account`,
    principal: OPERATOR_ROLE_ARN,
    action,
    context: { ...ctx.via, ...ctx.app(), ...ctx.grant(['Decrypt']) },
    allowed: false,
  })),
  // compliant
  ...['UpdateApplication', 'DescribeApplication', 'StartApplication', 'StopApplication', 'CreateApplicationSnapshot', 'DescribeApplicationOperation'].map(
    (a) => ({
      name: `${a} on its application`,
      principal: OPERATOR_ROLE_ARN,
      action: `kinesisanalytics:${a}`,
      resource: APP_ARN,
      allowed: true,
    }),
  ),
  {
    name: 'CreateApplication with the managed-by tag',
    principal: OPERATOR_ROLE_ARN,
    action: 'kinesisanalytics:CreateApplication',
    resource: '*',
    context: createContext({ [MANAGED_BY.Key]: MANAGED_BY.Value, team: 'x' }),
    allowed: true,
  },
  {
    name: 'PassRole of the execution role to MSF',
    principal: OPERATOR_ROLE_ARN,
    action: 'iam:PassRole',
    resource: EXEC_ROLE_ARN,
    context: { 'iam:PassedToService': MSF },
    allowed: true,
  },
];

describe('operator base policy', () => {
  it('allows lifecycle calls on its application only, creation only when tagged, PassRole of the named role to MSF only, and no KMS', () => {
    expectTable(baseCases, { identity: { [OPERATOR_ROLE_ARN]: [BASE_POLICY] }, resource: { [KEY_ARN]: FOREIGN_KEY_POLICY } });
  });

  it('grants neither CreateApplication nor PassRole when the workflow does not create the application', () => {
    const policy = operatorBasePolicy({ scope: SCOPE, applicationArn: APP_ARN });
    const table: Case[] = [
      {
        name: 'CreateApplication',
        principal: OPERATOR_ROLE_ARN,
        action: 'kinesisanalytics:CreateApplication',
        resource: '*',
        context: createContext({ [MANAGED_BY.Key]: MANAGED_BY.Value }),
        allowed: false,
      },
      {
        name: 'PassRole',
        principal: OPERATOR_ROLE_ARN,
        action: 'iam:PassRole',
        resource: EXEC_ROLE_ARN,
        context: { 'iam:PassedToService': MSF },
        allowed: false,
      },
      { name: 'UpdateApplication', principal: OPERATOR_ROLE_ARN, action: 'kinesisanalytics:UpdateApplication', resource: APP_ARN, allowed: true },
    ];
    expectTable(table, { identity: { [OPERATOR_ROLE_ARN]: [policy] } });
  });

  it('allows CreateApplication without a tag condition when no createRequestTag is given', () => {
    const policy = operatorBasePolicy({ scope: SCOPE, applicationArn: APP_ARN, createWithExecutionRoleArn: EXEC_ROLE_ARN });
    const table: Case[] = [
      { name: 'CreateApplication untagged', principal: OPERATOR_ROLE_ARN, action: 'kinesisanalytics:CreateApplication', resource: '*', allowed: true },
    ];
    expectTable(table, { identity: { [OPERATOR_ROLE_ARN]: [policy] } });
  });

  it('names no kms action at all', () => {
    const actions = BASE_POLICY.Statement.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(['kinesisanalytics:*', 'kinesisanalytics:CreateApplication', 'iam:PassRole']);
  });
});

// ---------------------------------------------------------------------------------------------------
// The roles' trust policy.
describe('role trust policy', () => {
  it('lets exactly the trusted principals assume the role', () => {
    const table: Case[] = [
      { name: 'another role', principal: OTHER_ROLE_ARN, action: 'sts:AssumeRole', resource: OPERATOR_ROLE_ARN, allowed: false },
      { name: 'the operator itself', principal: OPERATOR_ROLE_ARN, action: 'sts:AssumeRole', resource: OPERATOR_ROLE_ARN, allowed: false },
      { name: 'the Lambda service', principal: 'lambda.amazonaws.com', action: 'sts:AssumeRole', resource: OPERATOR_ROLE_ARN, allowed: false },
      { name: 'the orchestrator, TagSession', principal: ORCHESTRATOR_ROLE_ARN, action: 'sts:TagSession', resource: OPERATOR_ROLE_ARN, allowed: false },
      { name: 'the orchestrator', principal: ORCHESTRATOR_ROLE_ARN, action: 'sts:AssumeRole', resource: OPERATOR_ROLE_ARN, allowed: true },
    ];
    expectTable(table, { resource: { [OPERATOR_ROLE_ARN]: TRUST_POLICY } });
  });

  it('sorts and de-duplicates the trusted principals, and refuses an empty list', () => {
    const doc = roleTrustPolicy({ trustedPrincipalArns: [OTHER_ROLE_ARN, ORCHESTRATOR_ROLE_ARN, OTHER_ROLE_ARN] });
    expect(doc.Statement).toEqual([
      { Sid: 'TrustedCallers', Effect: 'Allow', Principal: { AWS: [ORCHESTRATOR_ROLE_ARN, OTHER_ROLE_ARN] }, Action: 'sts:AssumeRole' },
    ]);
    expect(() => roleTrustPolicy({ trustedPrincipalArns: [] })).toThrow('roleTrustPolicy needs at least one trusted principal ARN');
  });
});

// ---------------------------------------------------------------------------------------------------
// The orchestrator's own role: manages the operator roles under its path, assumes the personas, reads
// applications; writes nothing in KMS or Managed Flink.
const bounded = { 'iam:PermissionsBoundary': boundaryPolicyArn(SCOPE) };
const LOCK_TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/msf-cmk-onboarding-locks`;
const orchestratorCases: Case[] = [
  // non-compliant
  {
    name: 'CreateRole outside the path',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:CreateRole',
    resource: OTHER_ROLE_ARN,
    context: { ...bounded },
    allowed: false,
  },
  {
    name: 'PutRolePolicy on a role outside the path',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:PutRolePolicy',
    resource: OTHER_ROLE_ARN,
    context: { ...bounded },
    allowed: false,
  },
  {
    name: 'PutRolePolicy on the key administrator',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:PutRolePolicy',
    resource: KEY_ADMIN_ROLE_ARN,
    context: { ...bounded },
    allowed: false,
  },
  {
    name: 'UpdateAssumeRolePolicy of the key administrator',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:UpdateAssumeRolePolicy',
    resource: KEY_ADMIN_ROLE_ARN,
    allowed: false,
  },
  {
    name: 'AttachRolePolicy, even bounded',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:AttachRolePolicy',
    resource: OPERATOR_ROLE_ARN,
    context: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess', ...bounded },
    allowed: false,
  },
  { name: 'CreatePolicy', principal: ORCHESTRATOR_ROLE_ARN, action: 'iam:CreatePolicy', resource: `arn:aws:iam::${ACCOUNT}:policy/msf-cmk/x`, allowed: false },
  { name: 'AssumeRole of a role outside the path', principal: ORCHESTRATOR_ROLE_ARN, action: 'sts:AssumeRole', resource: OTHER_ROLE_ARN, allowed: false },
  {
    name: 'GetRole of its own role (outside the path)',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:GetRole',
    resource: ORCHESTRATOR_ROLE_ARN,
    allowed: false,
  },
  { name: 'kms:Decrypt via MSF', principal: ORCHESTRATOR_ROLE_ARN, action: 'kms:Decrypt', context: { ...ctx.via, ...ctx.app() }, allowed: false },
  { name: 'kms:PutKeyPolicy', principal: ORCHESTRATOR_ROLE_ARN, action: 'kms:PutKeyPolicy', allowed: false },
  ...['UpdateApplication', 'StartApplication', 'StopApplication', 'DeleteApplication', 'CreateApplicationSnapshot', 'TagResource'].map((a) => ({
    name: `kinesisanalytics:${a}`,
    principal: ORCHESTRATOR_ROLE_ARN,
    action: `kinesisanalytics:${a}`,
    resource: APP_ARN,
    allowed: false,
  })),
  { name: 'kinesisanalytics:CreateApplication', principal: ORCHESTRATOR_ROLE_ARN, action: 'kinesisanalytics:CreateApplication', resource: '*', allowed: false },
  { name: 'DeleteItem of its lock table', principal: ORCHESTRATOR_ROLE_ARN, action: 'dynamodb:DeleteItem', resource: LOCK_TABLE_ARN, allowed: false },
  {
    name: 'states:StopExecution',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'states:StopExecution',
    resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:OnboardApplication:x`,
    allowed: false,
  },
  // Escalation: a role it manages without the managed-roles boundary, or with another one, could be made admin.
  ...['iam:CreateRole', 'iam:PutRolePolicy', 'iam:PutRolePermissionsBoundary'].flatMap((action) => [
    { name: `${action} without the boundary`, principal: ORCHESTRATOR_ROLE_ARN, action, resource: OPERATOR_ROLE_ARN, allowed: false },
    {
      name: `${action} with another boundary`,
      principal: ORCHESTRATOR_ROLE_ARN,
      action,
      resource: OPERATOR_ROLE_ARN,
      context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Admin` },
      allowed: false,
    },
  ]),
  {
    name: 'DeleteRolePermissionsBoundary',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'iam:DeleteRolePermissionsBoundary',
    resource: OPERATOR_ROLE_ARN,
    context: { ...bounded },
    allowed: false,
  },
  // compliant
  ...[
    'iam:TagRole',
    'iam:GetRole',
    'iam:GetRolePolicy',
    'iam:UpdateAssumeRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
    'iam:DeleteRole',
    'sts:AssumeRole',
  ].map((action) => ({
    name: `${action} on an operator role`,
    principal: ORCHESTRATOR_ROLE_ARN,
    action,
    resource: OPERATOR_ROLE_ARN,
    allowed: true,
  })),
  ...['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'].map((action) => ({
    name: `${action} on an operator role, bounded`,
    principal: ORCHESTRATOR_ROLE_ARN,
    action,
    resource: OPERATOR_ROLE_ARN,
    context: { ...bounded },
    allowed: true,
  })),
  { name: 'AssumeRole of the key administrator', principal: ORCHESTRATOR_ROLE_ARN, action: 'sts:AssumeRole', resource: KEY_ADMIN_ROLE_ARN, allowed: true },
  ...['DescribeApplication', 'DescribeApplicationOperation', 'ListApplicationSnapshots', 'ListTagsForResource'].map((a) => ({
    name: `kinesisanalytics:${a}`,
    principal: ORCHESTRATOR_ROLE_ARN,
    action: `kinesisanalytics:${a}`,
    resource: APP_ARN,
    allowed: true,
  })),
  { name: 'kinesisanalytics:ListApplications', principal: ORCHESTRATOR_ROLE_ARN, action: 'kinesisanalytics:ListApplications', resource: '*', allowed: true },
  { name: 'tag:GetResources', principal: ORCHESTRATOR_ROLE_ARN, action: 'tag:GetResources', resource: '*', allowed: true },
  {
    name: 'states:DescribeExecution (a lock holder)',
    principal: ORCHESTRATOR_ROLE_ARN,
    action: 'states:DescribeExecution',
    resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:OnboardApplication:x`,
    allowed: true,
  },
  ...['dynamodb:GetItem', 'dynamodb:UpdateItem'].map((action) => ({
    name: `${action} of its lock table`,
    principal: ORCHESTRATOR_ROLE_ARN,
    action,
    resource: LOCK_TABLE_ARN,
    allowed: true,
  })),
];

describe('orchestrator policy', () => {
  it('manages only the operator roles under its path, assumes only the personas, reads applications, and changes no key or application', () => {
    expectTable(orchestratorCases, { identity: { [ORCHESTRATOR_ROLE_ARN]: [ORCHESTRATOR_POLICY] }, resource: { [KEY_ARN]: DELEGATING_KEY_POLICY } });
  });

  // The audit's findings go to this account's own default product (next §2.3), and only with the setting on.
  const OWN_PRODUCT = `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`;
  const securityHubCases = (on: boolean): Case[] => [
    // non-compliant, either way
    {
      name: "BatchImportFindings into another account's default product",
      principal: ORCHESTRATOR_ROLE_ARN,
      action: 'securityhub:BatchImportFindings',
      resource: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default',
      allowed: false,
    },
    {
      name: 'BatchImportFindings into its default product in another Region',
      principal: ORCHESTRATOR_ROLE_ARN,
      action: 'securityhub:BatchImportFindings',
      resource: `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`,
      allowed: false,
    },
    {
      name: 'BatchImportFindings into a partner product',
      principal: ORCHESTRATOR_ROLE_ARN,
      action: 'securityhub:BatchImportFindings',
      resource: `arn:aws:securityhub:${REGION}::product/prowler/prowler`,
      allowed: false,
    },
    ...['securityhub:GetFindings', 'securityhub:BatchUpdateFindings', 'securityhub:DisableSecurityHub'].map((action) => ({
      name: `${action} on the hub`,
      principal: ORCHESTRATOR_ROLE_ARN,
      action,
      resource: `arn:aws:securityhub:${REGION}:${ACCOUNT}:hub/default`,
      allowed: false,
    })),
    // compliant only with securityHubFindings
    {
      name: 'BatchImportFindings into its default product',
      principal: ORCHESTRATOR_ROLE_ARN,
      action: 'securityhub:BatchImportFindings',
      resource: OWN_PRODUCT,
      allowed: on,
    },
  ];

  it('imports findings into its own default product only, and only with securityHubFindings; reads and changes nothing else in Security Hub', () => {
    expectTable(securityHubCases(true), { identity: { [ORCHESTRATOR_ROLE_ARN]: [PUBLISHING_ORCHESTRATOR_POLICY] } });
    expectTable(securityHubCases(false), { identity: { [ORCHESTRATOR_ROLE_ARN]: [ORCHESTRATOR_POLICY] } });
    // The setting adds that one statement and changes none of the others.
    expect(PUBLISHING_ORCHESTRATOR_POLICY.Statement.filter((st) => st.Sid !== 'PublishAuditFindings')).toEqual(ORCHESTRATOR_POLICY.Statement);
    expectTable(orchestratorCases, { identity: { [ORCHESTRATOR_ROLE_ARN]: [PUBLISHING_ORCHESTRATOR_POLICY] }, resource: { [KEY_ARN]: DELEGATING_KEY_POLICY } });
  });
});

// ---------------------------------------------------------------------------------------------------
// The boundary of the roles the workflow creates (the operators): at most what an operator does.
describe('managed-roles boundary', () => {
  const boundaryCases: Case[] = [
    // non-compliant, whatever the role's own policy says
    ...[
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'sts:AssumeRole',
      's3:GetObject',
      'kms:PutKeyPolicy',
      'kms:ScheduleKeyDeletion',
      'kms:Encrypt',
      'kms:ReEncryptFrom',
    ].map((action) => ({
      name: action,
      principal: OPERATOR_ROLE_ARN,
      action,
      resource: '*',
      allowed: false,
    })),
    {
      name: 'iam:PassRole to EC2',
      principal: OPERATOR_ROLE_ARN,
      action: 'iam:PassRole',
      resource: EXEC_ROLE_ARN,
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      allowed: false,
    },
    // compliant
    {
      name: 'kinesisanalytics:UpdateApplication',
      principal: OPERATOR_ROLE_ARN,
      action: 'kinesisanalytics:UpdateApplication',
      resource: APP_ARN,
      allowed: true,
    },
    {
      name: 'iam:PassRole to MSF',
      principal: OPERATOR_ROLE_ARN,
      action: 'iam:PassRole',
      resource: EXEC_ROLE_ARN,
      context: { 'iam:PassedToService': MSF },
      allowed: true,
    },
    ...['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:CreateGrant', 'kms:DescribeKey'].map((action) => ({
      name: action,
      principal: OPERATOR_ROLE_ARN,
      action,
      resource: OTHER_KEY_ARN,
      allowed: true,
    })),
  ];
  it('caps an operator role given AdministratorAccess at Managed Flink, PassRole to it, and the KMS use an operator needs', () => {
    const results = Object.fromEntries(
      boundaryCases.map((c) => [
        c.name,
        evaluate({
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/msf-cmk-operator-MyCmkApplication/s1`,
          action: c.action,
          resource: c.resource === '*' ? NO_RESOURCE : c.resource!,
          resourceAccount: ACCOUNT,
          context: { 'aws:PrincipalArn': OPERATOR_ROLE_ARN, ...c.context },
          identityPolicies: [{ name: 'Admin', document: ADMINISTRATOR_ACCESS }],
          permissionsBoundary: { name: 'Boundary', document: managedRolesBoundary() },
          resourcePolicy: c.resource === OTHER_KEY_ARN ? DELEGATING_KEY_POLICY : undefined,
        }).decision,
      ]),
    );
    expect(results).toEqual(Object.fromEntries(boundaryCases.map((c) => [c.name, c.allowed ? 'Allowed' : 'ImplicitlyDenied'])));
  });
});

// ---------------------------------------------------------------------------------------------------
// Well-formed and deterministic.
const allDocuments: [string, PolicyDocument, PolicyKind][] = [
  ['keyPolicy', KEY_POLICY, 'resource'],
  ['keyPolicy (delegateToAccount)', DELEGATING_KEY_POLICY, 'resource'],
  ['operatorBasePolicy (create)', BASE_POLICY, 'identity'],
  ['operatorBasePolicy', operatorBasePolicy({ scope: SCOPE, applicationArn: APP_ARN }), 'identity'],
  ['operatorCmkPolicy', CMK_POLICY, 'identity'],
  ['keyAdminPolicy', KEY_ADMIN_POLICY, 'identity'],
  ['roleTrustPolicy', TRUST_POLICY, 'trust'],
  ['orchestratorPolicy', ORCHESTRATOR_POLICY, 'identity'],
  ['orchestratorPolicy (securityHubFindings)', PUBLISHING_ORCHESTRATOR_POLICY, 'identity'],
  ['managedRolesBoundary', managedRolesBoundary(), 'identity'],
];

describe('documents', () => {
  it.each(allDocuments)('%s passes the policy validator', (_, doc, kind) => {
    expect(validatePolicy(doc, kind)).toEqual([]);
  });

  it('every array is sorted and duplicate-free, and Sids are unique, so re-runs produce identical JSON', () => {
    const unsorted: string[] = [];
    const visit = (v: unknown, path: string) => {
      if (Array.isArray(v)) {
        if (path !== '.Statement' && JSON.stringify(v) !== JSON.stringify([...new Set(v)].sort())) unsorted.push(path);
        for (const [i, x] of v.entries()) visit(x, `${path}[${i}]`);
      } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`);
    };
    for (const [name, doc] of allDocuments) {
      visit(doc, '');
      const sids = doc.Statement.map((s) => s.Sid);
      expect({ name, sids: new Set(sids).size }).toEqual({ name, sids: sids.length });
    }
    expect(unsorted).toEqual([]);
  });

  it('survives a JSON round trip unchanged (no undefined members), as the workflow compares parsed documents', () => {
    for (const [, doc] of allDocuments) expect(isDeepStrictEqual(JSON.parse(JSON.stringify(doc)), doc)).toBe(true);
  });

  it('builds byte-identical documents from equal inputs', () => {
    const build = () =>
      JSON.stringify([
        keyPolicy({
          scope: { ...SCOPE },
          applicationArn: APP_ARN,
          operatorRoleArn: OPERATOR_ROLE_ARN,
          keyAdminRoleArn: KEY_ADMIN_ROLE_ARN,
          delegateToAccount: true,
        }),
        operatorCmkPolicy({ scope: { ...SCOPE }, keyArn: KEY_ARN, applicationArn: APP_ARN }),
        keyAdminPolicy({ scope: { ...SCOPE }, aliasPrefix: 'msf-cmk/' }),
      ]);
    expect(build()).toBe(build());
  });

  it('uses the partition in every ARN it builds', () => {
    const cn: Scope = { partition: 'aws-cn', account: ACCOUNT, region: 'cn-north-1' };
    expect(applicationArn(cn, 'A')).toBe(`arn:aws-cn:kinesisanalytics:cn-north-1:${ACCOUNT}:application/A`);
    expect(JSON.stringify(keyAdminPolicy({ scope: cn, aliasPrefix: 'p/' }))).not.toContain('arn:aws:');
    const root = keyPolicy({ scope: cn, applicationArn: applicationArn(cn, 'A'), operatorRoleArn: 'o', keyAdminRoleArn: 'k', delegateToAccount: true })
      .Statement[0];
    expect(root.Principal).toEqual({ AWS: `arn:aws-cn:iam::${ACCOUNT}:root` });
  });
});

// ---------------------------------------------------------------------------------------------------
// Statement-by-statement comparison with the documented examples (facts §3, §4), tokens substituted.
// Differences, by design: Sids are ours everywhere. Resource: the key policy uses '*' (= this key) like
// the docs, and the CMK policy names the key ARN like the docs, so both agree; the base statements
// differ on purpose (checked separately below): kinesisanalytics:* is scoped to the application ARN
// (the blog's recommended split) instead of '*', and PassRole carries iam:PassedToService.
const D = {
  APP_ARN: 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/MyCmkApplication',
  KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  OPERATOR_ARN: 'arn:aws:iam::123456789012:role/Operator',
  VIA_SERVICE: 'kinesisanalytics.us-east-1.amazonaws.com',
  ACCOUNT_ID: '123456789012',
  EXEC_ROLE_ARN: 'arn:aws:iam::123456789012:role/MyCmkApplicationRole',
};
/** A documented statement, as printed (single values as strings or one-element arrays, like the docs). */
interface DocStatement {
  Sid: string;
  Effect: string;
  Principal?: Record<string, string | string[]>;
  Action: string | string[];
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}
const DOC_KEY_POLICY: { Version: string; Id: string; Statement: DocStatement[] } = {
  Version: '2012-10-17',
  Id: 'MyMsfCmkApplicationKeyPolicy',
  Statement: [
    {
      Sid: 'AllowOperatorToDescribeKey',
      Effect: 'Allow',
      Principal: { AWS: D.OPERATOR_ARN },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': D.VIA_SERVICE } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToUseKeyForApplicationState',
      Effect: 'Allow',
      Principal: { AWS: D.OPERATOR_ARN },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN, 'kms:ViaService': D.VIA_SERVICE } },
    },
    {
      Sid: 'AllowOperatorToConfigureAppToCreateGrantForRunningState',
      Effect: 'Allow',
      Principal: { AWS: D.OPERATOR_ARN },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: {
          'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN,
          'kms:ViaService': D.VIA_SERVICE,
          'kms:GrantConstraintType': 'EncryptionContextSubset',
        },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
    {
      Sid: 'AllowMSFServiceToDescribeKey',
      Effect: 'Allow',
      Principal: { Service: ['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceArn': D.APP_ARN, 'aws:SourceAccount': D.ACCOUNT_ID } },
    },
    {
      Sid: 'AllowMSFServiceToGenerateDataKeyForDurableState',
      Effect: 'Allow',
      Principal: { Service: 'kinesisanalytics.amazonaws.com' },
      Action: ['kms:GenerateDataKey'],
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceArn': D.APP_ARN, 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN, 'aws:SourceAccount': D.ACCOUNT_ID },
      },
    },
    {
      Sid: 'AllowMSFServiceToDecryptForDurableState',
      Effect: 'Allow',
      Principal: { Service: 'kinesisanalytics.amazonaws.com' },
      Action: ['kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN } },
    },
    {
      Sid: 'AllowMSFServiceToUseKeyForRunningState',
      Effect: 'Allow',
      Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN } },
    },
    {
      Sid: 'AllowMSFServiceToCreateGrantForRunningState',
      Effect: 'Allow',
      Principal: { Service: ['infrastructure.kinesisanalytics.amazonaws.com'] },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
      },
    },
  ],
};
const DOC_OPERATOR_POLICY: { Version: string; Statement: DocStatement[] } = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'AllowMSFAPICalls', Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' },
    { Sid: 'AllowPassingServiceExecutionRole', Effect: 'Allow', Action: ['iam:PassRole'], Resource: D.EXEC_ROLE_ARN },
    {
      Sid: 'AllowDescribeKey',
      Effect: 'Allow',
      Action: ['kms:DescribeKey'],
      Resource: D.KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': D.VIA_SERVICE } },
    },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForDurableState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: D.KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': D.VIA_SERVICE, 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN } },
    },
    {
      Sid: 'AllowMyCmkApplicationKeyOperationsForRunningState',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
      Resource: D.KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': D.VIA_SERVICE, 'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN } },
    },
    {
      Sid: 'AllowMyCmkApplicationCreateGrantForRunningState',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: D.KEY_ARN,
      Condition: {
        'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
        StringEquals: {
          'kms:ViaService': D.VIA_SERVICE,
          'kms:EncryptionContext:aws:kinesisanalytics:arn': D.APP_ARN,
          'kms:GrantConstraintType': 'EncryptionContextSubset',
        },
      },
    },
  ],
};

const set = (v: unknown) => [v ?? []].flat().map(String).sort();
/** What must be equal: Effect, Principal and Action as sets, Condition exactly (key order aside). */
const essence = (s: Statement | DocStatement) => ({
  Effect: s.Effect,
  Principal: s.Principal && Object.fromEntries(Object.entries(s.Principal).map(([k, v]) => [k, set(v)])),
  Action: set(s.Action),
  Condition: s.Condition,
});
const documentedKms = DOC_OPERATOR_POLICY.Statement.filter((s) => set(s.Action).every((a) => a.startsWith('kms:')));

describe('comparison with the documented examples', () => {
  const ours = keyPolicy({ scope: SCOPE, applicationArn: D.APP_ARN, operatorRoleArn: D.OPERATOR_ARN, keyAdminRoleArn: KEY_ADMIN_ROLE_ARN });
  const oursCmk = operatorCmkPolicy({ scope: SCOPE, keyArn: D.KEY_ARN, applicationArn: D.APP_ARN });

  it.each(DOC_KEY_POLICY.Statement.map((s) => [s.Sid, s] as const))('key policy has documented statement %s (Resource "*" as documented)', (_, doc) => {
    const match = ours.Statement.filter((s) => isDeepStrictEqual(essence(s), essence(doc)));
    expect(match.map((s) => s.Resource)).toEqual(['*']);
  });

  it('key policy adds only the recovery path and the key-admin statement (the root statement instead of the recovery path with delegateToAccount)', () => {
    const documented = DOC_KEY_POLICY.Statement.map(essence);
    const isDocumented = (s: Statement) => documented.some((d) => isDeepStrictEqual(essence(s), d));
    expect(ours.Statement.filter((s) => !isDocumented(s))).toEqual([
      {
        Sid: 'AllowAccountToRecoverKeyAdministration',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'],
        Resource: '*',
      },
      expect.objectContaining({ Sid: 'AllowKeyAdministration', Principal: { AWS: KEY_ADMIN_ROLE_ARN } }),
    ]);
    const delegating = keyPolicy({
      scope: SCOPE,
      applicationArn: D.APP_ARN,
      operatorRoleArn: D.OPERATOR_ARN,
      keyAdminRoleArn: KEY_ADMIN_ROLE_ARN,
      delegateToAccount: true,
    });
    expect(delegating.Statement.filter((s) => !isDocumented(s))).toEqual([
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      expect.objectContaining({ Sid: 'AllowKeyAdministration', Principal: { AWS: KEY_ADMIN_ROLE_ARN } }),
    ]);
  });

  it('operator CMK policy has exactly the four documented kms statements, on the key ARN as documented', () => {
    expect(documentedKms).toHaveLength(4);
    expect(oursCmk.Statement.map((s) => ({ ...essence(s), Resource: s.Resource }))).toEqual(
      documentedKms.map((s) => ({ ...essence(s), Resource: s.Resource })),
    );
  });

  it('operator base policy tightens the documented base statements: application ARN for kinesisanalytics:*, iam:PassedToService on PassRole', () => {
    const base = operatorBasePolicy({ scope: SCOPE, applicationArn: D.APP_ARN, createWithExecutionRoleArn: D.EXEC_ROLE_ARN });
    const [apiCalls, passRole] = DOC_OPERATOR_POLICY.Statement;
    expect(base.Statement).toContainEqual({ ...apiCalls, Sid: 'ManageThisApplication', Resource: D.APP_ARN });
    expect(base.Statement).toContainEqual({
      ...passRole,
      Sid: 'PassExecutionRoleToMsf',
      Action: 'iam:PassRole',
      Condition: { StringEquals: { 'iam:PassedToService': MSF } },
    });
  });
});
