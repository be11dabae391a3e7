/**
 * VerifyAwsOwnedKey: the application, read back, reports AWS_OWNED_KEY in a stable status and the operator
 * no longer holds the CMK policies this run removed. Returns the revert's report: the CMK it left is retained
 * (this operation never disables or deletes a key), with what still references it (facts §6: snapshots
 * taken under it stay under it), so its retirement is a deliberate, separate decision.
 */
import { PreconditionFailed, VerificationFailed } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { STABLE_STATUSES } from '../lib/poll';
import { describeApplication, encryptionOf, getRolePolicy, keyIdOf, type EncryptionConfig } from '../lib/reads';
import { actorOf, task } from '../lib/step';
import { keyReferences, keyState } from '../lib/undo';
import { ledgerChanges, type WorkflowState } from '../lib/model';

export interface RevertReport {
  operation: 'revert-to-aws-owned-key';
  applicationName: string;
  applicationArn: string;
  applicationStatus: string;
  encryption: EncryptionConfig;
  previousEncryption: EncryptionConfig;
  operationId?: string;
  /** The CMK left behind, kept as it is; undefined when the application was on the AWS owned key already. */
  retainedKey?: { keyArn: string; keyState: string; referencedBy: string[] };
  /** The operator's inline CMK policies this run removed. */
  operatorKeyPoliciesRemoved: string[];
  changes: number;
}

export const handler = task('VerifyAwsOwnedKey', 'orchestrator', async (state: WorkflowState): Promise<RevertReport> => {
  const { config, switch: sw, operatorKeyRemoval: removal } = state;
  if (!sw || !removal) throw new PreconditionFailed('VerifyAwsOwnedKey runs only after the switch and RemoveOperatorKeyAccess.');
  const actor = actorOf(state, 'VerifyAwsOwnedKey');
  const { flink, iam } = await clientsAs('orchestrator', actor, 'read');
  const app = await describeApplication(flink, config.applicationName);
  if (!app) throw new VerificationFailed(`${config.applicationName} no longer exists.`);
  const encryption = encryptionOf(app);
  const problems: string[] = [];
  if (encryption.KeyType !== 'AWS_OWNED_KEY') problems.push(`the application reports ${encryption.KeyType} ${encryption.KeyId}, not AWS_OWNED_KEY`);
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) problems.push(`it is ${app.ApplicationStatus}, not READY or RUNNING`);
  if (sw.operationId && sw.poll.operationStatus !== 'SUCCESSFUL')
    problems.push(`the update operation is ${sw.poll.operationStatus ?? 'unknown'}, not SUCCESSFUL`);
  for (const name of removal.policyNames) {
    if ((await getRolePolicy(iam, removal.roleName, name)) !== undefined) problems.push(`the operator still holds ${name}`);
  }
  if (problems.length) throw new VerificationFailed(`${config.applicationName}: ${problems.join('; ')}.`);
  const left = sw.previousEncryption.KeyId;
  let retainedKey: RevertReport['retainedKey'];
  if (left) {
    const keyId = await keyIdOf(left, async () => (await clientsAs('key-admin', actor, 'read')).kms);
    const meta = await keyState(actor, left);
    retainedKey = {
      keyArn: meta?.Arn ?? left,
      keyState: meta?.KeyState ?? 'unknown',
      referencedBy: await keyReferences(state, actor, { Arn: meta?.Arn ?? left, KeyId: keyId }),
    };
  }
  return {
    operation: 'revert-to-aws-owned-key',
    applicationName: config.applicationName,
    applicationArn: app.ApplicationARN!,
    applicationStatus: app.ApplicationStatus!,
    encryption,
    previousEncryption: sw.previousEncryption,
    operationId: sw.operationId,
    retainedKey,
    operatorKeyPoliciesRemoved: removal.policyNames,
    changes: ledgerChanges(state).length,
  };
});
