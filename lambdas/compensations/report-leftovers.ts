/**
 * ReportLeftovers: after a compensation failed for good, the execution ends RollbackIncomplete with what
 * is left in place (ARNs), from the ledger and the undo results. Pure: calls nothing.
 */
import { cmkPolicyArn } from '../steps/grant-operator-key-access';
import { appArn, type UndoState, type WorkflowState } from '../lib/model';
import { original, type RollbackReport } from './report-rollback';

export async function handler(s: WorkflowState): Promise<RollbackReport> {
  const undo: UndoState = s.undo ?? {};
  const left: string[] = [];
  if (!undo.revert?.poll.done && s.key && s.switch && !s.switch.alreadyOnKey) left.push(`${appArn(s)} (on ${s.key.keyArn}; was ${s.application?.encryption.KeyType})`);
  if (!undo.operatorKeyAccess && s.operatorKeyAccess?.created) left.push(cmkPolicyArn(s));
  if (!undo.key && s.key?.created) left.push(s.key.keyArn);
  if (!undo.keyAdminRole && s.keyAdmin?.created) left.push(s.keyAdmin.roleArn);
  if (!undo.application && s.application?.created) left.push(s.application.applicationArn);
  if (!undo.operatorRole && s.operator?.created) left.push(s.operator.roleArn);
  const why = `${s.rollbackFailure?.Error ?? 'an error'}: ${s.rollbackFailure?.Cause ?? ''}`;
  return { error: 'RollbackIncomplete', cause: `${original(s)}. The rollback stopped (${why}). Left in place: ${left.join(', ') || 'nothing recorded'}.` };
}
