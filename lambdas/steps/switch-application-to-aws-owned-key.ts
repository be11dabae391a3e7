/**
 * SwitchApplicationToAwsOwnedKey (facts §5 "CMK → AOK"), as the operator: UpdateApplication with
 * `KeyTypeUpdate: AWS_OWNED_KEY` and no KeyIdUpdate. The operator must still hold its rights on the CMK for
 * the call and the restart (a RUNNING application restores a snapshot written under the CMK), so that is
 * this step's precondition; RemoveOperatorKeyAccess takes them away only after the switch. The key itself
 * is retained: snapshots taken under it stay under it (next-capabilities §1.3).
 */
import type { ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import type { Decision } from '../lib/changes';
import { ApplicationBusy, ApplicationNotFound, PreconditionFailed } from '../lib/errors';
import { appArn, operatorRoleName } from '../lib/names';
import { operatorKeyPolicyOf } from '../lib/operator';
import { FIRST_POLL_SECONDS, STABLE_STATUSES, settleUpdate } from '../lib/poll';
import { describeApplication, encryptionOf, keyIdOf } from '../lib/reads';
import { deployment } from '../lib/settings';
import { stepHandler, type StepDefinition } from '../lib/step';
import type { SwitchResult } from '../lib/model';

interface Found {
  app?: ApplicationDetail;
  keyId?: string;
  operatorKeyPolicy?: unknown;
}

/** What the update does to the application, by its status (facts §6: a key change takes effect at restart). */
export const restartNote = (status: string, from: string, to: string) =>
  status === 'RUNNING'
    ? `the application is RUNNING: Managed Flink snapshots it under ${from} and restarts it on ${to}`
    : `the application is READY: no restart, ${to} is first used at its next start`;

export const definition: StepDefinition<Found, SwitchResult> = {
  name: 'SwitchApplicationToAwsOwnedKey',
  persona: 'operator',
  requires: ['lock'],

  async find(state, read) {
    const orchestrator = await read('orchestrator');
    const app = await describeApplication(orchestrator.flink, state.config.applicationName);
    const encryption = app && encryptionOf(app);
    if (encryption?.KeyType !== 'CUSTOMER_MANAGED_KEY') return { app };
    const keyId = await keyIdOf(encryption.KeyId!, async () => (await read('key-admin')).kms);
    const operatorKeyPolicy = await operatorKeyPolicyOf(orchestrator.iam, state.context, operatorRoleName(deployment(), state.config.applicationName), keyId);
    return { app, keyId, operatorKeyPolicy };
  },

  decide(state, { app, operatorKeyPolicy }): Decision<SwitchResult> {
    const { applicationName } = state.config;
    if (!app) throw new ApplicationNotFound(`Application ${applicationName} does not exist in ${state.context.region}.`);
    if (!STABLE_STATUSES.includes(app.ApplicationStatus!))
      throw new ApplicationBusy(`Application ${applicationName} is ${app.ApplicationStatus}; waiting for READY or RUNNING.`);
    const encryption = encryptionOf(app);
    const alreadyOnKey = encryption.KeyType === 'AWS_OWNED_KEY';
    const outcome: SwitchResult = {
      alreadyOnKey,
      previousEncryption: encryption,
      fromVersionId: app.ApplicationVersionId!,
      poll: { done: alreadyOnKey, attempt: 0, waitSeconds: alreadyOnKey ? 0 : FIRST_POLL_SECONDS, applicationStatus: app.ApplicationStatus },
    };
    if (alreadyOnKey) return { changes: [], outcome };
    if (operatorKeyPolicy === undefined) {
      throw new PreconditionFailed(
        `The operator of ${applicationName} holds no rights on ${encryption.KeyId}, and leaving a CMK needs them for the switch and its restart (facts §5); onboard the application onto that key (msf-cmk run) to grant them, then revert.`,
      );
    }
    return {
      outcome,
      changes: [
        {
          action: 'kinesisanalytics:UpdateApplication',
          resource: appArn(state.context, applicationName),
          persona: 'operator',
          request: {
            ApplicationName: applicationName,
            CurrentApplicationVersionId: app.ApplicationVersionId,
            ApplicationConfigurationUpdate: { ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'AWS_OWNED_KEY' } },
          },
          before: { encryption, status: app.ApplicationStatus },
          after: { encryption: { KeyType: 'AWS_OWNED_KEY' } },
          detail: `to AWS_OWNED_KEY from ${encryption.KeyId}, which is retained; ${restartNote(app.ApplicationStatus!, 'the CMK', 'the AWS owned key')}`,
        },
      ],
    };
  },

  settle: settleUpdate,
};

export const handler = stepHandler(definition);
