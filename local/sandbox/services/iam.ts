/**
 * IAM (Query protocol): roles, their inline and attached managed policies, tags, and customer managed
 * policies. Every operation is authorized with the caller's identity policies against the resource
 * ARN and condition keys the IAM service authorization reference lists (roles and policies by ARN,
 * ListRoles/ListPolicies on `*`), so a least-privilege orchestrator role can be written with path,
 * tag and `iam:PolicyARN` conditions and tested here.
 *
 * A role may carry a permissions boundary (a customer managed policy of this account); Sandbox.evaluate
 * intersects a session's identity policies with it, and the operations that set or relax a role's
 * permissions carry `iam:PermissionsBoundary`, so "create roles only with boundary X" can be tested.
 *
 * IAM itself sees a new role at once; STS and KMS see it only after `iamPropagationDelayMs`
 * (`Role.VisibleAt`), as in AWS. Documents are stored parsed and returned URL-encoded (RFC 3986).
 * Managed policies keep up to five versions; authorization reads the default one. Account quotas
 * (roles, policies, sizes, versions) come from `sandbox.quotas` and are reported by GetAccountSummary.
 */
import { AwsError } from '../errors';
import { validatePolicy, type PolicyKind } from '../authz';
import { findRole } from '../lookup';
import { isoTime, QueryMap } from '../protocols/query';
import type { RequestContext, Sandbox, Service } from '../sandbox';
import type { ManagedPolicy, PolicyDocument, PolicyVersion, Role, Tag } from '../state';

/** The most tags one request may carry (a model constraint; the per-role quota is TagsPerRole). */
const MAX_TAGS = 50;

// ---------------------------------------------------------------------------------------------
// Input constraints, worded as AWS's front end words them

interface Constraint {
  required?: boolean;
  min?: number;
  max?: number;
  minValue?: number;
  maxValue?: number;
  /** The pattern exactly as the IAM API reference prints it (also valid JS with the `u` flag). */
  pattern?: string;
  enum?: string[];
}

