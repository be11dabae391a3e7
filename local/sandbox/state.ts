/**
 * The sandbox account as one plain JSON value: every service reads and writes here, so a test can
 * snapshot it, diff it and restore it, and `npm run sandbox` can persist it to a file.
 * Timestamps are epoch milliseconds on the sandbox clock; the protocols format them on the way out.
 */
import { isDeepStrictEqual } from 'node:util';

export interface Tag {
  Key: string;
  Value: string;
}
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
  /** The managed policy that caps the role's identity-based permissions, if any. */
  PermissionsBoundaryArn?: string;
  /** Eventual consistency: KMS key policies and STS AssumeRole see the role only from this time on. */
  VisibleAt: number;
}

export interface PolicyVersion {
  VersionId: string;
  Document: PolicyDocument;
  CreateDate: number;
}

export interface ManagedPolicy {
  PolicyName: string;
  PolicyId: string;
  Arn: string;
  Path: string;
  Description?: string;
  /** The version in force: the one authorization reads. */
  DefaultVersionId: string;
  /** Every version, oldest first (at most `VersionsPerPolicy`). */
  Versions: PolicyVersion[];
  /** The number of the last version created: version ids are never reused. */
  LastVersion: number;
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
  /** AssumeRole's session policy: the session may do at most what it and the role's policies allow. */
  Policy?: PolicyDocument;
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
  /** Symmetric keys: base64 AES-256 key material, one per generation (initial, then one per rotation); current last. */
  KeyMaterial?: string[];
  /** When automatic rotation is enabled: when it next rotates. */
  NextRotationDate?: number;
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

export interface EncryptionConfiguration {
  KeyType: 'AWS_OWNED_KEY' | 'CUSTOMER_MANAGED_KEY';
  KeyId?: string;
}

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
  ApplicationVersionRolledBackFrom?: number;
  ApplicationVersionRolledBackTo?: number;
  /** Work in flight: the status it ends in, when, and what it completes. */
  Pending?: PendingTransition;
}

/** The versioned part of an application: what an update changes and a rollback restores. */
export type ApplicationVersionState = Pick<
  Application,
  'ApplicationVersionId' | 'RuntimeEnvironment' | 'ServiceExecutionRole' | 'Configuration' | 'Encryption' | 'CloudWatchLoggingOptions'
>;

export interface PendingTransition {
  At: number;
  OperationId?: string;
  ToStatus: string;
  Outcome: 'SUCCESSFUL' | 'FAILED';
  ErrorString?: string;
  /** Applied when the transition completes (e.g. the new encryption configuration). */
  Apply?: { Encryption?: EncryptionConfiguration; ApplicationVersionId?: number };
  /** What completes: decides the follow-up (e.g. a failed restart rolls back). */
  Kind?: 'start' | 'stop' | 'force-stop' | 'update' | 'rollback' | 'delete';
  /** The application (re)starts at completion, so its keys must be usable then. */
  Restart?: boolean;
  /** Encryption of the snapshot the (re)start restores from, if any. */
  RestoreEncryption?: EncryptionConfiguration;
  /** A stop with snapshot: the encryption the snapshot is written under, which must be usable then. */
  SnapshotEncryption?: EncryptionConfiguration;
  /** The version before an update, for a system rollback. */
  Previous?: ApplicationVersionState;
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
  /** The system rollback a failed operation triggered. */
  RollbackOperationId?: string;
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
  /** While CREATING: when it becomes READY. */
  ReadyAt?: number;
}

/** Step Functions (services/stepfunctions.ts): a STANDARD state machine as CreateStateMachine stored it. */
export interface StateMachine {
  stateMachineArn: string;
  name: string;
  /** The ASL text as given (function ARNs already substituted, as CDK deploys it). */
  definition: string;
  roleArn: string;
  type: 'STANDARD';
  creationDate: number;
  tags: { key: string; value: string }[];
}

/** One GetExecutionHistory event: AWS's `type`, ids and its `<type>EventDetails` member. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** The definition it started with: a redrive runs that one, whatever UpdateStateMachine did since. */
  definition?: string;
  redriveCount?: number;
  redriveDate?: number;
  events: HistoryEvent[];
}

/** EventBridge (services/eventbridge.ts): a rule on the default bus, with its targets. */
export interface EventTarget {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
}

export interface EventRule {
  Name: string;
  Arn: string;
  EventBusName: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State: 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
  Description?: string;
  RoleArn?: string;
  CreatedBy: string;
  Targets: EventTarget[];
}

/** A custom event bus (the default bus is implicit until it gets a policy). */
export interface EventBus {
  Name: string;
  Arn: string;
  Description?: string;
  /** The resource policy as JSON text, as DescribeEventBus returns it. */
  Policy?: string;
  CreationTime?: number;
  LastModifiedTime?: number;
}

