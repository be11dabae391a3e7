/**
 * Runs the very ASL file CDK deploys on aws-local-stepfunctions, with the very handlers CDK bundles.
 * The runner only does what Step Functions and Lambda would: substitutes `${…}` placeholders, binds each
 * Task to its handler through its Resource placeholder, supplies the Context object, passes JSON across
 * the boundary, and (for speed) shortens Wait states and retry intervals. It never re-describes the flow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { steps } from '../lambdas/steps';
import { START_EXECUTION_SYNC } from './asl-lint';

/** statemachine/<operation>.asl.json: one state machine per operation. */
export const definitionOf = (operation: string) => join(__dirname, '..', 'statemachine', `${operation}.asl.json`);
export const DEFAULT_DEFINITION = definitionOf('onboard-application');
/** The state machine names, as the stack deploys them (execution ARNs carry them). */
export const STATE_MACHINE_NAMES: Record<string, string> = {
  'onboard-application': 'OnboardApplication',
  'revert-to-aws-owned-key': 'RevertToAwsOwnedKey',
  'move-key': 'MoveKey',
  audit: 'Audit',
  'rotate-key': 'RotateKey',
  'onboard-fleet': 'OnboardFleet',
  cleanup: 'Cleanup',
  sweep: 'Sweep',
};
const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

export type Handler = (event: any) => Promise<unknown>;
/** The library's event log entry (not exported by name): ExecutionStarted, StateEntered, StateRetried… */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Replaces `${Name}` placeholders as CDK's definitionSubstitutions does; an unknown one is an error. */
export function substitute(text: string, substitutions: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    if (!(name in substitutions)) throw new Error(`no substitution for \${${name}}`);
    return substitutions[name];
  });
}

export interface TaskBinding {
  stateName: string;
  placeholder: string;
  /** A step's handler, or (child) the name of the state machine a startExecution.sync:2 Task starts. */
  handlerName: string;
  child?: boolean;
}

/**
 * Every Task state (nested ones included) with its placeholder: `${<Name>FunctionArn}` for a step, or a
 * startExecution.sync:2 Task whose StateMachineArn is `${<Name>StateMachineArn}`.
 */
export function taskBindings(definition: any): TaskBinding[] {
  const out: TaskBinding[] = [];
  const visit = (states: Record<string, any>) => {
    for (const [stateName, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        const child = s.Resource === START_EXECUTION_SYNC && /^\$\{([A-Za-z0-9_]+)StateMachineArn\}$/.exec(String(s.Parameters?.StateMachineArn));
        const m = /^\$\{([A-Za-z0-9_]+)FunctionArn\}$/.exec(String(s.Resource));
        if (child) out.push({ stateName, placeholder: `${child[1]}StateMachineArn`, handlerName: child[1], child: true });
        else if (m) out.push({ stateName, placeholder: `${m[1]}FunctionArn`, handlerName: m[1] });
        else throw new Error(`Task state ${stateName} has Resource ${s.Resource}; expected a \${<Name>FunctionArn} placeholder`);
      }
      for (const b of s.Branches ?? []) visit(b.States);
      if (s.ItemProcessor) visit(s.ItemProcessor.States);
      if (s.Iterator) visit(s.Iterator.States);
    }
  };
  visit(definition.States);
  return out;
}

export interface RunOptions {
  definitionPath?: string;
  /** The ASL text itself (with `${…}` placeholders), instead of reading definitionPath. */
  definitionText?: string;
  /** Handlers by name (the `<Name>` of `${<Name>FunctionArn}`); defaults to lambdas/steps. */
  handlers?: Record<string, Handler>;
  /** Environment the handlers see while the execution runs (AWS_REGION, AWS_ENDPOINT_URL, credentials…). */
  env?: Record<string, string>;
  region?: string;
  account?: string;
  /** For `$$.Execution.Id`: arn:aws:states:<region>:<account>:execution:<stateMachineName>:<name>. */
  stateMachineName?: string;
  executionName?: string;
  /** Every Wait state lasts this long (ms) instead of what the ASL says. */
  waitMs?: number;
  /** Retry intervals become IntervalSeconds × this (fixed per retrier, no backoff) instead of the ASL's. */
  retryScale?: number;
  onEvent?: (event: EventLog) => void;
  /** Every error a handler throws, retried or not (the event log does not say which error was retried). */
  onTaskError?: (stateName: string, error: Error) => void;
}

export interface ExecutionResult {
  executionArn: string;
  name: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: any;
  error?: string;
  cause?: string;
  events: EventLog[];
}

/**
 * Validation costs 150–400 ms, as much as a whole onboarding in the sandbox, so a definition is validated
 * once per process and its machine shared: runs keep all their state in their own execution.
 */
const machines = new Map<string, StateMachine>();
function validated(text: string, definition: any): StateMachine {
  let machine = machines.get(text);
  if (!machine) machines.set(text, (machine = new StateMachine(definition, { validationOptions: { checkPaths: true } })));
  return machine;
}

export class LocalStateMachine {
  readonly definition: any;
  private readonly machine: StateMachine;
  private readonly bindings: TaskBinding[];
  private readonly region: string;
  private readonly account: string;