const NAME = '[\\w+=,.@-]+';
const C = {
  roleName: { required: true, min: 1, max: 64, pattern: NAME },
  policyName: { required: true, min: 1, max: 128, pattern: NAME },
  path: { min: 1, max: 512, pattern: '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)' },
  pathPrefix: { min: 1, max: 512, pattern: '\\u002F[\\u0021-\\u007E]*' },
  policyDocument: { required: true, min: 1, max: 131072, pattern: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+' },
  description: { max: 1000, pattern: '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*' },
  maxSessionDuration: { minValue: 3600, maxValue: 43200 },
  policyArn: { required: true, min: 20, max: 2048 },
  permissionsBoundary: { min: 20, max: 2048 },
  versionId: { required: true, pattern: 'v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?' },
  marker: { min: 1, max: 320, pattern: '[\\u0020-\\u00FF]+' },
  maxItems: { minValue: 1, maxValue: 1000 },
  scope: { enum: ['All', 'AWS', 'Local'] },
  tagList: { max: MAX_TAGS },
  tagKey: { required: true, min: 1, max: 128, pattern: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+' },
  tagValue: { required: true, max: 256, pattern: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*' },
} satisfies Record<string, Constraint>;

type Check = [member: string, value: unknown, c: Constraint];

/** One "Value '…' at '…' failed to satisfy constraint: …" clause, or undefined when the value is fine. */
function violation(member: string, value: unknown, c: Constraint): string | undefined {
  if (value === undefined) return c.required ? `Value null at '${member}' failed to satisfy constraint: Member must not be null` : undefined;
  const shown = Array.isArray(value) ? `[${value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ')}]` : String(value);
  const fail = (rule: string) => `Value '${shown}' at '${member}' failed to satisfy constraint: Member must ${rule}`;
  const length = Array.isArray(value) ? value.length : String(value).length;
  if (c.minValue !== undefined && !(Number(value) >= c.minValue)) return fail(`have value greater than or equal to ${c.minValue}`);
  if (c.maxValue !== undefined && !(Number(value) <= c.maxValue)) return fail(`have value less than or equal to ${c.maxValue}`);
  if (c.min !== undefined && length < c.min) return fail(`have length greater than or equal to ${c.min}`);
  if (c.max !== undefined && length > c.max) return fail(`have length less than or equal to ${c.max}`);
  if (c.pattern && !new RegExp(`^(?:${c.pattern})$`, 'u').test(String(value))) return fail(`satisfy regular expression pattern: ${c.pattern}`);
  if (c.enum && !c.enum.includes(String(value))) return fail(`satisfy enum value set: [${c.enum.join(', ')}]`);
  return undefined;
}

/** Throws AWS's ValidationError listing every violated constraint. */
function validate(checks: Check[]): void {
  const errors = checks.map(([m, v, c]) => violation(m, v, c)).filter((e): e is string => !!e);
  if (errors.length) {
    throw new AwsError('ValidationError', `${errors.length} validation error${errors.length === 1 ? '' : 's'} detected: ${errors.join('; ')}`, 400);
  }
}

/** Query lists arrive as arrays; an empty list arrives as `''`. */
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
const str = (value: unknown): string | undefined => (value === undefined ? undefined : String(value));

/** The request's tags and the checks on them; `Value` may be empty. */
function readTags(raw: unknown, required: boolean): { tags: Tag[]; checks: Check[] } {
  const tags = list<Tag>(raw).map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  return {
    tags,
    checks: [
      ['tags', raw === undefined ? undefined : tags, { ...C.tagList, required }],
      ...tags.flatMap((t, i): Check[] => [
        [`tags.${i + 1}.member.key`, t.Key, C.tagKey],
        [`tags.${i + 1}.member.value`, t.Value, C.tagValue],
      ]),
    ],
  };
}

/** Tag keys are case-insensitive in IAM. */
function assertNoDuplicateTagKeys(tags: Tag[]): void {
  if (new Set(tags.map((t) => t.Key.toLowerCase())).size !== tags.length) {
    throw new AwsError('InvalidInput', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.', 400);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

const noSuchRole = (name: string) => new AwsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
const noSuchRolePolicy = (name: string) => new AwsError('NoSuchEntity', `The role policy with name ${name} cannot be found.`, 404);
const policyNotFound = (arn: string) => new AwsError('NoSuchEntity', `Policy ${arn} was not found.`, 404);
const noSuchVersion = (arn: string, version: string) =>
  new AwsError('NoSuchEntity', `Policy ${arn} version ${version} does not exist or is not attachable.`, 404);
const notAttachable = (arn: string) => new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404);
const boundaryNotAttachable = (arn: string) => new AwsError('NoSuchEntity', `Scope ARN: ${arn} does not exist or is not attachable.`, 404);
const malformed = (message: string) => new AwsError('MalformedPolicyDocument', message, 400);

/** The evaluator's validation messages, in the words IAM uses for the same problem; others are "Syntax errors in policy.". */
const AWS_POLICY_WORDING: [RegExp, string][] = [
  [/Principal is not allowed in an identity policy/, 'Policy document should not specify a principal.'],
  [/Resource is not allowed in a trust policy/, 'Has prohibited field Resource'],
  [/One of Principal or NotPrincipal is required/, 'Missing required field Principal'],
  [/One of Action or NotAction is required/, 'Policy statement must contain actions.'],
  [/One of Resource or NotResource is required/, 'Policy statement must contain resources.'],
];

// ---------------------------------------------------------------------------------------------
// Documents

/** Parses and validates a policy document; trust policies must also name only principals that exist. */
function parseDocument(sandbox: Sandbox, text: string, kind: Extract<PolicyKind, 'identity' | 'trust'>): PolicyDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw malformed('This policy contains invalid Json');
  }
  const problems = validatePolicy(document, kind);
  if (problems.length) {
    throw malformed(AWS_POLICY_WORDING.find(([re]) => problems.some((p) => re.test(p)))?.[1] ?? 'Syntax errors in policy.');
  }
  if (kind === 'trust') assertPrincipalsExist(sandbox, document as PolicyDocument);
  return document as PolicyDocument;
}

/**
 * IAM resolves role ARNs in a trust policy to role ids when it stores the policy, so a role of this
 * account that does not exist is refused. Account roots, account ids, other accounts and service
 * principals are accepted as written.
 */
function assertPrincipalsExist(sandbox: Sandbox, document: PolicyDocument): void {
  const statements = ([] as Record<string, any>[]).concat((document.Statement as any) ?? []);
  for (const statement of statements) {
    for (const principal of [statement.Principal, statement.NotPrincipal]) {
      if (typeof principal !== 'object' || principal === null) continue;
      for (const arn of ([] as unknown[]).concat(principal.AWS ?? [])) {
        const inAccount = typeof arn === 'string' && arn.startsWith(`arn:aws:iam::${sandbox.account}:role/`);
        if (inAccount && !findRole(sandbox.state, arn)) throw malformed(`Invalid principal in policy: "AWS":"${arn}"`);
      }
    }
  }
}

/** IAM returns documents URL-encoded (RFC 3986). */
const encodeDocument = (document: PolicyDocument) => encodeURIComponent(JSON.stringify(document));

/** A document's size as IAM counts it against its quotas: characters, whitespace not counted. */
const sizeOf = (document: PolicyDocument) => JSON.stringify(document).replace(/\s/g, '').length;

// ---------------------------------------------------------------------------------------------
// State access, ARNs, authorization

const iamArn = (sandbox: Sandbox, type: 'role' | 'policy', path: string, name: string) => `arn:aws:iam::${sandbox.account}:${type}${path}${name}`;

/** Own-property lookup: role names such as `constructor` are valid. */
function roleNamed(sandbox: Sandbox, name: string): Role | undefined {
  return Object.hasOwn(sandbox.state.iam.roles, name) ? sandbox.state.iam.roles[name] : undefined;
}
function policyAt(sandbox: Sandbox, arn: string): ManagedPolicy | undefined {
  return Object.hasOwn(sandbox.state.iam.policies, arn) ? sandbox.state.iam.policies[arn] : undefined;
}

/** Derived from the roles, so they can never drift from the attachments. */
const attachmentCount = (sandbox: Sandbox, arn: string) => Object.values(sandbox.state.iam.roles).filter((r) => r.AttachedPolicyArns.includes(arn)).length;
const boundaryUsageCount = (sandbox: Sandbox, arn: string) => Object.values(sandbox.state.iam.roles).filter((r) => r.PermissionsBoundaryArn === arn).length;

/** `aws:ResourceTag/<k>` (and `iam:ResourceTag/<k>` for roles) from a resource's tags. */
function resourceTagContext(tags: Tag[], iamKeys: boolean): Record<string, string> {
  const context: Record<string, string> = {};
  for (const t of tags) {
    context[`aws:ResourceTag/${t.Key}`] = t.Value;
    if (iamKeys) context[`iam:ResourceTag/${t.Key}`] = t.Value;
  }
  return context;
}

/** `aws:RequestTag/<k>` and `aws:TagKeys` for a request that adds tags. */
function requestTagContext(tags: Tag[]): Record<string, string | string[]> {
  if (!tags.length) return {};
  return { ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value])), 'aws:TagKeys': tags.map((t) => t.Key) };
}

