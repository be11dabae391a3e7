/**
 * Step Functions (`AWSStepFunctions.*`, AWS JSON 1.0): STANDARD state machines whose executions run in
 * the background on aws-local-stepfunctions (MIT), with every Task served through the sandbox's own
 * services as Step Functions would call them:
 * - a Lambda function ARN, or `arn:aws:states:::lambda:invoke` with `Parameters.FunctionName/Payload`:
 *   Lambda's Invoke, as the state machine's role (assumed as states.amazonaws.com), so the role needs
 *   lambda:InvokeFunction; a function error becomes the state's error (its `errorType`, the payload as
 *   the cause), a Lambda service error `Lambda.<code>` — the names Retry and Catch see in AWS.
 * - `arn:aws:states:::states:startExecution`, `.sync` or `.sync:2` with `Parameters.StateMachineArn/Input/Name`:
 *   StartExecution (and, to wait, DescribeExecution) as the state machine's role; a child that does not
 *   succeed fails the Task with States.TaskFailed, a refusal is `StepFunctions.<exception>`; stopping the
 *   parent stops the children it waits for (`startExecutionTask`).
 * Any other Task resource is refused at CreateStateMachine, naming it, so nothing fails later.
 *
 * RedriveExecution resumes an ended execution at its unsuccessful state, with AWS's rules (14 days, 24,999
 * history events, the definition it started with).
 *
 * Time: Wait states and retry intervals take what the definition says × `stepFunctions.timeScale`
 * (1 by default, as in AWS). Executions, their history and the status-change events
 * ("Step Functions Execution Status Change" on the default bus) are as AWS records them.
 */
import { randomUUID } from 'node:crypto';
import { StateMachine as Engine } from 'aws-local-stepfunctions';
import { AwsError } from '../errors';
import { epochSeconds } from '../protocols/json';
import { findRole } from '../lookup';
import { callAs } from '../dispatch';
import { assumeRoleAsService } from './sts';
import { emitEvent } from './eventbridge';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { Execution, HistoryEvent, SandboxState, StateMachine } from '../state';

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(?::[A-Za-z0-9$_-]+)?$/;
const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
/** The optimized Step Functions integration: fire and forget, `.sync` (Output a string) and `.sync:2` (Output JSON). */
const START_EXECUTION = /^arn:aws[a-z-]*:states:::states:(startExecution(?:\.sync(?::2)?)?)$/;
/** Characters AWS refuses in state machine and execution names (StartExecution `name`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS refuses control characters in names; this matches them.
const BAD_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const TERMINAL_TYPES: Record<string, Execution['status']> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

const validation = (message: string) => new AwsError('ValidationException', message, 400);
const invalidArn = (arn: string) => new AwsError('InvalidArn', `Invalid Arn: '${arn}'`, 400);
const invalidDefinition = (why: string) => new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${why}'`, 400);

export function sfnState(sandbox: Sandbox): NonNullable<SandboxState['stepfunctions']> {
  return (sandbox.state.stepfunctions ??= { stateMachines: {}, executions: {} });
}

function required(input: any, member: string): string {
  const v = input[member];
  if (v === undefined || v === null)
    throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  return String(v);
}

function checkName(name: string): void {
  if (!name.length || name.length > 80 || BAD_NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`, 400);
}

/** The name in an ARN of the given resource type in this account and region, or InvalidArn. */
function arnName(sandbox: Sandbox, arn: string, type: 'stateMachine' | 'execution'): string {
  const prefix = `arn:aws:states:${sandbox.region}:${sandbox.account}:`;
  if (!arn.startsWith('arn:')) throw new AwsError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${arn}'`, 400);
  if (!arn.startsWith(prefix)) throw invalidArn(arn);
  const [resourceType, ...rest] = arn.slice(prefix.length).split(':');
  if (resourceType !== type) throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${resourceType}'`, 400);
  if (rest.length !== (type === 'execution' ? 2 : 1)) throw invalidArn(arn);
  return rest.join(':');
}

function stateMachineOf(sandbox: Sandbox, arn: string): StateMachine {
  arnName(sandbox, arn, 'stateMachine');
  const sm = sfnState(sandbox).stateMachines[arn];
  if (!sm) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`, 400);
  return sm;
}

function executionOf(sandbox: Sandbox, arn: string): Execution {
  arnName(sandbox, arn, 'execution');
  const ex = sfnState(sandbox).executions[arn];
  if (!ex) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`, 400);
  return ex;
}

/** Every state of a definition, nested ones included, with its path for messages. */
function eachState(definition: any, visit: (name: string, state: any, path: string) => void): void {
  const walk = (states: Record<string, any>, path: string) => {
    for (const [name, st] of Object.entries(states ?? {})) {
      visit(name, st, `${path}/${name}`);
      for (const [i, br] of (st?.Branches ?? []).entries()) walk(br.States, `${path}/${name}/Branches[${i}]/States`);
      if (st?.ItemProcessor) walk(st.ItemProcessor.States, `${path}/${name}/ItemProcessor/States`);
      if (st?.Iterator) walk(st.Iterator.States, `${path}/${name}/Iterator/States`);
    }
  };
  walk(definition?.States, '/States');
}

