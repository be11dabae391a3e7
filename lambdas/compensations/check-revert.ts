/** CheckRevert: one look at the revert's operation, as CheckUpdate does for the switch. */
import { asOperator } from '../lib/personas';
import { pollOperation } from '../lib/poll';
import type { PollResult, WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<PollResult> {
  const revert = state.undo!.revert!;
  const { flink } = await asOperator(state, 'CheckRevert');
  return pollOperation(flink, state.config.applicationName, revert.operationId, revert.poll);
}
