/** CheckRestart: one look at the restart RestartApplication started, read by the orchestrator; the interval doubles up to 30 s. */
import { PreconditionFailed } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { pollOperation } from '../lib/poll';
import { actorOf, task } from '../lib/step';
import type { PollResult, WorkflowState } from '../lib/model';

export const handler = task('CheckRestart', 'orchestrator', async (state: WorkflowState): Promise<PollResult> => {
  const restart = state.restart;
  if (!restart?.restarted) throw new PreconditionFailed('CheckRestart runs only after RestartApplication restarted the application.');
  const { flink } = await clientsAs('orchestrator', actorOf(state, 'CheckRestart'), 'read');
  return pollOperation(flink, state.config.applicationName, restart.operationId, restart.poll);
});