/** The definition parsed and validated as CreateStateMachine validates it, or InvalidDefinition. */
function parseDefinition(text: string): any {
  let definition: any;
  try {
    definition = JSON.parse(text);
  } catch (e) {
    throw invalidDefinition(`INVALID_JSON_DESCRIPTION: ${(e as Error).message}`);
  }
  if (typeof definition !== 'object' || definition === null || typeof definition.States !== 'object') {
    throw invalidDefinition('SCHEMA_VALIDATION_FAILED: The field "States" is required at /');
  }
  const problems: string[] = [];
  eachState(definition, (_name, st, path) => {
    const resource = String(st?.Resource);
    if (st?.Type === 'Task' && !FUNCTION_ARN.test(resource) && !LAMBDA_INVOKE.test(resource) && !START_EXECUTION.test(resource)) {
      problems.push(
        `${path}/Resource: ${st.Resource} is not served by this sandbox (it serves Lambda function ARNs, arn:aws:states:::lambda:invoke and arn:aws:states:::states:startExecution[.sync[:2]])`,
      );
    }
  });
  if (problems.length) throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: ${problems.join('; ')}`);
  try {
    engineFor(text);
  } catch (e) {
    throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: ${(e as Error).message}`);
  }
  return definition;
}

/**
 * One validated engine per definition text (and resume point): validation costs ~150 ms, runs cost well under
 * 1 ms. A redrive's engine starts at the state it resumes: the states before it are unreachable from there,
 * so it is not validated again (the definition was, when the execution started).
 */
