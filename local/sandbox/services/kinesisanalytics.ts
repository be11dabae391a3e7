/**
 * Managed Service for Apache Flink (`kinesisanalyticsv2`, JSON 1.1 `KinesisAnalytics_20180523.*`):
 * applications, their asynchronous status changes and operations, snapshots, tags, and MSF's rules
 * for customer managed keys (facts §4–§7). Every choice AWS does not document is listed in
 * docs/sandbox.md ("Fidelity").
 *
 * Life cycle (facts §6): work in flight is an `Application.Pending` transition that `tick` completes
 * on the sandbox clock. Whatever (re)starts the application or writes a snapshot checks its keys at
 * completion, so a key disabled after the call makes the operation FAILED and the application roll
 * back (facts §6 [RB]), and a snapshot under it FAILED; a RUNNING application keeps running meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { AwsError, validationError } from '../errors';
import { findRole, isForeignKeyArn, resolveKey } from '../lookup';
import { epochSeconds } from '../protocols/json';
import type { Principal, Sandbox, Service } from '../sandbox';
import type {
  Application,
  ApplicationOperation,
  ApplicationSnapshot,
  ApplicationVersionState,
  EncryptionConfiguration,
  Key,
  PendingTransition,
  PolicyDocument,
  Tag,
} from '../state';

const SERVICE_PRINCIPAL = 'kinesisanalytics.amazonaws.com';
const INFRASTRUCTURE_PRINCIPAL = 'infrastructure.kinesisanalytics.amazonaws.com';
const ENCRYPTION_CONTEXT_KEY = 'kms:EncryptionContext:aws:kinesisanalytics:arn';
const MAX_TAGS = 50;

/** Statuses in which the application is busy: any call that needs it is refused (facts §6). */
const BUSY = new Set(['STARTING', 'STOPPING', 'FORCE_STOPPING', 'UPDATING', 'ROLLING_BACK', 'DELETING']);
/** StopApplication with Force also works while these are in flight (API_StopApplication). */
const FORCE_STOPPABLE = new Set(['RUNNING', 'STARTING', 'UPDATING', 'STOPPING']);

const RUNTIMES = [
  'FLINK-1_6',
  'FLINK-1_8',
  'FLINK-1_11',
  'FLINK-1_13',
  'FLINK-1_15',
  'FLINK-1_18',
  'FLINK-1_19',
  'FLINK-1_20',
  'FLINK-2_2',
  'FLINK-2_3',
  'SQL-1_0',
  'ZEPPELIN-FLINK-1_0',
  'ZEPPELIN-FLINK-2_0',
  'ZEPPELIN-FLINK-3_0',
];
const KEY_TYPES = ['AWS_OWNED_KEY', 'CUSTOMER_MANAGED_KEY'];
const AWS_OWNED: EncryptionConfiguration = { KeyType: 'AWS_OWNED_KEY' };

// ---------------------------------------------------------------------------------------------
// Errors (facts §7: MSF's modelled exceptions)

const invalidArgument = (m: string) => new AwsError('InvalidArgumentException', m);
const invalidConfiguration = (m: string) => new AwsError('InvalidApplicationConfigurationException', m);
const resourceInUse = (m: string) => new AwsError('ResourceInUseException', m);
const notFound = (m: string) => new AwsError('ResourceNotFoundException', m);
const appNotFound = (name: string) => notFound(`Application ${name} is not found.`);

// ---------------------------------------------------------------------------------------------
// Customer managed key rules (facts §1, §3, §4, §6, §7)

/** CMK needs Flink 1.20 or newer (facts §6). */
export function runtimeSupportsCmk(runtime: string): boolean {
  const m = /^FLINK-(\d+)_(\d+)$/.exec(runtime);
  return !!m && (Number(m[1]) > 1 || Number(m[2]) >= 20);
}

const viaService = (sandbox: Sandbox) => `kinesisanalytics.${sandbox.region}.amazonaws.com`;

function keyPolicyOf(key: Key): PolicyDocument | undefined {
  try {
    return JSON.parse(key.Policy) as PolicyDocument;
  } catch {
    return undefined;
  }
}

/** The KMS requests MSF makes with the caller's rights while configuring the key (facts §3 operator statements, §4). */
function callerRequests(sandbox: Sandbox, caller: Principal, appArn: string): [string, Record<string, string | string[]>][] {
  const base = { 'kms:ViaService': viaService(sandbox), 'kms:CallerAccount': caller.account };
  const withContext = { ...base, [ENCRYPTION_CONTEXT_KEY]: appArn };
  return [
    ['kms:DescribeKey', base],
    ['kms:GenerateDataKey', withContext],
    ['kms:Decrypt', withContext],
    ['kms:CreateGrant', { ...withContext, 'kms:GrantOperations': ['Decrypt'], 'kms:GrantConstraintType': 'EncryptionContextSubset' }],
  ];
}

/** The KMS requests the two service principals make for the application (facts §3 service statements). */
function serviceRequests(sandbox: Sandbox, appArn: string): [string, string, Record<string, string | string[]>][] {
  const source = { 'aws:SourceArn': appArn, 'aws:SourceAccount': sandbox.account };
  const context = { [ENCRYPTION_CONTEXT_KEY]: appArn };
  const grant = { ...context, 'kms:GrantOperations': ['Decrypt'], 'kms:GrantConstraintType': 'EncryptionContextSubset' };
  return [
    [SERVICE_PRINCIPAL, 'kms:DescribeKey', source],
    [SERVICE_PRINCIPAL, 'kms:GenerateDataKey', { ...source, ...context }],
    [SERVICE_PRINCIPAL, 'kms:Decrypt', context],
    [INFRASTRUCTURE_PRINCIPAL, 'kms:DescribeKey', source],
    [INFRASTRUCTURE_PRINCIPAL, 'kms:Decrypt', context],
    [INFRASTRUCTURE_PRINCIPAL, 'kms:GenerateDataKeyWithoutPlaintext', context],
    [INFRASTRUCTURE_PRINCIPAL, 'kms:CreateGrant', grant],
  ];
}

/** The key itself: exists here, Enabled, symmetric encryption (facts §1, §6, §7). */
function keyDefects(sandbox: Sandbox, keyRef: string): { key?: Key; problems: string[] } {
  if (isForeignKeyArn(sandbox.state, keyRef)) {
    return { problems: [`KMS key ${keyRef} is not in the application's account ${sandbox.account} and Region ${sandbox.region}`] };
  }
  const key = resolveKey(sandbox.state, keyRef);
  if (!key) return { problems: [`KMS key ${keyRef} does not exist in account ${sandbox.account} and Region ${sandbox.region}`] };
  const problems: string[] = [];
  if (key.KeyState !== 'Enabled') problems.push(`KMS key ${key.Arn} is ${key.KeyState}; the key must be Enabled`);
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT' || key.KeyUsage !== 'ENCRYPT_DECRYPT') {
    problems.push(
      `KMS key ${key.Arn} has KeySpec ${key.KeySpec} and KeyUsage ${key.KeyUsage}; a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) is required`,
    );
  }
  return { key, problems };
}

