/**
 * Undoes EnsureOperatorRole, last of all (the operator was needed to undo the rest): its base policy and
 * trust back to their before-images, and the role deleted if this execution created it and nothing of
 * anyone else's is on it. A boundary this run added stays: it only narrows the role, and the orchestrator
 * may not remove boundaries.
 */
import type { UndoResult } from '../lib/changes';
import { task } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = task(
  'RestoreOperatorRole',
  'orchestrator',
  (state: WorkflowState): Promise<UndoResult[]> => undoSteps(state, 'EnsureOperatorRole', 'RestoreOperatorRole'),
);
