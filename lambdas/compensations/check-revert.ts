/** CheckRevert: one look at the revert's (or restart's) operation, as CheckUpdate does for the switch. */
import { clientsAs } from '../lib/personas';
import { pollOperation } from '../lib/poll';
import { actorOf, task } from '../lib/step';
import type { PollResult, WorkflowState } from '../lib/model';

export const handler = task('CheckRevert', 'orchestrator', async (state: WorkflowState): Promise<PollResult> => {
  const revert = state.undo!.revert!;
  const { flink } = await clientsAs('orchestrator', actorOf(state, 'CheckRevert'), 'read');
  return pollOperation(flink, state.config.applicationName, revert.operationId, revert.poll);
});
