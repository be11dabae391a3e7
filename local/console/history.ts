/**
 * What an execution's history (GetExecutionHistory) says about each state: its entries (a Map's inner
 * states have one per iteration), their input, output and error, the attempts its Retry made, and the
 * rollback path — the states entered after a failure a Catch took.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

export type StateStatus = 'running' | 'succeeded' | 'failed' | 'caught' | 'aborted';

export interface Attempt {
  error?: string;
  cause?: string;
}

export interface StateEntry {
  name: string;
  type: string;
  enteredId: number;
  entered?: Date;
  exited?: Date;
  input?: string;
  output?: string;
  /** The failed attempts; the last one is the state's error when it did not succeed. */
  attempts: Attempt[];
  /** Task attempts started (the first and each retry). */
  scheduled: number;
  /** The state ended failed but the execution went on: a Catch took it. */
  caught: boolean;
  /** Entered after a caught failure. */
  rollback: boolean;
}

export interface Analysis {
  entries: StateEntry[];
  byState: Map<string, StateEntry[]>;
  status(state: string): StateStatus | undefined;
  /** Edges taken, as `from→to`, and those taken after the first caught failure. */
  taken: Set<string>;
  rollback: Set<string>;
}

const detailsOf = (e: HistoryEvent): any => Object.entries(e).find(([k, v]) => k.endsWith('EventDetails') && v)?.[1] ?? {};
/** A task's own events (Lambda, or a service integration such as a child execution), not its state's. */
const isTaskEvent = (type: string) => /^(LambdaFunction|Task)/.test(type) && !/^Task(State|Entered|Exited)/.test(type);
const isFailure = (type: string) => /(Failed|TimedOut)$/.test(type);
const isResult = (type: string) => /(Succeeded|Failed|TimedOut)$/.test(type);

export function analyse(events: HistoryEvent[], executionStatus: string): Analysis {
  const entries: StateEntry[] = [];
  const open: StateEntry[] = [];
  // Tasks with an attempt under way. A Map's iterations run at once and previousEventId does not tell them
  // apart, so an attempt goes to the oldest open task without one, and a result to the oldest one waiting.
  const waiting = new Set<StateEntry>();
  const taken = new Set<string>();
  const rollback = new Set<string>();
  let caughtSeen = false;
  // The edge into a state starts at the state exited last (a Map exits after its iterations, so Map→Next).
  let lastExited = '(start)';
  for (const e of events) {
    const type = e.type ?? '';
    const d = detailsOf(e);
    if (type.endsWith('StateEntered')) {
      const entry: StateEntry = {
        name: d.name,
        type: type.replace(/StateEntered$/, ''),
        enteredId: e.id!,
        entered: e.timestamp,
        input: d.input,
        attempts: [],
        scheduled: 0,
        caught: false,
        rollback: caughtSeen,
      };
      entries.push(entry);
      open.push(entry);
      (caughtSeen ? rollback : taken).add(`${lastExited}→${d.name}`);
    } else if (type.endsWith('StateExited')) {
      const i = open.findIndex((x) => x.name === d.name && !waiting.has(x));
      if (i < 0) continue;
      const entry = open.splice(i, 1)[0];
      entry.exited = e.timestamp;
      entry.output = d.output;
      // A task whose last attempt failed and that still exited: its Catch took it.
      if (entry.attempts.length && entry.attempts.length >= entry.scheduled) {
        entry.caught = true;
        caughtSeen = true;
      }
      lastExited = d.name;
    } else if (isTaskEvent(type)) {
      if (/Scheduled$/.test(type)) {
        const entry = open.find((x) => x.type === 'Task' && !waiting.has(x));
        if (!entry) continue;
        entry.scheduled++;
        waiting.add(entry);
      } else if (isResult(type)) {
        const entry = open.find((x) => waiting.has(x)) ?? open.find((x) => x.type === 'Task');
        if (!entry) continue;
        waiting.delete(entry);
        if (isFailure(type)) entry.attempts.push({ error: d.error, cause: d.cause });
      }
    }
  }
  const ended = executionStatus !== 'RUNNING';
  const byState = new Map<string, StateEntry[]>();
  for (const x of entries) byState.set(x.name, [...(byState.get(x.name) ?? []), x]);
  const rank: StateStatus[] = ['failed', 'aborted', 'running', 'caught', 'succeeded'];
  const final = entries.at(-1);
  if (final && ended && (final.type === 'Succeed' || final.type === 'Fail' || final.exited)) (final.rollback ? rollback : taken).add(`${final.name}→(end)`);
  return {
    entries,
    byState,
    status: (state) => {
      const list = byState.get(state);
      if (!list) return undefined;
      return rank.find((r) => list.some((x) => statusOfEntry(x, executionStatus) === r));
    },
    taken,
    rollback,
  };
}

/** One entry's status: a state still open when the execution ended failed with it, or was stopped (or timed out) in it. */
export function statusOfEntry(x: StateEntry, executionStatus: string): StateStatus {
  if (x.type === 'Fail') return 'failed';
  if (x.exited) return x.caught ? 'caught' : 'succeeded';
  if (executionStatus === 'RUNNING') return 'running';
  return executionStatus === 'FAILED' ? 'failed' : 'aborted';
}
