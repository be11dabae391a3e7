/**
 * Undoes EnsureApplication: deletes the application if this execution created it (it was left READY on
 * the AWS owned key, so no data is lost). An application that existed is never deleted.
 */
import type { UndoResult } from '../lib/changes';
import { task } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = task(
  'DeleteCreatedApplication',
  'operator',
  (state: WorkflowState): Promise<UndoResult[]> => undoSteps(state, 'EnsureApplication', 'DeleteCreatedApplication'),
);