/** A key policy that leaves the decision to IAM: to ask what the caller's identity policies alone allow. */
const identityDecides = (sandbox: Sandbox): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${sandbox.account}:root` }, Action: 'kms:*', Resource: '*' }],
});

/**
 * What the caller may not do with the key through MSF (facts §4): (a) its IAM policy must allow the key,
 * and (b) KMS's own evaluation, key policy first, must allow the caller — both, so a key policy naming the
 * operator does not stand in for the operator's IAM policy.
 */
function callerDenials(sandbox: Sandbox, caller: Principal, appArn: string, key: Key): string[] {
  const resourcePolicy = keyPolicyOf(key);
  return callerRequests(sandbox, caller, appArn).flatMap(([action, request]) => {
    // KMS evaluates every request on a key with the key's tags (aws:ResourceTag/<k>).
    const context = { ...keyTags(key), ...request };
    const result = sandbox.evaluate(caller, action, key.Arn, { resourcePolicy, context });
    const byIam = sandbox.evaluate(caller, action, key.Arn, { resourcePolicy: identityDecides(sandbox), context });
    if (result.decision === 'Allowed' && byIam.decision === 'Allowed') return [];
    const why =
      result.decision === 'ExplicitlyDenied'
        ? `an explicit deny in a ${result.deniedBy === 'resource' ? 'key' : 'IAM'} policy`
        : result.decision !== 'Allowed'
          ? 'neither the key policy nor an IAM policy it delegates to allows it'
          : 'no IAM policy of the caller allows it (MSF requires the IAM policy as well as the key policy)';
    return [`${caller.arn} is not authorized to perform ${action} on ${key.Arn} via ${viaService(sandbox)} for ${appArn}: ${why}`];
  });
}

/** `aws:ResourceTag/<k>` of a key, as KMS adds them to every request's context. */
const keyTags = (key: Key): Record<string, string> => Object.fromEntries(key.Tags.map((t) => [`aws:ResourceTag/${t.TagKey}`, t.TagValue]));

/** What the service principals may not do with the key for this application (facts §1, §4 (c)). */
function serviceDenials(sandbox: Sandbox, appArn: string, key: Key): string[] {
  const resourcePolicy = keyPolicyOf(key);
  return serviceRequests(sandbox, appArn).flatMap(([principal, action, request]) =>
    sandbox.evaluate(principal, action, key.Arn, { resourcePolicy, context: { ...keyTags(key), ...request } }).decision === 'Allowed'
      ? []
      : [`The key policy of ${key.Arn} does not allow ${principal} to perform ${action} for ${appArn}`],
  );
}

/**
 * Why `caller` cannot put the application `appArn` on the key `keyRef` (id, ARN, alias name or alias
 * ARN); empty when the key is usable. Runtime rules are not part of it (see `runtimeSupportsCmk`).
 */
export function cmkProblems(sandbox: Sandbox, caller: Principal, appArn: string, keyRef: string): string[] {
  const { key, problems } = keyDefects(sandbox, keyRef);
  return key ? [...problems, ...callerDenials(sandbox, caller, appArn, key), ...serviceDenials(sandbox, appArn, key)] : problems;
}

/**
 * Why MSF itself cannot use an encryption configuration right now, to restore state at a (re)start or
 * to write a snapshot; empty for AWS owned keys.
 */
function serviceKeyProblems(sandbox: Sandbox, appArn: string, encryption: EncryptionConfiguration | undefined): string[] {
  if (encryption?.KeyType !== 'CUSTOMER_MANAGED_KEY' || !encryption.KeyId) return [];
  const { key, problems } = keyDefects(sandbox, encryption.KeyId);
  return key ? [...problems, ...serviceDenials(sandbox, appArn, key)] : problems;
}

/**
 * The CMK rules for a change from `from` to `to` encryption, all checked before anything changes
 * (facts §4–§7): key shape/state/location and runtime → InvalidArgumentException; missing rights of
 * the caller (on every CMK involved, old and new: facts §5, §7) or of the service principals →
 * InvalidApplicationConfigurationException.
 */
function assertCmkUsable(
  sandbox: Sandbox,
  caller: Principal,
  appArn: string,
  runtime: string,
  from: EncryptionConfiguration | undefined,
  to: EncryptionConfiguration,
): void {
  const invalid: string[] = [];
  const denied: string[] = [];
  if (to.KeyType === 'CUSTOMER_MANAGED_KEY') {
    if (!runtimeSupportsCmk(runtime)) invalid.push(`Customer managed keys require runtime FLINK-1_20 or later, but the application uses ${runtime}`);
    const { key, problems } = keyDefects(sandbox, to.KeyId!);
    invalid.push(...problems);
    if (key) denied.push(...callerDenials(sandbox, caller, appArn, key), ...serviceDenials(sandbox, appArn, key));
  }
  // Leaving or restarting under a CMK needs the caller's rights on it too; a key that is gone cannot be checked.
  const old = from?.KeyType === 'CUSTOMER_MANAGED_KEY' && from.KeyId !== to.KeyId ? resolveKey(sandbox.state, from.KeyId) : undefined;
  if (old) denied.push(...callerDenials(sandbox, caller, appArn, old));
  if (invalid.length) throw invalidArgument(`Invalid encryption configuration for ${appArn}: ${invalid.join('; ')}.`);
  if (denied.length) throw invalidConfiguration(`Cannot use the KMS key for ${appArn}: ${denied.join('; ')}.`);
}

/** The caller's rights on the application's CMK, for operations that use it (Start, Stop, CreateApplicationSnapshot: facts §7). */
function assertCallerMayUseKey(sandbox: Sandbox, caller: Principal, app: Application): void {
  if (app.Encryption.KeyType !== 'CUSTOMER_MANAGED_KEY') return;
  const key = resolveKey(sandbox.state, app.Encryption.KeyId);
  const denied = key ? callerDenials(sandbox, caller, app.ApplicationARN, key) : [];
  if (denied.length) throw invalidConfiguration(`Cannot use the KMS key for ${app.ApplicationARN}: ${denied.join('; ')}.`);
}

// ---------------------------------------------------------------------------------------------
// Input validation (shape constraints, answered like AWS's framework: ValidationException)

function requireString(input: any, field: string, pattern?: RegExp, max = 2048): string {
  const value = input[field];
  const member = field[0].toLowerCase() + field.slice(1);
  if (typeof value !== 'string' || value.length === 0) {
    throw validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  if (value.length > max)
    throw validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  if (pattern && !pattern.test(value)) {
    throw validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
  }
  return value;
}

function requireEnum(value: unknown, member: string, allowed: string[]): string {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value;
}

const APP_NAME = /^[a-zA-Z0-9_.-]+$/;
const ROLE_ARN = /^arn:.*$/;
const appName = (input: any) => requireString(input, 'ApplicationName', APP_NAME, 128);

function validateTags(tags: unknown): Tag[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t?.Key !== 'string' || !t.Key))
    throw validationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null");
  if (tags.length > MAX_TAGS) throw new AwsError('TooManyTagsException', `The number of tags exceeds the limit of ${MAX_TAGS}.`);
  return tags.map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
}

// ---------------------------------------------------------------------------------------------
// Configuration: request shapes → description shapes

/** `{XUpdate: v}` → `{X: v}`, recursively, merged into the current description (Flink settings). */
function mergeUpdate(current: Record<string, any> | undefined, update: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...current };
  for (const [k, v] of Object.entries(update)) {
    const name = k.replace(/Update$/, '').replace(/Configuration$/, 'ConfigurationDescription');
    out[name] = v && typeof v === 'object' && !Array.isArray(v) ? mergeUpdate(out[name], v) : v;
  }
  return out;
}

function codeDescription(content: any, type: string | undefined): Record<string, unknown> {
  const s3 = content?.S3ContentLocation;
  return {
    CodeContentType: type,
    CodeContentDescription: s3
      ? { S3ApplicationCodeLocationDescription: { BucketARN: s3.BucketARN, FileKey: s3.FileKey, ObjectVersion: s3.ObjectVersion } }
      : content?.TextContent !== undefined
        ? { TextContent: content.TextContent }
        : {},
  };
}

/** CreateApplication's ApplicationConfiguration as DescribeApplication shows it (encryption aside). */
function describeConfiguration(config: any = {}): Record<string, any> {
  const out: Record<string, any> = {
    // Assumed defaults: snapshots on (the console default), system rollback off (opt-in, facts §6).
    ApplicationSnapshotConfigurationDescription: { SnapshotsEnabled: config.ApplicationSnapshotConfiguration?.SnapshotsEnabled ?? true },
    ApplicationSystemRollbackConfigurationDescription: { RollbackEnabled: config.ApplicationSystemRollbackConfiguration?.RollbackEnabled ?? false },
    FlinkApplicationConfigurationDescription: mergeUpdate(
      {
        CheckpointConfigurationDescription: {
          ConfigurationType: 'DEFAULT',
          CheckpointingEnabled: true,
          CheckpointInterval: 60000,
          MinPauseBetweenCheckpoints: 5000,
        },
        MonitoringConfigurationDescription: { ConfigurationType: 'DEFAULT', MetricsLevel: 'APPLICATION', LogLevel: 'INFO' },
        ParallelismConfigurationDescription: {
          ConfigurationType: 'DEFAULT',
          Parallelism: 1,
          ParallelismPerKPU: 1,
          CurrentParallelism: 1,
          AutoScalingEnabled: false,
        },
      },
      config.FlinkApplicationConfiguration ?? {},
    ),
  };
  if (config.ApplicationCodeConfiguration) {
    out.ApplicationCodeConfigurationDescription = codeDescription(
      config.ApplicationCodeConfiguration.CodeContent,
      config.ApplicationCodeConfiguration.CodeContentType,
    );
  }
  if (config.EnvironmentProperties) out.EnvironmentPropertyDescriptions = { PropertyGroupDescriptions: config.EnvironmentProperties.PropertyGroups ?? [] };
  return out;
}

/** ApplicationConfigurationUpdate (encryption aside) applied to a description. */
function updateConfiguration(current: Record<string, any>, update: any = {}): Record<string, any> {
  const out = structuredClone(current);
  if (update.ApplicationSnapshotConfigurationUpdate?.SnapshotsEnabledUpdate !== undefined) {
    out.ApplicationSnapshotConfigurationDescription = { SnapshotsEnabled: update.ApplicationSnapshotConfigurationUpdate.SnapshotsEnabledUpdate };
  }
  if (update.ApplicationSystemRollbackConfigurationUpdate?.RollbackEnabledUpdate !== undefined) {
    out.ApplicationSystemRollbackConfigurationDescription = { RollbackEnabled: update.ApplicationSystemRollbackConfigurationUpdate.RollbackEnabledUpdate };
  }
  if (update.FlinkApplicationConfigurationUpdate) {
    out.FlinkApplicationConfigurationDescription = mergeUpdate(out.FlinkApplicationConfigurationDescription, update.FlinkApplicationConfigurationUpdate);
  }
  const code = update.ApplicationCodeConfigurationUpdate;
  if (code) {
    const c = code.CodeContentUpdate ?? {};
    const s3 = c.S3ContentLocationUpdate;
    const current = out.ApplicationCodeConfigurationDescription?.CodeContentDescription?.S3ApplicationCodeLocationDescription ?? {};
    const content = s3
      ? {
          S3ContentLocation: {
            BucketARN: s3.BucketARNUpdate ?? current.BucketARN,
            FileKey: s3.FileKeyUpdate ?? current.FileKey,
            ObjectVersion: s3.ObjectVersionUpdate ?? current.ObjectVersion,
          },
        }
      : c.TextContentUpdate !== undefined
        ? { TextContent: c.TextContentUpdate }
        : undefined;
    out.ApplicationCodeConfigurationDescription = content
      ? codeDescription(content, code.CodeContentTypeUpdate ?? out.ApplicationCodeConfigurationDescription?.CodeContentType)
      : {
          ...out.ApplicationCodeConfigurationDescription,
          CodeContentType: code.CodeContentTypeUpdate ?? out.ApplicationCodeConfigurationDescription?.CodeContentType,
        };
  }
  if (update.EnvironmentPropertyUpdates)
    out.EnvironmentPropertyDescriptions = { PropertyGroupDescriptions: update.EnvironmentPropertyUpdates.PropertyGroups ?? [] };
  return out;
}

/** The requested encryption (create or update shape), checked for the KeyType/KeyId combination (facts §5, §9.3). */
function requestedEncryption(keyType: unknown, keyId: unknown, member: string): EncryptionConfiguration {
  const type = requireEnum(keyType, `${member}.keyType`, KEY_TYPES) as EncryptionConfiguration['KeyType'];
  if (type === 'CUSTOMER_MANAGED_KEY') {
    if (typeof keyId !== 'string' || !keyId) throw invalidArgument('A KeyId is required when KeyType is CUSTOMER_MANAGED_KEY.');
    return { KeyType: type, KeyId: keyId };
  }
  if (keyId !== undefined && keyId !== null) throw invalidArgument('A KeyId must not be specified when KeyType is AWS_OWNED_KEY.');
  return AWS_OWNED;
}

// ---------------------------------------------------------------------------------------------
// State helpers

const apps = (sandbox: Sandbox) => sandbox.state.kinesisanalytics.applications;
const appArnOf = (sandbox: Sandbox, name: string) => `arn:aws:kinesisanalytics:${sandbox.region}:${sandbox.account}:application/${name}`;
const snapshotKey = (app: string, snapshot: string) => `${app}/${snapshot}`;
const newToken = () => randomBytes(16).toString('hex');

function resourceTags(app: Application | undefined): Record<string, string> {
  return Object.fromEntries((app?.Tags ?? []).map((t) => [`aws:ResourceTag/${t.Key}`, t.Value]));
}

function requestTags(tags: Tag[]): Record<string, string | string[]> {
  return tags.length ? { ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value])), 'aws:TagKeys': tags.map((t) => t.Key) } : {};
}

/** Authorizes an application-level action (resource = the application ARN, as AWS does), then finds the application. */
function authorizedApp(sandbox: Sandbox, caller: Principal, action: string, name: string, context: Record<string, string | string[]> = {}): Application {
  const app = apps(sandbox)[name];
  sandbox.authorize('kinesisanalytics', caller, `kinesisanalytics:${action}`, appArnOf(sandbox, name), { context: { ...resourceTags(app), ...context } });
  if (!app) throw appNotFound(name);
  return app;
}

function assertNotBusy(app: Application): void {
  if (BUSY.has(app.ApplicationStatus))
    throw resourceInUse(`Application ${app.ApplicationName} is in ${app.ApplicationStatus} status; wait until it is READY or RUNNING.`);
}

/** The execution role must be passable by the caller and assumable by MSF. */
function assertServiceExecutionRole(sandbox: Sandbox, caller: Principal, roleArn: string): void {
  sandbox.authorize('kinesisanalytics', caller, 'iam:PassRole', roleArn, { context: { 'iam:PassedToService': SERVICE_PRINCIPAL } });
  const role = findRole(sandbox.state, roleArn);
  const assumable =
    role &&
    sandbox.isRoleVisible(roleArn) &&
    sandbox.evaluate(SERVICE_PRINCIPAL, 'sts:AssumeRole', role.Arn, {
      resourcePolicy: role.AssumeRolePolicyDocument,
      context: { 'aws:SourceAccount': sandbox.account },
    }).decision === 'Allowed';
  if (!assumable) throw invalidArgument(`Kinesis Analytics service doesn't have sufficient privileges to assume the role ${roleArn}.`);
}

