/**
 * Deploys a CloudFormation template from a cloud assembly (what `cdk synth` writes to cdk.out) into the
 * sandbox, as `cdk deploy` does against an account: assets are "published" from the assembly (a Lambda
 * code asset becomes the function's code folder, a file asset the state machine definition read from
 * its DefinitionS3Location), then each resource is created through the sandbox's own APIs, as the
 * account root, in dependency order, with CloudFormation's intrinsic functions resolved.
 *
 * Served resource types are those of `HANDLERS`; a template with any other type is refused before
 * anything is written, naming each one. Re-deploying the same stack updates it in place: changed
 * resources are updated, new ones created, removed ones deleted (DeletionPolicy Retain is honoured),
 * and generated physical names are stable (`<stack>-<LogicalId>-<hash>`), so ARNs survive a re-deploy.
 * Not modelled: change sets, rollback of a failed deploy (the error names the resource that failed and
 * the stack keeps what was deployed before it), replacement updates, nested stacks, custom resources.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { callAs } from './dispatch';
import { AwsError } from './errors';
import { isThrottlingCode } from './quotas';
import type { Sandbox } from './sandbox';
import type { Stack } from './state';

type Json = any;
interface Deployed {
  Type: string;
  PhysicalResourceId: string;
  Attributes: Record<string, string>;
  Properties: Record<string, unknown>;
}
interface Context {
  sandbox: Sandbox;
  stackName: string;
  assets: Map<string, string>;
  previous?: Deployed;
}
interface ResourceHandler {
  create(props: Json, ctx: Context, logicalId: string): Promise<Omit<Deployed, 'Type' | 'Properties'>>;
  /** Absent: a change to the resource is refused as needing replacement. */
  update?(props: Json, old: Deployed, ctx: Context, logicalId: string): Promise<Omit<Deployed, 'Type' | 'Properties'>>;
  delete(old: Deployed, ctx: Context): Promise<void>;
}

export interface DeployResult {
  stackName: string;
  outputs: Record<string, string>;
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

export class DeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployError';
  }
}

const root = (sandbox: Sandbox) => sandbox.rootPrincipal();
/**
 * One API call of the deployment, as the account root. Throttled calls are retried with backoff, as
 * CloudFormation does: a stack makes many writes to the same API in a burst.
 */
async function call(ctx: Context, service: string, operation: string, input: Json): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await callAs(ctx.sandbox, root(ctx.sandbox), service, operation, input);
    } catch (e) {
      if (!(e instanceof AwsError && isThrottlingCode(e.code)) || attempt >= 12) throw e;
      await sleep(Math.min(50 * 2 ** attempt, 2000));
    }
  }
}
const ignore =
  (...codes: string[]) =>
  (e: Error & { code?: string }) => {
    if (!codes.includes(e.code ?? e.name)) throw e;
  };

/** A physical name as CloudFormation generates it: stable for the stack and logical id, within `max` characters. */
export function generatedName(stackName: string, logicalId: string, max = 64): string {
  const suffix = createHash('sha256').update(`${stackName}/${logicalId}`).digest('hex').slice(0, 12).toUpperCase();
  const head = `${stackName}-${logicalId}`.slice(0, max - suffix.length - 1);
  return `${head}-${suffix}`;
}

const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const tagList = (tags: Json) => (Array.isArray(tags) ? tags.map((t: Json) => ({ Key: String(t.Key), Value: String(t.Value) })) : []);
const tagMap = (tags: Json) => Object.fromEntries(tagList(tags).map((t) => [t.Key, t.Value]));

// ---------------------------------------------------------------------------------------------
// Resource types

const arnOf = (sandbox: Sandbox, service: string, resource: string, global = false) =>
  `arn:aws:${service}:${global ? '' : sandbox.region}:${sandbox.account}:${resource}`;

