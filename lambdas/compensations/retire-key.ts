/**
 * Undoes CreateKey. A key this execution created (found by its result or, after a crash, by its ownership
 * tags) is scheduled for deletion after the deployment's pending window — unless the application or one of
 * its snapshots still references it: deleting it would make them unrestorable (facts §6, §7), so it stays
 * enabled, is tagged with why, keeps its alias (a re-run finds and reuses it) and is reported. An alias is
 * deleted only after its key's deletion is scheduled, so a key is never left live without one. Every other
 * change (a rewritten key policy, a moved alias) goes back to its before-image. An adopted key is untouched.
 * A key to be deleted loses its in-use tag first, which the deletion guard's deny is conditioned on.
 */
import { DeleteAliasCommand, ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { undoChange, type UndoResult } from '../lib/changes';
import { IN_USE_KEY, RETAINED_KEY, aliasName, isCreatedByThisRun, tagValue } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { aliasTarget, keyTags } from '../lib/reads';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import { createdKeys, keyReferences, keyState, newestFirst } from '../lib/undo';
import type { KeyRetirement, WorkflowState } from '../lib/model';

async function retire(state: WorkflowState, key: Pick<KeyMetadata, 'KeyId' | 'Arn'>): Promise<KeyRetirement> {
  const actor = actorOf(state, 'RetireKey');
  const meta = await keyState(actor, key.Arn!);
  if (!meta) return { keyArn: key.Arn!, result: 'none' };
  const { kms } = await clientsAs('key-admin', actor, 'write');
  const tags = await keyTags(kms, meta.KeyId!);
  if (!isCreatedByThisRun(tags, state.context, state.config.applicationName)) return { keyArn: key.Arn!, result: 'none' };
  const alias = aliasName(deployment(), state.config.applicationName);
  let deletionDate = meta.DeletionDate?.toISOString();
  if (meta.KeyState !== 'PendingDeletion') {
    const references = await keyReferences(state, actor, key);
    if (references.length) {
      await kms.send(
        new TagResourceCommand({ KeyId: meta.KeyId, Tags: [{ TagKey: RETAINED_KEY, TagValue: `referenced by ${references.join(', ')}`.slice(0, 256) }] }),
      );
      return { keyArn: key.Arn!, result: 'retained', references };
    }
    // Nothing needs the key, so it is no longer in use: the deletion guard's deny lifts with the tag.
    if (tagValue(tags, IN_USE_KEY) !== undefined) await kms.send(new UntagResourceCommand({ KeyId: meta.KeyId, TagKeys: [IN_USE_KEY] }));
    deletionDate = (
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: meta.KeyId, PendingWindowInDays: deployment().pendingWindowDays }))
    ).DeletionDate?.toISOString();
  }
  // Only now the alias, and only if it is this key's: a re-run creates a fresh key instead of finding this one.
  if ((await aliasTarget(kms, alias)) === meta.KeyId) await kms.send(new DeleteAliasCommand({ AliasName: alias }));
  return { keyArn: key.Arn!, result: 'scheduled-deletion', deletionDate };
}

export const handler = task('RetireKey', 'key-admin', async (state: WorkflowState): Promise<{ results: UndoResult[]; retired: KeyRetirement[] }> => {
  const actor = actorOf(state, 'RetireKey');
  const keys = await createdKeys(state, actor);
  const results: UndoResult[] = [];
  const retired: KeyRetirement[] = [];
  for (const change of await newestFirst(state, 'CreateKey', actor)) {
    if (change.action === 'kms:CreateKey') for (const key of keys) retired.push(await retire(state, key));
    // The alias of a created key goes with the key's retirement.
    else if (change.action !== 'kms:CreateAlias') results.push(await undoChange(change, actor));
  }
  return { results, retired };
});