const engines = new Map<string, Engine>();
const TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
function engineFor(text: string, startAt?: string): Engine {
  const key = startAt === undefined ? text : `${startAt}\u0000${text}`;
  let engine = engines.get(key);
  if (!engine) {
    // The engine's validator annotates the definition it is given: give it its own copy.
    const definition = JSON.parse(text);
    // A Task without a timeout runs as long as it takes in AWS (99999999 s, the Task state docs); the engine
    // would end it after 60 s (the ASL spec's default), which a `.sync` child easily outlasts. Node's timers
    // hold at most 2^31 - 1 ms: about 24.8 days, far beyond any run here.
    eachState(definition, (_name, st) => {
      if (st?.Type === 'Task' && st.TimeoutSeconds === undefined && st.TimeoutSecondsPath === undefined) st.TimeoutSeconds = TASK_TIMEOUT_SECONDS;
    });
    engine =
      startAt === undefined
        ? new Engine(definition, { validationOptions: { checkPaths: true } })
        : new Engine({ ...definition, StartAt: startAt }, { validationOptions: { noValidate: true } });
    if (engines.size > 100) engines.clear();
    engines.set(key, engine);
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Execution history

interface Draft {
  type: string;
  timestamp: number;
  [details: string]: unknown;
}

/** Appends one event with the next id; timestamps never go backwards. */
function append(ex: Execution, draft: Draft): void {
  const last = ex.events[ex.events.length - 1];
  const id = ex.events.length + 1;
  ex.events.push({ ...draft, id, previousEventId: id - 1, timestamp: Math.max(draft.timestamp, last?.timestamp ?? 0) });
}

/** Ends an execution: its last event, then status and result. */
function close(sandbox: Sandbox, ex: Execution, status: Execution['status'], result: Pick<Execution, 'output' | 'error' | 'cause'>): void {
  const now = sandbox.clock.now();
  const type = Object.entries(TERMINAL_TYPES).find(([, s]) => s === status)![0];
  const detailsKey = `${type[0].toLowerCase()}${type.slice(1)}EventDetails`;
  const details = status === 'SUCCEEDED' ? { output: result.output, outputDetails: { truncated: false } } : { error: result.error, cause: result.cause };
  append(ex, { type, timestamp: now, [detailsKey]: details });
  Object.assign(ex, { status, stopDate: now }, result);
  statusChanged(sandbox, ex);
  closed(sandbox, ex.executionArn);
}

/** Per sandbox: who waits for an execution to close, and the `.sync` children a RUNNING execution waits for. */
interface Waits {
  closing: Map<string, (() => void)[]>;
  /** Parent execution ARN → child execution ARN → how the parent's role stops it. */
  children: Map<string, Map<string, () => Promise<unknown>>>;
}
const waitsBySandbox = new WeakMap<Sandbox, Waits>();
function waits(sandbox: Sandbox): Waits {
  let w = waitsBySandbox.get(sandbox);
  if (!w) waitsBySandbox.set(sandbox, (w = { closing: new Map(), children: new Map() }));
  return w;
}

/** Resolves once the execution is no longer RUNNING (at once if it is not), without polling. */
function whenClosed(sandbox: Sandbox, executionArn: string): Promise<void> {
  if (sfnState(sandbox).executions[executionArn]?.status !== 'RUNNING') return Promise.resolve();
  const { closing } = waits(sandbox);
  return new Promise((resolve) => closing.set(executionArn, [...(closing.get(executionArn) ?? []), resolve]));
}

/**
 * An execution closed: wake whoever waits for it, and stop the `.sync` children it still waited for, as AWS
 * does when the parent of a `startExecution.sync` Task is stopped (as the parent's role: states:StopExecution).
 */
function closed(sandbox: Sandbox, executionArn: string): void {
  const w = waits(sandbox);
  const resolvers = w.closing.get(executionArn) ?? [];
  w.closing.delete(executionArn);
  for (const resolve of resolvers) resolve();
  const children = w.children.get(executionArn);
  w.children.delete(executionArn);
  for (const [childArn, stop] of children ?? []) {
    if (sfnState(sandbox).executions[childArn]?.status === 'RUNNING') void stop().catch(() => undefined);
  }
}

/** "Step Functions Execution Status Change" on the default bus, as AWS sends it for STANDARD workflows. */
function statusChanged(sandbox: Sandbox, ex: Execution): void {
  emitEvent(sandbox, {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    resources: [ex.executionArn],
    detail: {
      executionArn: ex.executionArn,
      stateMachineArn: ex.stateMachineArn,
      name: ex.name,
      status: ex.status,
      startDate: ex.startDate,
      stopDate: ex.stopDate ?? null,
      input: ex.input,
      output: ex.output ?? null,
      inputDetails: { included: true },
      outputDetails: ex.output === undefined ? null : { included: true },
      error: ex.error ?? null,
      cause: ex.cause ?? null,
    },
  });
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/** The library's event log entry (not exported by name): ExecutionStarted, StateEntered, StateRetried… */
type EventLog = ReturnType<Engine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/**
 * Writes the engine's event log into the execution's history in AWS's names and shapes. The Lambda
 * events come from the Task handlers; they are held per state until the engine reports the state's
 * outcome, so they land between its StateEntered and StateExited as in AWS.
 */
class HistoryWriter {
  private readonly held = new Map<string, Draft[]>();
  constructor(
    private readonly sandbox: Sandbox,
    private readonly executionArn: string,
  ) {}

  /** The execution while it is RUNNING (not stopped, not removed by a state restore). */
  get open(): Execution | undefined {
    const ex = sfnState(this.sandbox).executions[this.executionArn];
    return ex?.status === 'RUNNING' ? ex : undefined;
  }

  private push(type: string, details?: Record<string, unknown>, timestamp = this.sandbox.clock.now()): void {
    const ex = this.open;
    if (ex) append(ex, { type, timestamp, ...details });
  }

  hold(stateName: string, type: string, details?: Record<string, unknown>): void {
    this.held.set(stateName, [...(this.held.get(stateName) ?? []), { type, timestamp: this.sandbox.clock.now(), ...details }]);
  }

  private release(stateName: string): void {
    for (const d of this.held.get(stateName) ?? []) this.push(d.type, d, d.timestamp);
    this.held.delete(stateName);
  }

  onEvent(e: EventLog): void {
    switch (e.type) {
      case 'StateEntered':
        this.push(`${e.state.type}StateEntered`, {
          stateEnteredEventDetails: { name: e.state.name, input: json(e.state.input), inputDetails: { truncated: false } },
        });
        return;
      case 'StateExited':
        this.release(e.state.name);
        this.push(`${e.state.type}StateExited`, {
          stateExitedEventDetails: { name: e.state.name, output: json(e.state.output), outputDetails: { truncated: false } },
        });
        return;
      case 'StateFailed':
      case 'StateRetried':
      case 'StateCaught':
        // AWS records no event of its own for these; the function's failure is the LambdaFunctionFailed held.
        this.release(e.state.name);
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.push(e.type, { [`m${e.type.slice(1)}EventDetails`]: { name: e.parentState.name, index: e.index } });
        return;
      default:
        // ExecutionStarted is written by StartExecution, the end by `finish` from the run's result.
        return;
    }
  }

  finish(status: Execution['status'], result: Pick<Execution, 'output' | 'error' | 'cause'>): void {
    const ex = this.open;
    if (ex) close(this.sandbox, ex, status, result);
  }
}

// ---------------------------------------------------------------------------------------------
// Running an execution

const named = (name: string, message: string) => Object.assign(new Error(message), { name });
/** Engine runs by execution ARN, so that StopExecution can end one. */
const running = new Map<string, { abort(): void }>();

/** Step Functions' session with the state machine's role, renewed when it expires. */
class ServiceSession {
  private principal?: Principal;
  private expiresAt = 0;
  constructor(
    private readonly sandbox: Sandbox,
    private readonly roleArn: string,
    private readonly stateMachineArn: string,
  ) {}

  get(): Principal {
    if (!this.principal || this.sandbox.clock.now() >= this.expiresAt - 60_000) {
      let s: ReturnType<typeof assumeRoleAsService>;
      try {
        s = assumeRoleAsService(this.sandbox, 'states.amazonaws.com', this.roleArn, randomUUID().replace(/-/g, ''), this.stateMachineArn);
      } catch {
        throw named(
          'States.Runtime',
          'Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.',
        );
      }
      this.principal = this.sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      this.expiresAt = s.Expiration;
    }
    return this.principal;
  }
}

/**
 * Lambda's Invoke as Step Functions makes it: a function error is the state's error, named by its
 * errorType with Lambda's payload as the cause; a refusal by Lambda itself is `Lambda.<code>`.
 */
async function invokeFunction(sandbox: Sandbox, session: ServiceSession, functionName: string, payload: unknown): Promise<{ result: unknown; raw: string }> {
  let out: any;
  try {
    out = await callAs(sandbox, session.get(), 'lambda', 'Invoke', { FunctionName: functionName, Payload: JSON.stringify(payload ?? {}) });
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    const code = e.code === 'AccessDeniedException' ? 'AWSLambdaException' : e.code;
    throw named(
      `Lambda.${code}`,
      `${e.message} (Service: AWSLambda; Status Code: ${e.status}; Error Code: ${e.code}; Request ID: ${randomUUID()}; Proxy: null)`,
    );
  }
  const raw = String(out.Payload ?? '');
  if (out.FunctionError) {
    let errorType = 'Lambda.Unknown';
    try {
      errorType = JSON.parse(raw).errorType ?? errorType;
    } catch {
      // Not JSON: the name stays Lambda.Unknown, the payload is the cause.
    }
    throw named(errorType, raw);
  }
  return { result: raw === '' ? null : JSON.parse(raw), raw };
}

/**
 * A Step Functions refusal as the optimized integration names it: `StepFunctions.<SDK exception>` (the wire
 * code with `Exception`, as `Lambda.<code>`; AccessDenied has no exception of its own: AWSStepFunctionsException,
 * as Lambda's is AWSLambdaException — docs/sandbox.md marks this assumed).
 */
async function sfnCall(sandbox: Sandbox, session: ServiceSession, operation: string, input: any): Promise<any> {
  try {
    return await callAs(sandbox, session.get(), 'states', operation, input);
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    const exception = e.code === 'AccessDeniedException' ? 'AWSStepFunctionsException' : e.code.endsWith('Exception') ? e.code : `${e.code}Exception`;
    throw named(
      `StepFunctions.${exception}`,
      `${e.message} (Service: AWSStepFunctions; Status Code: ${e.status}; Error Code: ${e.code}; Request ID: ${randomUUID()}; Proxy: null)`,
    );
  }
}

/**
 * DescribeExecution's response as the `.sync` integrations return it: members capitalized, dates in epoch
 * milliseconds; `.sync:2` gives Input and Output as JSON, `.sync` as the strings DescribeExecution returns.
 */
function syncOutput(described: Record<string, unknown>, v2: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(described)) {
    if (v === undefined) continue;
    const key = k[0].toUpperCase() + k.slice(1);
    if (k.endsWith('Date')) out[key] = Math.round(Number(v) * 1000);
    else if (k.endsWith('Details') && v && typeof v === 'object') out[key] = { Included: (v as { included?: boolean }).included ?? true };
    else if (v2 && (k === 'input' || k === 'output')) out[key] = JSON.parse(String(v));
    else out[key] = v;
  }
  return out;
}

/**
 * A Task on `arn:aws:states:::states:startExecution[.sync[:2]]`: StartExecution of `Parameters.StateMachineArn`
 * as the state machine's role (Input serialized when it is an object, `Name` if given); fire and forget returns
 * `{ExecutionArn, StartDate}`; `.sync` and `.sync:2` wait for the child (it runs on the same engine, in the
 * background) and return its DescribeExecution, or fail with States.TaskFailed and that response as the cause.
 * History as AWS records a service integration: TaskScheduled, TaskStarted, (TaskSubmitted,) TaskSucceeded/Failed.
 */
function startExecutionTask(
  sandbox: Sandbox,
  session: ServiceSession,
  writer: HistoryWriter,
  parentArn: string,
  stateName: string,
  resource: string,
): (params: any) => Promise<unknown> {
  const wait = resource !== 'startExecution';
  const v2 = resource.endsWith(':2');
  const details = { resourceType: 'states', resource };
  return async (params: any) => {
    if (!writer.open) throw named('States.Aborted', 'The execution was stopped.');
    writer.hold(stateName, 'TaskScheduled', {
      taskScheduledEventDetails: { ...details, region: sandbox.region, parameters: json(params) },
    });
    writer.hold(stateName, 'TaskStarted', { taskStartedEventDetails: details });
    try {
      const input = params?.Input === undefined ? '{}' : typeof params.Input === 'string' ? params.Input : JSON.stringify(params.Input);
      const started = await sfnCall(sandbox, session, 'StartExecution', {
        stateMachineArn: params?.StateMachineArn,
        input,
        ...(params?.Name !== undefined && { name: params.Name }),
      });
      const childArn: string = started.executionArn;
      const submitted = {
        ExecutionArn: childArn,
        StartDate: Math.round(Number(started.startDate) * 1000),
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: randomUUID() },
      };
      if (!wait) {
        writer.hold(stateName, 'TaskSucceeded', { taskSucceededEventDetails: { ...details, output: json(submitted), outputDetails: { truncated: false } } });
        return submitted;
      }
      writer.hold(stateName, 'TaskSubmitted', { taskSubmittedEventDetails: { ...details, output: json(submitted), outputDetails: { truncated: false } } });
      const { children } = waits(sandbox);
      if (!children.has(parentArn)) children.set(parentArn, new Map());
      children.get(parentArn)!.set(childArn, () => callAs(sandbox, session.get(), 'states', 'StopExecution', { executionArn: childArn }));
      // AWS polls DescribeExecution (besides its EventBridge rule): a role without it fails the Task.
      await sfnCall(sandbox, session, 'DescribeExecution', { executionArn: childArn });
      await Promise.race([whenClosed(sandbox, childArn), whenClosed(sandbox, parentArn)]);
      if (!writer.open) throw named('States.Aborted', 'The execution was stopped.');
      children.get(parentArn)?.delete(childArn);
      const out = syncOutput(await sfnCall(sandbox, session, 'DescribeExecution', { executionArn: childArn }), v2);
      if (out.Status !== 'SUCCEEDED') throw named('States.TaskFailed', JSON.stringify(out));
      writer.hold(stateName, 'TaskSucceeded', { taskSucceededEventDetails: { ...details, output: json(out), outputDetails: { truncated: false } } });
      return out;
    } catch (e) {
      const err = e as Error;
      writer.hold(stateName, 'TaskFailed', { taskFailedEventDetails: { ...details, error: err.name, cause: err.message } });
      throw e;
    }
  };
}

/** Wait and retry overrides (ms, by state name) for a time scale other than 1. */
function timeOverrides(definition: any, scale: number) {
  if (scale === 1) return {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number[]> = {};
  eachState(definition, (name, st) => {
    if (st?.Type === 'Wait') {
      if (typeof st.Seconds === 'number') waitTimeOverrides[name] = Math.round(st.Seconds * 1000 * scale);
      else if (scale === 0) waitTimeOverrides[name] = 0;
    }
    if (Array.isArray(st?.Retry)) retryIntervalOverrides[name] = st.Retry.map((r: any) => Math.round((r.IntervalSeconds ?? 1) * 1000 * scale));
  });
  return { waitTimeOverrides, retryIntervalOverrides };
}

/** Where a redrive resumes: the state, and the input it was entered with. */
interface Resume {
  state: string;
  input: string;
}

async function runExecution(sandbox: Sandbox, sm: StateMachine, executionArn: string, resume?: Resume): Promise<void> {
  const writer = new HistoryWriter(sandbox, executionArn);
  const ex = writer.open;
  if (!ex) return;
  try {
    // The definition the execution started with (a redrive too), wherever it resumes.
    const text = ex.definition ?? sm.definition;
    const definition = JSON.parse(text);
    const session = new ServiceSession(sandbox, sm.roleArn, sm.stateMachineArn);
    const handlers: Record<string, (event: any) => Promise<unknown>> = {};
    eachState(definition, (stateName, st) => {
      if (st?.Type !== 'Task') return;
      const startExecution = START_EXECUTION.exec(String(st.Resource));
      if (startExecution) {
        handlers[stateName] = startExecutionTask(sandbox, session, writer, executionArn, stateName, startExecution[1]);
        return;
      }
      const viaIntegration = LAMBDA_INVOKE.test(String(st.Resource));
      handlers[stateName] = async (event: any) => {
        // After StopExecution the engine may still be winding down, but no function runs.
        if (!writer.open) throw named('States.Aborted', 'The execution was stopped.');
        const target = viaIntegration ? String(event?.FunctionName ?? '') : String(st.Resource);
        const payload = viaIntegration ? event?.Payload : event;
        writer.hold(stateName, 'LambdaFunctionScheduled', {
          lambdaFunctionScheduledEventDetails: { resource: target, input: json(payload), inputDetails: { truncated: false } },
        });
        try {
          writer.hold(stateName, 'LambdaFunctionStarted');
          const { result, raw } = await invokeFunction(sandbox, session, target, payload);
          writer.hold(stateName, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: raw, outputDetails: { truncated: false } } });
          return viaIntegration ? { ExecutedVersion: '$LATEST', Payload: result, SdkHttpMetadata: { HttpStatusCode: 200 }, StatusCode: 200 } : result;
        } catch (e) {
          const err = e as Error;
          writer.hold(stateName, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: err.name, cause: err.message } });
          throw e;
        }
      };
    });
    const run = engineFor(text, resume?.state).run(JSON.parse(resume?.input ?? ex.input), {
      overrides: { taskResourceLocalHandlers: handlers as any, ...timeOverrides(definition, sandbox.stepFunctions.timeScale) },
      context: {
        Execution: {
          Id: executionArn,
          Name: ex.name,
          StartTime: new Date(ex.startDate).toISOString(),
          RoleArn: sm.roleArn,
          Input: JSON.parse(ex.input),
          RedriveCount: ex.redriveCount ?? 0,
          ...(ex.redriveDate !== undefined && { RedriveTime: new Date(ex.redriveDate).toISOString() }),
        },
        StateMachine: { Id: sm.stateMachineArn, Name: sm.name },
      } as any,
      noThrowOnAbort: true,
    });
    running.set(executionArn, run);
    const log: EventLog[] = [];
    const drain = (async () => {
      for await (const e of run.eventLogs) {
        log.push(e);
        writer.onEvent(e);
      }
    })();
    try {
      const output = await run.result;
      await drain;
      writer.finish('SUCCEEDED', { output: json(output) });
    } catch {
      await drain;
      if (log.some((e) => e.type === 'ExecutionTimeout'))
        writer.finish('TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds).' });
      else {
        const failed = log.find((e) => e.type === 'ExecutionFailed') as { Error?: string; Cause?: unknown } | undefined;
        writer.finish('FAILED', { error: failed?.Error ?? 'States.Runtime', cause: String(failed?.Cause ?? '') });
      }
    }
  } catch (e) {
    writer.finish('FAILED', { error: 'States.Runtime', cause: (e as Error).message });
  } finally {
    running.delete(executionArn);
  }
  sandbox.persist();
}