const role: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.RoleName ?? generatedName(ctx.stackName, id);
    const out = await call(ctx, 'iam', 'CreateRole', {
      RoleName: name,
      Path: p.Path,
      AssumeRolePolicyDocument: json(p.AssumeRolePolicyDocument),
      Description: p.Description,
      MaxSessionDuration: p.MaxSessionDuration === undefined ? undefined : String(p.MaxSessionDuration),
      PermissionsBoundary: p.PermissionsBoundary,
      Tags: tagList(p.Tags),
    });
    await syncRolePolicies(ctx, name, p, {});
    return { PhysicalResourceId: name, Attributes: { Arn: out.Role.Arn, RoleId: out.Role.RoleId } };
  },
  async update(p, old, ctx, id) {
    const name = old.PhysicalResourceId;
    if ((p.RoleName ?? generatedName(ctx.stackName, id)) !== name || (p.Path ?? '/') !== ((old.Properties.Path as string) ?? '/'))
      throw new DeployError(`${id}: changing RoleName or Path needs a replacement, which this deployer does not do`);
    await call(ctx, 'iam', 'UpdateAssumeRolePolicy', { RoleName: name, PolicyDocument: json(p.AssumeRolePolicyDocument) });
    if (p.PermissionsBoundary) await call(ctx, 'iam', 'PutRolePermissionsBoundary', { RoleName: name, PermissionsBoundary: p.PermissionsBoundary });
    else if (old.Properties.PermissionsBoundary) await call(ctx, 'iam', 'DeleteRolePermissionsBoundary', { RoleName: name });
    await syncRolePolicies(ctx, name, p, old.Properties);
    return { PhysicalResourceId: name, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    const name = old.PhysicalResourceId;
    const policies = (old.Properties.Policies as Json[]) ?? [];
    for (const pol of policies) await call(ctx, 'iam', 'DeleteRolePolicy', { RoleName: name, PolicyName: pol.PolicyName }).catch(ignore('NoSuchEntity'));
    for (const arn of (old.Properties.ManagedPolicyArns as string[]) ?? [])
      await call(ctx, 'iam', 'DetachRolePolicy', { RoleName: name, PolicyArn: arn }).catch(ignore('NoSuchEntity'));
    if (old.Properties.PermissionsBoundary) await call(ctx, 'iam', 'DeleteRolePermissionsBoundary', { RoleName: name }).catch(ignore('NoSuchEntity'));
    await call(ctx, 'iam', 'DeleteRole', { RoleName: name }).catch(ignore('NoSuchEntity'));
  },
};

/** A role's inline `Policies` and `ManagedPolicyArns`, from what was deployed to what the template says. */
async function syncRolePolicies(ctx: Context, name: string, p: Json, old: Json): Promise<void> {
  const want = new Map<string, string>(((p.Policies as Json[]) ?? []).map((x) => [String(x.PolicyName), json(x.PolicyDocument)]));
  for (const x of (old.Policies as Json[]) ?? [])
    if (!want.has(x.PolicyName)) await call(ctx, 'iam', 'DeleteRolePolicy', { RoleName: name, PolicyName: x.PolicyName });
  for (const [PolicyName, PolicyDocument] of want) await call(ctx, 'iam', 'PutRolePolicy', { RoleName: name, PolicyName, PolicyDocument });
  const had = new Set<string>((old.ManagedPolicyArns as string[]) ?? []);
  const has = new Set<string>((p.ManagedPolicyArns as string[]) ?? []);
  for (const arn of had) if (!has.has(arn)) await call(ctx, 'iam', 'DetachRolePolicy', { RoleName: name, PolicyArn: arn });
  for (const arn of has) if (!had.has(arn)) await call(ctx, 'iam', 'AttachRolePolicy', { RoleName: name, PolicyArn: arn });
}

/** AWS::IAM::Policy: one inline policy put on each role it names (Users and Groups are not modelled). */
const inlinePolicy: ResourceHandler = {
  async create(p, ctx, id) {
    if (p.Users?.length || p.Groups?.length) throw new DeployError(`${id}: AWS::IAM::Policy on Users or Groups is not served (roles only)`);
    for (const r of p.Roles ?? []) await call(ctx, 'iam', 'PutRolePolicy', { RoleName: r, PolicyName: p.PolicyName, PolicyDocument: json(p.PolicyDocument) });
    return { PhysicalResourceId: `${ctx.stackName}-${id}`, Attributes: {} };
  },
  async update(p, old, ctx, id) {
    const gone = ((old.Properties.Roles as string[]) ?? []).filter((r) => !(p.Roles ?? []).includes(r) || p.PolicyName !== old.Properties.PolicyName);
    for (const r of gone) await call(ctx, 'iam', 'DeleteRolePolicy', { RoleName: r, PolicyName: old.Properties.PolicyName }).catch(ignore('NoSuchEntity'));
    return { ...(await inlinePolicy.create(p, ctx, id)), PhysicalResourceId: old.PhysicalResourceId };
  },
  async delete(old, ctx) {
    for (const r of (old.Properties.Roles as string[]) ?? [])
      await call(ctx, 'iam', 'DeleteRolePolicy', { RoleName: r, PolicyName: old.Properties.PolicyName }).catch(ignore('NoSuchEntity'));
  },
};

