/**
 * Undoes the key switch (SwitchApplicationToCmk or SwitchApplicationToAwsOwnedKey) from its before-image — the application's encryption and status — while the
 * operator still holds its rights on the CMK, which leaving a CMK needs (facts §5, §7): an update back to
 * the previous encryption, then, if the application ran before and a failed restart left it READY, a start
 * from its latest snapshot. Decided from what the application shows, so a switch whose answer was lost is
 * still undone, one MSF already rolled back is left alone, and one someone else changed since is reported.
 * Each pass acts at most once; the Wait/CheckRevert loop waits for it, and the next pass looks again.
 */
import { StartApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { isDeepStrictEqual } from 'node:util';
import type { UndoResult } from '../lib/changes';
import { ApplicationBusy } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { FIRST_POLL_SECONDS, STABLE_STATUSES } from '../lib/poll';
import { describeApplication, encryptionOf, type EncryptionConfig } from '../lib/reads';
import { actorOf, task } from '../lib/step';
import { newestFirst } from '../lib/undo';
import { changingSteps, type RevertResult, type StepName, type WorkflowState } from '../lib/model';

/** The steps whose UpdateApplication changes the application's key: the ones this undoes. */
const KEY_SWITCHES: StepName[] = ['SwitchApplicationToCmk', 'SwitchApplicationToAwsOwnedKey'];
/** A revert and a restart at most: more passes than that means something else is moving the application. */
const MAX_PASSES = 3;

export const handler = task('RevertApplication', 'operator', async (state: WorkflowState): Promise<RevertResult> => {
  const previous = state.undo?.revert;
  const passes = previous?.passes ?? 0;
  const results = previous?.results ?? [];
  const actor = actorOf(state, 'RevertApplication');
  // The one key-changing update of the run, whichever operation's switch made it. Only a switch's: a
  // rotation's restart is an UpdateApplication too, on the same key, and cannot be taken back — "undoing" it
  // would restart a RUNNING application once per pass (a cleanup runs this for every operation).
  const switches = await Promise.all(
    changingSteps(state)
      .filter((step) => KEY_SWITCHES.includes(step))
      .map((step) => newestFirst(state, step, actor)),
  );
  const change = switches.flat().find((c) => c.action === 'kinesisanalytics:UpdateApplication');
  const settled = (result?: UndoResult): RevertResult => ({
    settled: true,
    passes,
    poll: { done: true, attempt: 0, waitSeconds: 0 },
    results: result ? [...results, result] : results,
  });
  if (!change) return settled();
  const note = (result: UndoResult['result'], detail?: string): UndoResult => ({
    action: change.action,
    resource: change.resource,
    result,
    ...(detail && { detail }),
  });
  const before = change.before as { encryption: EncryptionConfig; status: string };
  const after = change.after as { encryption: EncryptionConfig };
  const app = await describeApplication((await clientsAs('orchestrator', actor, 'read')).flink, state.config.applicationName);
  if (!app) return settled(note('changed-since', 'the application no longer exists'));
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!))
    throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; the revert waits for READY or RUNNING.`);
  const now = encryptionOf(app);
  const acting = (operationId: string | undefined, result: UndoResult): RevertResult => ({
    settled: false,
    passes: passes + 1,
    operationId,
    poll: { done: false, attempt: 0, waitSeconds: FIRST_POLL_SECONDS, applicationStatus: app.ApplicationStatus },
    results: [...results, result],
  });
  if (passes >= MAX_PASSES) return settled(note('changed-since', `after ${passes} passes it shows ${now.KeyType} ${app.ApplicationStatus}; left as it is`));
  const { flink } = await clientsAs('operator', actor, 'write');
  if (isDeepStrictEqual(now, after.encryption)) {
    const out = await flink.send(
      new UpdateApplicationCommand({
        ApplicationName: app.ApplicationName,
        CurrentApplicationVersionId: app.ApplicationVersionId,
        ApplicationConfigurationUpdate: {
          ApplicationEncryptionConfigurationUpdate:
            before.encryption.KeyType === 'AWS_OWNED_KEY'
              ? { KeyTypeUpdate: 'AWS_OWNED_KEY' }
              : { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: before.encryption.KeyId },
        },
      }),
    );
    return acting(out.OperationId, note('undone', `back to ${before.encryption.KeyType}${before.encryption.KeyId ? ` ${before.encryption.KeyId}` : ''}`));
  }
  if (!isDeepStrictEqual(now, before.encryption))
    return settled(note('changed-since', `it shows ${now.KeyType} ${now.KeyId ?? ''}, which this run did not set; left as it is`));
  // Back on its previous key. A failed restart stopped a RUNNING application: start it as it was.
  if (before.status === 'RUNNING' && app.ApplicationStatus === 'READY') {
    const out = await flink.send(
      new StartApplicationCommand({
        ApplicationName: app.ApplicationName,
        RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' } },
      }),
    );
    return acting(out.OperationId, note('undone', 'restarted: it was RUNNING before this run'));
  }
  return settled(results.length ? undefined : note('not-made'));
});
