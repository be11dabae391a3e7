/**
 * RestartApplication, as the operator (Managed Flink checks the caller's rights on the CMK): Managed Flink
 * uses new key material only after a restart (next-capabilities §1.2, the blog's advice: on-demand rotation,
 * then any UpdateApplication), so after an on-demand rotation a RUNNING application gets an UpdateApplication
 * that changes nothing but its restore configuration. Managed Flink snapshots it first, under the material
 * it runs with, and restarts it from that snapshot (facts §6) — never without one: an application with
 * snapshots disabled would restart without its state, so that is refused before any write.
 *
 * A restart cannot be taken back, so no compensation undoes it; a rollback reads the application back
 * (its before-image is RUNNING on the same key) and says plainly if it is left otherwise. The wait is
 * bounded by the state machine (IsRestartComplete).
 */
import type { Decision } from '../lib/changes';
import { PreconditionFailed } from '../lib/errors';
import { FIRST_POLL_SECONDS, settleUpdate } from '../lib/poll';
import { decided, stepHandler, type StepDefinition } from '../lib/step';
import type { RestartResult, RotationResult } from '../lib/model';

export const definition: StepDefinition<Record<string, never>, RestartResult> = {
  name: 'RestartApplication',
  persona: 'operator',
  requires: ['lock', 'rotation'],

  // The application as RotateKeyOnDemand found it is all it needs.
  async find() {
    return {};
  },

  decide(state): Decision<RestartResult> {
    const found = decided<RotationResult>(state, 'RotateKeyOnDemand');
    const none: Decision<RestartResult> = {
      changes: [],
      outcome: { restarted: false, poll: { done: true, attempt: 0, waitSeconds: 0, applicationStatus: found.applicationStatus } },
    };
    if (found.mode !== 'on-demand' || found.applicationStatus !== 'RUNNING' || state.config.restart === false) return none;
    if (!found.snapshotsEnabled) {
      throw new PreconditionFailed(
        `Application ${state.config.applicationName} is RUNNING with snapshots disabled: a restart would lose its state. Enable snapshots, or rotate with "restart": false and restart it yourself.`,
      );
    }
    const { encryption } = found;
    return {
      outcome: { restarted: true, poll: { done: false, attempt: 0, waitSeconds: FIRST_POLL_SECONDS, applicationStatus: 'RUNNING' } },
      changes: [
        {
          action: 'kinesisanalytics:UpdateApplication',
          resource: found.applicationArn,
          persona: 'operator',
          request: {
            ApplicationName: state.config.applicationName,
            CurrentApplicationVersionId: found.versionId,
            RunConfigurationUpdate: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' } },
          },
          before: { encryption, status: 'RUNNING' },
          after: { encryption },
          detail: `restarts the RUNNING application so it uses the new key material: Managed Flink snapshots it, then restores from that snapshot`,
        },
      ],
    };
  },

  settle: settleUpdate,
};

export const handler = stepHandler(definition);
