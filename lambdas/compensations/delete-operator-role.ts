/**
 * Undoes EnsureOperatorRole, last of all (the operator was needed to undo the rest): deletes the operator
 * role if this execution created it; otherwise removes only the base policy this execution added.
 */
import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { orchestrator } from '../lib/personas';
import { isAwsError } from '../lib/errors';
import { deleteRoleIfCreatedBy, operatorServesOtherApplications } from '../lib/roles';
import { basePolicyName, createdByThisExecution, type UndoState, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<NonNullable<UndoState['operatorRole']>> {
  const { iam } = orchestrator();
  const role = state.config.operatorRoleName;
  const others = () => operatorServesOtherApplications(iam, role, basePolicyName(state.config));
  if (await deleteRoleIfCreatedBy(iam, role, (tags) => createdByThisExecution(tags, state), others)) return { deleted: true, basePolicyRemoved: true };
  // Kept (not ours, or shared): remove what this execution added to it — its base policy.
  if (!state.operator?.basePolicyAdded && !state.operator?.created) return { deleted: false, basePolicyRemoved: false };
  await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: basePolicyName(state.config) })).catch((e) => {
    if (!isAwsError(e, 'NoSuchEntity')) throw e;
  });
  return { deleted: false, basePolicyRemoved: true };
}
