/**
 * The CLI `start` command's logic: StartExecution on a deployed state machine (real AWS, or the sandbox
 * with `endpoint`), then a live progress view read from GetExecutionHistory until the execution ends, and
 * its report in a few lines (local/progress.ts reportLines).
 * Region and credentials come from the standard environment, as for any SDK client (with the sandbox's
 * defaults for an endpoint).
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
import { causeMessage } from '../lambdas/lib/errors';
import { ROOT_ACCESS_KEY, ROOT_SECRET_KEY } from './sandbox/sandbox';
import { historyAdapter, personas, progressRenderer, reportLines } from './progress';

export interface StartExecutionOptions {
  /** An endpoint such as the sandbox's; omitted, the SDK's own resolution applies. */
  endpoint?: string;
  /** A client of one's own instead (e.g. signed as the embedded sandbox's root). */
  client?: SFNClient;
  /** ANSI colours in the progress view (a terminal). */
  color?: boolean;
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

/**
 * An endpoint is the sandbox (or an emulator like it): Region and credentials from the environment when it
 * has them, else the sandbox's own (us-east-1, the account root's test/test) — the same defaults
 * `npm start --endpoint` uses, so the two commands agree.
 */
export function endpointConfig(endpoint: string) {
  return {
    endpoint,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE ? {} : { credentials: { accessKeyId: ROOT_ACCESS_KEY, secretAccessKey: ROOT_SECRET_KEY } }),
  };
}

/** Starts an execution, prints its progress until it ends, and returns it as DescribeExecution does. */
export async function startExecution(options: StartExecutionOptions, print: (line: string) => void = console.log): Promise<DescribeExecutionCommandOutput> {
  const sfn = options.client ?? new SFNClient(options.endpoint ? endpointConfig(options.endpoint) : {});
  const input = typeof options.input === 'string' ? options.input : JSON.stringify(options.input ?? {});
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: options.stateMachineArn, input, name: options.name }));
  print(`▶ ${executionArn}`);
  const show = progressRenderer({ print, personaOf: personas(), color: options.color });
  const adapt = historyAdapter();
  let lastId = 0;
  for (let ended = false; !ended; ) {
    for (const e of await eventsAfter(sfn, executionArn!, lastId)) {
      lastId = e.id!;
      for (const p of adapt(e)) show(p);
      ended ||= ENDS.has(e.type ?? '');
    }
    if (!ended) await sleep(options.pollMs ?? 250);
  }
  const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const seconds = ((done.stopDate!.getTime() - done.startDate!.getTime()) / 1000).toFixed(1);
  if (done.status === 'SUCCEEDED' && done.output) for (const l of reportLines(JSON.parse(done.output))) print(l);
  print(
    done.status === 'SUCCEEDED'
      ? `SUCCEEDED in ${seconds} s`
      : `${done.status} in ${seconds} s: ${done.error ?? ''}${done.cause ? `: ${causeMessage(done.cause)}` : ''}`,
  );
  return done;
}