/** `iam:PermissionsBoundary`: absent when there is no boundary. */
const boundaryContext = (arn: string | undefined): Record<string, string> => (arn ? { 'iam:PermissionsBoundary': arn } : {});

/**
 * Actions whose `iam:PermissionsBoundary` is the role's current boundary (service authorization
 * reference); CreateRole and PutRolePermissionsBoundary carry the requested one instead.
 */
const CURRENT_BOUNDARY_KEY = new Set(['PutRolePolicy', 'DeleteRolePolicy', 'AttachRolePolicy', 'DetachRolePolicy', 'DeleteRolePermissionsBoundary']);

/** `shownAs`: the resource as IAM's AccessDenied names it (`role <name>`, `policy <arn>`), when not the ARN. */
function authorize(ctx: RequestContext, action: string, resource: string, context: Record<string, string | string[]> = {}, shownAs?: string): void {
  ctx.sandbox.authorize('iam', ctx.caller, `iam:${action}`, resource, { context, shownAs });
}

/**
 * Authorizes an action on a role named in the request, then returns the role. A missing role is
 * reported only to a caller allowed to ask, as AWS does; its resource is then the path-less ARN.
 */
function authorizeOnRole(ctx: RequestContext, action: string, name: string, context: Record<string, string | string[]> = {}): Role {
  const role = roleNamed(ctx.sandbox, name);
  const arn = role?.Arn ?? iamArn(ctx.sandbox, 'role', '/', name);
  const boundary = CURRENT_BOUNDARY_KEY.has(action) ? boundaryContext(role?.PermissionsBoundaryArn) : {};
  authorize(ctx, action, arn, { ...resourceTagContext(role?.Tags ?? [], true), ...boundary, ...context }, `role ${name}`);
  if (!role) throw noSuchRole(name);
  return role;
}

/**
 * Validates a policy ARN's shape: what does not parse as an ARN at all is a ValidationError (as IAM
 * answers a bare policy name); an ARN of something other than an IAM policy is InvalidInput.
 */
function checkPolicyArn(arn: string | undefined, member: 'policyArn' | 'permissionsBoundary' = 'policyArn'): string {
  validate([[member, arn, { ...C[member], required: true }]]);
  if (!/^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/.test(arn!)) throw new AwsError('ValidationError', 'Invalid ARN:  Could not be parsed!', 400);
  if (!/^arn:aws:iam::(\d{12}|aws):policy\/./.test(arn!)) throw new AwsError('InvalidInput', `ARN ${arn} is not valid.`, 400);
  return arn!;
}

