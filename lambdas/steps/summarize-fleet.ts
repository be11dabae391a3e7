/**
 * SummarizeFleet: one line per application of the fleet — its child execution's status, key, duration and
 * error — the skipped ones with why, and whether the failures stay within toleratedFailurePercentage. In
 * plan mode each line carries that application's change list: the fleet's plan. Pure.
 */
import { task } from '../lib/step';
import type { FleetSelection } from './select-applications';

/** One Map iteration's result: the child execution as `startExecution.sync:2` described it, or the error it failed with. */
export type FleetItemResult =
  | {
      applicationName: string;
      status: 'SUCCEEDED';
      execution: { executionArn: string; startDate?: number; stopDate?: number; output?: any };
    }
  | { applicationName: string; status: 'FAILED'; failure: { Error: string; Cause?: string } };

export interface FleetApplication {
  applicationName: string;
  status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  executionArn?: string;
  keyArn?: string;
  durationSeconds?: number;
  error?: string;
  cause?: string;
  /** Plan mode: the changes onboarding it would make. */
  changes?: { action: string; resource: string; detail: string }[];
}

export interface FleetSummary {
  operation: 'onboard-fleet';
  mode: 'apply' | 'plan';
  counts: { selected: number; succeeded: number; failed: number; skipped: number };
  failurePercentage: number;
  toleratedFailurePercentage: number;
  withinTolerance: boolean;
  applications: FleetApplication[];
  /** Set when the failures exceed the tolerance: the fleet execution fails with it. */
  cause?: string;
}

/** A failed child's own error and cause: States.TaskFailed's cause is the child's DescribeExecution, as JSON. */
function childFailure(failure: { Error: string; Cause?: string }): { error: string; cause?: string; executionArn?: string } {
  try {
    // The integration's PascalCase (ExecutionArn, Error, Cause), or the API's camelCase.
    const d = JSON.parse(failure.Cause ?? '');
    const arn = d?.ExecutionArn ?? d?.executionArn;
    if (arn) return { error: d.Error ?? d.error ?? d.Status ?? d.status ?? failure.Error, cause: d.Cause ?? d.cause, executionArn: arn };
  } catch {
    // Not a child's description: an error of the integration itself (e.g. StartExecution refused).
  }
  return { error: failure.Error, cause: failure.Cause };
}

/** `results`: one list per group of the selection (OnboardGroups' result), in the groups' order. */
export const handler = task('SummarizeFleet', 'none', async (event: { selection: FleetSelection; results: FleetItemResult[][] }): Promise<FleetSummary> => {
  const { config, skipped } = event.selection;
  const applications: FleetApplication[] = event.results.flat().map((r) => {
    if (r.status === 'FAILED') return { applicationName: r.applicationName, status: 'FAILED', ...childFailure(r.failure) };
    const { executionArn, startDate, stopDate, output } = r.execution;
    return {
      applicationName: r.applicationName,
      status: 'SUCCEEDED',
      executionArn,
      ...(output?.key?.keyArn && { keyArn: output.key.keyArn }),
      ...(startDate !== undefined && stopDate !== undefined && { durationSeconds: Math.round((stopDate - startDate) / 100) / 10 }),
      ...(Array.isArray(output?.changes) && { changes: output.changes }),
    };
  });
  const failed = applications.filter((a) => a.status === 'FAILED').length;
  const failurePercentage = applications.length ? Math.round((failed / applications.length) * 1000) / 10 : 0;
  const withinTolerance = failurePercentage <= config.toleratedFailurePercentage;
  return {
    operation: 'onboard-fleet',
    mode: config.mode,
    counts: { selected: applications.length, succeeded: applications.length - failed, failed, skipped: skipped.length },
    failurePercentage,
    toleratedFailurePercentage: config.toleratedFailurePercentage,
    withinTolerance,
    applications: [...applications, ...skipped.map((s) => ({ applicationName: s.applicationName, status: 'SKIPPED' as const, cause: s.reason }))],
    ...(!withinTolerance && {
      cause: `${failed} of ${applications.length} onboardings failed (${failurePercentage}%, tolerated ${config.toleratedFailurePercentage}%): ${applications
        .filter((a) => a.status === 'FAILED')
        .map((a) => `${a.applicationName} ${a.error}`)
        .join(', ')}`.slice(0, 32_000),
    }),
  };
});