// ---------------------------------------------------------------------------------------------
// Operations

function describeExecution(ex: Execution, now: number) {
  return {
    executionArn: ex.executionArn,
    stateMachineArn: ex.stateMachineArn,
    name: ex.name,
    status: ex.status,
    startDate: epochSeconds(ex.startDate),
    stopDate: epochSeconds(ex.stopDate),
    input: ex.input,
    inputDetails: { included: true },
    output: ex.output,
    outputDetails: ex.output === undefined ? undefined : { included: true },
    error: ex.error,
    cause: ex.cause,
    redriveCount: ex.redriveCount ?? 0,
    redriveDate: epochSeconds(ex.redriveDate),
    ...redrivable(ex, now),
  };
}

/** AWS keeps an ended execution redrivable for 14 days after it closed, below 24,999 history events. */
const REDRIVABLE_DAYS = 14;
const MAX_REDRIVE_EVENTS = 24_999;

/** DescribeExecution's redriveStatus and reason (the reasons' wording is the sandbox's: docs/sandbox.md). */
function redrivable(ex: Execution, now: number): { redriveStatus: string; redriveStatusReason?: string } {
  const no = (redriveStatusReason: string) => ({ redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason });
  if (ex.status === 'RUNNING' || ex.status === 'SUCCEEDED') return no(`Execution is ${ex.status} and cannot be redriven`);
  if (now - (ex.stopDate ?? now) > REDRIVABLE_DAYS * 86_400_000)
    return no(`Execution can no longer be redriven: it closed more than ${REDRIVABLE_DAYS} days ago`);
  if (ex.events.length >= MAX_REDRIVE_EVENTS) return no(`Execution history has ${ex.events.length} events: the limit for a redrive is ${MAX_REDRIVE_EVENTS}`);
  return { redriveStatus: 'REDRIVABLE' };
}

