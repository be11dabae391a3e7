/**
 * The saga's ledger entries, and the one place each kind of change is made, observed and undone.
 *
 * A step decides its changes once (find → decide), each with the image it replaces (`before`) and the one
 * it leaves (`after`); Step Functions records that decision in the execution state before the step's apply
 * runs, so the before-image is durable before anything is written. Apply makes exactly those calls; plan
 * mode returns them instead. Undo restores `before` only where the resource still shows `after` — what
 * this run left — and otherwise leaves it and says so, so a rollback never overwrites someone else's later
 * change. The rollback report observes every entry again: what it says is read back from the account.
 */
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateApplicationCommand, DeleteApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  type GetKeyRotationStatusResponse,
  type KMSClient,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { isDeepStrictEqual } from 'node:util';
import { ApplicationBusy, ApplyInterrupted, PrincipalNotYetVisible, ResourceConflict, isAwsError, unlessMissing } from './errors';
import { isCreatedByThisRun, tagValue } from './names';
import { clientsAs, type Actor, type Persona } from './personas';
import {
  aliasTarget,
  applicationTags,
  decodePolicy,
  describeApplication,
  describeKey,
  encryptionOf,
  getRole,
  getRolePolicy,
  keyPolicyOf,
  keyTags,
  onDemandRotations,
} from './reads';

/** The calls a step's apply may make (`service:Operation`). */
export type Action =
  | 'iam:CreateRole'
  | 'iam:PutRolePolicy'
  | 'iam:DeleteRolePolicy'
  | 'iam:UpdateAssumeRolePolicy'
  | 'iam:PutRolePermissionsBoundary'
  | 'kinesisanalytics:CreateApplication'
  | 'kinesisanalytics:UpdateApplication'
  | 'kms:CreateKey'
  | 'kms:CreateAlias'
  | 'kms:UpdateAlias'
  | 'kms:PutKeyPolicy'
  | 'kms:TagResource'
  | 'kms:RotateKeyOnDemand'
  | 'kms:EnableKeyRotation'
  | 'kms:DisableKeyRotation';

export interface Change {
  action: Action;
  /** ARN of what it changes (for a key not created yet, an ARN naming NEW_KEY). */
  resource: string;
  persona: Persona;
  /** The call's input, exactly as it will be sent. */
  request: Record<string, any>;
  /** The image it replaces; absent when there was nothing (a creation, a policy not there yet). */
  before?: unknown;
  /** The image it leaves. */
  after?: unknown;
  /** One line for the plan and the reports. */
  detail: string;
  /** Why a rollback leaves this change in place, when it does by design. */
  kept?: string;
}

/** A step's decision: its changes in apply order, and the step's result once they are made. */
export interface Decision<O = unknown> {
  changes: Change[];
  outcome: O;
}

/** The images a creation leaves and a missing resource shows. */
export const EXISTS = { exists: true } as const;

/**
 * The id of a key that does not exist yet: KMS picks it at CreateKey. Decisions name it (its ARN is
 * `…:key/(new key)`); apply puts the real id in its place once CreateKey has answered.
 */
export const NEW_KEY = '(new key)';

/** NEW_KEY replaced by the key's id in any JSON value (in ARNs, names and documents alike). */
export function withKey<T>(value: T, key: Pick<KeyMetadata, 'KeyId' | 'Arn'>): T {
  return JSON.parse(JSON.stringify(value).split(NEW_KEY).join(key.KeyId!)) as T;
}

/** A change that still names NEW_KEY: no key was made for it, so it was never applied. */
export const namesNewKey = (change: Change) => JSON.stringify(change).includes(NEW_KEY);

/** Changes a retry must never repeat (KMS has no idempotency token for CreateKey). */
const UNREPEATABLE = new Set<Action>(['kms:CreateKey']);

const conflict = (change: Change, why: string) => new ResourceConflict(`${change.action} on ${change.resource}: ${why}; refusing to take it over.`);

/**
 * Makes the changes in order, each as its persona and idempotent where AWS allows (a retried apply meets
 * what its first attempt made and recognises it by its ownership tags). Returns each call's answer. An
 * error after a change that cannot be repeated becomes ApplyInterrupted, which no Retry names.
 */