function authorizeOnPolicy(ctx: RequestContext, action: string, arn: string): ManagedPolicy | undefined {
  const policy = policyAt(ctx.sandbox, arn);
  authorize(ctx, action, arn, resourceTagContext(policy?.Tags ?? [], false), `policy ${arn}`);
  return policy;
}

/** Authorizes an action on an existing policy: a missing one is NoSuchEntity. */
function existingPolicy(ctx: RequestContext, action: string, input: any): ManagedPolicy {
  const arn = checkPolicyArn(str(input.PolicyArn));
  const policy = authorizeOnPolicy(ctx, action, arn);
  if (!policy) throw policyNotFound(arn);
  return policy;
}

function versionOf(policy: ManagedPolicy, versionId: string): PolicyVersion {
  const version = policy.Versions.find((v) => v.VersionId === versionId);
  if (!version) throw noSuchVersion(policy.Arn, versionId);
  return version;
}

/** A managed policy document, parsed and within the PolicySize quota. */
function managedDocument(sandbox: Sandbox, text: string): PolicyDocument {
  const document = parseDocument(sandbox, text, 'identity');
  sandbox.quotas.assertWithin('iam', 'PolicySize', 0, sizeOf(document));
  return document;
}

/** A role trust policy, parsed and within the AssumeRolePolicySize quota (ACLSizePerRole). */
function trustDocument(sandbox: Sandbox, text: string): PolicyDocument {
  const document = parseDocument(sandbox, text, 'trust');
  sandbox.quotas.assertWithin('iam', 'AssumeRolePolicySize', 0, sizeOf(document));
  return document;
}

// ---------------------------------------------------------------------------------------------
// Pagination (Marker is an opaque offset)

function page<T>(items: T[], input: any): { items: T[]; IsTruncated: boolean; Marker?: string } {
  validate([
    ['marker', str(input.Marker), C.marker],
    ['maxItems', str(input.MaxItems), C.maxItems],
  ]);
  const start = input.Marker === undefined ? 0 : Number(input.Marker);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw new AwsError('InvalidInput', 'Invalid Marker.', 400);
  const size = input.MaxItems === undefined ? 100 : Number(input.MaxItems);
  const end = start + size;
  return { items: items.slice(start, end), IsTruncated: end < items.length, Marker: end < items.length ? String(end) : undefined };
}

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

// ---------------------------------------------------------------------------------------------
// Response shapes (member names as in the IAM API reference)

/** `full`: GetRole and CreateRole; ListRoles returns neither tags nor the permissions boundary. */
function roleView(role: Role, full: boolean) {
  return {
    Path: role.Path,
    RoleName: role.RoleName,
    RoleId: role.RoleId,
    Arn: role.Arn,
    CreateDate: isoTime(role.CreateDate),
    AssumeRolePolicyDocument: encodeDocument(role.AssumeRolePolicyDocument),
    Description: role.Description,
    MaxSessionDuration: role.MaxSessionDuration,
    // The SDK's constant is named `Policy`; its value, which is what the wire carries, is this.
    PermissionsBoundary:
      full && role.PermissionsBoundaryArn
        ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: role.PermissionsBoundaryArn }
        : undefined,
    Tags: full && role.Tags.length ? role.Tags : undefined,
  };
}

/** `withDocument`: GetPolicyVersion only; CreatePolicyVersion and ListPolicyVersions leave it out. */
function versionView(p: ManagedPolicy, v: PolicyVersion, withDocument: boolean) {
  return {
    Document: withDocument ? encodeDocument(v.Document) : undefined,
    VersionId: v.VersionId,
    IsDefaultVersion: v.VersionId === p.DefaultVersionId,
    CreateDate: isoTime(v.CreateDate),
  };
}

/** GetAccountSummary's figures for what the sandbox does not emulate: AWS's defaults for an account without them. */
const UNEMULATED_SUMMARY = {
  Users: 0,
  UsersQuota: 5000,
  Groups: 0,
  GroupsQuota: 300,
  GroupsPerUserQuota: 10,
  InstanceProfiles: 0,
  InstanceProfilesQuota: 1000,
  AttachedPoliciesPerUserQuota: 10,
  AttachedPoliciesPerGroupQuota: 10,
  UserPolicySizeQuota: 2048,
  GroupPolicySizeQuota: 5120,
  AccessKeysPerUserQuota: 2,
  SigningCertificatesPerUserQuota: 2,
  ServerCertificates: 0,
  ServerCertificatesQuota: 20,
  MFADevices: 0,
  MFADevicesInUse: 0,
  Providers: 0,
  AccountMFAEnabled: 0,
  AccountSigningCertificatesPresent: 0,
  // The account root signs with an access key here (`test`).
  AccountAccessKeysPresent: 1,
  GlobalEndpointTokenVersion: 1,
  PolicyVersionsInUseQuota: 10000,
};