/**
 * Where a redrive resumes, from the history: the top-level state entered last and never left (a Fail state
 * included, which fails again), or else the Next of the one left last. Nested states (Parallel, Map) are not
 * redriven on their own here: their enclosing top-level state reruns whole (AWS reruns only the failed
 * branches and iterations; docs/sandbox.md).
 */
function resumePoint(definition: any, ex: Execution): Resume | undefined {
  const topLevel = new Set(Object.keys(definition.States ?? {}));
  let open: Resume | undefined;
  let left: Resume | undefined;
  for (const e of ex.events as any[]) {
    const entered = e.stateEnteredEventDetails;
    const exited = e.stateExitedEventDetails;
    if (entered && topLevel.has(entered.name)) open = { state: entered.name, input: entered.input };
    if (exited && topLevel.has(exited.name) && open?.state === exited.name) {
      left = { state: exited.name, input: exited.output };
      open = undefined;
    }
  }
  if (open) return open;
  const next = left && definition.States[left.state]?.Next;
  return next ? { state: next, input: left!.input } : undefined;
}

/**
 * RedriveExecution: the same execution (ARN, definition, input) resumes at its unsuccessful state; the states
 * that succeeded are not rerun, retry counters and timeouts start again. Refused (ExecutionNotRedrivable)
 * while it runs, once it succeeded, 14 days after it closed, or at 24,999 history events.
 */