const managedPolicy: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.ManagedPolicyName ?? generatedName(ctx.stackName, id, 128);
    const out = await call(ctx, 'iam', 'CreatePolicy', { PolicyName: name, Path: p.Path, Description: p.Description, PolicyDocument: json(p.PolicyDocument) });
    const arn = out.Policy.Arn as string;
    for (const r of p.Roles ?? []) await call(ctx, 'iam', 'AttachRolePolicy', { RoleName: r, PolicyArn: arn });
    return { PhysicalResourceId: arn, Attributes: { PolicyArn: arn, PolicyId: out.Policy.PolicyId } };
  },
  async update(p, old, ctx) {
    const arn = old.PhysicalResourceId;
    if (json(p.PolicyDocument) !== json(old.Properties.PolicyDocument)) {
      // IAM keeps five versions: drop the oldest non-default one first.
      const { Versions } = await call(ctx, 'iam', 'ListPolicyVersions', { PolicyArn: arn });
      const stale = (Versions as Json[]).filter((v) => String(v.IsDefaultVersion) !== 'true');
      if (Versions.length >= 5 && stale.length) await call(ctx, 'iam', 'DeletePolicyVersion', { PolicyArn: arn, VersionId: stale.at(-1).VersionId });
      await call(ctx, 'iam', 'CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: json(p.PolicyDocument), SetAsDefault: 'true' });
    }
    const had = new Set<string>((old.Properties.Roles as string[]) ?? []);
    const has = new Set<string>(p.Roles ?? []);
    for (const r of had) if (!has.has(r)) await call(ctx, 'iam', 'DetachRolePolicy', { RoleName: r, PolicyArn: arn });
    for (const r of has) if (!had.has(r)) await call(ctx, 'iam', 'AttachRolePolicy', { RoleName: r, PolicyArn: arn });
    return { PhysicalResourceId: arn, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    const arn = old.PhysicalResourceId;
    for (const r of (old.Properties.Roles as string[]) ?? [])
      await call(ctx, 'iam', 'DetachRolePolicy', { RoleName: r, PolicyArn: arn }).catch(ignore('NoSuchEntity'));
    const { Versions } = await call(ctx, 'iam', 'ListPolicyVersions', { PolicyArn: arn }).catch(() => ({ Versions: [] }));
    for (const v of Versions as Json[])
      if (String(v.IsDefaultVersion) !== 'true') await call(ctx, 'iam', 'DeletePolicyVersion', { PolicyArn: arn, VersionId: v.VersionId });
    await call(ctx, 'iam', 'DeletePolicy', { PolicyArn: arn }).catch(ignore('NoSuchEntity'));
  },
};

const logGroup: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.LogGroupName ?? generatedName(ctx.stackName, id, 512);
    await call(ctx, 'logs', 'CreateLogGroup', { logGroupName: name, kmsKeyId: p.KmsKeyId, tags: tagMap(p.Tags) });
    if (p.RetentionInDays) await call(ctx, 'logs', 'PutRetentionPolicy', { logGroupName: name, retentionInDays: Number(p.RetentionInDays) });
    return { PhysicalResourceId: name, Attributes: { Arn: arnOf(ctx.sandbox, 'logs', `log-group:${name}:*`) } };
  },
  async update(p, old, ctx, id) {
    if ((p.LogGroupName ?? generatedName(ctx.stackName, id, 512)) !== old.PhysicalResourceId)
      throw new DeployError(`${id}: changing LogGroupName needs a replacement, which this deployer does not do`);
    if (p.RetentionInDays) await call(ctx, 'logs', 'PutRetentionPolicy', { logGroupName: old.PhysicalResourceId, retentionInDays: Number(p.RetentionInDays) });
    else await call(ctx, 'logs', 'DeleteRetentionPolicy', { logGroupName: old.PhysicalResourceId });
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    await call(ctx, 'logs', 'DeleteLogGroup', { logGroupName: old.PhysicalResourceId }).catch(ignore('ResourceNotFoundException'));
  },
};

/** The code of a function from the assembly's assets: an asset folder runs in place, a .zip is uploaded. */
function functionCode(code: Json, ctx: Context, id: string): Json {
  if (code.ZipFile !== undefined) throw new DeployError(`${id}: inline ZipFile source code is not served (use an asset)`);
  const asset = ctx.assets.get(String(code.S3Key));
  if (!asset) throw new DeployError(`${id}: code s3://${code.S3Bucket}/${code.S3Key} is not an asset of this assembly`);
  if (statSync(asset).isDirectory()) return { S3Bucket: 'hot-reload', S3Key: asset };
  return { ZipFile: readFileSync(asset).toString('base64') };
}

const lambdaFunction: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.FunctionName ?? generatedName(ctx.stackName, id);
    const out = await call(ctx, 'lambda', 'CreateFunction', {
      FunctionName: name,
      Runtime: p.Runtime,
      Handler: p.Handler,
      Role: p.Role,
      Description: p.Description,
      Timeout: p.Timeout,
      MemorySize: p.MemorySize,
      Environment: p.Environment,
      TracingConfig: p.TracingConfig,
      LoggingConfig: p.LoggingConfig,
      Architectures: p.Architectures,
      Tags: tagMap(p.Tags),
      Code: functionCode(p.Code, ctx, id),
    });
    return { PhysicalResourceId: name, Attributes: { Arn: out.FunctionArn } };
  },
  async update(p, old, ctx, id) {
    const name = old.PhysicalResourceId;
    if ((p.FunctionName ?? generatedName(ctx.stackName, id)) !== name)
      throw new DeployError(`${id}: changing FunctionName needs a replacement, which this deployer does not do`);
    await call(ctx, 'lambda', 'UpdateFunctionConfiguration', {
      FunctionName: name,
      Runtime: p.Runtime,
      Handler: p.Handler,
      Role: p.Role,
      Description: p.Description ?? '',
      Timeout: p.Timeout ?? 3,
      MemorySize: p.MemorySize ?? 128,
      Environment: p.Environment ?? { Variables: {} },
      TracingConfig: p.TracingConfig ?? { Mode: 'PassThrough' },
      LoggingConfig: p.LoggingConfig,
    });
    await call(ctx, 'lambda', 'UpdateFunctionCode', { FunctionName: name, ...functionCode(p.Code, ctx, id) });
    return { PhysicalResourceId: name, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    await call(ctx, 'lambda', 'DeleteFunction', { FunctionName: old.PhysicalResourceId }).catch(ignore('ResourceNotFoundException'));
  },
};