function versionState(app: Application): ApplicationVersionState {
  const { ApplicationVersionId, RuntimeEnvironment, ServiceExecutionRole, Configuration, Encryption, CloudWatchLoggingOptions } = structuredClone(app);
  return { ApplicationVersionId, RuntimeEnvironment, ServiceExecutionRole, Configuration, Encryption, CloudWatchLoggingOptions };
}

function startOperation(
  sandbox: Sandbox,
  app: Application,
  operation: string,
  versions?: { from: number; to: number },
  at = sandbox.clock.now(),
): ApplicationOperation {
  const op: ApplicationOperation = {
    OperationId: sandbox.randomId('', 12),
    ApplicationName: app.ApplicationName,
    Operation: operation,
    OperationStatus: 'IN_PROGRESS',
    StartTime: at,
    ApplicationVersionUpdatedFrom: versions?.from,
    ApplicationVersionUpdatedTo: versions?.to,
  };
  sandbox.state.kinesisanalytics.operations[op.OperationId] = op;
  return op;
}

function endOperation(
  sandbox: Sandbox,
  id: string | undefined,
  status: ApplicationOperation['OperationStatus'],
  at: number,
  errorString?: string,
): ApplicationOperation | undefined {
  const op = id ? sandbox.state.kinesisanalytics.operations[id] : undefined;
  if (op && op.OperationStatus === 'IN_PROGRESS') Object.assign(op, { OperationStatus: status, EndTime: at, ErrorString: errorString });
  return op;
}

