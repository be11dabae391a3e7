/**
 * Logs and traces, from Powertools for AWS Lambda, configured only by the standard environment the stack
 * sets: POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL for the Logger, and Lambda's own variables for
 * the Tracer (it traces only inside Lambda with active tracing, and does not exist elsewhere).
 *
 * Every step line is written by the one task wrapper (step.ts); nothing else logs at INFO. Lines carry
 * names, ARNs, counts and error names — never credentials, and never a policy document, which stays in the
 * execution state (DEBUG lines name changes by action and resource, not by their documents).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = 'msf-cmk-orchestrator';

/** The Logger's environment: a function's never changes; a local run may set it between executions. */
const loggerKey = () => [process.env.POWERTOOLS_SERVICE_NAME, process.env.POWERTOOLS_LOG_LEVEL, process.env.POWERTOOLS_DEV].join('\u0000');

let built: { key: string; logger: Logger } | undefined;

export function logger(): Logger {
  const key = loggerKey();
  if (built?.key !== key) built = { key, logger: new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME }) };
  return built.logger;
}

let loaded: { tracer?: Tracer } | undefined;

/**
 * The Tracer inside Lambda, else undefined. Outside Lambda it would be disabled anyway, and loading it is
 * not free: the X-Ray SDK installs an async hook that made every awaited promise ~15× slower (measured),
 * which local runs and tests must not pay for.
 */
export function tracer(): Tracer | undefined {
  if (!loaded) {
    const inLambda = !!process.env.AWS_EXECUTION_ENV;
    // Required, not imported, so that only a function running in Lambda loads the X-Ray SDK.
    loaded = {
      tracer: inLambda
        ? new (require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer')).Tracer({
            serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
          })
        : undefined,
    };
  }
  return loaded.tracer;
}

/** The message without the JSON documents it quotes (a key policy, statements to add): those stay in the execution's Cause. */
export function withoutDocuments(message: string): string {
  let out = '';
  let depth = 0;
  for (const ch of message) {
    if (ch === '{') {
      if (depth === 0) out += '{…}';
      depth++;
    } else if (ch === '}' && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out.length > 1000 ? `${out.slice(0, 1000)}…` : out;
}
