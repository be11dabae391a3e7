/** Undoes RemoveOperatorKeyAccess, before the application returns to its CMK: the operator's CMK policy back from its before-image. */
import type { UndoResult } from '../lib/changes';
import { task } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = task(
  'RestoreOperatorKeyAccess',
  'orchestrator',
  (state: WorkflowState): Promise<UndoResult[]> => undoSteps(state, 'RemoveOperatorKeyAccess', 'RestoreOperatorKeyAccess'),
);