/** A state machine's definition: DefinitionString, Definition, or the file asset DefinitionS3Location names; then its substitutions. */
function definitionOf(p: Json, ctx: Context, id: string): string {
  let text: string;
  if (p.DefinitionString !== undefined) text = String(p.DefinitionString);
  else if (p.Definition !== undefined) text = JSON.stringify(p.Definition);
  else if (p.DefinitionS3Location) {
    const asset = ctx.assets.get(String(p.DefinitionS3Location.Key));
    if (!asset) throw new DeployError(`${id}: definition s3://${p.DefinitionS3Location.Bucket}/${p.DefinitionS3Location.Key} is not an asset of this assembly`);
    text = readFileSync(asset, 'utf8');
  } else throw new DeployError(`${id}: no Definition, DefinitionString or DefinitionS3Location`);
  const subs = p.DefinitionSubstitutions ?? {};
  return text.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (m, name: string) => (Object.hasOwn(subs, name) ? String(subs[name]) : m));
}

const stateMachine: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.StateMachineName ?? generatedName(ctx.stackName, id, 80);
    const out = await call(ctx, 'states', 'CreateStateMachine', {
      name,
      definition: definitionOf(p, ctx, id),
      roleArn: p.RoleArn,
      type: p.StateMachineType ?? 'STANDARD',
      tags: tagList(p.Tags).map((t) => ({ key: t.Key, value: t.Value })),
    });
    return { PhysicalResourceId: out.stateMachineArn, Attributes: { Arn: out.stateMachineArn, Name: name } };
  },
  async update(p, old, ctx, id) {
    if ((p.StateMachineName ?? generatedName(ctx.stackName, id, 80)) !== old.Attributes.Name)
      throw new DeployError(`${id}: changing StateMachineName needs a replacement, which this deployer does not do`);
    await call(ctx, 'states', 'UpdateStateMachine', { stateMachineArn: old.PhysicalResourceId, definition: definitionOf(p, ctx, id), roleArn: p.RoleArn });
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    await call(ctx, 'states', 'DeleteStateMachine', { stateMachineArn: old.PhysicalResourceId });
  },
};

const table: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.TableName ?? generatedName(ctx.stackName, id, 255);
    await call(ctx, 'dynamodb', 'CreateTable', {
      TableName: name,
      KeySchema: p.KeySchema,
      AttributeDefinitions: p.AttributeDefinitions,
      BillingMode: p.BillingMode,
      ...(p.ProvisionedThroughput && {
        ProvisionedThroughput: {
          ReadCapacityUnits: Number(p.ProvisionedThroughput.ReadCapacityUnits),
          WriteCapacityUnits: Number(p.ProvisionedThroughput.WriteCapacityUnits),
        },
      }),
      ...(p.GlobalSecondaryIndexes && { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes }),
    });
    return { PhysicalResourceId: name, Attributes: { Arn: arnOf(ctx.sandbox, 'dynamodb', `table/${name}`) } };
  },
  async update(p, old, _ctx, id) {
    // Encryption and point-in-time recovery are not modelled; keys and names cannot change in place.
    for (const k of ['TableName', 'KeySchema', 'AttributeDefinitions', 'GlobalSecondaryIndexes']) {
      if (json(p[k]) !== json(old.Properties[k])) throw new DeployError(`${id}: changing ${k} of a table is not done by this deployer`);
    }
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    await call(ctx, 'dynamodb', 'DeleteTable', { TableName: old.PhysicalResourceId }).catch(ignore('ResourceNotFoundException'));
  },
};

const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
];
const queueAttributes = (p: Json) =>
  Object.fromEntries([
    ...QUEUE_ATTRIBUTES.filter((k) => p[k] !== undefined).map((k) => [k, String(p[k])]),
    ...(p.RedrivePolicy ? [['RedrivePolicy', json(p.RedrivePolicy)]] : []),
  ]);

