/**
 * What every compensation shares: a step's ledger entries newest first, the keys this run created (from
 * CreateKey's result, or — when a crash lost it — by their ownership tags), and what still references a
 * key, which decides between retiring and retaining it (facts §6, §7: snapshots under a key stay
 * unreadable without it).
 */
import { GetResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { namesNewKey, undoChange, withKey, type Change, type UndoResult } from './changes';
import { APPLICATION_KEY, CREATED_BY_KEY, aliasArn, aliasName, appArn } from './names';
import { clientsAs, type Actor } from './personas';
import { applicationSnapshots, describeApplication, describeKey, encryptionOf } from './reads';
import { deployment } from './settings';
import { actorOf } from './step';
import type { StepName, WorkflowState } from './model';

/**
 * The keys this run created: CreateKey's result names it; if CreateKey's result was lost (a crash between
 * CreateKey and the end of its step), the key carries this execution's ownership tags from its creation.
 */
export async function createdKeys(state: WorkflowState, actor: Actor): Promise<Pick<KeyMetadata, 'KeyId' | 'Arn'>[]> {
  if (!state.ledger.CreateKey?.changes.some((c) => c.action === 'kms:CreateKey')) return [];
  if (state.key?.created) return [{ KeyId: state.key.keyId, Arn: state.key.keyArn }];
  const { tagging } = await clientsAs('orchestrator', actor, 'read');
  const found: Pick<KeyMetadata, 'KeyId' | 'Arn'>[] = [];
  let PaginationToken: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        ResourceTypeFilters: ['kms:key'],
        TagFilters: [
          { Key: CREATED_BY_KEY, Values: [state.context.executionArn] },
          { Key: APPLICATION_KEY, Values: [appArn(state.context, state.config.applicationName)] },
        ],
        PaginationToken,
      }),
    );
    for (const r of page.ResourceTagMappingList ?? []) found.push({ Arn: r.ResourceARN, KeyId: r.ResourceARN!.split('/').pop() });
    PaginationToken = page.PaginationToken || undefined;
  } while (PaginationToken);
  return found;
}

/** The ledger entry with NEW_KEY made concrete, for a run that created exactly one key. */
export const concrete = (change: Change, keys: Pick<KeyMetadata, 'KeyId' | 'Arn'>[]) => (keys.length === 1 ? withKey(change, keys[0]) : change);

/** A step's changes as they were made (NEW_KEY resolved), newest first: the order they are undone in. */
export async function newestFirst(state: WorkflowState, step: StepName, actor: Actor): Promise<Change[]> {
  const changes = state.ledger[step]?.changes ?? [];
  const keys = changes.some(namesNewKey) ? await createdKeys(state, actor) : [];
  return changes.map((c) => concrete(c, keys)).reverse();
}

/** What of the application still names the key: its configuration, its snapshots (facts §6). */
export async function keyReferences(state: WorkflowState, actor: Actor, key: Pick<KeyMetadata, 'KeyId' | 'Arn'>): Promise<string[]> {
  const alias = aliasName(deployment(), state.config.applicationName);
  const names = new Set([key.Arn, key.KeyId, alias, aliasArn(state.context, alias)]);
  const { flink } = await clientsAs('orchestrator', actor, 'read');
  const app = await describeApplication(flink, state.config.applicationName);
  if (!app) return [];
  const refs: string[] = [];
  if (names.has(encryptionOf(app).KeyId)) refs.push(`application ${app.ApplicationARN}`);
  for (const s of await applicationSnapshots(flink, state.config.applicationName)) {
    if (names.has(s.ApplicationEncryptionConfigurationDescription?.KeyId)) refs.push(`snapshot ${s.SnapshotName}`);
  }
  return refs;
}

/** A key's state as the key administrator reads it (undefined once it is deleted). */
export async function keyState(actor: Actor, keyRef: string): Promise<KeyMetadata | undefined> {
  return describeKey((await clientsAs('key-admin', actor, 'read')).kms, keyRef);
}

/** Undoes a step's generic changes newest first (those with compensations of their own are skipped by the caller). */
export async function undoSteps(state: WorkflowState, step: StepName, compensation: string): Promise<UndoResult[]> {
  const actor = actorOf(state, compensation);
  const results: UndoResult[] = [];
  for (const change of await newestFirst(state, step, actor)) results.push(await undoChange(change, actor));
  return results;
}