function snapshotsEnabled(app: Application): boolean {
  return (app.Configuration.ApplicationSnapshotConfigurationDescription as { SnapshotsEnabled?: boolean } | undefined)?.SnapshotsEnabled !== false;
}

/** A snapshot of the running application under the encryption in force now (facts §6). */
function takeSnapshot(sandbox: Sandbox, app: Application, name: string): ApplicationSnapshot {
  const now = sandbox.clock.now();
  const snapshot: ApplicationSnapshot = {
    SnapshotName: name,
    ApplicationName: app.ApplicationName,
    SnapshotStatus: 'CREATING',
    ApplicationVersionId: app.ApplicationVersionId,
    SnapshotCreationTimestamp: now,
    RuntimeEnvironment: app.RuntimeEnvironment,
    Encryption: { ...app.Encryption },
    ReadyAt: now + sandbox.flinkDurations.snapshot,
  };
  sandbox.state.kinesisanalytics.snapshots[snapshotKey(app.ApplicationName, name)] = snapshot;
  return snapshot;
}

/** The system snapshot MSF takes on Stop and on updates of a running application; the name is assumed. */
const systemSnapshot = (sandbox: Sandbox, app: Application) =>
  takeSnapshot(sandbox, app, `ka-app-${app.ApplicationName}-${sandbox.clock.now()}-${sandbox.randomId('', 6).toLowerCase()}`);

function snapshotsOf(sandbox: Sandbox, name: string): ApplicationSnapshot[] {
  return Object.values(sandbox.state.kinesisanalytics.snapshots)
    .filter((s) => s.ApplicationName === name)
    .sort((a, b) => b.SnapshotCreationTimestamp - a.SnapshotCreationTimestamp);
}

/** The snapshot a (re)start restores from, per ApplicationRestoreConfiguration (default: the latest READY one). */
function restoreSource(sandbox: Sandbox, app: Application, restore: any): ApplicationSnapshot | undefined {
  const type = restore?.ApplicationRestoreType ?? 'RESTORE_FROM_LATEST_SNAPSHOT';
  if (type === 'SKIP_RESTORE_FROM_SNAPSHOT') return undefined;
  if (type === 'RESTORE_FROM_CUSTOM_SNAPSHOT') {
    const snapshot = sandbox.state.kinesisanalytics.snapshots[snapshotKey(app.ApplicationName, String(restore.SnapshotName ?? ''))];
    if (!snapshot) throw notFound(`Snapshot ${restore.SnapshotName} of application ${app.ApplicationName} is not found.`);
    return snapshot;
  }
  return snapshotsOf(sandbox, app.ApplicationName).find((s) => s.SnapshotStatus === 'READY');
}

