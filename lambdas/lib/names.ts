/**
 * Every name and ARN the workflow derives, and the tags that say who owns what. Deterministic (a re-run
 * finds what an earlier run made) and pure. Ownership is by execution ARN and application ARN, never by
 * an execution name alone: a name can be reused in another state machine (or by a local runner).
 */
import { createHash } from 'node:crypto';
import type { Settings } from './settings';

export interface Scope {
  /** 'aws' unless given ('aws-cn', 'aws-us-gov'). */
  partition?: string;
  account: string;
  region: string;
}

export const partitionOf = (scope: Scope) => scope.partition ?? 'aws';

/** facts §1: `arn:aws:kinesisanalytics:<region>:<account>:application/<name>`, the encryption-context value. */
export const applicationArn = (scope: Scope, applicationName: string): string =>
  `arn:${partitionOf(scope)}:kinesisanalytics:${scope.region}:${scope.account}:application/${applicationName}`;

/** Where a run happens: taken from its execution ARN, so no call is needed to learn it. */
export interface Context extends Required<Scope> {
  executionArn: string;
  executionName: string;
  stateMachineName: string;
}

/** `arn:<partition>:states:<region>:<account>:execution:<stateMachine>:<name>` → the run's context. */
export function contextOf(executionArn: string): Context {
  const m = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):execution:([^:]+):([^:]+)$/.exec(executionArn);
  if (!m) throw new Error(`not a Step Functions execution ARN: ${executionArn}`);
  const [, partition, region, account, stateMachineName, executionName] = m;
  return { partition, region, account, stateMachineName, executionName, executionArn };
}

/** `base` + `suffix` within `max` characters: a long base is cut and made unique with a hash of it. */
export function boundedName(base: string, max: number, suffix = ''): string {
  if (base.length + suffix.length <= max) return base + suffix;
  return `${base.slice(0, max - suffix.length - 9)}-${createHash('sha256').update(base).digest('hex').slice(0, 8)}${suffix}`;
}

export const appArn = (ctx: Context, applicationName: string) => applicationArn(ctx, applicationName);

/** Every role session the workflow opens starts so: what tells its calls from others' as a shared operator. */
export const SESSION_PREFIX = 'msf-cmk.';

/** A role's name from its ARN (the name is its last path segment). */
export const roleNameOf = (roleArn: string) => roleArn.slice(roleArn.lastIndexOf('/') + 1);

/** One operator role per application (IAM role names: at most 64 characters), or the deployment's shared one. */
export const operatorRoleName = (s: Pick<Settings, 'operatorRolePrefix' | 'sharedOperatorRoleArn'>, applicationName: string) =>
  s.sharedOperatorRoleArn ? roleNameOf(s.sharedOperatorRoleArn) : boundedName(`${s.operatorRolePrefix}${applicationName}`, 64);

export const roleArn = (ctx: Context, path: string, name: string) => `arn:${ctx.partition}:iam::${ctx.account}:role${path}${name}`;

export const operatorRoleArn = (ctx: Context, s: Pick<Settings, 'operatorRolePrefix' | 'rolePath' | 'sharedOperatorRoleArn'>, applicationName: string) =>
  s.sharedOperatorRoleArn ?? roleArn(ctx, s.rolePath, operatorRoleName(s, applicationName));

/**
 * alias/<aliasPrefix><applicationName>. KMS aliases allow [a-zA-Z0-9/_-]; application names allow '.' too,
 * which becomes '/': a character application names cannot contain, so no two applications share an alias.
 */
export const aliasName = (s: Pick<Settings, 'aliasPrefix'>, applicationName: string) => `alias/${s.aliasPrefix}${applicationName.replace(/\./g, '/')}`;
export const aliasArn = (ctx: Context, alias: string) => `arn:${ctx.partition}:kms:${ctx.region}:${ctx.account}:${alias}`;

/** The operator's two inline policies: the base one (before any key exists) and one per CMK it may use. */
export const BASE_POLICY_NAME = 'msf-cmk-base';
export const cmkPolicyName = (keyId: string) => `msf-cmk-key-${keyId}`;
/** A shared operator's one managed policy for every key (the stack attaches it; no step writes to that role). */
export const SHARED_OPERATOR_POLICY_NAME = 'msf-cmk-shared-operator-keys';
export const sharedOperatorPolicyArn = (scope: Scope) => `arn:${partitionOf(scope)}:iam::${scope.account}:policy/${SHARED_OPERATOR_POLICY_NAME}`;

// ---- ownership tags ----

/** On everything the workflow creates: it adopts only what carries it. */
export const MANAGED_BY_KEY = 'managed-by';
export const MANAGED_BY_VALUE = 'msf-cmk-orchestrator';
/** The application a resource serves. */
export const APPLICATION_KEY = 'msf-cmk:application-arn';
/** The execution that created it: written atomically with the creation, so no crash can lose it. */
export const CREATED_BY_KEY = 'msf-cmk:created-by-execution';
/** On a key a rollback kept because something still references it. */
export const RETAINED_KEY = 'msf-cmk:retained';

/**
 * On every key the workflow creates: an application depends on it. With the keyDeletionGuard setting, the
 * key policy denies DisableKey and ScheduleKeyDeletion while it is "true" (IN_USE_VALUE).
 */
export const IN_USE_KEY = 'msf-cmk:in-use';
export const IN_USE_VALUE = 'true';

/** Tag keys the workflow writes itself: an input may not set them (any case). */
export const RESERVED_TAG_KEYS = [MANAGED_BY_KEY, APPLICATION_KEY, CREATED_BY_KEY, RETAINED_KEY, IN_USE_KEY];
export const isReservedTagKey = (key: string) => {
  const k = key.toLowerCase();
  return k.startsWith('aws:') || k.startsWith('msf-cmk:') || RESERVED_TAG_KEYS.some((r) => r.toLowerCase() === k);
};

export interface Tag {
  Key: string;
  Value: string;
}

/** The tags of a resource this execution creates for this application: ownership first, then the input's. */
export function ownerTags(ctx: Context, applicationName: string, extra: Record<string, string> = {}): Tag[] {
  return [
    { Key: MANAGED_BY_KEY, Value: MANAGED_BY_VALUE },
    { Key: APPLICATION_KEY, Value: appArn(ctx, applicationName) },
    { Key: CREATED_BY_KEY, Value: ctx.executionArn },
    ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value })),
  ];
}

type AnyTag = { Key?: string; Value?: string; TagKey?: string; TagValue?: string };
/** A tag's value, in either AWS tag shape. */
export const tagValue = (tags: AnyTag[] | undefined, key: string) => {
  const t = tags?.find((x) => (x.Key ?? x.TagKey) === key);
  return t?.Value ?? t?.TagValue;
};

/** Managed by the workflow, for this application (IAM/MSF `Key`/`Value` or KMS `TagKey`/`TagValue` tags). */
export const isManagedFor = (tags: AnyTag[] | undefined, ctx: Context, applicationName: string) =>
  tagValue(tags, MANAGED_BY_KEY) === MANAGED_BY_VALUE && tagValue(tags, APPLICATION_KEY) === appArn(ctx, applicationName);

/** Created by this very execution for this application. */
export const isCreatedByThisRun = (tags: AnyTag[] | undefined, ctx: Context, applicationName: string) =>
  isManagedFor(tags, ctx, applicationName) && tagValue(tags, CREATED_BY_KEY) === ctx.executionArn;
