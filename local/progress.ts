/**
 * The one progress view, for `npm start` (the local runner's event log) and `cli start` (a deployed
 * execution's history): one line per Task state as it ends — ✓ or ✗, persona, duration, and the errors
 * the state machine retried (a Map's iterations of one state share a line). Each source is turned into the
 * same few events, so both views agree.
 *
 * A retry is counted only when the state machine did retry (the local StateRetried, another
 * LambdaFunctionScheduled in history); the error a state finally failed with is its ✗, not a retry — also
 * when a Catch took it to the rollback, which shows a state failed even though it "exited".
 */
import { readFileSync } from 'node:fs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { steps } from '../lambdas/steps';
import { causeMessage } from '../lambdas/lib/errors';
import type { PlanReport } from '../lambdas/steps/report-plan';
import type { AuditReport } from '../lambdas/steps/report-findings';
import type { RotationReport } from '../lambdas/steps/verify-rotation';
import type { FleetSummary } from '../lambdas/steps/summarize-fleet';
import type { OnboardingReport } from '../lambdas/steps/verify-encryption';
import { STATE_MACHINE_NAMES, definitionOf, taskBindings, type EventLog } from './runner';

export type ProgressEvent =
  | { kind: 'entered'; state: string; type: string; at: number }
  /** One attempt failed; a `retried` may follow. */
  | { kind: 'failed'; state: string; error: string; cause?: string }
  | { kind: 'retried'; state: string }
  | { kind: 'exited'; state: string; at: number }
  | { kind: 'ended'; status: string; error?: string; cause?: string; at: number };

/**
 * The persona of each Task state, from the ASL's bindings and the steps table (Decide<Step> is its step's).
 * With no definition, every state machine's: a state name binds the same step in each of them, and a view
 * of a deployed execution does not know which machine it follows.
 */
export function personas(definitionText?: string): (state: string) => string {
  const texts = definitionText ? [definitionText] : Object.keys(STATE_MACHINE_NAMES).map((op) => readFileSync(definitionOf(op), 'utf8'));
  const byState = new Map(texts.flatMap((text) => taskBindings(JSON.parse(text)).map((b) => [b.stateName, steps[b.handlerName]?.persona ?? ''] as const)));
  return (state) => byState.get(state) ?? '';
}

export interface RendererOptions {
  print: (line: string) => void;
  personaOf?: (state: string) => string;
  /** ANSI colours (a terminal). */
  color?: boolean;
}