function schedule(sandbox: Sandbox, app: Application, status: string, pending: Omit<PendingTransition, 'Outcome'>): void {
  app.ApplicationStatus = status;
  app.LastUpdateTimestamp = sandbox.clock.now();
  app.Pending = { Outcome: 'SUCCESSFUL', ...pending };
}

// ---------------------------------------------------------------------------------------------
// Completing work on the clock

/** Completes one due transition; it may schedule the next (a rollback), which `tick` then sees. */
function complete(sandbox: Sandbox, app: Application): void {
  const p = app.Pending!;
  const at = p.At;
  app.Pending = undefined;
  app.LastUpdateTimestamp = at;
  if (p.Kind === 'delete') {
    const ka = sandbox.state.kinesisanalytics;
    delete ka.applications[app.ApplicationName];
    for (const [k, s] of Object.entries(ka.snapshots)) if (s.ApplicationName === app.ApplicationName) delete ka.snapshots[k];
    for (const [k, o] of Object.entries(ka.operations)) if (o.ApplicationName === app.ApplicationName) delete ka.operations[k];
    return;
  }
  // Assumed, after Flink's stop-with-savepoint: a snapshot that cannot be written fails the stop, and
  // the application keeps running (a forced stop takes no snapshot).
  const unwritable = serviceKeyProblems(sandbox, app.ApplicationARN, p.SnapshotEncryption);
  if (unwritable.length) {
    endOperation(
      sandbox,
      p.OperationId,
      'FAILED',
      at,
      `Application ${app.ApplicationName} could not take its snapshot to stop with its KMS key: ${unwritable.join('; ')}.`,
    );
    app.ApplicationStatus = 'RUNNING';
    return;
  }
  const problems = p.Restart
    ? [...serviceKeyProblems(sandbox, app.ApplicationARN, app.Encryption), ...serviceKeyProblems(sandbox, app.ApplicationARN, p.RestoreEncryption)]
    : [];
  if (!problems.length) {
    app.ApplicationStatus = p.ToStatus;
    endOperation(sandbox, p.OperationId, 'SUCCESSFUL', at);
    return;
  }
  const errorString = `Application ${app.ApplicationName} could not ${p.Kind === 'start' ? 'start' : 'restart'} with its KMS key: ${[...new Set(problems)].join('; ')}.`;
  const failed = endOperation(sandbox, p.OperationId, 'FAILED', at, errorString);
  const rollbackEnabled =
    (app.Configuration.ApplicationSystemRollbackConfigurationDescription as { RollbackEnabled?: boolean } | undefined)?.RollbackEnabled === true;
  if (p.Kind === 'update' && p.Previous && rollbackEnabled) {
    // System rollback (facts §6 [RB]): back to the previous version's configuration, as a new version.
    const rollback = startOperation(sandbox, app, 'RollbackApplication', undefined, at);
    if (failed) failed.RollbackOperationId = rollback.OperationId;
    app.ApplicationStatus = 'ROLLING_BACK';
    app.Pending = {
      At: at + (sandbox.flinkDurations.restart ?? sandbox.flinkDurations.update),
      OperationId: rollback.OperationId,
      ToStatus: 'RUNNING',
      Outcome: 'SUCCESSFUL',
      Kind: 'rollback',
      Restart: true,
      RestoreEncryption: p.RestoreEncryption,
      Previous: p.Previous,
    };
    const failedVersion = app.ApplicationVersionId;
    Object.assign(app, structuredClone(p.Previous), {
      ApplicationVersionId: failedVersion + 1,
      ConditionalToken: newToken(),
      ApplicationVersionRolledBackFrom: failedVersion,
      ApplicationVersionRolledBackTo: p.Previous.ApplicationVersionId,
    });
    return;
  }
  // A failed start, a failed rollback, or rollback off: the application is left READY (facts §6 [RB]).
  app.ApplicationStatus = 'READY';
}

function tick(sandbox: Sandbox): void {
  const now = sandbox.clock.now();
  for (const s of Object.values(sandbox.state.kinesisanalytics.snapshots)) {
    if (s.SnapshotStatus === 'CREATING' && (s.ReadyAt ?? 0) <= now) {
      // Written under the key in force when it was taken: a key MSF can no longer use fails it.
      s.SnapshotStatus = serviceKeyProblems(sandbox, appArnOf(sandbox, s.ApplicationName), s.Encryption).length ? 'FAILED' : 'READY';
      delete s.ReadyAt;
    }
  }
  for (const app of Object.values(apps(sandbox))) {
    while (app.Pending && app.Pending.At <= now && apps(sandbox)[app.ApplicationName]) complete(sandbox, app);
  }
}

// ---------------------------------------------------------------------------------------------
// Output shapes

function encryptionDescription(e: EncryptionConfiguration) {
  return e.KeyType === 'CUSTOMER_MANAGED_KEY' ? { KeyType: e.KeyType, KeyId: e.KeyId } : { KeyType: e.KeyType };
}

function applicationDetail(app: Application) {
  return {
    ApplicationARN: app.ApplicationARN,
    ApplicationDescription: app.ApplicationDescription,
    ApplicationName: app.ApplicationName,
    RuntimeEnvironment: app.RuntimeEnvironment,
    ServiceExecutionRole: app.ServiceExecutionRole,
    ApplicationStatus: app.ApplicationStatus,
    ApplicationVersionId: app.ApplicationVersionId,
    CreateTimestamp: epochSeconds(app.CreateTimestamp),
    LastUpdateTimestamp: epochSeconds(app.LastUpdateTimestamp),
    ApplicationConfigurationDescription: { ...app.Configuration, ApplicationEncryptionConfigurationDescription: encryptionDescription(app.Encryption) },
    CloudWatchLoggingOptionDescriptions: app.CloudWatchLoggingOptions,
    ApplicationMaintenanceConfigurationDescription: { ApplicationMaintenanceWindowStartTime: '06:00', ApplicationMaintenanceWindowEndTime: '14:00' },
    ApplicationVersionUpdatedFrom: app.ApplicationVersionUpdatedFrom,
    ApplicationVersionRolledBackFrom: app.ApplicationVersionRolledBackFrom,
    ApplicationVersionRolledBackTo: app.ApplicationVersionRolledBackTo,
    ConditionalToken: app.ConditionalToken,
    ApplicationMode: app.ApplicationMode,
  };
}