  constructor(private readonly options: Omit<RunOptions, 'executionName' | 'onEvent' | 'onTaskError'> = {}) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
    const raw = options.definitionText ?? readFileSync(options.definitionPath ?? DEFAULT_DEFINITION, 'utf8');
    this.bindings = taskBindings(JSON.parse(raw));
    const handlers = this.handlers();
    const missing = this.bindings.filter((b) => !b.child && !handlers[b.handlerName]);
    if (missing.length) {
      throw new Error(
        `No handler for ${missing.map((b) => `${b.stateName} (\${${b.placeholder}})`).join(', ')}: every Task state needs one before anything runs`,
      );
    }
    const substitutions = Object.fromEntries(
      this.bindings.map((b) => [
        b.placeholder,
        b.child
          ? `arn:aws:states:${this.region}:${this.account}:stateMachine:${b.handlerName}`
          : `arn:aws:lambda:${this.region}:${this.account}:function:msf-cmk-${b.handlerName}`,
      ]),
    );
    const text = substitute(raw, substitutions);
    this.definition = JSON.parse(text);
    this.machine = validated(text, this.definition);
  }

  /** The child state machine a startExecution.sync:2 Task starts, run here with this one's options. */
  private child(name: string): LocalStateMachine {
    const operation = Object.entries(STATE_MACHINE_NAMES).find(([, n]) => n === name)?.[0];
    if (!operation) throw new Error(`No state machine named ${name} to start`);
    const { definitionText: _t, ...options } = this.options;
    return new LocalStateMachine({ ...options, definitionPath: definitionOf(operation), stateMachineName: name });
  }

  /**
   * startExecution.sync:2 as Step Functions serves it: the child runs to its end; its description is the
   * result (Input and Output as JSON), or — failed, it fails the Task with States.TaskFailed, the
   * description as the cause.
   */
  private childTask(name: string, runOptions: Pick<RunOptions, 'onTaskError'>): Handler {
    const machine = this.child(name);
    return async (event: { StateMachineArn: string; Input?: unknown; Name?: string }) => {
      const input = typeof event.Input === 'string' ? JSON.parse(event.Input) : (event.Input ?? {});
      const startDate = Date.now();
      const r = await machine.run(input, { executionName: event.Name, onTaskError: runOptions.onTaskError });
      const described = {
        ExecutionArn: r.executionArn,
        StateMachineArn: event.StateMachineArn,
        Name: r.name,
        Status: r.status,
        StartDate: startDate,
        StopDate: Date.now(),
        Input: input,
      };
      if (r.status === 'SUCCEEDED') return { ...described, Output: r.output };
      throw Object.assign(new Error(JSON.stringify({ ...described, Error: r.error, Cause: r.cause })), { name: 'States.TaskFailed' });
    };
  }

  private handlers(): Record<string, Handler> {
    return this.options.handlers ?? Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));
  }

  async run(input: unknown, runOptions: Pick<RunOptions, 'executionName' | 'onEvent' | 'onTaskError'> = {}): Promise<ExecutionResult> {
    const name = runOptions.executionName ?? randomUUID();
    const executionArn = `arn:aws:states:${this.region}:${this.account}:execution:${this.options.stateMachineName ?? 'OnboardApplication'}:${name}`;
    const handlers = this.handlers();
    const env = this.options.env ?? {};
    // Lambda boundary: JSON in, JSON out, each invocation with the function's environment.
    const local = Object.fromEntries(
      this.bindings.map((b) => [
        b.stateName,
        async (event: unknown) => {
          Object.assign(process.env, env);
          try {
            const out = await (b.child ? this.childTask(b.handlerName, runOptions) : handlers[b.handlerName])(JSON.parse(JSON.stringify(event)));
            return out === undefined ? null : JSON.parse(JSON.stringify(out));
          } catch (e) {
            runOptions.onTaskError?.(b.stateName, e as Error);
            throw e;
          }
        },
      ]),
    );
    const { waitMs, retryScale } = this.options;
    const waits = Object.entries(this.definition.States as Record<string, any>).filter(([, s]) => s.Type === 'Wait');
    const retryOverrides = Object.fromEntries(
      this.bindings.map((b) => {
        const retriers: any[] = this.definition.States[b.stateName]?.Retry ?? [];
        return [b.stateName, retriers.map((r) => Math.round((r.IntervalSeconds ?? 1) * 1000 * (retryScale ?? 1)))];
      }),
    );
    const execution = this.machine.run(input as any, {
      overrides: {
        taskResourceLocalHandlers: local as any,
        waitTimeOverrides: waitMs === undefined ? undefined : Object.fromEntries(waits.map(([n]) => [n, waitMs])),
        retryIntervalOverrides: retryScale === undefined ? undefined : retryOverrides,
      },
      context: { Execution: { Id: executionArn, Name: name, StartTime: new Date().toISOString(), RedriveCount: 0 } } as any,
    });
    const events: EventLog[] = [];
    const drain = (async () => {
      for await (const e of execution.eventLogs) {
        events.push(e);
        runOptions.onEvent?.(e);
      }
    })();
    try {
      const output = await execution.result;
      await drain;
      return { executionArn, name, status: 'SUCCEEDED', output, events };
    } catch {
      await drain;
      const failed = events.find((e) => e.type === 'ExecutionFailed') as { Error?: string; Cause?: unknown } | undefined;
      return { executionArn, name, status: 'FAILED', error: failed?.Error ?? 'States.Runtime', cause: String(failed?.Cause ?? ''), events };
    }
  }
}
