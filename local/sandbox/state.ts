/**
 * The sandbox account as one plain JSON value: every service reads and writes here, so a test can
 * snapshot it, diff it and restore it, and `npm run sandbox` can persist it to a file.
 * Timestamps are epoch milliseconds on the sandbox clock; the protocols format them on the way out.
 */
import { isDeepStrictEqual } from 'node:util';

export interface Tag { Key: string; Value: string }
export type PolicyDocument = Record<string, unknown>;

export interface Role {
  RoleName: string;
  RoleId: string;
  Arn: string;
  Path: string;
  CreateDate: number;
  Description?: string;
  MaxSessionDuration: number;
  AssumeRolePolicyDocument: PolicyDocument;
  Tags: Tag[];
  /** Inline policies by name. */
  InlinePolicies: Record<string, PolicyDocument>;
  AttachedPolicyArns: string[];
  /** Eventual consistency: KMS key policies and STS AssumeRole see the role only from this time on. */
  VisibleAt: number;
}

export interface ManagedPolicy {
  PolicyName: string;
  PolicyId: string;
  Arn: string;
  Path: string;
  Description?: string;
  DefaultVersionId: string;
  Document: PolicyDocument;
  CreateDate: number;
  UpdateDate: number;
  Tags: Tag[];
}

export interface Session {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  RoleArn: string;
  RoleId: string;
  RoleSessionName: string;
  Expiration: number;
}

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface Key {
  KeyId: string;
  Arn: string;
  AWSAccountId: string;
  Region: string;
  CreationDate: number;
  Description: string;
  KeyState: KeyState;
  KeySpec: string;
  KeyUsage: string;
  Origin: 'AWS_KMS';
  MultiRegion: boolean;
  Policy: string;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  Tags: { TagKey: string; TagValue: string }[];
  RotationEnabled: boolean;
  RotationPeriodInDays?: number;
  /** On-demand and automatic rotations, newest last. */
  Rotations: { RotationDate: number; RotationType: 'ON_DEMAND' | 'AUTOMATIC' }[];
}

export interface Alias {
  AliasName: string;
  AliasArn: string;
  TargetKeyId: string;
  CreationDate: number;
  LastUpdatedDate: number;
}

export interface Grant {
  GrantId: string;
  GrantToken: string;
  KeyId: string;
  Name?: string;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  IssuingAccount: string;
  Operations: string[];
  Constraints?: { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string> };
  CreationDate: number;
}

export interface EncryptionConfiguration { KeyType: 'AWS_OWNED_KEY' | 'CUSTOMER_MANAGED_KEY'; KeyId?: string }

export interface Application {
  ApplicationName: string;
  ApplicationARN: string;
  ApplicationDescription?: string;
  RuntimeEnvironment: string;
  ServiceExecutionRole: string;
  ApplicationMode: 'STREAMING' | 'INTERACTIVE';
  ApplicationStatus: string;
  ApplicationVersionId: number;
  ConditionalToken: string;
  CreateTimestamp: number;
  LastUpdateTimestamp: number;
  /** ApplicationConfigurationDescription without the encryption part (code, properties, snapshots…). */
  Configuration: Record<string, unknown>;
  Encryption: EncryptionConfiguration;
  CloudWatchLoggingOptions?: Record<string, unknown>[];
  Tags: Tag[];
  ApplicationVersionUpdatedFrom?: number;
  /** Work in flight: the status it ends in, when, and what it completes. */
  Pending?: PendingTransition;
}

export interface PendingTransition {
  At: number;
  OperationId?: string;
  ToStatus: string;
  Outcome: 'SUCCESSFUL' | 'FAILED';
  ErrorString?: string;
  /** Applied when the transition completes (e.g. the new encryption configuration). */
  Apply?: { Encryption?: EncryptionConfiguration; ApplicationVersionId?: number };
}

export interface ApplicationOperation {
  OperationId: string;
  ApplicationName: string;
  Operation: string;
  OperationStatus: 'IN_PROGRESS' | 'SUCCESSFUL' | 'FAILED' | 'CANCELLED';
  StartTime: number;
  EndTime?: number;
  ApplicationVersionUpdatedFrom?: number;
  ApplicationVersionUpdatedTo?: number;
  ErrorString?: string;
}

export interface ApplicationSnapshot {
  SnapshotName: string;
  ApplicationName: string;
  SnapshotStatus: 'CREATING' | 'READY' | 'DELETING' | 'FAILED';
  ApplicationVersionId: number;
  SnapshotCreationTimestamp: number;
  RuntimeEnvironment: string;
  /** The encryption configuration in force when the snapshot was taken (facts §6). */
  Encryption: EncryptionConfiguration;
}

export interface SandboxState {
  account: string;
  region: string;
  iam: { roles: Record<string, Role>; policies: Record<string, ManagedPolicy> };
  sts: { sessions: Record<string, Session> };
  kms: { keys: Record<string, Key>; aliases: Record<string, Alias>; grants: Record<string, Grant> };
  kinesisanalytics: {
    applications: Record<string, Application>;
    operations: Record<string, ApplicationOperation>;
    snapshots: Record<string, ApplicationSnapshot>;
  };
}

export function emptyState(account: string, region: string): SandboxState {
  return {
    account,
    region,
    iam: { roles: {}, policies: {} },
    sts: { sessions: {} },
    kms: { keys: {}, aliases: {}, grants: {} },
    kinesisanalytics: { applications: {}, operations: {}, snapshots: {} },
  };
}

export const snapshotState = (s: SandboxState): SandboxState => structuredClone(s);

export interface StateChange { path: string; before: unknown; after: unknown }

/**
 * Paths (dot-separated, down to the first differing record) whose values differ between two states.
 * STS sessions are credentials, not account resources, so they are left out: a run that only
 * assumed roles changed nothing.
 */
export function diffState(before: SandboxState, after: SandboxState): StateChange[] {
  const changes: StateChange[] = [];
  const walk = (a: unknown, b: unknown, path: string, depth: number) => {
    if (isDeepStrictEqual(a, b)) return;
    const isRecord = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (depth < 3 && isRecord(a) && isRecord(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of keys) walk((a as any)[k], (b as any)[k], path ? `${path}.${k}` : k, depth + 1);
      return;
    }
    changes.push({ path, before: a, after: b });
  };
  const strip = ({ sts: _sts, ...rest }: SandboxState) => rest;
  walk(strip(before), strip(after), '', 0);
  return changes;
}
