/**
 * ReportRollback: after the compensations — complete or stopped by a failure — every change the ledger
 * records is read back from the account and compared with its before-image. Nothing differs: the execution
 * fails with the original step, error and cause ("Rolled back."). Something differs: it ends
 * RollbackIncomplete, listing what is left as the account shows it — including, plainly, an application
 * left stopped that was running. A key kept because something references it, a key pending deletion and a
 * boundary kept by design are reported, not counted as left.
 */
import { isDeepStrictEqual } from 'node:util';
import { namesNewKey, observe, type Change } from '../lib/changes';
import { causeMessage } from '../lib/errors';
import { RETAINED_KEY, aliasName } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { keyTags, type EncryptionConfig } from '../lib/reads';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import { concrete, createdKeys, keyState } from '../lib/undo';
import { OPERATIONS, changingSteps, ledgerChanges, type WorkflowState } from '../lib/model';

export interface RollbackReport {
  complete: boolean;
  error: string;
  cause: string;
  /** What differs from the before-images, as read back. */
  left: string[];
  /** What stays by design, and why. */
  notes: string[];
}

/** The state that failed: the first decision missing (every step decides before any applies), else the first result. */
export function failedStep(s: WorkflowState): string {
  const undecided = changingSteps(s).find((n) => !s.ledger[n]);
  if (undecided) return `Decide${undecided}`;
  const states = OPERATIONS[s.config.operation ?? 'onboard-application'];
  return (states.find(([, result]) => !result(s)) ?? states.at(-1)!)[0];
}

/** How the run ended: the step that failed and why; for a cleanup, how and where the cleaned execution ended. */
export const original = (s: WorkflowState) =>
  s.cleanupOf
    ? `${s.cleanupOf.executionArn} ended ${s.cleanupOf.status} in ${s.cleanupOf.inFlightTask ?? failedStep(s)}, running no Catch; cleaned by ${s.cleanupOf.cleanupExecutionArn}`
    : `${failedStep(s)} failed with ${s.failure?.Error ?? 'an unknown error'}: ${causeMessage(s.failure?.Cause).replace(/\.$/, '')}`;

const CREATIONS = new Set(['iam:CreateRole', 'kinesisanalytics:CreateApplication', 'kms:CreateKey']);

const show = (v: unknown) => (v === undefined ? 'nothing' : typeof v === 'string' ? v : JSON.stringify(v));

export const handler = task('ReportRollback', 'orchestrator', async (state: WorkflowState): Promise<RollbackReport> => {
  // Refused while deciding: no apply ran, so nothing was written and there is nothing to read back.
  if (failedStep(state).startsWith('Decide')) {
    return { complete: true, error: state.failure?.Error ?? 'States.TaskFailed', cause: `${original(state)}. Nothing was changed.`, left: [], notes: [] };
  }
  const actor = actorOf(state, 'ReportRollback');
  const keys = await createdKeys(state, actor);
  const left: string[] = [];
  const notes: string[] = [];
  // Each created key: retired (pending deletion, or gone), or retained because something needs it.
  const retained = new Set<string>();
  for (const key of keys) {
    const described = await keyState(actor, key.Arn!);
    if (!described || described.KeyState === 'PendingDeletion') {
      notes.push(`key ${key.Arn} ${described ? `is scheduled for deletion on ${described.DeletionDate?.toISOString()}` : 'is deleted'}`);
      continue;
    }
    const why = (await keyTags((await clientsAs('key-admin', actor, 'read')).kms, key.KeyId!)).find((t) => t.TagKey === RETAINED_KEY);
    if (!why) {
      left.push(`key ${key.Arn} is ${described.KeyState}, not scheduled for deletion`);
      continue;
    }
    retained.add(key.KeyId!);
    notes.push(
      `key ${key.Arn} (${aliasName(deployment(), state.config.applicationName)}) was kept enabled: ${why.TagValue?.replace(/^referenced by /, '')} still reference it`,
    );
  }
  const changes = ledgerChanges(state).map((c) => concrete(c, keys));
  // What this run created and has removed again: later entries on it are moot.
  const removed = new Set<string>();
  for (const c of changes.filter((c) => CREATIONS.has(c.action) && c.action !== 'kms:CreateKey')) {
    if ((await observe(c, actor)) === undefined) removed.add(c.resource);
  }
  for (const change of changes) {
    if (removed.has(change.resource)) continue;
    if (change.kept) {
      notes.push(`${change.action} on ${change.resource} kept: ${change.kept}`);
      continue;
    }
    if (change.action === 'kms:CreateKey' || namesNewKey(change)) continue;
    const now = await observe(change, actor);
    if (isDeepStrictEqual(now, change.before)) continue;
    // A retained key keeps its alias on purpose: a re-run finds it.
    if (change.action === 'kms:CreateAlias' && retained.has(now as string)) continue;
    left.push(leftOver(change, now));
  }
  const complete = left.length === 0;
  const noted = notes.length ? ` ${notes.join('. ')}.` : '';
  if (complete) return { complete, error: state.failure?.Error ?? 'States.TaskFailed', cause: `${original(state)}. Rolled back.${noted}`, left, notes };
  const stopped = state.rollbackFailure ? ` The rollback stopped: ${state.rollbackFailure.Error}: ${causeMessage(state.rollbackFailure.Cause)}.` : '';
  return {
    complete,
    error: 'RollbackIncomplete',
    cause: `${original(state)}.${stopped} Left in place, as read back from the account: ${left.join('; ')}.${noted}`,
    left,
    notes,
  };
});

/** What differs, in words; an application back on its key but stopped is said plainly. */
function leftOver(change: Change, now: unknown): string {
  if (change.action !== 'kinesisanalytics:UpdateApplication')
    return `${change.action} on ${change.resource}: it shows ${show(now)}, was ${show(change.before)}`;
  const before = change.before as { encryption: EncryptionConfig; status: string };
  const shown = now as { encryption: EncryptionConfig; status: string } | undefined;
  if (shown && isDeepStrictEqual(shown.encryption, before.encryption)) {
    return `${change.resource} is back on ${before.encryption.KeyType} but ${shown.status === 'READY' ? 'left READY (stopped)' : `is ${shown.status}`}; it was ${before.status}`;
  }
  return `${change.resource} shows ${show(shown?.encryption)} (${shown?.status ?? 'gone'}); it was ${before.encryption.KeyType} ${before.status}`;
}
