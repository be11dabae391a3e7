/**
 * SwitchApplicationToCmk (facts §2 step 6), as the operator: UpdateApplication with
 * ApplicationEncryptionConfigurationUpdate and the version EnsureApplication read (facts §5 "AOK → CMK").
 * Its precondition is checked here, not only by the arrows: the operator's CMK policy is in place. A
 * RUNNING application is snapshotted under its old key and restarted by MSF (facts §2, §6). The
 * before-image is the application's encryption and status, so a rollback restores both.
 */
import { NEW_KEY, type Decision } from '../lib/changes';
import { FIRST_POLL_SECONDS, settleUpdate } from '../lib/poll';
import { decided, stepHandler, type StepDefinition } from '../lib/step';
import type { ApplicationResult, KeyResult, SwitchResult, WorkflowState } from '../lib/model';

/** What the update does to the application, by its status (facts §6: a key change takes effect at restart). */
const restartNote = (status: string) =>
  status === 'RUNNING'
    ? 'the application is RUNNING: Managed Flink snapshots it under its current key and restarts it on the CMK'
    : 'the application is READY: no restart, the key is first used at its next start';

export const definition: StepDefinition<Record<string, never>, SwitchResult> = {
  name: 'SwitchApplicationToCmk',
  persona: 'operator',
  // The operator's CMK policy must be in place first (facts §2 step 5).
  requires: ['lock', 'operatorKeyAccess'],

  // Everything it needs was decided before: the application as EnsureApplication found it, and the key.
  async find() {
    return {};
  },

  decide(state: WorkflowState): Decision<SwitchResult> {
    const app = decided<ApplicationResult>(state, 'EnsureApplication');
    const key = decided<KeyResult>(state, 'CreateKey');
    const target = { KeyType: 'CUSTOMER_MANAGED_KEY' as const, KeyId: key.keyArn };
    const alreadyOnKey = app.encryption.KeyType === 'CUSTOMER_MANAGED_KEY' && app.encryption.KeyId === key.keyArn;
    const outcome: SwitchResult = {
      alreadyOnKey,
      previousEncryption: app.encryption,
      fromVersionId: app.versionId,
      poll: { done: alreadyOnKey, attempt: 0, waitSeconds: alreadyOnKey ? 0 : FIRST_POLL_SECONDS, applicationStatus: app.status },
    };
    if (alreadyOnKey) return { changes: [], outcome };
    return {
      outcome,
      changes: [
        {
          action: 'kinesisanalytics:UpdateApplication',
          resource: app.applicationArn,
          persona: 'operator',
          request: {
            ApplicationName: state.config.applicationName,
            CurrentApplicationVersionId: app.versionId,
            ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: key.keyArn } },
          },
          before: { encryption: app.encryption, status: app.status },
          after: { encryption: target },
          detail: `to CUSTOMER_MANAGED_KEY ${key.keyId === NEW_KEY ? `the new key ${key.aliasName}` : key.keyArn}; ${restartNote(app.status)}`,
        },
      ],
    };
  },

  settle: settleUpdate,
};

export const handler = stepHandler(definition);
