/** Undoes EnsureKeyAdminRole: deletes the key-admin role if this execution created it. */
import { orchestrator } from '../lib/personas';
import { deleteRoleIfCreatedBy, operatorServesOtherApplications } from '../lib/roles';
import { basePolicyName, createdByThisExecution, type UndoState, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<NonNullable<UndoState['keyAdminRole']>> {
  const { iam } = orchestrator();
  const deleted = await deleteRoleIfCreatedBy(
    iam,
    state.config.keyAdminRoleName,
    (tags) => createdByThisExecution(tags, state),
    // Other applications' keys name the key admin: it stays while the operator serves them.
    () => operatorServesOtherApplications(iam, state.config.operatorRoleName, basePolicyName(state.config)),
  );
  return { deleted };
}