const queue: ResourceHandler = {
  async create(p, ctx, id) {
    if (p.FifoQueue) throw new DeployError(`${id}: FIFO queues are not served`);
    const name = p.QueueName ?? generatedName(ctx.stackName, id, 80);
    const out = await call(ctx, 'sqs', 'CreateQueue', { QueueName: name, Attributes: queueAttributes(p), tags: tagMap(p.Tags) });
    return { PhysicalResourceId: out.QueueUrl, Attributes: { Arn: arnOf(ctx.sandbox, 'sqs', name), QueueName: name, QueueUrl: out.QueueUrl } };
  },
  async update(p, old, ctx) {
    await call(ctx, 'sqs', 'SetQueueAttributes', { QueueUrl: old.PhysicalResourceId, Attributes: queueAttributes(p) });
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: old.Attributes };
  },
  async delete(old, ctx) {
    await call(ctx, 'sqs', 'DeleteQueue', { QueueUrl: old.PhysicalResourceId }).catch(ignore('QueueDoesNotExist'));
  },
};

const queuePolicy: ResourceHandler = {
  async create(p, ctx, id) {
    for (const url of p.Queues ?? []) await call(ctx, 'sqs', 'SetQueueAttributes', { QueueUrl: url, Attributes: { Policy: json(p.PolicyDocument) } });
    return { PhysicalResourceId: `${ctx.stackName}-${id}`, Attributes: {} };
  },
  async update(p, old, ctx, id) {
    for (const url of (old.Properties.Queues as string[]) ?? [])
      if (!(p.Queues ?? []).includes(url))
        await call(ctx, 'sqs', 'SetQueueAttributes', { QueueUrl: url, Attributes: { Policy: '' } }).catch(ignore('QueueDoesNotExist'));
    return { ...(await queuePolicy.create(p, ctx, id)), PhysicalResourceId: old.PhysicalResourceId };
  },
  async delete(old, ctx) {
    for (const url of (old.Properties.Queues as string[]) ?? [])
      await call(ctx, 'sqs', 'SetQueueAttributes', { QueueUrl: url, Attributes: { Policy: '' } }).catch(ignore('QueueDoesNotExist'));
  },
};

const rule: ResourceHandler = {
  async create(p, ctx, id) {
    const name = p.Name ?? generatedName(ctx.stackName, id);
    const out = await call(ctx, 'events', 'PutRule', {
      Name: name,
      EventBusName: p.EventBusName,
      EventPattern: p.EventPattern === undefined ? undefined : json(p.EventPattern),
      ScheduleExpression: p.ScheduleExpression,
      State: p.State,
      Description: p.Description,
      RoleArn: p.RoleArn,
    });
    const targets = (p.Targets ?? []).map((t: Json) => ({
      ...t,
      ...(t.InputTransformer && { InputTransformer: { ...t.InputTransformer, InputPathsMap: t.InputTransformer.InputPathsMap } }),
    }));
    if (targets.length) {
      const put = await call(ctx, 'events', 'PutTargets', { Rule: name, EventBusName: p.EventBusName, Targets: targets });
      if (put.FailedEntryCount) throw new DeployError(`${id}: targets refused: ${JSON.stringify(put.FailedEntries)}`);
    }
    return { PhysicalResourceId: name, Attributes: { Arn: out.RuleArn } };
  },
  async update(p, old, ctx, id) {
    const gone = ((old.Properties.Targets as Json[]) ?? []).map((t) => t.Id).filter((tid) => !(p.Targets ?? []).some((t: Json) => t.Id === tid));
    if (gone.length) await call(ctx, 'events', 'RemoveTargets', { Rule: old.PhysicalResourceId, EventBusName: old.Properties.EventBusName, Ids: gone });
    return { ...(await rule.create(p, ctx, id)), PhysicalResourceId: old.PhysicalResourceId };
  },
  async delete(old, ctx) {
    const ids = ((old.Properties.Targets as Json[]) ?? []).map((t) => t.Id);
    if (ids.length)
      await call(ctx, 'events', 'RemoveTargets', { Rule: old.PhysicalResourceId, EventBusName: old.Properties.EventBusName, Ids: ids }).catch(
        ignore('ResourceNotFoundException'),
      );
    await call(ctx, 'events', 'DeleteRule', { Name: old.PhysicalResourceId, EventBusName: old.Properties.EventBusName }).catch(
      ignore('ResourceNotFoundException'),
    );
  },
};