function snapshotDetails(s: ApplicationSnapshot) {
  return {
    SnapshotName: s.SnapshotName,
    SnapshotStatus: s.SnapshotStatus,
    ApplicationVersionId: s.ApplicationVersionId,
    SnapshotCreationTimestamp: epochSeconds(s.SnapshotCreationTimestamp),
    RuntimeEnvironment: s.RuntimeEnvironment,
    ApplicationEncryptionConfigurationDescription: encryptionDescription(s.Encryption),
  };
}

/** Limit/NextToken paging over an ordered list; the token is the next index. */
function page<T>(items: T[], input: any, maxLimit: number): { items: T[]; NextToken?: string } {
  const limit = input.Limit === undefined ? maxLimit : Number(input.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw validationError(
      `1 validation error detected: Value '${input.Limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${maxLimit}`,
    );
  }
  const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0) throw invalidArgument(`Invalid NextToken ${input.NextToken}.`);
  const end = start + limit;
  return { items: items.slice(start, end), NextToken: end < items.length ? String(end) : undefined };
}

/**
 * A creation timestamp as callers send it back: botocore (the AWS CLI) serializes JSON timestamps as
 * whole epoch seconds, the JS SDK with milliseconds, so they are compared to the second (assumed).
 */
const sameSecond = (sent: unknown, ms: number) => Math.floor(Number(sent)) === Math.floor(ms / 1000);

/** Tag operations name the application by ARN. */
function appNameFromArn(sandbox: Sandbox, arn: string): string {
  const m = /^arn:aws:kinesisanalytics:([a-z0-9-]+):(\d{12}):application\/([a-zA-Z0-9_.-]+)$/.exec(arn);
  if (!m) throw invalidArgument(`Invalid resource ARN ${arn}.`);
  if (m[1] !== sandbox.region || m[2] !== sandbox.account) throw notFound(`Resource ${arn} is not found.`);
  return m[3];
}

// ---------------------------------------------------------------------------------------------
// Operations

