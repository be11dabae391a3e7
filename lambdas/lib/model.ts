/**
 * The workflow's state as it flows through the ASL: the validated input (`config`), the account
 * context, then one result per step, each merged by that step's ResultPath.
 */
import { createHash } from 'node:crypto';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE, applicationArn } from './policies';

/** The execution input after validation and defaults (statemachine/input.schema.json). */
export interface Config {
  applicationName: string;
  /** `plan`: every step finds and decides but only reports what it would change (no write call). */
  mode: 'apply' | 'plan';
  createApplication?: { runtimeEnvironment: string; serviceExecutionRoleArn: string; applicationDescription?: string };
  keyId?: string;
  aliasPrefix: string;
  operatorRoleName: string;
  keyAdminRoleName: string;
  rolePath: string;
  delegateToAccount: boolean;
  pendingWindowDays: number;
  lockTableName: string;
  tags: Record<string, string>;
}

export interface Context {
  partition: string;
  account: string;
  region: string;
  /** The role the orchestrator runs as; the operator and key-admin roles trust exactly this ARN. */
  orchestratorRoleArn: string;
  executionId: string;
  executionName: string;
}

export interface LockResult { lockId: string; owner: string; expiresAt: number }
export interface OperatorResult { roleArn: string; created: boolean; basePolicyName: string; basePolicyChanged: boolean; basePolicyAdded: boolean }
export interface EncryptionConfig { KeyType: 'AWS_OWNED_KEY' | 'CUSTOMER_MANAGED_KEY'; KeyId?: string }
export interface ApplicationResult {
  applicationArn: string;
  created: boolean;
  status: string;
  versionId: number;
  runtimeEnvironment: string;
  encryption: EncryptionConfig;
}
export interface KeyAdminResult { roleArn: string; created: boolean }
export interface KeyResult { keyArn: string; keyId: string; aliasName?: string; created: boolean; adopted: boolean }
export interface OperatorKeyAccessResult { policyArn: string; created: boolean; attachedByThisRun: boolean }
export interface PollResult {
  done: boolean;
  attempt: number;
  waitSeconds: number;
  operationStatus?: string;
  applicationStatus?: string;
}
export interface SwitchResult {
  alreadyOnKey: boolean;
  operationId?: string;
  previousEncryption: EncryptionConfig;
  fromVersionId: number;
  poll: PollResult;
}

/** What Step Functions' Catch puts at ResultPath: the error name and its cause. */
export interface CaughtError { Error: string; Cause: string }

export interface RevertResult { reverted: boolean; operationId?: string; to?: EncryptionConfig; poll: PollResult }
export interface KeyRetirement { keyArn?: string; action: 'none' | 'scheduled-deletion' | 'retained'; deletionDate?: string; references?: string[] }

/** The compensations' results, one per undo, written as each completes (ReportLeftovers reads them). */
export interface UndoState {
  revert?: RevertResult;
  operatorKeyAccess?: { detached: boolean; deleted: boolean };
  key?: KeyRetirement;
  keyAdminRole?: { deleted: boolean };
  application?: { deleted: boolean };
  operatorRole?: { deleted: boolean; basePolicyRemoved: boolean };
}

/**
 * The execution state. The step results are the saga's ledger: what each step found, created or changed
 * (`created`, `attachedByThisRun`, `basePolicyAdded`, the application's encryption before the switch),
 * backed by the created-by tag on everything this execution creates.
 */
export interface WorkflowState {
  config: Config;
  context: Context;
  lock?: LockResult;
  operator?: OperatorResult;
  application?: ApplicationResult;
  keyAdmin?: KeyAdminResult;
  key?: KeyResult;
  operatorKeyAccess?: OperatorKeyAccessResult;
  switch?: SwitchResult;
  failure?: CaughtError;
  undo?: UndoState;
  rollbackFailure?: CaughtError;
}

/** Tag on every resource this workflow creates: it adopts only what carries it, and deletes nothing else. */
export const MANAGED_BY_TAG = { Key: MANAGED_TAG_KEY, Value: MANAGED_TAG_VALUE } as const;
/**
 * Written atomically with each creation, so it is the one ledger entry a crash cannot lose: a rollback
 * deletes a role, policy, key or application only if this execution's name is on it.
 */
export const CREATED_BY_KEY = 'msf-cmk:created-by-execution';

/** Tags for what this execution creates: ours, by this execution, plus the input's tags. */
export const creationTags = (s: Pick<WorkflowState, 'config' | 'context'>) => [
  MANAGED_BY_TAG,
  { Key: CREATED_BY_KEY, Value: s.context.executionName },
  ...Object.entries(s.config.tags).map(([Key, Value]) => ({ Key, Value })),
];
export const createdByThisExecution = (tags: { Key?: string; Value?: string }[] | undefined, s: Pick<WorkflowState, 'context'>) =>
  !!tags?.some((t) => t.Key === CREATED_BY_KEY && t.Value === s.context.executionName);

export const roleArn = (ctx: Context, cfg: Config, name: string) => `arn:${ctx.partition}:iam::${ctx.account}:role${cfg.rolePath}${name}`;
export const operatorRoleArn = (s: Pick<WorkflowState, 'config' | 'context'>) => roleArn(s.context, s.config, s.config.operatorRoleName);
export const keyAdminRoleArn = (s: Pick<WorkflowState, 'config' | 'context'>) => roleArn(s.context, s.config, s.config.keyAdminRoleName);
export const appArn = (s: Pick<WorkflowState, 'config' | 'context'>) =>
  applicationArn(s.context, s.config.applicationName);
export const aliasName = (cfg: Config) => `alias/${cfg.aliasPrefix}${cfg.applicationName}`;
/** The operator's base policy (inline, per application) and its CMK policy (managed, per application). */
export const basePolicyName = (cfg: Config) => boundedName(`msf-cmk-base-${cfg.applicationName}`);
/**
 * One CMK policy per application AND key: moving to another key adds a policy instead of rewriting the
 * old one, so the operator keeps its rights on the key it leaves until the move is verified (facts §5
 * "CMK#1 → CMK#2"). IAM names are at most 128 characters; long application names are shortened with a hash.
 */
export const cmkPolicyName = (s: Pick<WorkflowState, 'config' | 'key'>) =>
  boundedName(`msf-cmk-key-access-${s.config.applicationName}`, `-${/^[0-9a-f-]{36}$/.test(s.key?.keyId ?? '') ? s.key!.keyId.slice(0, 8) : '{new-key-id}'}`);

/** `base` + `suffix`, at most 128 characters (IAM's limit for role and policy names). */
export function boundedName(base: string, suffix = ''): string {
  if (base.length + suffix.length <= 128) return base + suffix;
  return `${base.slice(0, 128 - suffix.length - 9)}-${createHash('sha256').update(base).digest('hex').slice(0, 8)}${suffix}`;
}
export const keyAdminPolicyName = 'msf-cmk-key-administration';
