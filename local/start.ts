/**
 * The CLI `start` command's logic: StartExecution on a deployed state machine (real AWS, or the sandbox
 * with `endpoint`), then a live progress view read from GetExecutionHistory until the execution ends.
 * Region and credentials come from the standard environment, as for any SDK client.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SFNClient,
  StartExecutionCommand,
  GetExecutionHistoryCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';

export interface StartExecutionOptions {
  /** An endpoint such as the sandbox's; omitted, the SDK's own resolution applies. */
  endpoint?: string;
  /** A client of one's own instead (e.g. signed as the embedded sandbox's root). */
  client?: SFNClient;
  stateMachineArn: string;
  /** The execution input: JSON text, or a value to serialize. */
  input: unknown;
  name?: string;
  /** How often to read the history (ms). */
  pollMs?: number;
}

const ENDS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/** Events newer than `afterId`, oldest first: read newest first and stop at the first one already seen. */
async function eventsAfter(sfn: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }));
    for (const e of page.events ?? []) {
      if (e.id! <= afterId) return fresh.reverse();
      fresh.push(e);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return fresh.reverse();
}

/** Turns history events into progress lines: one per state that exits, one for the state the execution ends in. */
function progress(print: (line: string) => void) {
  const entered = new Map<string, number>();
  const failures = new Map<string, string[]>();
  let current: string | undefined;
  return (e: HistoryEvent) => {
    const type = e.type ?? '';
    const at = e.timestamp?.getTime() ?? 0;
    if (type.endsWith('StateEntered')) {
      current = e.stateEnteredEventDetails!.name!;
      entered.set(current, at);
    } else if (type === 'LambdaFunctionFailed' && current) {
      failures.set(current, [...(failures.get(current) ?? []), e.lambdaFunctionFailedEventDetails?.error ?? 'Error']);
    } else if (type.endsWith('StateExited')) {
      const name = e.stateExitedEventDetails!.name!;
      const retried = failures.get(name) ?? [];
      const retries = retried.length ? `  ${retried.length} ${retried.length === 1 ? 'retry' : 'retries'} (${[...new Set(retried)].join(', ')})` : '';
      print(`  ✓ ${name.padEnd(26)} ${String(at - (entered.get(name) ?? at)).padStart(6)} ms${retries}`);
      failures.delete(name);
      if (current === name) current = undefined;
    } else if (ENDS.has(type) && type !== 'ExecutionSucceeded') {
      const d = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      print(`  ✗ ${(current ?? '(execution)').padEnd(26)} ${type.slice('Execution'.length)}: ${d?.error ?? ''}${d?.cause ? `: ${d.cause}` : ''}`);
    }
  };
}

/** Starts an execution, prints its progress until it ends, and returns it as DescribeExecution does. */
export async function startExecution(options: StartExecutionOptions, print: (line: string) => void = console.log): Promise<DescribeExecutionCommandOutput> {
  const sfn = options.client ?? new SFNClient(options.endpoint ? { endpoint: options.endpoint } : {});
  const input = typeof options.input === 'string' ? options.input : JSON.stringify(options.input ?? {});
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: options.stateMachineArn, input, name: options.name }));
  print(`▶ ${executionArn}`);
  const show = progress(print);
  let lastId = 0;
  for (let ended = false; !ended; ) {
    for (const e of await eventsAfter(sfn, executionArn!, lastId)) {
      lastId = e.id!;
      show(e);
      ended ||= ENDS.has(e.type ?? '');
    }
    if (!ended) await sleep(options.pollMs ?? 250);
  }
  const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const seconds = ((done.stopDate!.getTime() - done.startDate!.getTime()) / 1000).toFixed(1);
  print(done.status === 'SUCCEEDED' ? `SUCCEEDED in ${seconds} s` : `${done.status} in ${seconds} s: ${done.error ?? ''}${done.cause ? `: ${done.cause}` : ''}`);
  return done;
}