export async function applyChanges(changes: Change[], actor: Actor): Promise<unknown[]> {
  const answers: unknown[] = [];
  let createdKey: KeyMetadata | undefined;
  for (const planned of changes) {
    const change = createdKey ? withKey(planned, createdKey) : planned;
    try {
      const answer = await apply(change, actor);
      if (change.action === 'kms:CreateKey') createdKey = (answer as { KeyMetadata: KeyMetadata }).KeyMetadata;
      answers.push(answer);
    } catch (e) {
      const made = changes.slice(0, answers.length).filter((c) => UNREPEATABLE.has(c.action));
      if (!made.length) throw e;
      const what = made.map((c) => (c.action === 'kms:CreateKey' && createdKey ? `kms:CreateKey made ${createdKey.Arn}` : c.action)).join(', ');
      throw new ApplyInterrupted(
        `${change.action} on ${change.resource} failed after ${what} (${(e as Error).name}: ${(e as Error).message}); not retried, so nothing is made twice`,
        { cause: e },
      );
    }
  }
  return answers;
}

async function apply(change: Change, actor: Actor): Promise<unknown> {
  const r = change.request;
  const { iam, flink, kms } = await clientsAs(change.persona, actor, 'write');
  switch (change.action) {
    case 'iam:CreateRole':
      try {
        return await iam.send(new CreateRoleCommand(r as never));
      } catch (e) {
        if (!isAwsError(e, 'EntityAlreadyExists')) throw e;
        // A retry after a lost answer: the role is ours only if this very run made it.
        const role = await getRole(iam, r.RoleName);
        if (!isCreatedByThisRun(role?.Tags, actor.context, actor.applicationName))
          throw conflict(change, 'a role of that name exists and was not made by this execution');
        return { Role: role };
      }
    case 'iam:PutRolePolicy':
      return iam.send(new PutRolePolicyCommand(r as never));
    case 'iam:DeleteRolePolicy':
      // A retry after a lost answer finds it gone already.
      return (await unlessMissing(iam.send(new DeleteRolePolicyCommand(r as never)), 'NoSuchEntity')) ?? {};
    case 'iam:UpdateAssumeRolePolicy':
      return iam.send(new UpdateAssumeRolePolicyCommand(r as never));
    case 'iam:PutRolePermissionsBoundary':
      return iam.send(new PutRolePermissionsBoundaryCommand(r as never));
    case 'kinesisanalytics:CreateApplication':
      try {
        return await flink.send(new CreateApplicationCommand(r as never));
      } catch (e) {
        if (!isAwsError(e, 'ResourceInUseException')) throw e;
        const reader = await clientsAs('orchestrator', actor, 'read');
        const app = await describeApplication(reader.flink, r.ApplicationName);
        const tags = app && (await applicationTags(reader.flink, app.ApplicationARN!));
        if (!isCreatedByThisRun(tags, actor.context, actor.applicationName))
          throw conflict(change, 'an application of that name exists and was not made by this execution');
        return { ApplicationDetail: app };
      }
    case 'kinesisanalytics:UpdateApplication':
      try {
        return await flink.send(new UpdateApplicationCommand(r as never));
      } catch (e) {
        // A retry after a lost answer meets the version its first attempt made.
        if (!isAwsError(e, 'ConcurrentModificationException')) throw e;
        const app = await describeApplication((await clientsAs('orchestrator', actor, 'read')).flink, r.ApplicationName);
        if (!app || !isDeepStrictEqual(encryptionOf(app), (change.after as { encryption: unknown }).encryption)) throw e;
        return { ApplicationDetail: app };
      }
    case 'kms:CreateKey':
      try {
        return await kms.send(new CreateKeyCommand(r as never));
      } catch (e) {
        // KMS checks every principal of the policy; a role created seconds ago may not be visible yet (facts §2 step 4).
        if (isAwsError(e, 'MalformedPolicyDocumentException') && /invalid principals/i.test((e as Error).message)) {
          throw new PrincipalNotYetVisible(`KMS does not see a principal of the key policy yet: ${(e as Error).message}`, { cause: e });
        }
        throw e;
      }
    case 'kms:CreateAlias':
      try {
        // Right after CreateKey, which a retry may not repeat: this call gets the SDK's own retries.
        return await (await clientsAs(change.persona, actor, 'write', 3)).kms.send(new CreateAliasCommand(r as never));
      } catch (e) {
        if (!isAwsError(e, 'AlreadyExistsException')) throw e;
        if ((await aliasTarget(kms, r.AliasName)) !== r.TargetKeyId) throw conflict(change, 'the alias exists and names another key');
        return {};
      }
    case 'kms:UpdateAlias':
      return kms.send(new UpdateAliasCommand(r as never));
    case 'kms:PutKeyPolicy':
      return kms.send(new PutKeyPolicyCommand(r as never));
    case 'kms:TagResource':
      return kms.send(new TagResourceCommand(r as never));
    case 'kms:RotateKeyOnDemand':
      // Not idempotent in KMS: a retry after a lost answer finds the rotation made and does not rotate again.
      if ((await onDemandRotations(kms, r.KeyId)) >= (change.after as number)) return {};
      return kms.send(new RotateKeyOnDemandCommand(r as never));
    case 'kms:EnableKeyRotation':
      return kms.send(new EnableKeyRotationCommand(r as never));
    case 'kms:DisableKeyRotation':
      return kms.send(new DisableKeyRotationCommand(r as never));
  }
}