/** Renders progress events as lines; only Task states get one (Choice, Wait, Pass, Succeed and Fail are the flow). */
export function progressRenderer(options: RendererOptions): (e: ProgressEvent) => void {
  const paint = (code: number) => (s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const [green, red, dim, yellow] = [32, 31, 2, 33].map(paint);
  const personaOf = options.personaOf ?? (() => '');
  const open = new Map<
    string,
    { type: string; at: number; failures: { error: string; cause?: string; retried: boolean }[]; running: number; iterations: number }
  >();
  const line = (state: string, ms: number) => {
    const s = open.get(state)!;
    open.delete(state);
    if (s.type !== 'Task') return;
    const retried = s.failures.filter((f) => f.retried).map((f) => f.error);
    const last = s.failures.at(-1);
    const failed = last && !last.retried ? last : undefined;
    const retries = retried.length ? yellow(`  ${retried.length} ${retried.length === 1 ? 'retry' : 'retries'} (${[...new Set(retried)].join(', ')})`) : '';
    const times = s.iterations > 1 ? dim(`  ×${s.iterations}`) : '';
    options.print(
      `  ${failed ? red('✗') : green('✓')} ${state.padEnd(32)} ${dim(personaOf(state).padEnd(12))} ${String(Math.round(ms)).padStart(6)} ms${times}${retries}`,
    );
    if (failed) options.print(red(`      ${failed.error}${failed.cause ? `: ${causeMessage(failed.cause)}` : ''}`));
  };
  return (e) => {
    switch (e.kind) {
      case 'entered': {
        // A Map's iterations enter the same state while others are in it: one line, first entry to last exit.
        const s = open.get(e.state);
        if (s) {
          s.running++;
          s.iterations++;
        } else open.set(e.state, { type: e.type, at: e.at, failures: [], running: 1, iterations: 1 });
        return;
      }
      case 'failed':
        open.get(e.state)?.failures.push({ error: e.error, cause: e.cause, retried: false });
        return;
      case 'retried': {
        const f = open.get(e.state)?.failures.at(-1);
        if (f) f.retried = true;
        return;
      }
      case 'exited': {
        const s = open.get(e.state);
        if (s && --s.running === 0) line(e.state, e.at - s.at);
        return;
      }
      case 'ended':
        // A state the execution ended in without leaving it (no Catch): it failed there.
        for (const [state, s] of open) if (s.type === 'Task') line(state, e.at - s.at);
        open.clear();
    }
  };
}

/**
 * A fleet's live count (onboard-fleet): one line each time a child onboarding ends, from the states each
 * iteration passes — started at its child Task, ended at `Onboarded` or at the Catch's `NotOnboarded`.
 */
export function fleetCounter(print: (line: string) => void): (e: ProgressEvent) => void {
  const n = { running: 0, done: 0, failed: 0 };
  return (e) => {
    if (e.kind !== 'entered') return;
    if (e.state === 'OnboardApplication' || e.state === 'PlanApplication') n.running++;
    else if (e.state === 'Onboarded' || e.state === 'NotOnboarded') {
      n.running--;
      n[e.state === 'Onboarded' ? 'done' : 'failed']++;
      print(`    fleet: ${n.done} done · ${n.running} running · ${n.failed} failed`);
    }
  };
}

/** The local runner's event log entry as a progress event. */
export function fromLocalEvent(e: EventLog): ProgressEvent | undefined {
  const ev = e as EventLog & { state?: { name: string; type: string }; Error?: string; Cause?: unknown; timestamp: number };
  switch (ev.type) {
    case 'StateEntered':
      return { kind: 'entered', state: ev.state!.name, type: ev.state!.type, at: ev.timestamp };
    case 'StateFailed':
      return { kind: 'failed', state: ev.state!.name, error: ev.Error ?? 'Error', cause: ev.Cause === undefined ? undefined : String(ev.Cause) };
    case 'StateRetried':
      return { kind: 'retried', state: ev.state!.name };
    case 'StateExited':
      return { kind: 'exited', state: ev.state!.name, at: ev.timestamp };
    case 'ExecutionSucceeded':
      return { kind: 'ended', status: 'SUCCEEDED', at: ev.timestamp };
    case 'ExecutionFailed':
      return { kind: 'ended', status: 'FAILED', error: ev.Error, cause: ev.Cause === undefined ? undefined : String(ev.Cause), at: ev.timestamp };
    case 'ExecutionAborted':
      return { kind: 'ended', status: 'ABORTED', at: ev.timestamp };
    case 'ExecutionTimeout':
      return { kind: 'ended', status: 'TIMED_OUT', at: ev.timestamp };
  }
  return undefined;
}

const ATTEMPT_FAILED = [
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'TaskFailed',
  'TaskTimedOut',
];

/** Step Functions history events (oldest first) as progress events; stateful, one per execution. */
export function historyAdapter(): (e: HistoryEvent) => ProgressEvent[] {
  let current: string | undefined;
  let failedAttempt = false;
  return (e) => {
    const type: string = e.type ?? '';
    const at = e.timestamp?.getTime() ?? 0;
    if (type.endsWith('StateEntered')) {
      current = e.stateEnteredEventDetails!.name!;
      failedAttempt = false;
      return [{ kind: 'entered', state: current, type: type.slice(0, -'StateEntered'.length), at }];
    }
    if (type.endsWith('StateExited')) return [{ kind: 'exited', state: e.stateExitedEventDetails!.name!, at }];
    if (ATTEMPT_FAILED.includes(type) && current) {
      const d = (e.lambdaFunctionFailedEventDetails ??
        e.lambdaFunctionTimedOutEventDetails ??
        e.lambdaFunctionStartFailedEventDetails ??
        e.lambdaFunctionScheduleFailedEventDetails ??
        e.taskFailedEventDetails ??
        e.taskTimedOutEventDetails) as { error?: string; cause?: string } | undefined;
      failedAttempt = true;
      return [{ kind: 'failed', state: current, error: d?.error ?? (type.endsWith('TimedOut') ? 'States.Timeout' : 'Error'), cause: d?.cause }];
    }
    // Scheduled again after a failed attempt: the state machine retried.
    if ((type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') && failedAttempt && current) {
      failedAttempt = false;
      return [{ kind: 'retried', state: current }];
    }
    if (type === 'ExecutionSucceeded') return [{ kind: 'ended', status: 'SUCCEEDED', at }];
    const end = (<Record<string, string>>{ ExecutionFailed: 'FAILED', ExecutionTimedOut: 'TIMED_OUT', ExecutionAborted: 'ABORTED' })[type];
    if (end) {
      const d = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      return [{ kind: 'ended', status: end, error: d?.error, cause: d?.cause, at }];
    }
    return [];
  };
}

/** A plan-mode output: what a real run would change, in the order it would. */
export function planLines(report: PlanReport): string[] {
  if (!report.changes.length) return [`  Plan for ${report.applicationName}: no changes; it is onboarded as it stands.`];
  return [
    `  Plan for ${report.applicationName}: ${report.changes.length} ${report.changes.length === 1 ? 'change' : 'changes'}, nothing written`,
    ...report.changes.map((c, i) => `    ${String(i + 1).padStart(2)}. ${c.action} ${c.resource}\n        ${c.detail}`),
  ];
}

export const isPlanReport = (output: unknown): output is PlanReport => (output as PlanReport | undefined)?.mode === 'plan';

const isAuditReport = (o: unknown): o is AuditReport => (o as AuditReport | undefined)?.operation === 'audit';
const isFleetSummary = (o: unknown): o is FleetSummary => (o as FleetSummary | undefined)?.operation === 'onboard-fleet';
const isRotationReport = (o: unknown): o is RotationReport => (o as RotationReport | undefined)?.operation === 'rotate-key';
/** An onboarding or a move that left a customer managed key behind (move-key always does). */
const leftAKey = (o: unknown): o is OnboardingReport & Required<Pick<OnboardingReport, 'previousKey'>> => !!(o as OnboardingReport | undefined)?.previousKey;

/** An execution's output as the few lines a person reads: a plan, an audit, a rotation, or the key a move left; else none. */
export function reportLines(output: unknown): string[] {
  if (isPlanReport(output)) return planLines(output);
  if (isAuditReport(output)) {
    const n = output.findings.length;
    const counts = Object.entries(output.bySeverity).map(([severity, count]) => `${severity} ${count}`);
    const apps = output.applications.length;
    return [
      `  Audit of ${apps} ${apps === 1 ? 'application' : 'applications'}: ${n ? `${n} ${n === 1 ? 'finding' : 'findings'} (${counts.join(', ')})` : 'no findings'}`,
      ...output.findings.map(
        (f) =>
          `    ${f.Severity.Label.padEnd(8)} ${f.ProductFields['msf-cmk/application'].padEnd(14)} ${f.Title} (fix: ${f.ProductFields['msf-cmk/remediation-operation']})`,
      ),
    ];
  }
  if (isFleetSummary(output)) {
    const c = output.counts;
    return [
      `  Fleet${output.mode === 'plan' ? ' plan' : ''}: ${c.selected} onboarded (${c.succeeded} succeeded, ${c.failed} failed, ${output.failurePercentage}% of ${output.toleratedFailurePercentage}% tolerated), ${c.skipped} skipped`,
      ...output.applications.map(
        (a) =>
          `    ${a.status.padEnd(9)} ${a.applicationName.padEnd(20)} ${
            a.status === 'SUCCEEDED'
              ? output.mode === 'plan'
                ? `${a.changes?.length ?? 0} changes`
                : `${a.keyArn ?? ''}${a.durationSeconds !== undefined ? ` in ${a.durationSeconds} s` : ''}`
              : `${a.error ? `${a.error}: ` : ''}${a.cause ?? ''}`.slice(0, 200)
          }`,
      ),
    ];
  }
  if (isRotationReport(output)) {
    const auto = output.automaticRotation;
    const app = output.applicationName;
    const setting = `automatic rotation ${auto.enabled ? `every ${auto.periodInDays} days, next ${auto.nextRotationDate}` : 'off'}`;
    if (output.rotation !== 'on-demand')
      return [`  ${setting} for ${output.keyArn} (${app}'s key); each automatic rotation is used after ${app}'s next restart`];
    return [
      `  Rotated ${output.keyArn} (${app}'s key) on demand; ${output.onDemandRemaining} on-demand rotations left`,
      ...output.rotations.map((r) => `    ${r.date} ${r.type}`),
      `    ${setting}; ${
        output.restart.restarted
          ? `${app} restarted from the snapshot Managed Flink took first: ${output.restart.applicationStatus} at version ${output.restart.versionId}, on the new material`
          : output.restartNeeded
            ? `${app} is RUNNING on the previous material: restart it to use the new one`
            : `${app} is not running: it uses the new material when it starts`
      }`,
    ];
  }
  if (leftAKey(output)) {
    const p = output.previousKey;
    return [
      `  ${output.applicationName} now on ${output.encryption.KeyType} ${output.encryption.KeyId}${output.key.aliasName ? ` (${output.key.aliasName})` : ''}`,
      `    previous key ${p.keyArn} kept, ${p.keyState}: ${
        p.retirable ? 'nothing references it any more, so it may be retired' : `needed by ${p.referencedBy.join(', ')}`
      }`,
    ];
  }
  return [];
}