function redriveExecution(sandbox: Sandbox, caller: Principal, input: any) {
  const arn = required(input, 'executionArn');
  sandbox.authorize('states', caller, 'states:RedriveExecution', arn);
  const ex = executionOf(sandbox, arn);
  const now = sandbox.clock.now();
  const status = redrivable(ex, now);
  if (status.redriveStatus !== 'REDRIVABLE') throw new AwsError('ExecutionNotRedrivable', status.redriveStatusReason!, 400);
  const sm = stateMachineOf(sandbox, ex.stateMachineArn);
  const resume = resumePoint(JSON.parse(ex.definition ?? sm.definition), ex);
  if (!resume) throw new AwsError('ExecutionNotRedrivable', 'Execution has no unsuccessful state to redrive', 400);
  const redriveCount = (ex.redriveCount ?? 0) + 1;
  Object.assign(ex, { status: 'RUNNING', redriveCount, redriveDate: now });
  for (const k of ['stopDate', 'output', 'error', 'cause'] as const) delete ex[k];
  append(ex, { type: 'ExecutionRedriven', timestamp: now, executionRedrivenEventDetails: { redriveCount } });
  statusChanged(sandbox, ex);
  setImmediate(() => void runExecution(sandbox, sm, arn, resume));
  return { redriveDate: epochSeconds(now) };
}