/** GetKeyRotationStatus's answer in the shape of the rotation changes' images (the period only when on). */
export const rotationImage = (status: GetKeyRotationStatusResponse): { enabled: boolean; periodInDays?: number } => ({
  enabled: !!status.KeyRotationEnabled,
  ...(status.KeyRotationEnabled && { periodInDays: status.RotationPeriodInDays }),
});

const automaticRotation = async (kms: KMSClient, keyId: string) => rotationImage(await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })));

/**
 * What the resource of `change` shows now, in the shape of its before/after images (a document, an
 * ARN, an encryption configuration and status, EXISTS), read as the persona that may read it.
 */
export async function observe(change: Change, actor: Actor): Promise<unknown> {
  const r = change.request;
  const orchestrator = await clientsAs('orchestrator', actor, 'read');
  switch (change.action) {
    case 'iam:CreateRole':
      return (await getRole(orchestrator.iam, r.RoleName)) ? EXISTS : undefined;
    case 'iam:PutRolePolicy':
    case 'iam:DeleteRolePolicy':
      return getRolePolicy(orchestrator.iam, r.RoleName, r.PolicyName);
    case 'iam:UpdateAssumeRolePolicy':
      return decodePolicy((await getRole(orchestrator.iam, r.RoleName))?.AssumeRolePolicyDocument);
    case 'iam:PutRolePermissionsBoundary':
      return (await getRole(orchestrator.iam, r.RoleName))?.PermissionsBoundary?.PermissionsBoundaryArn;
    case 'kinesisanalytics:CreateApplication': {
      const app = await describeApplication(orchestrator.flink, r.ApplicationName);
      return app && app.ApplicationStatus !== 'DELETING' ? EXISTS : undefined;
    }
    case 'kinesisanalytics:UpdateApplication': {
      const app = await describeApplication(orchestrator.flink, r.ApplicationName);
      return app && { encryption: encryptionOf(app), status: app.ApplicationStatus };
    }
  }
  const { kms } = await clientsAs('key-admin', actor, 'read');
  switch (change.action) {
    case 'kms:CreateKey':
      return (await describeKey(kms, change.resource))?.KeyState;
    case 'kms:CreateAlias':
    case 'kms:UpdateAlias':
      return aliasTarget(kms, r.AliasName);
    case 'kms:PutKeyPolicy':
      return keyPolicyOf(kms, r.KeyId);
    case 'kms:TagResource':
      return tagValue(await keyTags(kms, r.KeyId), r.Tags[0].TagKey);
    case 'kms:RotateKeyOnDemand':
      return onDemandRotations(kms, r.KeyId);
    case 'kms:EnableKeyRotation':
    case 'kms:DisableKeyRotation':
      return automaticRotation(kms, r.KeyId);
  }
}

/** What one undo did. */
export interface UndoResult {
  action: Action;
  resource: string;
  result: 'undone' | 'not-made' | 'kept' | 'changed-since';
  detail?: string;
}

/** The image that says "this part of the change took effect" (an update compares its encryption only). */
const showsAfter = (change: Change, now: unknown) =>
  change.action === 'kinesisanalytics:UpdateApplication'
    ? isDeepStrictEqual((now as { encryption?: unknown } | undefined)?.encryption, (change.after as { encryption: unknown }).encryption)
    : isDeepStrictEqual(now, change.after);

/**
 * Undoes one change made by this run: restores its before-image where the resource still shows what the
 * run left. Application updates and key creations have compensations of their own (a revert waits, a key
 * is retired only when nothing needs it): this handles every other change.
 */
