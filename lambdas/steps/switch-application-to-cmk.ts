/**
 * SwitchApplicationToCmk (facts §2 step 6), as the operator: UpdateApplication with
 * ApplicationEncryptionConfigurationUpdate and the current version (facts §5 "AOK → CMK"). Its
 * precondition is checked here, not only by the arrows: the operator's CMK policy must be attached.
 * A RUNNING application is snapshotted under its old key and restarted by MSF (facts §2, §6).
 */
import { DescribeApplicationCommand, UpdateApplicationCommand, type ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator, orchestrator } from '../lib/personas';
import { ApplicationBusy, PreconditionFailed } from '../lib/errors';
import { attachedPolicyArns, cmkPolicyArn } from './grant-operator-key-access';
import { encryptionOf } from './ensure-application';
import { FIRST_POLL_SECONDS, STABLE_STATUSES } from '../lib/poll';
import { NEW_KEY, cannotReadAs, change, isPlan, type Planned } from '../lib/plan';
import type { SwitchResult, WorkflowState } from '../lib/model';

/** A re-run after the switch was made: nothing to change, and the result says whether to wait. */
function alreadySwitched(app: ApplicationDetail, keyArn: string): SwitchResult | undefined {
  const previousEncryption = encryptionOf(app);
  if (previousEncryption.KeyType !== 'CUSTOMER_MANAGED_KEY' || previousEncryption.KeyId !== keyArn) return undefined;
  // MSF shows the new configuration as soon as the update is accepted, so if the restart is still going,
  // wait for it like a fresh switch.
  const done = STABLE_STATUSES.includes(app.ApplicationStatus!);
  return {
    alreadyOnKey: true,
    previousEncryption,
    fromVersionId: app.ApplicationVersionId!,
    poll: { done, attempt: 0, waitSeconds: done ? 0 : FIRST_POLL_SECONDS, applicationStatus: app.ApplicationStatus },
  };
}

function assertStable(app: ApplicationDetail): void {
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) {
    throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; the switch waits for READY or RUNNING.`);
  }
}

export async function handler(state: WorkflowState): Promise<Planned<SwitchResult>> {
  const { config } = state;
  const keyArn = state.key?.keyArn;
  if (!keyArn) throw new PreconditionFailed('SwitchApplicationToCmk needs the key first (CreateKey).');
  if (isPlan(state)) return plan(state, keyArn);
  const policyArn = cmkPolicyArn(state);
  if (!(await attachedPolicyArns(orchestrator().iam, config.operatorRoleName)).includes(policyArn)) {
    throw new PreconditionFailed(`The operator's CMK policy ${policyArn} is not attached to ${config.operatorRoleName}; GrantOperatorKeyAccess must run before the switch (facts §2 step 5).`);
  }
  const { flink } = await asOperator(state, 'SwitchApplicationToCmk');
  const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: config.applicationName }))).ApplicationDetail!;
  const settled = alreadySwitched(app, keyArn);
  if (settled) return settled;
  assertStable(app);
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
    previousEncryption: encryptionOf(app),
    fromVersionId: app.ApplicationVersionId!,
    poll: { done: false, attempt: 0, waitSeconds: FIRST_POLL_SECONDS, applicationStatus: out.ApplicationDetail?.ApplicationStatus },
  };
}

/** What the update does to the application, by its status (facts §6: a key change takes effect at restart). */
function restartNote(status: string | undefined): string {
  if (status === 'RUNNING') return 'the application is RUNNING: Managed Flink snapshots it under its current key and restarts it on the CMK';
  if (status === 'READY') return 'the application is READY: no restart, the key is first used at its next start';
  return `if the application is RUNNING, Managed Flink snapshots and restarts it (${cannotReadAs('operator')})`;
}

/**
 * Plan mode: the update that would be made, judged on the application as EnsureApplication just read it
 * as the operator (or planned it). The poll is done at once, so the Choice goes straight to
 * VerifyEncryption, which returns the plan.
 */
function plan(state: WorkflowState, keyArn: string): Planned<SwitchResult> {
  const app = state.application;
  if (!app || !state.operatorKeyAccess) throw new PreconditionFailed('SwitchApplicationToCmk runs after GrantOperatorKeyAccess (facts §2 step 5).');
  const alreadyOnKey = app.encryption.KeyType === 'CUSTOMER_MANAGED_KEY' && app.encryption.KeyId === keyArn;
  const key = keyArn === NEW_KEY ? `the new key ${state.key?.aliasName ?? ''}`.trim() : keyArn;
  return {
    alreadyOnKey,
    previousEncryption: app.encryption,
    fromVersionId: app.versionId,
    poll: { done: true, attempt: 0, waitSeconds: 0, applicationStatus: app.status },
    planned: alreadyOnKey ? [] : [change('kinesisanalytics:UpdateApplication', app.applicationArn, `to CUSTOMER_MANAGED_KEY ${key}; ${restartNote(app.status)}`)],
  };
}