/** AWS::Events::EventBus: the bus, and its `Policy` set with PutPermission as CloudFormation does. */
const eventBus: ResourceHandler = {
  async create(p, ctx) {
    const out = await call(ctx, 'events', 'CreateEventBus', { Name: p.Name, Description: p.Description, Tags: tagList(p.Tags) });
    if (p.Policy) await call(ctx, 'events', 'PutPermission', { EventBusName: p.Name, Policy: json(p.Policy) });
    return { PhysicalResourceId: p.Name, Attributes: { Arn: out.EventBusArn, Name: p.Name, ...(p.Policy && { Policy: json(p.Policy) }) } };
  },
  async update(p, old, ctx, id) {
    if (p.Name !== old.PhysicalResourceId)
      throw new DeployError(`${id}: changing the Name of an event bus needs a replacement, which this deployer does not do`);
    if (p.Policy) await call(ctx, 'events', 'PutPermission', { EventBusName: p.Name, Policy: json(p.Policy) });
    else if (old.Properties.Policy) await call(ctx, 'events', 'RemovePermission', { EventBusName: p.Name, RemoveAllPermissions: true });
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: { ...old.Attributes, ...(p.Policy && { Policy: json(p.Policy) }) } };
  },
  async delete(old, ctx) {
    await call(ctx, 'events', 'DeleteEventBus', { Name: old.PhysicalResourceId });
  },
};

/** CDK's own bookkeeping: nothing to make in the account. */
const metadata: ResourceHandler = {
  async create(_p, ctx, id) {
    return { PhysicalResourceId: `${ctx.stackName}-${id}`, Attributes: {} };
  },
  async update(_p, old) {
    return { PhysicalResourceId: old.PhysicalResourceId, Attributes: {} };
  },
  async delete() {},
};

export const HANDLERS: Record<string, ResourceHandler> = {
  'AWS::IAM::Role': role,
  'AWS::IAM::Policy': inlinePolicy,
  'AWS::IAM::ManagedPolicy': managedPolicy,
  'AWS::Logs::LogGroup': logGroup,
  'AWS::Lambda::Function': lambdaFunction,
  'AWS::StepFunctions::StateMachine': stateMachine,
  'AWS::DynamoDB::Table': table,
  'AWS::SQS::Queue': queue,
  'AWS::SQS::QueuePolicy': queuePolicy,
  'AWS::Events::Rule': rule,
  'AWS::Events::EventBus': eventBus,
  'AWS::CDK::Metadata': metadata,
};

// ---------------------------------------------------------------------------------------------
// Intrinsic functions

const NO_VALUE = Symbol('AWS::NoValue');

interface Resolver {
  sandbox: Sandbox;
  stackName: string;
  stackId: string;
  parameters: Record<string, string>;
  conditions: Record<string, boolean>;
  mappings: Json;
  deployed: Record<string, Deployed>;
}

function pseudo(r: Resolver, name: string): string | undefined {
  return {
    'AWS::AccountId': r.sandbox.account,
    'AWS::Region': r.sandbox.region,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': r.stackName,
    'AWS::StackId': r.stackId,
    'AWS::NotificationARNs': undefined,
  }[name];
}

function ref(r: Resolver, name: string): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  const p = pseudo(r, name);
  if (p !== undefined) return p;
  if (Object.hasOwn(r.parameters, name)) return r.parameters[name];
  const d = r.deployed[name];
  if (!d) throw new DeployError(`Ref ${name}: no such parameter or resource (or it is not deployed yet)`);
  return d.PhysicalResourceId;
}

function getAtt(r: Resolver, id: string, attribute: string): string {
  const d = r.deployed[id];
  if (!d) throw new DeployError(`Fn::GetAtt ${id}.${attribute}: no such resource (or it is not deployed yet)`);
  if (!Object.hasOwn(d.Attributes, attribute))
    throw new DeployError(
      `Fn::GetAtt ${id}.${attribute}: ${d.Type} has no attribute ${attribute} here (it has ${Object.keys(d.Attributes).join(', ') || 'none'})`,
    );
  return d.Attributes[attribute];
}

function condition(r: Resolver, name: string): boolean {
  if (!Object.hasOwn(r.conditions, name)) throw new DeployError(`Condition ${name} is not defined`);
  return r.conditions[name];
}

function sub(r: Resolver, template: string, vars: Record<string, unknown>): string {
  return template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    if (Object.hasOwn(vars, name)) return String(vars[name]);
    if (name.includes('.') && !name.startsWith('AWS::')) {
      const [id, ...attr] = name.split('.');
      return getAtt(r, id, attr.join('.'));
    }
    return String(ref(r, name));
  });
}