export async function undoChange(change: Change, actor: Actor): Promise<UndoResult> {
  const result = (r: UndoResult['result'], detail?: string): UndoResult => ({
    action: change.action,
    resource: change.resource,
    result: r,
    ...(detail && { detail }),
  });
  if (change.kept) return result('kept', change.kept);
  // It names a key that was never made, so it never ran.
  if (namesNewKey(change)) return result('not-made');
  const now = await observe(change, actor);
  if (isDeepStrictEqual(now, change.before)) return result('not-made');
  if (!showsAfter(change, now)) return result('changed-since', 'it no longer shows what this run left, so someone changed it since; left as it is');
  const r = change.request;
  const { iam, flink, kms } = await clientsAs(change.persona, actor, 'write');
  switch (change.action) {
    case 'iam:CreateRole': {
      const role = await getRole(iam, r.RoleName);
      if (!isCreatedByThisRun(role?.Tags, actor.context, actor.applicationName)) return result('changed-since', 'not created by this execution');
      const inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: r.RoleName }))).PolicyNames ?? [];
      const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: r.RoleName }))).AttachedPolicies ?? [];
      if (inline.length || attached.length)
        return result('changed-since', `it holds policies this run did not leave (${[...inline, ...attached.map((p) => p.PolicyArn)].join(', ')})`);
      await iam.send(new DeleteRoleCommand({ RoleName: r.RoleName }));
      return result('undone');
    }
    case 'iam:PutRolePolicy':
      if (change.before === undefined) await iam.send(new DeleteRolePolicyCommand({ RoleName: r.RoleName, PolicyName: r.PolicyName }));
      else await iam.send(new PutRolePolicyCommand({ RoleName: r.RoleName, PolicyName: r.PolicyName, PolicyDocument: JSON.stringify(change.before) }));
      return result('undone');
    case 'iam:DeleteRolePolicy':
      await iam.send(new PutRolePolicyCommand({ RoleName: r.RoleName, PolicyName: r.PolicyName, PolicyDocument: JSON.stringify(change.before) }));
      return result('undone');
    case 'iam:UpdateAssumeRolePolicy':
      await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: r.RoleName, PolicyDocument: JSON.stringify(change.before) }));
      return result('undone');
    case 'kinesisanalytics:CreateApplication': {
      const reader = await clientsAs('orchestrator', actor, 'read');
      const app = (await describeApplication(reader.flink, r.ApplicationName))!;
      if (!isCreatedByThisRun(await applicationTags(reader.flink, app.ApplicationARN!), actor.context, actor.applicationName))
        return result('changed-since', 'not created by this execution');
      if (!['READY', 'RUNNING'].includes(app.ApplicationStatus!))
        throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; its deletion waits.`);
      await flink.send(new DeleteApplicationCommand({ ApplicationName: app.ApplicationName, CreateTimestamp: app.CreateTimestamp }));
      return result('undone');
    }
    case 'kms:UpdateAlias':
      await kms.send(new UpdateAliasCommand({ AliasName: r.AliasName, TargetKeyId: change.before as string }));
      return result('undone');
    case 'kms:PutKeyPolicy':
      await kms.send(new PutKeyPolicyCommand({ KeyId: r.KeyId, PolicyName: 'default', Policy: JSON.stringify(change.before) }));
      return result('undone');
    case 'kms:TagResource':
      await kms.send(new UntagResourceCommand({ KeyId: r.KeyId, TagKeys: [r.Tags[0].TagKey] }));
      return result('undone');
    case 'kms:EnableKeyRotation':
    case 'kms:DisableKeyRotation': {
      const before = change.before as { enabled: boolean; periodInDays?: number };
      if (before.enabled) await kms.send(new EnableKeyRotationCommand({ KeyId: r.KeyId, RotationPeriodInDays: before.periodInDays }));
      else await kms.send(new DisableKeyRotationCommand({ KeyId: r.KeyId }));
      return result('undone');
    }
    case 'iam:PutRolePermissionsBoundary':
    case 'kinesisanalytics:UpdateApplication':
    case 'kms:CreateKey':
    case 'kms:CreateAlias':
      throw new Error(`${change.action} is undone by its own compensation`);
    case 'kms:RotateKeyOnDemand':
      throw new Error(`${change.action} cannot be undone: it is kept by design`);
  }
}