/** A delivery that failed for good (what AWS sends to the target's dead-letter queue). */
export interface FailedInvocation {
  Time: number;
  EventId: string;
  RuleArn: string;
  TargetId: string;
  TargetArn: string;
  ErrorCode: string;
  ErrorMessage: string;
  DeadLetterArn?: string;
  /** Why the event could not be put on the dead-letter queue, if it could not. */
  DeadLetterError?: string;
}

/** Lambda (services/lambda.ts): a function's configuration; its code stays where CodeLocation says. */
export interface LambdaFunction {
  FunctionName: string;
  FunctionArn: string;
  Runtime: string;
  Role: string;
  Handler: string;
  Description: string;
  Timeout: number;
  MemorySize: number;
  Environment: Record<string, string>;
  TracingMode: 'Active' | 'PassThrough';
  LoggingConfig?: { LogGroup?: string; LogFormat?: string; ApplicationLogLevel?: string; SystemLogLevel?: string };
  Architectures: string[];
  LastModified: number;
  RevisionId: string;
  Tags: Record<string, string>;
  /** The folder the handler is loaded from (a .zip package is unpacked to one). */
  CodeLocation: string;
  CodeSha256: string;
  CodeSize: number;
}

/** CloudWatch Logs (services/logs.ts): a log group; its events are output, kept outside the state. */
export interface LogGroup {
  logGroupName: string;
  arn: string;
  creationTime: number;
  retentionInDays?: number;
  kmsKeyId?: string;
  tags: Record<string, string>;
}

/** SQS (services/sqs.ts): a standard queue and its messages. */
export interface Queue {
  QueueName: string;
  QueueArn: string;
  Attributes: Record<string, string>;
  Tags: Record<string, string>;
  CreatedTimestamp: number;
  LastModifiedTimestamp: number;
  Messages: {
    MessageId: string;
    Body: string;
    MD5OfBody: string;
    SentAt: number;
    VisibleAt: number;
    ReceiptHandle?: string;
    MessageAttributes: Record<string, unknown>;
  }[];
}

/** Security Hub (services/securityhub.ts): a finding as imported (ASFF), with what Security Hub adds. */
export type SecurityHubFinding = Record<string, unknown> & { Id: string; ProductArn: string; UpdatedAt: string };

/** A CloudFormation stack the template deployer made (deploy.ts): what it made, for updates and deletes. */
export interface Stack {
  StackName: string;
  StackId: string;
  /** Logical id → the resource as deployed (its type, physical id, attributes and resolved properties). */
  Resources: Record<string, { Type: string; PhysicalResourceId: string; Attributes: Record<string, string>; Properties: Record<string, unknown> }>;
  Outputs: Record<string, string>;
  Parameters: Record<string, string>;
  /** Logical id → DeletionPolicy, for the resources that have one (Retain keeps a removed resource). */
  DeletionPolicies: Record<string, string>;
  LastUpdatedTime: number;
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
  /** Optional so state files written before these services load; the services create them on first use. */
  stepfunctions?: { stateMachines: Record<string, StateMachine>; executions: Record<string, Execution> };
  events?: { rules: Record<string, EventRule>; failedInvocations: FailedInvocation[]; buses?: Record<string, EventBus> };
  lambda?: { functions: Record<string, LambdaFunction> };
  logs?: { groups: Record<string, LogGroup> };
  sqs?: { queues: Record<string, Queue> };
  /** Findings by `<ProductArn> <Id>`, the pair that identifies one. */
  securityhub?: { findings: Record<string, SecurityHubFinding> };
  cloudformation?: { stacks: Record<string, Stack> };
  /** DynamoDB's tables and items as the backend holds them, mirrored after each write (services/dynamodb.ts). */
  dynamodb?: { tables: Record<string, { definition: Record<string, unknown>; items: Record<string, Record<string, unknown>> }> };
}

export function emptyState(account: string, region: string): SandboxState {
  return {
    account,
    region,
    iam: { roles: {}, policies: {} },
    sts: { sessions: {} },
    kms: { keys: {}, aliases: {}, grants: {} },
    kinesisanalytics: { applications: {}, operations: {}, snapshots: {} },
    stepfunctions: { stateMachines: {}, executions: {} },
    events: { rules: {}, failedInvocations: [], buses: {} },
    lambda: { functions: {} },
    logs: { groups: {} },
    sqs: { queues: {} },
    securityhub: { findings: {} },
    cloudformation: { stacks: {} },
    dynamodb: { tables: {} },
  };
}

export const snapshotState = (s: SandboxState): SandboxState => structuredClone(s);

export interface StateChange {
  path: string;
  before: unknown;
  after: unknown;
}

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