function policyView(sandbox: Sandbox, p: ManagedPolicy, full: boolean) {
  return {
    PolicyName: p.PolicyName,
    PolicyId: p.PolicyId,
    Arn: p.Arn,
    Path: p.Path,
    DefaultVersionId: p.DefaultVersionId,
    AttachmentCount: attachmentCount(sandbox, p.Arn),
    PermissionsBoundaryUsageCount: boundaryUsageCount(sandbox, p.Arn),
    IsAttachable: true,
    // ListPolicies returns neither the description nor the tags.
    Description: full ? p.Description : undefined,
    CreateDate: isoTime(p.CreateDate),
    UpdateDate: isoTime(p.UpdateDate),
    Tags: full && p.Tags.length ? p.Tags : undefined,
  };
}

// ---------------------------------------------------------------------------------------------

export const iamService: Service = {
  name: 'iam',
  protocol: 'query',
  xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
  readOnly: new Set([
    'GetRole',
    'ListRoles',
    'ListRoleTags',
    'GetRolePolicy',
    'ListRolePolicies',
    'ListAttachedRolePolicies',
    'GetPolicy',
    'GetPolicyVersion',
    'ListPolicies',
    'ListPolicyVersions',
    'GetAccountSummary',
  ]),
  cloudTrail: {},
  operations: {
    // ---- account ----
    GetAccountSummary: (_input, ctx) => {
      authorize(ctx, 'GetAccountSummary', '*');
      const { sandbox } = ctx;
      const { quotas } = sandbox;
      const policies = Object.values(sandbox.state.iam.policies);
      return {
        SummaryMap: new QueryMap({
          ...UNEMULATED_SUMMARY,
          Roles: Object.keys(sandbox.state.iam.roles).length,
          RolesQuota: quotas.limit('iam', 'RolesPerAccount'),
          Policies: policies.length,
          PoliciesQuota: quotas.limit('iam', 'PoliciesPerAccount'),
          PolicySizeQuota: quotas.limit('iam', 'PolicySize'),
          RolePolicySizeQuota: quotas.limit('iam', 'RolePolicySize'),
          AssumeRolePolicySizeQuota: quotas.limit('iam', 'AssumeRolePolicySize'),
          AttachedPoliciesPerRoleQuota: quotas.limit('iam', 'PoliciesPerRole'),
          VersionsPerPolicyQuota: quotas.limit('iam', 'VersionsPerPolicy'),
          PolicyVersionsInUse: policies.reduce((n, p) => n + p.Versions.length, 0),
        }),
      };
    },

    // ---- roles ----
    CreateRole: (input, ctx) => {
      const { sandbox } = ctx;
      const name = str(input.RoleName);
      const path = str(input.Path) ?? '/';
      const { tags, checks } = readTags(input.Tags, false);
      validate([
        ['roleName', name, C.roleName],
        ['path', path, C.path],
        ['assumeRolePolicyDocument', str(input.AssumeRolePolicyDocument), C.policyDocument],
        ['description', str(input.Description), C.description],
        ['maxSessionDuration', str(input.MaxSessionDuration), C.maxSessionDuration],
        ...checks,
      ]);
      assertNoDuplicateTagKeys(tags);
      const boundary = input.PermissionsBoundary === undefined ? undefined : checkPolicyArn(str(input.PermissionsBoundary), 'permissionsBoundary');
      const arn = iamArn(sandbox, 'role', path, name!);
      authorize(ctx, 'CreateRole', arn, { ...requestTagContext(tags), ...boundaryContext(boundary) });
      // Role names are unique in the account regardless of path and case.
      if (Object.values(sandbox.state.iam.roles).some((r) => r.RoleName.toLowerCase() === name!.toLowerCase())) {
        throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
      }
      if (boundary && !policyAt(sandbox, boundary)) throw boundaryNotAttachable(boundary);
      const trust = trustDocument(sandbox, String(input.AssumeRolePolicyDocument));
      sandbox.quotas.assertWithin('iam', 'RolesPerAccount', Object.keys(sandbox.state.iam.roles).length);
      const now = sandbox.clock.now();
      const role: Role = {
        RoleName: name!,
        RoleId: sandbox.randomId('AROA'),
        Arn: arn,
        Path: path,
        CreateDate: now,
        Description: str(input.Description),
        MaxSessionDuration: input.MaxSessionDuration === undefined ? 3600 : Number(input.MaxSessionDuration),
        AssumeRolePolicyDocument: trust,
        Tags: tags,
        InlinePolicies: {},
        AttachedPolicyArns: [],
        PermissionsBoundaryArn: boundary,
        VisibleAt: now + sandbox.iamPropagationDelayMs,
      };
      sandbox.state.iam.roles[role.RoleName] = role;
      return { Role: roleView(role, true) };
    },

    GetRole: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      return { Role: roleView(authorizeOnRole(ctx, 'GetRole', input.RoleName), true) };
    },

    ListRoles: (input, ctx) => {
      const prefix = str(input.PathPrefix) ?? '/';
      validate([['pathPrefix', prefix, C.pathPrefix]]);
      authorize(ctx, 'ListRoles', '*', {}, iamArn(ctx.sandbox, 'role', prefix, ''));
      const roles = Object.values(ctx.sandbox.state.iam.roles)
        .filter((r) => r.Path.startsWith(prefix))
        .sort(byName((r) => r.RoleName));
      const { items, ...rest } = page(roles, input);
      return { Roles: items.map((r) => roleView(r, false)), ...rest };
    },

    DeleteRole: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const role = authorizeOnRole(ctx, 'DeleteRole', input.RoleName);
      // Assumed order: attached managed policies are reported before inline ones.
      if (role.AttachedPolicyArns.length) throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
      if (Object.keys(role.InlinePolicies).length) throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
      delete ctx.sandbox.state.iam.roles[role.RoleName];
      return undefined;
    },

    UpdateAssumeRolePolicy: (input, ctx) => {
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['policyDocument', str(input.PolicyDocument), C.policyDocument],
      ]);
      const role = authorizeOnRole(ctx, 'UpdateAssumeRolePolicy', input.RoleName);
      role.AssumeRolePolicyDocument = trustDocument(ctx.sandbox, String(input.PolicyDocument));
      return undefined;
    },

    // ---- permissions boundary ----
    PutRolePermissionsBoundary: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const boundary = checkPolicyArn(str(input.PermissionsBoundary), 'permissionsBoundary');
      const role = authorizeOnRole(ctx, 'PutRolePermissionsBoundary', input.RoleName, boundaryContext(boundary));
      if (!policyAt(ctx.sandbox, boundary)) throw boundaryNotAttachable(boundary);
      role.PermissionsBoundaryArn = boundary;
      return undefined;
    },

    DeleteRolePermissionsBoundary: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const role = authorizeOnRole(ctx, 'DeleteRolePermissionsBoundary', input.RoleName);
      // Assumed: a role without a boundary is not an error.
      delete role.PermissionsBoundaryArn;
      return undefined;
    },

    // ---- tags ----
    TagRole: (input, ctx) => {
      const { tags, checks } = readTags(input.Tags, true);
      validate([['roleName', str(input.RoleName), C.roleName], ...checks]);
      assertNoDuplicateTagKeys(tags);
      const role = authorizeOnRole(ctx, 'TagRole', input.RoleName, requestTagContext(tags));
      // A key that exists in any case is overwritten (keys are case-insensitive).
      const merged = role.Tags.filter((t) => !tags.some((n) => n.Key.toLowerCase() === t.Key.toLowerCase())).concat(tags);
      ctx.sandbox.quotas.assertWithin('iam', 'TagsPerRole', 0, merged.length);
      role.Tags = merged;
      return undefined;
    },

    UntagRole: (input, ctx) => {
      const keys = list<string>(input.TagKeys);
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['tagKeys', input.TagKeys === undefined ? undefined : keys, { ...C.tagList, required: true }],
        ...keys.map((k, i): Check => [`tagKeys.${i + 1}.member`, k, C.tagKey]),
      ]);
      const role = authorizeOnRole(ctx, 'UntagRole', input.RoleName, { 'aws:TagKeys': keys });
      role.Tags = role.Tags.filter((t) => !keys.some((k) => k.toLowerCase() === t.Key.toLowerCase()));
      return undefined;
    },

    ListRoleTags: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const role = authorizeOnRole(ctx, 'ListRoleTags', input.RoleName);
      const { items, ...rest } = page(role.Tags, input);
      return { Tags: items, ...rest };
    },

    // ---- inline policies ----
    PutRolePolicy: (input, ctx) => {
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['policyName', str(input.PolicyName), C.policyName],
        ['policyDocument', str(input.PolicyDocument), C.policyDocument],
      ]);
      const role = authorizeOnRole(ctx, 'PutRolePolicy', input.RoleName);
      const document = parseDocument(ctx.sandbox, String(input.PolicyDocument), 'identity');
      // The quota is on all of the role's inline policies together; a policy of the same name is replaced.
      const others = Object.entries(role.InlinePolicies)
        .filter(([n]) => n !== input.PolicyName)
        .reduce((n, [, d]) => n + sizeOf(d), 0);
      ctx.sandbox.quotas.assertWithin('iam', 'RolePolicySize', others, sizeOf(document), role.RoleName);
      role.InlinePolicies[input.PolicyName] = document;
      return undefined;
    },

    GetRolePolicy: (input, ctx) => {
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['policyName', str(input.PolicyName), C.policyName],
      ]);
      const role = authorizeOnRole(ctx, 'GetRolePolicy', input.RoleName);
      if (!Object.hasOwn(role.InlinePolicies, input.PolicyName)) throw noSuchRolePolicy(input.PolicyName);
      return { RoleName: role.RoleName, PolicyName: input.PolicyName, PolicyDocument: encodeDocument(role.InlinePolicies[input.PolicyName]) };
    },

    DeleteRolePolicy: (input, ctx) => {
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['policyName', str(input.PolicyName), C.policyName],
      ]);
      const role = authorizeOnRole(ctx, 'DeleteRolePolicy', input.RoleName);
      if (!Object.hasOwn(role.InlinePolicies, input.PolicyName)) throw noSuchRolePolicy(input.PolicyName);
      delete role.InlinePolicies[input.PolicyName];
      return undefined;
    },

    ListRolePolicies: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const role = authorizeOnRole(ctx, 'ListRolePolicies', input.RoleName);
      const { items, ...rest } = page(Object.keys(role.InlinePolicies).sort(), input);
      return { PolicyNames: items, ...rest };
    },

    // ---- managed policies ----
    CreatePolicy: (input, ctx) => {
      const { sandbox } = ctx;
      const name = str(input.PolicyName);
      const path = str(input.Path) ?? '/';
      const { tags, checks } = readTags(input.Tags, false);
      validate([
        ['policyName', name, C.policyName],
        ['path', path, C.path],
        ['policyDocument', str(input.PolicyDocument), C.policyDocument],
        ['description', str(input.Description), C.description],
        ...checks,
      ]);
      assertNoDuplicateTagKeys(tags);
      const arn = iamArn(sandbox, 'policy', path, name!);
      authorize(ctx, 'CreatePolicy', arn, requestTagContext(tags), `policy ${name}`);
      if (Object.values(sandbox.state.iam.policies).some((p) => p.PolicyName.toLowerCase() === name!.toLowerCase())) {
        throw new AwsError('EntityAlreadyExists', `A policy called ${name} already exists. Duplicate names are not allowed.`, 409);
      }
      const document = managedDocument(sandbox, String(input.PolicyDocument));
      sandbox.quotas.assertWithin('iam', 'PoliciesPerAccount', Object.keys(sandbox.state.iam.policies).length);
      const now = sandbox.clock.now();
      const policy: ManagedPolicy = {
        PolicyName: name!,
        PolicyId: sandbox.randomId('ANPA'),
        Arn: arn,
        Path: path,
        Description: str(input.Description),
        DefaultVersionId: 'v1',
        Versions: [{ VersionId: 'v1', Document: document, CreateDate: now }],
        LastVersion: 1,
        CreateDate: now,
        UpdateDate: now,
        Tags: tags,
      };
      sandbox.state.iam.policies[arn] = policy;
      return { Policy: policyView(sandbox, policy, true) };
    },

    GetPolicy: (input, ctx) => ({ Policy: policyView(ctx.sandbox, existingPolicy(ctx, 'GetPolicy', input), true) }),

    DeletePolicy: (input, ctx) => {
      const policy = existingPolicy(ctx, 'DeletePolicy', input);
      // Assumed: a policy in use as a permissions boundary counts as attached.
      if (attachmentCount(ctx.sandbox, policy.Arn) > 0 || boundaryUsageCount(ctx.sandbox, policy.Arn) > 0) {
        throw new AwsError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
      }
      if (policy.Versions.length > 1) {
        throw new AwsError(
          'DeleteConflict',
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
          409,
        );
      }
      delete ctx.sandbox.state.iam.policies[policy.Arn];
      return undefined;
    },

    // ---- managed policy versions ----
    CreatePolicyVersion: (input, ctx) => {
      validate([['policyDocument', str(input.PolicyDocument), C.policyDocument]]);
      const policy = existingPolicy(ctx, 'CreatePolicyVersion', input);
      const document = managedDocument(ctx.sandbox, String(input.PolicyDocument));
      ctx.sandbox.quotas.assertWithin('iam', 'VersionsPerPolicy', policy.Versions.length);
      const now = ctx.sandbox.clock.now();
      policy.LastVersion += 1;
      const version: PolicyVersion = { VersionId: `v${policy.LastVersion}`, Document: document, CreateDate: now };
      policy.Versions.push(version);
      if (String(input.SetAsDefault) === 'true') policy.DefaultVersionId = version.VersionId;
      // UpdateDate is when the newest version was created (IAM API reference, Policy).
      policy.UpdateDate = now;
      return { PolicyVersion: versionView(policy, version, false) };
    },

    GetPolicyVersion: (input, ctx) => {
      const arn = checkPolicyArn(str(input.PolicyArn));
      validate([['versionId', str(input.VersionId), C.versionId]]);
      const policy = authorizeOnPolicy(ctx, 'GetPolicyVersion', arn);
      if (!policy) throw noSuchVersion(arn, input.VersionId);
      return { PolicyVersion: versionView(policy, versionOf(policy, input.VersionId), true) };
    },

    ListPolicyVersions: (input, ctx) => {
      const policy = existingPolicy(ctx, 'ListPolicyVersions', input);
      // Newest first, as IAM lists them (assumed).
      const { items, ...rest } = page([...policy.Versions].reverse(), input);
      return { Versions: items.map((v) => versionView(policy, v, false)), ...rest };
    },

    SetDefaultPolicyVersion: (input, ctx) => {
      validate([['versionId', str(input.VersionId), C.versionId]]);
      const policy = existingPolicy(ctx, 'SetDefaultPolicyVersion', input);
      policy.DefaultVersionId = versionOf(policy, input.VersionId).VersionId;
      return undefined;
    },

    DeletePolicyVersion: (input, ctx) => {
      validate([['versionId', str(input.VersionId), C.versionId]]);
      const policy = existingPolicy(ctx, 'DeletePolicyVersion', input);
      const version = versionOf(policy, input.VersionId);
      if (version.VersionId === policy.DefaultVersionId) throw new AwsError('DeleteConflict', 'Cannot delete the default version of a policy.', 409);
      policy.Versions = policy.Versions.filter((v) => v !== version);
      return undefined;
    },

    ListPolicies: (input, ctx) => {
      const scope = str(input.Scope) ?? 'All';
      const prefix = str(input.PathPrefix) ?? '/';
      validate([
        ['scope', scope, C.scope],
        ['pathPrefix', prefix, C.pathPrefix],
      ]);
      authorize(ctx, 'ListPolicies', '*', {}, `policy path ${prefix}`);
      const { sandbox } = ctx;
      // Every stored policy is customer managed: AWS managed policies are not emulated, so Scope=AWS is empty.
      const policies = Object.values(sandbox.state.iam.policies)
        .filter((p) => scope !== 'AWS' && p.Path.startsWith(prefix))
        .filter((p) => String(input.OnlyAttached) !== 'true' || attachmentCount(sandbox, p.Arn) > 0)
        .sort(byName((p) => p.PolicyName));
      const { items, ...rest } = page(policies, input);
      return { Policies: items.map((p) => policyView(sandbox, p, false)), ...rest };
    },

    // ---- attachments ----
    AttachRolePolicy: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const arn = checkPolicyArn(str(input.PolicyArn));
      const role = authorizeOnRole(ctx, 'AttachRolePolicy', input.RoleName, { 'iam:PolicyARN': arn });
      if (!policyAt(ctx.sandbox, arn)) throw notAttachable(arn);
      if (role.AttachedPolicyArns.includes(arn)) return undefined; // attaching twice is a no-op, as in AWS
      ctx.sandbox.quotas.assertWithin('iam', 'PoliciesPerRole', role.AttachedPolicyArns.length);
      role.AttachedPolicyArns.push(arn);
      return undefined;
    },

    DetachRolePolicy: (input, ctx) => {
      validate([['roleName', str(input.RoleName), C.roleName]]);
      const arn = checkPolicyArn(str(input.PolicyArn));
      const role = authorizeOnRole(ctx, 'DetachRolePolicy', input.RoleName, { 'iam:PolicyARN': arn });
      if (!role.AttachedPolicyArns.includes(arn)) throw policyNotFound(arn);
      role.AttachedPolicyArns = role.AttachedPolicyArns.filter((a) => a !== arn);
      return undefined;
    },

    ListAttachedRolePolicies: (input, ctx) => {
      const prefix = str(input.PathPrefix) ?? '/';
      validate([
        ['roleName', str(input.RoleName), C.roleName],
        ['pathPrefix', prefix, C.pathPrefix],
      ]);
      const role = authorizeOnRole(ctx, 'ListAttachedRolePolicies', input.RoleName);
      const attached = role.AttachedPolicyArns.flatMap((arn) => {
        const p = policyAt(ctx.sandbox, arn);
        return p?.Path.startsWith(prefix) ? [{ PolicyName: p.PolicyName, PolicyArn: p.Arn }] : [];
      });
      const { items, ...rest } = page(attached, input);
      return { AttachedPolicies: items, ...rest };
    },
  },
};
