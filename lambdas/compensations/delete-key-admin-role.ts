/** Undoes EnsureKeyAdminRole: deletes the key-admin role if this execution created it. */
import { orchestrator } from '../lib/personas';
import { deleteRoleIfCreatedBy } from '../lib/roles';
import { createdByThisExecution, type UndoState, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<NonNullable<UndoState['keyAdminRole']>> {
  const deleted = await deleteRoleIfCreatedBy(orchestrator().iam, state.config.keyAdminRoleName, (tags) => createdByThisExecution(tags, state));
  return { deleted };
}
