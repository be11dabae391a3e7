/**
 * The fault matrix every operation meets, written once: the kinds of fault the sandbox injects into a
 * mutating call, and what a rollback may leave in the account's state diff.
 *
 * "Lost response" applies the call and answers 500 RequestTimeout; "crash" applies it and answers an error
 * no handler catches (Runtime.ExitError, what Lambda reports when its process dies), so no code of the
 * step runs after the call and Step Functions sees a function that died.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ExecutionResult } from '../../local/runner';
import type { FaultSpec } from '../../local/sandbox/faults';
import type { SandboxState, StateChange } from '../../local/sandbox/state';
import { world, type World } from './harness';

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
    // The lock item: the workflow's own bookkeeping, kept after release by design.
    if (c.path.startsWith('dynamodb.tables.')) return false;
    const key = /^kms\.keys\.(.+)$/.exec(c.path);
    return !(key && c.before === undefined && after.kms.keys[key[1]]?.KeyState === 'PendingDeletion');
  });
}

/** An update and its revert make new application versions: MSF's version history is history, like its operations. */
const VERSION_HISTORY = [
  'ApplicationVersionId',
  'ApplicationVersionUpdatedFrom',
  'ApplicationVersionRolledBackFrom',
  'ApplicationVersionRolledBackTo',
  'ConditionalToken',
  'LastUpdateTimestamp',
];
const withoutHistory = (app: unknown) => app && Object.fromEntries(Object.entries(app).filter(([k]) => !VERSION_HISTORY.includes(k)));
/** An alias moved and moved back names the same key; only its LastUpdatedDate says it moved. */
const aliasTarget = (alias: unknown) => (alias as { TargetKeyId?: string } | undefined)?.TargetKeyId;
/**
 * A key's rotations are kept by design (new material cannot be taken back), and a period KMS no longer
 * applies once rotation is off is not shown by GetKeyRotationStatus: what else of the key differs counts.
 */
const withoutRotationHistory = (key: unknown) => {
  if (!key) return key;
  const { Rotations: _r, KeyMaterial: _m, RotationPeriodInDays, ...rest } = key as Record<string, unknown>;
  return rest.RotationEnabled ? { ...rest, RotationPeriodInDays } : rest;
};
/** leftovers, also less an existing application's version history, a key's rotations and the dates of an alias moved back. */
export const leftoversOfExisting = (changes: StateChange[], after: SandboxState) =>
  leftovers(changes, after).filter(
    (c) =>
      !(/^kinesisanalytics\.applications\./.test(c.path) && isDeepStrictEqual(withoutHistory(c.before), withoutHistory(c.after))) &&
      !(/^kms\.keys\./.test(c.path) && c.before !== undefined && isDeepStrictEqual(withoutRotationHistory(c.before), withoutRotationHistory(c.after))) &&
      !(/^kms\.aliases\./.test(c.path) && c.before !== undefined && aliasTarget(c.before) === aliasTarget(c.after)),
  );

export interface MatrixSpec {
  /** Names the matrix in the output. */
  operation: string;
  /** Prepares the account once (e.g. onboards an application); every scenario starts from its snapshot. */
  prepare(w: World): Promise<void>;
  run(w: World): Promise<ExecutionResult>;
  /** What the account shows once the operation is done (ids aside). */
  done(w: World): unknown;
  forward: Record<string, Omit<FaultSpec, 'error'>>;
  compensating: Record<string, Omit<FaultSpec, 'error'>>;
  /** Fails the run for good once everything forward is applied, so the compensations run. */
  failLate: FaultSpec;
  /** The cause such a failure ends with, when the rollback completes. */
  lateCause: string;
}

/**
 * The fault matrix of an operation on an existing application: every mutating call × every fault ends done
 * exactly once or with the account as before the run; a compensation failing for good ends
 * RollbackIncomplete; either way the next run converges. Prints the matrix.
 */