export function resolve(r: Resolver, v: unknown): any {
  if (Array.isArray(v)) return v.map((x) => resolve(r, x)).filter((x) => x !== NO_VALUE);
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  const o = v as Record<string, any>;
  if (keys.length === 1) {
    const [k] = keys;
    const a = o[k];
    switch (k) {
      case 'Ref':
        return ref(r, a);
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(a) ? a : String(a).split('.');
        return getAtt(r, id, resolve(r, attr.join('.')));
      }
      case 'Fn::Join':
        return (resolve(r, a[1]) as unknown[]).join(a[0]);
      case 'Fn::Sub':
        return Array.isArray(a) ? sub(r, a[0], resolve(r, a[1])) : sub(r, a, {});
      case 'Fn::Select':
        return (resolve(r, a[1]) as unknown[])[Number(resolve(r, a[0]))];
      case 'Fn::Split':
        return String(resolve(r, a[1])).split(a[0]);
      case 'Fn::If':
        return condition(r, a[0]) ? resolve(r, a[1]) : resolve(r, a[2]);
      case 'Fn::Equals':
        return json(resolve(r, a[0])) === json(resolve(r, a[1]));
      case 'Fn::And':
        return (a as unknown[]).every((c) => resolve(r, c) === true);
      case 'Fn::Or':
        return (a as unknown[]).some((c) => resolve(r, c) === true);
      case 'Fn::Not':
        return resolve(r, a[0]) !== true;
      case 'Condition':
        return condition(r, a);
      case 'Fn::Contains':
        return (resolve(r, a[0]) as unknown[]).map(String).includes(String(resolve(r, a[1])));
      case 'Fn::Base64':
        return Buffer.from(String(resolve(r, a))).toString('base64');
      case 'Fn::FindInMap': {
        const [m, k1, k2] = (a as unknown[]).map((x) => resolve(r, x));
        const found = r.mappings?.[m]?.[k1]?.[k2];
        if (found === undefined) throw new DeployError(`Fn::FindInMap ${m}.${k1}.${k2}: not in the template's Mappings`);
        return found;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${r.sandbox.region}${z}`);
      default:
        if (k.startsWith('Fn::')) throw new DeployError(`${k} is not served by this deployer`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const x = resolve(r, o[k]);
    if (x !== NO_VALUE) out[k] = x;
  }
  return out;
}

/** The logical ids a value refers to (Ref, GetAtt, Sub), for the deployment order. */
function references(v: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) references(x, into);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Ref' && typeof x === 'string') into.add(x);
      else if (k === 'Fn::GetAtt') into.add(Array.isArray(x) ? x[0] : String(x).split('.')[0]);
      else if (k === 'Fn::Sub') {
        const text = Array.isArray(x) ? x[0] : x;
        for (const m of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) into.add(m[1].split('.')[0]);
        if (Array.isArray(x)) references(x[1], into);
      } else references(x, into);
    }
  }
  return into;
}

function order(resources: Record<string, Json>): string[] {
  const ids = Object.keys(resources);
  const deps = new Map(
    ids.map((id) => {
      const r = resources[id];
      const on = new Set([...references(r.Properties), ...[r.DependsOn ?? []].flat()]);
      return [id, [...on].filter((d) => d !== id && Object.hasOwn(resources, d))];
    }),
  );
  const done: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new DeployError(`Circular dependency between resources: ${[...trail, id].join(' → ')}`);
    state.set(id, 'visiting');
    for (const d of deps.get(id)!) visit(d, [...trail, id]);
    state.set(id, 'done');
    done.push(id);
  };
  for (const id of ids) visit(id, []);
  return done;
}

// ---------------------------------------------------------------------------------------------
// The assembly and the stack

export interface Assembly {
  template: Json;
  assets: Map<string, string>;
}

/** Reads a stack's template and its file assets (S3 object key → path) from a cloud assembly folder. */
export function readAssembly(dir: string, stackName: string): Assembly {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new DeployError(`${dir} is not a cloud assembly (no manifest.json): run cdk synth first`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const artifact = manifest.artifacts?.[stackName];
  if (artifact?.type !== 'aws:cloudformation:stack') {
    const stacks = Object.entries(manifest.artifacts ?? {})
      .filter(([, a]: [string, any]) => a.type === 'aws:cloudformation:stack')
      .map(([n]) => n);
    throw new DeployError(`${dir} has no stack ${stackName} (stacks: ${stacks.join(', ') || 'none'})`);
  }
  const template = JSON.parse(readFileSync(path.join(dir, artifact.properties.templateFile), 'utf8'));
  const assets = new Map<string, string>();
  for (const dep of artifact.dependencies ?? []) {
    const a = manifest.artifacts[dep];
    if (a?.type !== 'cdk:asset-manifest') continue;
    const files = JSON.parse(readFileSync(path.join(dir, a.properties.file), 'utf8')).files ?? {};
    for (const f of Object.values(files) as Json[]) {
      for (const d of Object.values(f.destinations ?? {}) as Json[]) assets.set(d.objectKey, path.resolve(dir, f.source.path));
    }
  }
  return { template, assets };
}

/** Parameter values: the given ones, else defaults; CDK's bootstrap version reads as a bootstrapped account's. */
function parameterValues(template: Json, given: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries((template.Parameters ?? {}) as Record<string, Json>)) {
    if (Object.hasOwn(given, name)) out[name] = given[name];
    else if (name === 'BootstrapVersion' && String(p.Type).startsWith('AWS::SSM::Parameter::Value')) out[name] = '30';
    else if (p.Default !== undefined) out[name] = String(p.Default);
    else throw new DeployError(`Parameters: ${name} must have a value (pass it, or give it a Default)`);
  }
  return out;
}

export function stacksState(sandbox: Sandbox): Record<string, Stack> {
  return (sandbox.state.cloudformation ??= { stacks: {} }).stacks;
}

/**
 * Creates or updates `stackName` from the template. Everything is checked before the first write: the
 * resource types, the parameters, the rules, and the dependency order.
 */
export async function deployTemplate(sandbox: Sandbox, stackName: string, assembly: Assembly, given: Record<string, string> = {}): Promise<DeployResult> {
  const { template, assets } = assembly;
  const resources = (template.Resources ?? {}) as Record<string, Json>;
  const unknown = Object.entries(resources)
    .filter(([, r]) => !HANDLERS[r.Type])
    .map(([id, r]) => `${id} (${r.Type})`);
  if (unknown.length)
    throw new DeployError(`The template has resource types this sandbox does not deploy: ${unknown.join(', ')}. Served: ${Object.keys(HANDLERS).join(', ')}`);
  const previous = stacksState(sandbox)[stackName];
  const stackId =
    previous?.StackId ??
    `arn:aws:cloudformation:${sandbox.region}:${sandbox.account}:stack/${stackName}/${createHash('sha256').update(stackName).digest('hex').slice(0, 8)}`;
  const r: Resolver = {
    sandbox,
    stackName,
    stackId,
    parameters: parameterValues(template, given),
    conditions: {},
    mappings: template.Mappings,
    deployed: { ...(previous?.Resources ?? {}) },
  };
  for (const [name, c] of Object.entries((template.Conditions ?? {}) as Record<string, Json>)) r.conditions[name] = resolve(r, c) === true;
  for (const [name, rl] of Object.entries((template.Rules ?? {}) as Record<string, Json>)) {
    if (rl.RuleCondition !== undefined && resolve(r, rl.RuleCondition) !== true) continue;
    for (const a of rl.Assertions ?? []) if (resolve(r, a.Assert) !== true) throw new DeployError(`Rule ${name}: ${a.AssertDescription ?? 'assertion failed'}`);
  }
  const wanted = order(resources).filter((id) => resources[id].Condition === undefined || condition(r, resources[id].Condition));
  const result: DeployResult = { stackName, outputs: {}, created: [], updated: [], deleted: [], unchanged: [] };
  const deletionPolicies = Object.fromEntries(
    Object.entries(resources)
      .filter(([, x]) => x.DeletionPolicy)
      .map(([id, x]) => [id, String(x.DeletionPolicy)]),
  );
  const record = (): Stack =>
    (stacksState(sandbox)[stackName] = {
      StackName: stackName,
      StackId: stackId,
      Resources: { ...r.deployed },
      Outputs: result.outputs,
      Parameters: r.parameters,
      DeletionPolicies: { ...previous?.DeletionPolicies, ...deletionPolicies },
      LastUpdatedTime: sandbox.clock.now(),
    });
  for (const id of wanted) {
    const type = resources[id].Type as string;
    const handler = HANDLERS[type];
    const old = previous?.Resources[id];
    const props = resolve(r, resources[id].Properties ?? {});
    const ctx: Context = { sandbox, stackName, assets, previous: old };
    try {
      if (old && old.Type === type) {
        if (json(old.Properties) === json(props)) {
          result.unchanged.push(id);
          continue;
        }
        if (!handler.update) throw new DeployError(`${id}: ${type} cannot be updated in place`);
        r.deployed[id] = { Type: type, Properties: props, ...(await handler.update(props, old, ctx, id)) };
        result.updated.push(id);
      } else {
        if (old) throw new DeployError(`${id}: changing the type from ${old.Type} to ${type} needs a replacement, which this deployer does not do`);
        r.deployed[id] = { Type: type, Properties: props, ...(await handler.create(props, ctx, id)) };
        result.created.push(id);
      }
    } catch (e) {
      record();
      const err = e as Error & { code?: string };
      throw new DeployError(
        `${stackName}: ${id} (${type}) failed: ${err.code ?? err.name}: ${err.message}. Resources deployed before it are kept; fix and deploy again.`,
      );
    }
    record();
  }
  // What the template no longer has goes, newest first (as CloudFormation deletes in reverse order).
  for (const id of Object.keys(previous?.Resources ?? {}).reverse()) {
    if (wanted.includes(id)) continue;
    const old = previous!.Resources[id];
    const policy = previous!.DeletionPolicies?.[id];
    if (policy !== 'Retain') await HANDLERS[old.Type]?.delete(old, { sandbox, stackName, assets });
    delete r.deployed[id];
    result.deleted.push(id);
  }
  for (const [name, o] of Object.entries((template.Outputs ?? {}) as Record<string, Json>)) {
    if (o.Condition !== undefined && !condition(r, o.Condition)) continue;
    result.outputs[name] = String(resolve(r, o.Value));
  }
  record();
  sandbox.persist();
  return result;
}
