/** CheckUpdate: one look at the key-changing update; the interval doubles up to a minute. */
import { asOperator } from '../lib/personas';
import { PreconditionFailed } from '../lib/errors';
import { pollOperation } from '../lib/poll';
import type { PollResult, WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<PollResult> {
  const sw = state.switch;
  if (!sw) throw new PreconditionFailed('CheckUpdate runs only after SwitchApplicationToCmk.');
  const { flink } = await asOperator(state, 'CheckUpdate');
  return pollOperation(flink, state.config.applicationName, sw.operationId, sw.poll);
}
