/** Undoes SetAutomaticRotation: the key's automatic rotation setting (and period) back from its before-image. */
import type { UndoResult } from '../lib/changes';
import { task } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = task(
  'RestoreAutomaticRotation',
  'key-admin',
  (state: WorkflowState): Promise<UndoResult[]> => undoSteps(state, 'SetAutomaticRotation', 'RestoreAutomaticRotation'),
);
