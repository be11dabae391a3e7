/** CheckUpdate: one look at the key-changing update, read by the orchestrator; the interval doubles up to 30 s. */
import { PreconditionFailed } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { pollOperation } from '../lib/poll';
import { actorOf, task } from '../lib/step';
import type { PollResult, WorkflowState } from '../lib/model';

export const handler = task('CheckUpdate', 'orchestrator', async (state: WorkflowState): Promise<PollResult> => {
  const sw = state.switch;
  if (!sw) throw new PreconditionFailed('CheckUpdate runs only after SwitchApplicationToCmk.');
  const { flink } = await clientsAs('orchestrator', actorOf(state, 'CheckUpdate'), 'read');
  return pollOperation(flink, state.config.applicationName, sw.operationId, sw.poll);
});
