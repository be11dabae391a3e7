/**
 * ReadEndedExecution: the first state of the cleanup machine. A stopped (ABORTED) or TIMED_OUT execution of an
 * operation that changes the account ran no Catch, so what it did is known only from its own history: the
 * newest state document recorded there (its before-images in the ledger, its execution ARN as owner tag) is
 * what the compensations undo. Read-only.
 *
 * Only the execution's ARN comes in (from the status-change event or `msf-cmk cleanup`); everything else is
 * read back from Step Functions, so an input cannot hand the compensations a ledger of its own making.
 */
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { InvalidInput, NotCleanable } from '../lib/errors';
import { OPERATIONS, type CleanupOf } from '../lib/model';
import { appArn, contextOf } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { task } from '../lib/step';
import type { WorkflowState } from '../lib/model';

export interface ReadEndedExecutionEvent {
  executionArn?: unknown;
  /** `$$.Execution.Id` of the cleanup itself (ClaimLock makes it the lock's holder). */
  cleanupExecutionArn?: unknown;
}
export type ReadEndedExecutionResult = (WorkflowState & { cleanupOf: CleanupOf }) | { nothingToClean: string };

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
/** The operations that change an account (the audit only reads): the cleanup machine runs their compensations. */
const CLEANABLE: string[] = Object.keys(OPERATIONS);
/** Ended without running its Catch: the only ends that can leave changes behind. */
const UNCAUGHT_ENDS = ['ABORTED', 'TIMED_OUT'];

/** The state document an event records: what a state was entered with, or left with. */
function stateOf(e: HistoryEvent): string | undefined {
  return e.stateEnteredEventDetails?.input ?? e.stateExitedEventDetails?.output;
}

const isWorkflowState = (v: unknown, executionArn: string): v is WorkflowState => {
  const s = v as Partial<WorkflowState> | null;
  return !!s && typeof s === 'object' && s.context?.executionArn === executionArn && typeof s.config?.applicationName === 'string' && !!s.ledger;
};

export const handler = task('ReadEndedExecution', 'orchestrator', async (event: ReadEndedExecutionEvent): Promise<ReadEndedExecutionResult> => {
  const executionArn = event?.executionArn;
  if (typeof executionArn !== 'string' || !EXECUTION_ARN.test(executionArn)) {
    throw new InvalidInput(
      `executionArn: must be a Step Functions execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>), got ${JSON.stringify(executionArn)}`,
    );
  }
  const cleanupExecutionArn = event.cleanupExecutionArn;
  if (typeof cleanupExecutionArn !== 'string' || !EXECUTION_ARN.test(cleanupExecutionArn)) {
    throw new InvalidInput(`cleanupExecutionArn: the state machine passes $$.Execution.Id, got ${JSON.stringify(cleanupExecutionArn)}`);
  }
  const context = contextOf(executionArn);
  const { sfn } = await clientsAs('orchestrator', { step: 'ReadEndedExecution', context, applicationName: '' }, 'read');
  const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') {
    throw new NotCleanable(
      `${executionArn} is ${status}: only an execution that has ended can be cleaned; stop it first (StopExecution), and its cleanup starts by itself.`,
    );
  }
  if (!UNCAUGHT_ENDS.includes(status!)) {
    return { nothingToClean: `${executionArn} ended ${status}: it ran its own rollback or changed nothing, so there is nothing to clean.` };
  }
  // Newest first: the first state document found is the last one the execution recorded.
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, includeExecutionData: true, maxResults: 1000, nextToken }));
    for (const e of page.events ?? []) {
      const text = stateOf(e);
      if (text === undefined) continue;
      let state: unknown;
      try {
        state = JSON.parse(text);
      } catch {
        continue;
      }
      if (!isWorkflowState(state, executionArn)) continue;
      // The cleanup's compensations are every changing operation's, each undoing only its own step's entries.
      const operation = state.config.operation ?? 'onboard-application';
      if (!CLEANABLE.includes(operation)) {
        throw new NotCleanable(
          `${executionArn} is a ${operation} execution, which the cleanup does not undo (it undoes ${CLEANABLE.join(', ')}); nothing was changed.`,
        );
      }
      // The lock may have been taken by a call whose answer was lost: ReleaseLock releases it only if this
      // execution holds it, so naming it is always safe.
      const lock = state.lock ?? { lockId: appArn(state.context, state.config.applicationName), owner: executionArn, expiresAt: 0 };
      const inFlightTask = e.type === 'TaskStateEntered' ? e.stateEnteredEventDetails?.name : undefined;
      return { ...state, lock, cleanupOf: { executionArn, status: status!, cleanupExecutionArn, ...(inFlightTask ? { inFlightTask } : {}) } };
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return { nothingToClean: `${executionArn} ended ${status} before it validated its input: it decided and changed nothing.` };
});
