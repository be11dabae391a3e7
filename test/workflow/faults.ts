/**
 * The fault matrix every operation meets, written once: the kinds of fault the sandbox injects into a
 * mutating call, and what a rollback may leave in the account's state diff.
 *
 * "Lost response" applies the call and answers 500 RequestTimeout; "crash" applies it and answers an error
 * no handler catches (Runtime.ExitError, what Lambda reports when its process dies), so no code of the
 * step runs after the call and Step Functions sees a function that died.
 */
import type { FaultSpec } from '../../local/sandbox/faults';
import type { SandboxState, StateChange } from '../../local/sandbox/state';

export type Fault = 'throttled twice' | 'permanent' | 'lost response' | 'crash';
export const FAULTS: Record<Fault, (call: Omit<FaultSpec, 'error'>) => FaultSpec> = {
  'throttled twice': (c) => ({ ...c, error: c.service === 'iam' ? 'Throttling' : 'ThrottlingException', status: 400, times: 2 }),
  permanent: (c) => ({ ...c, error: 'ValidationException', message: 'injected permanent failure', status: 400 }),
  'lost response': (c) => ({ ...c, error: 'RequestTimeout', message: 'the response never arrived', status: 500, times: 1, afterEffect: true }),
  crash: (c) => ({ ...c, error: 'Runtime.ExitError', message: 'Runtime exited with error: signal: killed', status: 500, times: 1, afterEffect: true }),
};

/** Changes to the account, less what a rollback may leave: keys it created pending deletion, MSF's operation history. */
export function leftovers(changes: StateChange[], after: SandboxState): StateChange[] {
  return changes.filter((c) => {
    if (c.path.startsWith('kinesisanalytics.operations.')) return false;
    const key = /^kms\.keys\.(.+)$/.exec(c.path);
    return !(key && c.before === undefined && after.kms.keys[key[1]]?.KeyState === 'PendingDeletion');
  });
}