/** Opaque pagination token: an offset bound to the listing it came from. */
function page<T>(items: T[], input: any, scope: string, defaultMax = 100): { items: T[]; nextToken?: string } {
  const max = input.maxResults ? Number(input.maxResults) : defaultMax;
  if (!(max >= 0 && max <= 1000))
    throw validation(
      `1 validation error detected: Value '${input.maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  let start = 0;
  if (input.nextToken) {
    const [tokenScope, offset] = Buffer.from(String(input.nextToken), 'base64url').toString().split('\u0000');
    if (tokenScope !== scope || !/^\d+$/.test(offset ?? '')) throw new AwsError('InvalidToken', `Invalid Token: '${input.nextToken}'`, 400);
    start = Number(offset);
  }
  const end = start + (max || defaultMax);
  return { items: items.slice(start, end), nextToken: end < items.length ? Buffer.from(`${scope}\u0000${end}`).toString('base64url') : undefined };
}

function withoutData(event: HistoryEvent): HistoryEvent {
  const strip = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return v;
    const { input, output, ...rest } = v as Record<string, unknown>;
    return rest;
  };
  return Object.fromEntries(Object.entries(event).map(([k, v]) => [k, k.endsWith('EventDetails') ? strip(v) : v])) as HistoryEvent;
}

/**
 * StartExecution as a principal: the API operation, and EventBridge delivering to a state machine target
 * (as the target's role). Idempotent as AWS documents for STANDARD workflows: the same name and input as
 * a RUNNING execution returns it; a closed one, or other input, is ExecutionAlreadyExists.
 */
/** The role trusts Step Functions (CreateStateMachine and UpdateStateMachine refuse one that does not). */
function checkTrust(sandbox: Sandbox, roleArn: string, stateMachineArn: string): void {
  const role = findRole(sandbox.state, roleArn);
  const context = { 'aws:SourceAccount': sandbox.account, 'aws:SourceArn': stateMachineArn };
  const trusted =
    role &&
    sandbox.isRoleVisible(roleArn) &&
    sandbox.evaluate('states.amazonaws.com', 'sts:AssumeRole', role.Arn, { resourcePolicy: role.AssumeRolePolicyDocument, context }).decision === 'Allowed';
  if (!trusted)
    throw new AwsError(
      'AccessDeniedException',
      'Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.',
      400,
    );
}

function startExecution(sandbox: Sandbox, caller: Principal, input: any) {
  const smArn = required(input, 'stateMachineArn');
  sandbox.authorize('states', caller, 'states:StartExecution', smArn);
  const sm = stateMachineOf(sandbox, smArn);
  const name = input.name === undefined ? randomUUID() : String(input.name);
  checkName(name);
  const text = input.input === undefined ? '{}' : String(input.input);
  try {
    JSON.parse(text);
  } catch (e) {
    throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(e as Error).message}'`, 400);
  }
  const executionArn = `arn:aws:states:${sandbox.region}:${sandbox.account}:execution:${sm.name}:${name}`;
  const executions = sfnState(sandbox).executions;
  const existing = executions[executionArn];
  if (existing) {
    if (existing.status === 'RUNNING' && existing.input === text) return { executionArn, startDate: epochSeconds(existing.startDate) };
    throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`, 400);
  }
  const now = sandbox.clock.now();
  const ex: Execution = { executionArn, stateMachineArn: smArn, name, status: 'RUNNING', startDate: now, input: text, definition: sm.definition, events: [] };
  append(ex, {
    type: 'ExecutionStarted',
    timestamp: now,
    executionStartedEventDetails: { input: text, inputDetails: { truncated: false }, roleArn: sm.roleArn },
  });
  executions[executionArn] = ex;
  statusChanged(sandbox, ex);
  setImmediate(() => void runExecution(sandbox, sm, executionArn));
  return { executionArn, startDate: epochSeconds(now) };
}

export const stepFunctionsService: Service = {
  name: 'states',
  protocol: 'json',
  targetPrefix: 'AWSStepFunctions',
  readOnly: new Set(['DescribeStateMachine', 'ListStateMachines', 'DescribeExecution', 'GetExecutionHistory', 'ListExecutions']),
  operations: {
    CreateStateMachine: (input, { sandbox, caller }) => {
      const name = required(input, 'name');
      const definition = required(input, 'definition');
      const roleArn = required(input, 'roleArn');
      const arn = `arn:aws:states:${sandbox.region}:${sandbox.account}:stateMachine:${name}`;
      sandbox.authorize('states', caller, 'states:CreateStateMachine', arn);
      sandbox.authorize('states', caller, 'iam:PassRole', roleArn, { context: { 'iam:PassedToService': 'states.amazonaws.com' } });
      checkName(name);
      const type = input.type ?? 'STANDARD';
      if (type !== 'STANDARD')
        throw new AwsError('StateMachineTypeNotSupported', `State machine type ${type} is not supported by this sandbox (STANDARD only).`, 400);
      const existing = sfnState(sandbox).stateMachines[arn];
      // Idempotent for the same definition and role, as AWS documents; anything else is a conflict.
      if (existing) {
        if (existing.definition === definition && existing.roleArn === roleArn)
          return { stateMachineArn: arn, creationDate: epochSeconds(existing.creationDate) };
        throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`, 400);
      }
      parseDefinition(definition);
      checkTrust(sandbox, roleArn, arn);
      const now = sandbox.clock.now();
      const tags = ((input.tags ?? []) as { key: string; value: string }[]).map((t) => ({ key: t.key, value: t.value }));
      sfnState(sandbox).stateMachines[arn] = { stateMachineArn: arn, name, definition, roleArn, type: 'STANDARD', creationDate: now, tags };
      return { stateMachineArn: arn, creationDate: epochSeconds(now) };
    },

    UpdateStateMachine: (input, { sandbox, caller }) => {
      const arn = required(input, 'stateMachineArn');
      sandbox.authorize('states', caller, 'states:UpdateStateMachine', arn);
      const sm = stateMachineOf(sandbox, arn);
      if (
        input.definition === undefined &&
        input.roleArn === undefined &&
        input.loggingConfiguration === undefined &&
        input.tracingConfiguration === undefined
      ) {
        throw new AwsError(
          'MissingRequiredParameter',
          'Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified',
          400,
        );
      }
      if (input.definition !== undefined) parseDefinition(String(input.definition));
      if (input.roleArn !== undefined) {
        sandbox.authorize('states', caller, 'iam:PassRole', String(input.roleArn), { context: { 'iam:PassedToService': 'states.amazonaws.com' } });
        checkTrust(sandbox, String(input.roleArn), arn);
      }
      // Running executions keep the definition they started with, as in AWS.
      Object.assign(sm, {
        ...(input.definition !== undefined && { definition: String(input.definition) }),
        ...(input.roleArn !== undefined && { roleArn: String(input.roleArn) }),
      });
      const now = sandbox.clock.now();
      return { updateDate: epochSeconds(now), revisionId: randomUUID() };
    },

    DescribeStateMachine: (input, { sandbox, caller }) => {
      const arn = required(input, 'stateMachineArn');
      sandbox.authorize('states', caller, 'states:DescribeStateMachine', arn);
      const sm = stateMachineOf(sandbox, arn);
      return {
        stateMachineArn: sm.stateMachineArn,
        name: sm.name,
        status: 'ACTIVE',
        definition: sm.definition,
        roleArn: sm.roleArn,
        type: sm.type,
        creationDate: epochSeconds(sm.creationDate),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },

    ListStateMachines: (input, { sandbox, caller }) => {
      sandbox.authorize('states', caller, 'states:ListStateMachines', '*');
      const all = Object.values(sfnState(sandbox).stateMachines).sort((a, b) => a.name.localeCompare(b.name));
      const { items, nextToken } = page(all, input, 'ListStateMachines');
      return {
        stateMachines: items.map((sm) => ({ stateMachineArn: sm.stateMachineArn, name: sm.name, type: sm.type, creationDate: epochSeconds(sm.creationDate) })),
        nextToken,
      };
    },

    DeleteStateMachine: (input, { sandbox, caller }) => {
      const arn = required(input, 'stateMachineArn');
      sandbox.authorize('states', caller, 'states:DeleteStateMachine', arn);
      arnName(sandbox, arn, 'stateMachine');
      // Deleting a missing state machine succeeds; running executions run to their end (AWS deletes
      // the machine once they have), and their records stay readable.
      delete sfnState(sandbox).stateMachines[arn];
      return {};
    },

    StartExecution: (input, { sandbox, caller }) => startExecution(sandbox, caller, input),

    RedriveExecution: (input, { sandbox, caller }) => redriveExecution(sandbox, caller, input),

    DescribeExecution: (input, { sandbox, caller }) => {
      const arn = required(input, 'executionArn');
      sandbox.authorize('states', caller, 'states:DescribeExecution', arn);
      return describeExecution(executionOf(sandbox, arn), sandbox.clock.now());
    },

    StopExecution: (input, { sandbox, caller }) => {
      const arn = required(input, 'executionArn');
      sandbox.authorize('states', caller, 'states:StopExecution', arn);
      const ex = executionOf(sandbox, arn);
      if (ex.status === 'RUNNING') {
        close(sandbox, ex, 'ABORTED', { error: input.error, cause: input.cause });
        running.get(arn)?.abort();
      }
      return { stopDate: epochSeconds(ex.stopDate) };
    },

    ListExecutions: (input, { sandbox, caller }) => {
      const smArn = required(input, 'stateMachineArn');
      sandbox.authorize('states', caller, 'states:ListExecutions', smArn);
      stateMachineOf(sandbox, smArn);
      const filter = input.statusFilter as string | undefined;
      if (filter !== undefined && !['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'].includes(filter)) {
        throw validation(
          `1 validation error detected: Value '${filter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]`,
        );
      }
      const all = Object.values(sfnState(sandbox).executions)
        .filter((e) => e.stateMachineArn === smArn && (!filter || e.status === filter))
        .sort((a, b) => b.startDate - a.startDate);
      const { items, nextToken } = page(all, input, `ListExecutions${smArn}${filter ?? ''}`);
      return {
        executions: items.map((e) => ({
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: epochSeconds(e.startDate),
          stopDate: epochSeconds(e.stopDate),
          redriveCount: e.redriveCount ?? 0,
          redriveDate: epochSeconds(e.redriveDate),
        })),
        nextToken,
      };
    },

    GetExecutionHistory: (input, { sandbox, caller }) => {
      const arn = required(input, 'executionArn');
      sandbox.authorize('states', caller, 'states:GetExecutionHistory', arn);
      const ex = executionOf(sandbox, arn);
      const ordered = input.reverseOrder ? [...ex.events].reverse() : ex.events;
      const { items, nextToken } = page(ordered, input, `GetExecutionHistory${arn}${input.reverseOrder ? 'r' : ''}`);
      const data = input.includeExecutionData !== false;
      return {
        events: items.map((e) => ({ ...(data ? e : withoutData(e)), timestamp: epochSeconds(e.timestamp) })),
        nextToken,
      };
    },
  },
};
