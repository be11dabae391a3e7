/**
 * Undoes GrantOperatorKeyAccess, after the application has left the key: detaches the operator's CMK
 * policy if this execution attached it, and deletes it if this execution created it.
 */
import { DeletePolicyCommand, DetachRolePolicyCommand, GetPolicyCommand, type Policy } from '@aws-sdk/client-iam';
import { orchestrator } from '../lib/personas';
import { isAwsError } from '../lib/errors';
import { attachedPolicyArns, cmkPolicyArn } from '../steps/grant-operator-key-access';
import { createdByThisExecution, type UndoState, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<NonNullable<UndoState['operatorKeyAccess']>> {
  // The policy is per key: without a key, GrantOperatorKeyAccess never ran.
  if (!state.key) return { detached: false, deleted: false };
  const { iam } = orchestrator();
  const policyArn = cmkPolicyArn(state);
  const policy: Policy | undefined = await iam
    .send(new GetPolicyCommand({ PolicyArn: policyArn }))
    .then((o) => o.Policy)
    .catch((e) => {
      if (isAwsError(e, 'NoSuchEntity')) return undefined;
      throw e;
    });
  if (!policy) return { detached: false, deleted: false };
  const created = createdByThisExecution(policy.Tags, state);
  const attachedByUs = created || !!state.operatorKeyAccess?.attachedByThisRun;
  const role = state.config.operatorRoleName;
  const detached = attachedByUs && (await attachedPolicyArns(iam, role).catch(() => [] as string[])).includes(policyArn);
  if (detached) await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }));
  if (created) await iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
  return { detached, deleted: created };
}
