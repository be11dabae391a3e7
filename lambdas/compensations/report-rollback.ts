/**
 * ReportRollback: after a complete rollback, the execution fails with the original step, error and cause,
 * plus any key kept because something still needs it. Pure: reads the ledger, calls nothing.
 */
import type { WorkflowState } from '../lib/model';

export interface RollbackReport { error: string; cause: string }

/** The step that failed: the first whose result is missing from the state (the ASL order). */
export function failedStep(s: WorkflowState): string {
  if (!s.operator) return 'EnsureOperatorRole';
  if (!s.application) return 'EnsureApplication';
  if (!s.keyAdmin) return 'EnsureKeyAdminRole';
  if (!s.key) return 'CreateKey';
  if (!s.operatorKeyAccess) return 'GrantOperatorKeyAccess';
  if (!s.switch) return 'SwitchApplicationToCmk';
  if (!s.switch.poll.done) return 'CheckUpdate';
  return 'VerifyEncryption';
}

export const original = (s: WorkflowState) =>
  `${failedStep(s)} failed with ${s.failure?.Error ?? 'an unknown error'}: ${(s.failure?.Cause ?? '').replace(/\.$/, '')}`;

/** RolledBack: everything this execution did is undone. */
export async function handler(s: WorkflowState): Promise<RollbackReport> {
  const kept = s.undo?.key?.action === 'retained' ? ` Key ${s.undo.key.keyArn} was kept enabled: ${s.undo.key.references!.join(', ')} still reference it.` : '';
  const deleting = s.undo?.key?.action === 'scheduled-deletion' ? ` Key ${s.undo.key.keyArn} is scheduled for deletion on ${s.undo.key.deletionDate}.` : '';
  return { error: s.failure?.Error ?? 'States.TaskFailed', cause: `${original(s)}. Rolled back.${kept}${deleting}` };
}
