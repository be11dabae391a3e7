/** Undoes GrantOperatorKeyAccess, after the application has left the key: the operator's CMK policy goes back to its before-image. */
import type { UndoResult } from '../lib/changes';
import { task } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = task(
  'RevokeOperatorKeyAccess',
  'orchestrator',
  (state: WorkflowState): Promise<UndoResult[]> => undoSteps(state, 'GrantOperatorKeyAccess', 'RevokeOperatorKeyAccess'),
);