export function faultMatrix(spec: MatrixSpec): void {
  describe(`${spec.operation} fault matrix: every mutating call × throttled twice, permanent, lost response, crash`, () => {
    const table: string[] = [];
    let w: World;
    let prepared: SandboxState;
    let expected: unknown;
    beforeAll(async () => {
      w = await world();
      await spec.prepare(w);
      prepared = w.sb.sandbox.snapshot();
    });
    afterAll(async () => {
      console.log(`${spec.operation} fault matrix (${table.length} scenarios; call × fault → outcome)\n${table.join('\n')}`);
      await w.close();
    });
    beforeEach(async () => {
      w.sb.sandbox.faults.clear();
      w.sb.sandbox.restore(prepared);
      // Scenarios are seconds apart, as runs are: the per-API request rates (token buckets) refill.
      w.sb.sandbox.advance(60_000);
      // The lock table lives outside the sandbox's state: a lock the last scenario left is freed here.
      await w.unlock('orders', 'the next scenario');
    });

    /**
     * The next run succeeds; a lock whose release failed for good is freed by `msf-cmk unlock` first. After
     * a RollbackIncomplete what it reported is left (a retained key), so only there the account may differ.
     */
    async function nextRunGoes(strict = true): Promise<string> {
      let next = await spec.run(w);
      let note = '';
      if (next.error === 'AlreadyInProgress') {
        expect((await w.unlock('orders', 'its release failed')).unlocked).toBe(true);
        next = await spec.run(w);
        note = '; its lock, left by a lost release, freed by unlock';
      }
      expect(next.status).toBe('SUCCEEDED');
      if (!strict) return note;
      const now = spec.done(w);
      if (expected === undefined) expected = now;
      expect(now).toEqual(expected);
      return note;
    }

    async function expectCleanEnd(result: ExecutionResult): Promise<string> {
      w.sb.sandbox.advance(0);
      if (result.status === 'FAILED') {
        expect(leftoversOfExisting(w.sb.sandbox.diff(prepared), w.sb.sandbox.state)).toEqual([]);
        const failedAt = result.events.filter((e) => e.type === 'StateFailed').map((e) => (e as { state: { name: string } }).state.name);
        if (!failedAt.includes('AcquireLock')) expect(result.cause).toMatch(/Rolled back\.|Nothing was changed\./);
      } else if (expected !== undefined) expect(spec.done(w)).toEqual(expected);
      const done = result.status === 'SUCCEEDED' ? spec.done(w) : undefined;
      w.sb.sandbox.faults.clear();
      // From a success, the next run starts from the account as prepared, so that "done" compares alike.
      if (result.status === 'SUCCEEDED') {
        w.sb.sandbox.restore(prepared);
        w.sb.sandbox.advance(60_000);
        await w.unlock('orders', 'the next run');
      }
      const note = await nextRunGoes();
      if (done !== undefined) expect(done).toEqual(expected);
      return `${result.status === 'SUCCEEDED' ? 'SUCCEEDED, done once' : `${result.error}, rolled back to the state before`}${note}`;
    }

    describe.each(Object.keys(spec.forward))('%s', (call) => {
      it.each(Object.keys(FAULTS) as Fault[])('%s: ends done once or as before, and the next run converges', async (fault) => {
        w.sb.sandbox.faults.inject(FAULTS[fault](spec.forward[call]));
        const result = await spec.run(w);
        table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
      });
    });

    describe.each(Object.keys(spec.compensating))('%s (in a rollback)', (call) => {
      it.each(Object.keys(FAULTS) as Fault[])('%s: rolls back completely, or ends RollbackIncomplete naming what is left', async (fault) => {
        w.sb.sandbox.faults.inject(spec.failLate);
        w.sb.sandbox.faults.inject(FAULTS[fault](spec.compensating[call]));
        const result = await spec.run(w);
        expect(result.status).toBe('FAILED');
        w.sb.sandbox.advance(0);
        if (result.error === 'RollbackIncomplete') {
          const remaining = leftoversOfExisting(w.sb.sandbox.diff(prepared), w.sb.sandbox.state).filter((c) => !c.path.startsWith('dynamodb'));
          expect(remaining.length).toBeGreaterThan(0);
          expect(result.cause).toMatch(/Left in place, as read back from the account: /);
          w.sb.sandbox.faults.clear();
          const note = await nextRunGoes(false);
          table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → RollbackIncomplete naming ${remaining.length} leftover(s); the next run converges${note}`);
        } else {
          expect(result.cause).toContain(spec.lateCause);
          table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
        }
      });
    });
  });
}
