/**
 * The one progress view (local/progress.ts), fed by a deployed execution's history and by the local
 * runner's event log: a failing step is shown failed with its error, only what the state machine retried
 * counts as a retry, and the flow's own states (Choice, Fail) get no line.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { fleetCounter, fromLocalEvent, historyAdapter, progressRenderer, type ProgressEvent } from '../../local/progress';
import { world, type World } from '../workflow/harness';

/** History events in the shape GetExecutionHistory returns, ids and timestamps in order. */
function history(...events: Partial<HistoryEvent>[]): HistoryEvent[] {
  return events.map((e, i) => ({ id: i + 1, timestamp: new Date(1_000 * i), ...e }) as HistoryEvent);
}
const entered = (name: string, type = 'Task'): Partial<HistoryEvent> => ({ type: `${type}StateEntered` as never, stateEnteredEventDetails: { name } });
const exited = (name: string, type = 'Task'): Partial<HistoryEvent> => ({ type: `${type}StateExited` as never, stateExitedEventDetails: { name } });
const scheduled: Partial<HistoryEvent> = { type: 'LambdaFunctionScheduled' };
const lambdaFailed = (error: string, cause = 'why'): Partial<HistoryEvent> => ({
  type: 'LambdaFunctionFailed',
  lambdaFunctionFailedEventDetails: { error, cause },
});
const succeeded: Partial<HistoryEvent> = { type: 'LambdaFunctionSucceeded' };

function render(events: ProgressEvent[]): string[] {
  const lines: string[] = [];
  const show = progressRenderer({ print: (l) => lines.push(l), personaOf: (s) => (s === 'CreateKey' ? 'key-admin' : 'orchestrator') });
  for (const e of events) show(e);
  return lines;
}
const fromHistory = (events: HistoryEvent[]) => {
  const adapt = historyAdapter();
  return render(events.flatMap((e) => adapt(e)));
};

describe('the progress view of a deployed execution (history events)', () => {
  it('shows a step whose error a Catch took to the rollback as failed, with its error, and counts no retry', () => {
    const lines = fromHistory(
      history(
        entered('DecideCreateKey'),
        scheduled,
        lambdaFailed('PreconditionFailed', 'Key k cannot be adopted'),
        exited('DecideCreateKey'),
        entered('ReportRollback'),
        scheduled,
        succeeded,
        exited('ReportRollback'),
        entered('RolledBack', 'Fail'),
        { type: 'ExecutionFailed', executionFailedEventDetails: { error: 'PreconditionFailed', cause: 'Rolled back.' } },
      ),
    );
    expect(lines[0]).toMatch(/^ {2}✗ DecideCreateKey +orchestrator +\d+ ms$/);
    expect(lines[1]).toContain('PreconditionFailed: Key k cannot be adopted');
    expect(lines[2]).toMatch(/^ {2}✓ ReportRollback/);
    expect(lines.join('\n')).not.toMatch(/retr|RolledBack/);
  });

  it('counts an error as a retry only when the state machine ran the step again, and ticks the step that then succeeded', () => {
    const lines = fromHistory(
      history(
        entered('CreateKey'),
        scheduled,
        lambdaFailed('PrincipalNotYetVisible'),
        scheduled,
        lambdaFailed('PrincipalNotYetVisible'),
        scheduled,
        succeeded,
        exited('CreateKey'),
      ),
    );
    expect(lines).toEqual([expect.stringMatching(/^ {2}✓ CreateKey +key-admin +\d+ ms {2}2 retries \(PrincipalNotYetVisible\)$/)]);
  });

  it('shows the step an execution failed in without a Catch as failed, its last error not a retry', () => {
    const lines = fromHistory(
      history(entered('AcquireLock'), scheduled, lambdaFailed('ThrottlingException'), scheduled, lambdaFailed('AlreadyInProgress', 'held'), {
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: 'AlreadyInProgress' },
      }),
    );
    expect(lines).toEqual([
      expect.stringMatching(/^ {2}✗ AcquireLock +orchestrator +\d+ ms {2}1 retry \(ThrottlingException\)$/),
      '      AlreadyInProgress: held',
    ]);
  });

  it('gives the flow states (Choice, Wait) no line', () => {
    expect(
      fromHistory(history(entered('IsPlan', 'Choice'), exited('IsPlan', 'Choice'), entered('WaitForUpdate', 'Wait'), exited('WaitForUpdate', 'Wait'))),
    ).toEqual([]);
  });

  it("gives a Map's overlapping iterations of one Task state one line, from the first entry to the last exit", () => {
    // Three audits at once: entered at 0, 1 and 2 s, exited at 3, 4 and 5 s.
    const lines = fromHistory(
      history(
        entered('AuditApplication'),
        entered('AuditApplication'),
        entered('AuditApplication'),
        exited('AuditApplication'),
        exited('AuditApplication'),
        exited('AuditApplication'),
        entered('ReportFindings'),
        exited('ReportFindings'),
      ),
    );
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ {2}✓ AuditApplication +orchestrator +5000 ms {2}×3$/);
    expect(lines[1]).toMatch(/^ {2}✓ ReportFindings +orchestrator +1000 ms$/);
  });
});

describe('the progress view of a local run (the runner event log)', () => {
  let w: World;
  afterEach(() => w?.close());

  it('shows a refused decision failed, not retried, and no line for the Fail state it ends in', async () => {
    w = await world();
    await w.existingApp('legacy', { runtime: 'FLINK-1_18' });
    const events: ProgressEvent[] = [];
    await w.machine().run(
      { applicationName: 'legacy' },
      {
        onEvent: (e) => {
          const p = fromLocalEvent(e);
          if (p) events.push(p);
        },
      },
    );
    const lines = render(events);
    const failed = lines.filter((l) => l.includes('✗'));
    expect(failed).toEqual([expect.stringMatching(/✗ DecideEnsureApplication .*ms$/)]);
    expect(lines[lines.indexOf(failed[0]) + 1]).toMatch(/UnsupportedRuntime: .*FLINK-1_18/);
    expect(lines.join('\n')).not.toMatch(/retr/);
    expect(lines.map((l) => l.trim().split(/\s+/)[1]).filter((s) => s && !s.includes(':'))).toEqual(
      expect.arrayContaining(['ValidateInput', 'AcquireLock', 'ReportRollback', 'ReleaseLockAfterRollback']),
    );
    expect(lines.join('\n')).not.toMatch(/RolledBack|IsPlan/);
  });

  it('counts a fleet live: a line as each child onboarding ends, done, running and failed', async () => {
    w = await world();
    await w.existingApp('good-1');
    await w.existingApp('good-2');
    await w.existingApp('legacy', { runtime: 'FLINK-1_18' });
    const lines: string[] = [];
    const count = fleetCounter((l) => lines.push(l));
    const result = await w.operation('onboard-fleet').run(
      { maxConcurrency: 1, toleratedFailurePercentage: 50 },
      {
        onEvent: (e) => {
          const p = fromLocalEvent(e);
          if (p) count(p);
        },
      },
    );
    expect(result.status).toBe('SUCCEEDED');
    // One at a time, in the selection's order: the legacy runtime fails alone.
    expect(lines.map((l) => l.trim())).toEqual([
      'fleet: 1 done · 0 running · 0 failed',
      'fleet: 2 done · 0 running · 0 failed',
      'fleet: 2 done · 0 running · 1 failed',
    ]);
  });
});
