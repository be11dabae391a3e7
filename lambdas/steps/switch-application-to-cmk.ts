/**
 * SwitchApplicationToCmk (facts §2 step 6), as the operator: UpdateApplication with
 * ApplicationEncryptionConfigurationUpdate and the current version (facts §5 "AOK → CMK"). Its
 * precondition is checked here, not only by the arrows: the operator's CMK policy must be attached.
 * A RUNNING application is snapshotted under its old key and restarted by MSF (facts §2, §6).
 */
import { DescribeApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator, orchestrator } from '../lib/personas';
import { ApplicationBusy, PreconditionFailed } from '../lib/errors';
import { attachedPolicyArns, cmkPolicyArn } from './grant-operator-key-access';
import { encryptionOf } from './ensure-application';
import { FIRST_POLL_SECONDS, STABLE_STATUSES } from '../lib/poll';
import type { SwitchResult, WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<SwitchResult> {
  const { config } = state;
  const keyArn = state.key?.keyArn;
  if (!keyArn) throw new PreconditionFailed('SwitchApplicationToCmk needs the key first (CreateKey).');
  const policyArn = cmkPolicyArn(state);
  if (!(await attachedPolicyArns(orchestrator().iam, config.operatorRoleName)).includes(policyArn)) {
    throw new PreconditionFailed(`The operator's CMK policy ${policyArn} is not attached to ${config.operatorRoleName}; GrantOperatorKeyAccess must run before the switch (facts §2 step 5).`);
  }
  const { flink } = await asOperator(state, 'SwitchApplicationToCmk');
  const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: config.applicationName }))).ApplicationDetail!;
  const previousEncryption = encryptionOf(app);
  if (previousEncryption.KeyType === 'CUSTOMER_MANAGED_KEY' && previousEncryption.KeyId === keyArn) {
    // A re-run after the switch was made: nothing to change. MSF shows the new configuration as soon as
    // the update is accepted, so if the restart is still going, wait for it like a fresh switch.
    const done = STABLE_STATUSES.includes(app.ApplicationStatus!);
    return {
      alreadyOnKey: true,
      previousEncryption,
      fromVersionId: app.ApplicationVersionId!,
      poll: { done, attempt: 0, waitSeconds: done ? 0 : FIRST_POLL_SECONDS, applicationStatus: app.ApplicationStatus },
    };
  }
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) {
    throw new ApplicationBusy(`Application ${config.applicationName} is ${app.ApplicationStatus}; the switch waits for READY or RUNNING.`);
  }
  const out = await flink.send(
    new UpdateApplicationCommand({
      ApplicationName: config.applicationName,
      CurrentApplicationVersionId: app.ApplicationVersionId,
      ApplicationConfigurationUpdate: {
        ApplicationEncryptionConfigurationUpdate: { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: keyArn },
      },
    }),
  );
  return {
    alreadyOnKey: false,
    operationId: out.OperationId,
    previousEncryption,
    fromVersionId: app.ApplicationVersionId!,
    poll: { done: false, attempt: 0, waitSeconds: FIRST_POLL_SECONDS, applicationStatus: out.ApplicationDetail?.ApplicationStatus },
  };
}