export const kinesisAnalyticsService: Service = {
  name: 'kinesisanalytics',
  protocol: 'json',
  targetPrefix: 'KinesisAnalytics_20180523',
  readOnly: new Set([
    'DescribeApplication',
    'ListApplications',
    'DescribeApplicationOperation',
    'ListApplicationOperations',
    'ListApplicationSnapshots',
    'DescribeApplicationSnapshot',
    'ListTagsForResource',
  ]),
  tick,
  // CloudTrail records every call and delivers it to EventBridge (facts §8): what auto-onboarding rules see.
  cloudTrail: {},
  operations: {
    CreateApplication: (input, { sandbox, caller }) => {
      const name = appName(input);
      const runtime = requireEnum(input.RuntimeEnvironment, 'runtimeEnvironment', RUNTIMES);
      const roleArn = requireString(input, 'ServiceExecutionRole', ROLE_ARN);
      const mode = input.ApplicationMode === undefined ? 'STREAMING' : requireEnum(input.ApplicationMode, 'applicationMode', ['STREAMING', 'INTERACTIVE']);
      const tags = validateTags(input.Tags);
      // CreateApplication has no resource type: IAM evaluates it on `*` (service authorization reference).
      sandbox.authorize('kinesisanalytics', caller, 'kinesisanalytics:CreateApplication', '*', { context: requestTags(tags) });
      assertServiceExecutionRole(sandbox, caller, roleArn);
      if (apps(sandbox)[name]) throw resourceInUse(`Application ${name} already exists.`);
      const appArn = appArnOf(sandbox, name);
      const enc = input.ApplicationConfiguration?.ApplicationEncryptionConfiguration;
      const encryption = enc ? requestedEncryption(enc.KeyType, enc.KeyId, 'applicationConfiguration.applicationEncryptionConfiguration') : AWS_OWNED;
      assertCmkUsable(sandbox, caller, appArn, runtime, undefined, encryption);
      const now = sandbox.clock.now();
      const app: Application = {
        ApplicationName: name,
        ApplicationARN: appArn,
        ApplicationDescription: input.ApplicationDescription,
        RuntimeEnvironment: runtime,
        ServiceExecutionRole: roleArn,
        ApplicationMode: mode as Application['ApplicationMode'],
        ApplicationStatus: 'READY',
        ApplicationVersionId: 1,
        ConditionalToken: newToken(),
        CreateTimestamp: now,
        LastUpdateTimestamp: now,
        Configuration: describeConfiguration(input.ApplicationConfiguration),
        Encryption: encryption,
        CloudWatchLoggingOptions: (input.CloudWatchLoggingOptions ?? []).map((o: any, i: number) => ({
          CloudWatchLoggingOptionId: `${i + 1}.1`,
          LogStreamARN: o.LogStreamARN,
        })),
        Tags: tags,
      };
      apps(sandbox)[name] = app;
      return { ApplicationDetail: applicationDetail(app) };
    },

    DescribeApplication: (input, { sandbox, caller }) => {
      // IncludeAdditionalDetails adds job-plan details AWS computes from the running job; nothing to add here.
      return { ApplicationDetail: applicationDetail(authorizedApp(sandbox, caller, 'DescribeApplication', appName(input))) };
    },

    ListApplications: (input, { sandbox, caller }) => {
      sandbox.authorize('kinesisanalytics', caller, 'kinesisanalytics:ListApplications', '*');
      const all = Object.values(apps(sandbox)).sort((a, b) => a.ApplicationName.localeCompare(b.ApplicationName));
      const { items, NextToken } = page(all, input, 50);
      return {
        ApplicationSummaries: items.map((a) => ({
          ApplicationName: a.ApplicationName,
          ApplicationARN: a.ApplicationARN,
          ApplicationStatus: a.ApplicationStatus,
          ApplicationVersionId: a.ApplicationVersionId,
          RuntimeEnvironment: a.RuntimeEnvironment,
          ApplicationMode: a.ApplicationMode,
        })),
        NextToken,
      };
    },

    UpdateApplication: (input, { sandbox, caller }) => {
      const name = appName(input);
      const app = authorizedApp(sandbox, caller, 'UpdateApplication', name);
      if (input.CurrentApplicationVersionId === undefined && input.ConditionalToken === undefined) {
        throw invalidArgument('Either CurrentApplicationVersionId or ConditionalToken must be specified.');
      }
      assertNotBusy(app);
      if (input.CurrentApplicationVersionId !== undefined && Number(input.CurrentApplicationVersionId) !== app.ApplicationVersionId) {
        throw new AwsError(
          'ConcurrentModificationException',
          `The provided application version id ${input.CurrentApplicationVersionId} does not match the current version id ${app.ApplicationVersionId} of application ${name}.`,
        );
      }
      if (input.ConditionalToken !== undefined && input.ConditionalToken !== app.ConditionalToken) {
        throw new AwsError(
          'ConcurrentModificationException',
          `The provided conditional token does not match the current conditional token of application ${name}.`,
        );
      }
      const configUpdate = input.ApplicationConfigurationUpdate;
      if (
        !configUpdate &&
        !input.ServiceExecutionRoleUpdate &&
        !input.RunConfigurationUpdate &&
        !input.CloudWatchLoggingOptionUpdates &&
        !input.RuntimeEnvironmentUpdate
      ) {
        throw invalidArgument('No updates are specified for the application.');
      }
      // Everything is checked before anything changes, so a refused call leaves the application as it was.
      const runtime =
        input.RuntimeEnvironmentUpdate === undefined
          ? app.RuntimeEnvironment
          : requireEnum(input.RuntimeEnvironmentUpdate, 'runtimeEnvironmentUpdate', RUNTIMES);
      if (input.ServiceExecutionRoleUpdate !== undefined)
        assertServiceExecutionRole(sandbox, caller, requireString(input, 'ServiceExecutionRoleUpdate', ROLE_ARN));
      const encUpdate = configUpdate?.ApplicationEncryptionConfigurationUpdate;
      const encryption = encUpdate
        ? requestedEncryption(encUpdate.KeyTypeUpdate, encUpdate.KeyIdUpdate, 'applicationConfigurationUpdate.applicationEncryptionConfigurationUpdate')
        : app.Encryption;
      if (encryption.KeyType === 'CUSTOMER_MANAGED_KEY' || app.Encryption.KeyType === 'CUSTOMER_MANAGED_KEY') {
        assertCmkUsable(sandbox, caller, app.ApplicationARN, runtime, app.Encryption, encryption);
      }
      const running = app.ApplicationStatus === 'RUNNING';
      const restoreConfig = input.RunConfigurationUpdate?.ApplicationRestoreConfiguration;
      const restore = running ? restoreSource(sandbox, app, restoreConfig) : undefined;

      const previous = versionState(app);
      // A running application is snapshotted under its current (old) key, then restarted from it (facts §2, §6).
      const snapshot = running && snapshotsEnabled(app) ? systemSnapshot(sandbox, app) : undefined;
      const fromLatest = (restoreConfig?.ApplicationRestoreType ?? 'RESTORE_FROM_LATEST_SNAPSHOT') === 'RESTORE_FROM_LATEST_SNAPSHOT';
      Object.assign(app, {
        RuntimeEnvironment: runtime,
        ServiceExecutionRole: input.ServiceExecutionRoleUpdate ?? app.ServiceExecutionRole,
        Configuration: updateConfiguration(app.Configuration, configUpdate),
        Encryption: encryption,
        ApplicationVersionUpdatedFrom: app.ApplicationVersionId,
        ApplicationVersionId: app.ApplicationVersionId + 1,
        ConditionalToken: newToken(),
        ApplicationVersionRolledBackFrom: undefined,
        ApplicationVersionRolledBackTo: undefined,
      });
      const op = startOperation(sandbox, app, 'UpdateApplication', { from: previous.ApplicationVersionId, to: app.ApplicationVersionId });
      schedule(sandbox, app, 'UPDATING', {
        At: sandbox.clock.now() + (running ? (sandbox.flinkDurations.restart ?? sandbox.flinkDurations.update) : sandbox.flinkDurations.update),
        OperationId: op.OperationId,
        ToStatus: running ? 'RUNNING' : 'READY',
        Kind: 'update',
        Restart: running,
        RestoreEncryption: (fromLatest ? (snapshot ?? restore) : restore)?.Encryption,
        Previous: previous,
      });
      return { ApplicationDetail: applicationDetail(app), OperationId: op.OperationId };
    },

    StartApplication: (input, { sandbox, caller }) => {
      const app = authorizedApp(sandbox, caller, 'StartApplication', appName(input));
      assertNotBusy(app);
      if (app.ApplicationStatus !== 'READY')
        throw resourceInUse(`Application ${app.ApplicationName} is in ${app.ApplicationStatus} status; only a READY application can be started.`);
      assertCallerMayUseKey(sandbox, caller, app);
      const restore = restoreSource(sandbox, app, input.RunConfiguration?.ApplicationRestoreConfiguration);
      const op = startOperation(sandbox, app, 'StartApplication');
      schedule(sandbox, app, 'STARTING', {
        At: sandbox.clock.now() + sandbox.flinkDurations.start,
        OperationId: op.OperationId,
        ToStatus: 'RUNNING',
        Kind: 'start',
        Restart: true,
        RestoreEncryption: restore?.Encryption,
      });
      return { OperationId: op.OperationId };
    },

    StopApplication: (input, { sandbox, caller }) => {
      const app = authorizedApp(sandbox, caller, 'StopApplication', appName(input));
      const force = input.Force === true;
      if (force ? !FORCE_STOPPABLE.has(app.ApplicationStatus) : app.ApplicationStatus !== 'RUNNING') {
        throw resourceInUse(`Application ${app.ApplicationName} is in ${app.ApplicationStatus} status and cannot be stopped${force ? ' with Force' : ''}.`);
      }
      assertCallerMayUseKey(sandbox, caller, app);
      // A forced stop abandons the work in flight and takes no snapshot (API_StopApplication).
      endOperation(sandbox, app.Pending?.OperationId, 'CANCELLED', sandbox.clock.now());
      const snapshot = !force && snapshotsEnabled(app) ? systemSnapshot(sandbox, app) : undefined;
      const op = startOperation(sandbox, app, 'StopApplication');
      schedule(sandbox, app, force ? 'FORCE_STOPPING' : 'STOPPING', {
        At: sandbox.clock.now() + sandbox.flinkDurations.stop,
        OperationId: op.OperationId,
        ToStatus: 'READY',
        Kind: force ? 'force-stop' : 'stop',
        SnapshotEncryption: snapshot?.Encryption,
      });
      return { OperationId: op.OperationId };
    },

    DeleteApplication: (input, { sandbox, caller }) => {
      const app = authorizedApp(sandbox, caller, 'DeleteApplication', appName(input));
      if (input.CreateTimestamp === undefined)
        throw validationError("1 validation error detected: Value null at 'createTimestamp' failed to satisfy constraint: Member must not be null");
      if (!sameSecond(input.CreateTimestamp, app.CreateTimestamp)) {
        throw invalidArgument(`The CreateTimestamp does not match the creation time of application ${app.ApplicationName}.`);
      }
      assertNotBusy(app);
      endOperation(sandbox, app.Pending?.OperationId, 'CANCELLED', sandbox.clock.now());
      schedule(sandbox, app, 'DELETING', { At: sandbox.clock.now() + sandbox.flinkDurations.delete, ToStatus: 'DELETING', Kind: 'delete' });
      return {};
    },

    DescribeApplicationOperation: (input, { sandbox, caller }) => {
      const name = appName(input);
      authorizedApp(sandbox, caller, 'DescribeApplicationOperation', name);
      const op = sandbox.state.kinesisanalytics.operations[String(input.OperationId ?? '')];
      if (!op || op.ApplicationName !== name) throw notFound(`Operation ${input.OperationId} of application ${name} is not found.`);
      return {
        ApplicationOperationInfoDetails: {
          Operation: op.Operation,
          StartTime: epochSeconds(op.StartTime),
          EndTime: epochSeconds(op.EndTime),
          OperationStatus: op.OperationStatus,
          ApplicationVersionChangeDetails:
            op.ApplicationVersionUpdatedTo === undefined
              ? undefined
              : {
                  ApplicationVersionUpdatedFrom: op.ApplicationVersionUpdatedFrom,
                  ApplicationVersionUpdatedTo: op.ApplicationVersionUpdatedTo,
                },
          OperationFailureDetails:
            op.OperationStatus === 'FAILED' ? { RollbackOperationId: op.RollbackOperationId, ErrorInfo: { ErrorString: op.ErrorString } } : undefined,
        },
      };
    },

    ListApplicationOperations: (input, { sandbox, caller }) => {
      const name = appName(input);
      authorizedApp(sandbox, caller, 'ListApplicationOperations', name);
      const ops = Object.values(sandbox.state.kinesisanalytics.operations)
        .filter(
          (o) =>
            o.ApplicationName === name &&
            (input.Operation === undefined || o.Operation === input.Operation) &&
            (input.OperationStatus === undefined || o.OperationStatus === input.OperationStatus),
        )
        .sort((a, b) => b.StartTime - a.StartTime);
      const { items, NextToken } = page(ops, input, 50);
      return {
        ApplicationOperationInfoList: items.map((o) => ({
          Operation: o.Operation,
          OperationId: o.OperationId,
          StartTime: epochSeconds(o.StartTime),
          EndTime: epochSeconds(o.EndTime),
          OperationStatus: o.OperationStatus,
        })),
        NextToken,
      };
    },

    CreateApplicationSnapshot: (input, { sandbox, caller }) => {
      const app = authorizedApp(sandbox, caller, 'CreateApplicationSnapshot', appName(input));
      const snapshotName = requireString(input, 'SnapshotName', /^[a-zA-Z0-9_.-]+$/, 256);
      assertNotBusy(app);
      if (app.ApplicationStatus !== 'RUNNING')
        throw resourceInUse(
          `Application ${app.ApplicationName} is in ${app.ApplicationStatus} status; snapshots can only be created of a RUNNING application.`,
        );
      if (!snapshotsEnabled(app)) throw invalidConfiguration(`Snapshots are disabled for application ${app.ApplicationName}.`);
      if (sandbox.state.kinesisanalytics.snapshots[snapshotKey(app.ApplicationName, snapshotName)])
        throw resourceInUse(`Snapshot ${snapshotName} already exists for application ${app.ApplicationName}.`);
      assertCallerMayUseKey(sandbox, caller, app);
      takeSnapshot(sandbox, app, snapshotName);
      return {};
    },

    ListApplicationSnapshots: (input, { sandbox, caller }) => {
      const name = appName(input);
      authorizedApp(sandbox, caller, 'ListApplicationSnapshots', name);
      const { items, NextToken } = page(snapshotsOf(sandbox, name), input, 50);
      return { SnapshotSummaries: items.map(snapshotDetails), NextToken };
    },

    DescribeApplicationSnapshot: (input, { sandbox, caller }) => {
      const name = appName(input);
      authorizedApp(sandbox, caller, 'DescribeApplicationSnapshot', name);
      const snapshot = sandbox.state.kinesisanalytics.snapshots[snapshotKey(name, String(input.SnapshotName ?? ''))];
      if (!snapshot) throw notFound(`Snapshot ${input.SnapshotName} of application ${name} is not found.`);
      return { SnapshotDetails: snapshotDetails(snapshot) };
    },

    DeleteApplicationSnapshot: (input, { sandbox, caller }) => {
      const name = appName(input);
      const app = authorizedApp(sandbox, caller, 'DeleteApplicationSnapshot', name);
      assertNotBusy(app);
      const key = snapshotKey(name, String(input.SnapshotName ?? ''));
      const snapshot = sandbox.state.kinesisanalytics.snapshots[key];
      if (!snapshot) throw notFound(`Snapshot ${input.SnapshotName} of application ${name} is not found.`);
      if (input.SnapshotCreationTimestamp === undefined)
        throw validationError("1 validation error detected: Value null at 'snapshotCreationTimestamp' failed to satisfy constraint: Member must not be null");
      if (!sameSecond(input.SnapshotCreationTimestamp, snapshot.SnapshotCreationTimestamp)) {
        throw invalidArgument(`The SnapshotCreationTimestamp does not match the creation time of snapshot ${snapshot.SnapshotName}.`);
      }
      delete sandbox.state.kinesisanalytics.snapshots[key];
      return {};
    },

    TagResource: (input, { sandbox, caller }) => {
      const tags = validateTags(input.Tags);
      const app = authorizedApp(sandbox, caller, 'TagResource', appNameFromArn(sandbox, requireString(input, 'ResourceARN')), requestTags(tags));
      const merged = new Map(app.Tags.map((t) => [t.Key, t.Value]));
      for (const t of tags) merged.set(t.Key, t.Value);
      if (merged.size > MAX_TAGS) throw new AwsError('TooManyTagsException', `The number of tags exceeds the limit of ${MAX_TAGS}.`);
      app.Tags = [...merged].map(([Key, Value]) => ({ Key, Value }));
      return {};
    },

    UntagResource: (input, { sandbox, caller }) => {
      const keys: string[] = Array.isArray(input.TagKeys) ? input.TagKeys : [];
      const app = authorizedApp(sandbox, caller, 'UntagResource', appNameFromArn(sandbox, requireString(input, 'ResourceARN')), { 'aws:TagKeys': keys });
      app.Tags = app.Tags.filter((t) => !keys.includes(t.Key));
      return {};
    },

    ListTagsForResource: (input, { sandbox, caller }) => {
      const app = authorizedApp(sandbox, caller, 'ListTagsForResource', appNameFromArn(sandbox, requireString(input, 'ResourceARN')));
      return { Tags: app.Tags };
    },
  },
};
