/**
 * Undoes EnsureApplication: deletes the application if this execution created it (it was left READY on
 * the AWS owned key, so no data is lost). An application that existed is never deleted.
 */
import type { UndoResult } from '../lib/changes';
import { withFreshSessions } from '../lib/step';
import { undoSteps } from '../lib/undo';
import type { WorkflowState } from '../lib/model';

export const handler = (state: WorkflowState): Promise<UndoResult[]> => withFreshSessions(() => undoSteps(state, 'EnsureApplication', 'DeleteCreatedApplication'));
