/** CheckUpdate: one look at the key-changing update; the interval doubles up to a minute. */
import { asOperator } from '../lib/personas';
import { PreconditionFailed } from '../lib/errors';
import { pollOperation } from '../lib/poll';
import { isPlan } from '../lib/plan';
import type { PollResult, WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<PollResult> {
  const sw = state.switch;
  if (!sw) throw new PreconditionFailed('CheckUpdate runs only after SwitchApplicationToCmk.');
  // Plan mode made no update to look at (the switch reports done; this is for a redrive or a manual call).
  if (isPlan(state)) return { ...sw.poll, done: true };
  const { flink } = await asOperator(state, 'CheckUpdate');
  return pollOperation(flink, state.config.applicationName, sw.operationId, sw.poll);
}
