/**
 * VerifyEncryption (facts §5 "Verify"): the application, read back, reports CUSTOMER_MANAGED_KEY with this
 * key in a stable status — one DescribeApplication; the key's state and the operator's policies are what
 * the steps before made and recorded. Returns the report the execution ends with.
 */
import { PreconditionFailed, VerificationFailed } from '../lib/errors';
import { BASE_POLICY_NAME } from '../lib/names';
import { sharedOperator } from '../lib/operator';
import { clientsAs } from '../lib/personas';
import { STABLE_STATUSES } from '../lib/poll';
import { describeApplication, encryptionOf, type EncryptionConfig } from '../lib/reads';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import { keyReferences, keyState } from '../lib/undo';
import { ledgerChanges, type WorkflowState } from '../lib/model';

export interface OnboardingReport {
  applicationName: string;
  applicationArn: string;
  applicationStatus: string;
  applicationVersionId: number;
  encryption: EncryptionConfig;
  previousEncryption: EncryptionConfig;
  operationId?: string;
  key: { keyArn: string; aliasName?: string; keyState: string; created: boolean; adopted: boolean };
  operatorRoleArn: string;
  keyAdminRoleArn: string;
  /** The base policy is absent for a shared operator, whose own policies give it Managed Flink. */
  operatorPolicies: { base?: string; cmk: string };
  created: { operatorRole: boolean; application: boolean; key: boolean };
  /** How many changes this run made (0 for a run that found everything in place). */
  changes: number;
  /**
   * The CMK a move left (move-key), kept enabled with the operator's rights on it: snapshots taken under it
   * stay under it, and restoring one needs it (facts §6, §7). Retirable once nothing references it.
   */
  previousKey?: { keyArn: string; keyState: string; referencedBy: string[]; retirable: boolean };
}

export const handler = task('VerifyEncryption', 'orchestrator', async (state: WorkflowState): Promise<OnboardingReport> => {
  const { config, key, switch: sw, operator, operatorKeyAccess } = state;
  if (!key || !sw || !operator || !operatorKeyAccess) throw new PreconditionFailed('VerifyEncryption runs only after the switch.');
  const { flink } = await clientsAs('orchestrator', actorOf(state, 'VerifyEncryption'), 'read');
  const app = await describeApplication(flink, config.applicationName);
  if (!app) throw new VerificationFailed(`${config.applicationName} no longer exists.`);
  const encryption = encryptionOf(app);
  const problems: string[] = [];
  if (encryption.KeyType !== 'CUSTOMER_MANAGED_KEY' || encryption.KeyId !== key.keyArn) {
    problems.push(`the application reports ${encryption.KeyType}${encryption.KeyId ? ` ${encryption.KeyId}` : ''}, not CUSTOMER_MANAGED_KEY ${key.keyArn}`);
  }
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) problems.push(`it is ${app.ApplicationStatus}, not READY or RUNNING`);
  if (sw.operationId && sw.poll.operationStatus !== 'SUCCESSFUL')
    problems.push(`the update operation is ${sw.poll.operationStatus ?? 'unknown'}, not SUCCESSFUL`);
  if (key.keyState !== 'Enabled') problems.push(`the key is ${key.keyState}, not Enabled`);
  if (problems.length) throw new VerificationFailed(`${config.applicationName}: ${problems.join('; ')}.`);
  const left = sw.previousEncryption.KeyId;
  let previousKey: OnboardingReport['previousKey'];
  if (left && left !== key.keyArn) {
    const actor = actorOf(state, 'VerifyEncryption');
    const meta = await keyState(actor, left);
    const referencedBy = await keyReferences(state, actor, { Arn: meta?.Arn ?? left, KeyId: meta?.KeyId ?? left });
    previousKey = { keyArn: meta?.Arn ?? left, keyState: meta?.KeyState ?? 'unknown', referencedBy, retirable: referencedBy.length === 0 };
  }
  return {
    applicationName: config.applicationName,
    applicationArn: app.ApplicationARN!,
    applicationStatus: app.ApplicationStatus!,
    applicationVersionId: app.ApplicationVersionId!,
    encryption,
    previousEncryption: sw.previousEncryption,
    operationId: sw.operationId,
    key: { keyArn: key.keyArn, aliasName: key.aliasName, keyState: key.keyState, created: key.created, adopted: key.adopted },
    operatorRoleArn: operator.roleArn,
    keyAdminRoleArn: deployment().keyAdminRoleArn,
    operatorPolicies: { ...(!sharedOperator() && { base: BASE_POLICY_NAME }), cmk: operatorKeyAccess.policyName },
    created: { operatorRole: operator.created, application: !!state.application?.created, key: key.created },
    changes: ledgerChanges(state).length,
    ...(previousKey && { previousKey }),
  };
});
