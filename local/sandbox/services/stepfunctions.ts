/**
 * Step Functions (`AWSStepFunctions.*`, AWS JSON 1.0): STANDARD state machines whose executions run in
 * the background on the local engine (local/runner.ts), with the real handlers as the Lambda functions.
 *
 * Function binding: a Task's Resource `arn:aws:lambda:<region>:<account>:function:msf-cmk-<Name>` (the
 * runner's own naming, and the ARN CDK substitutes for `${<Name>FunctionArn}`) runs the handler `<Name>`
 * of the sandbox's handler table (the steps table by default, `stepFunctions.handlers` to replace it).
 * Any other Task resource is refused at CreateStateMachine, so nothing fails later for want of a handler.
 *
 * Identities, as in AWS: Step Functions assumes the state machine's role (trusting states.amazonaws.com)
 * and needs `lambda:InvokeFunction` on each function; Lambda runs every function with the functions'
 * execution role, which the sandbox has no Lambda configuration to read it from: it is the sandbox option
 * `stepFunctions.functionRole` (name or ARN), by default the role named `MsfCmkOrchestrator` (the one
 * local/demo.ts `ensureOrchestratorRole` creates). Lambda assumes it as lambda.amazonaws.com, and the
 * handlers get its session and the sandbox's endpoint in the standard environment (`sandboxEnv`).
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { epochSeconds } from '../protocols/json';
import { findRole } from '../lookup';
import { assumeRoleAsService } from './sts';
import { LocalStateMachine, taskBindings, type EventLog, type ExecutionResult } from '../../runner';
import { steps } from '../../../lambdas/steps';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { Execution, HistoryEvent, SandboxState, StateMachine } from '../state';

/** The role the functions run with when `stepFunctions.functionRole` is not set (local/demo.ts). */
export const DEFAULT_FUNCTION_ROLE = 'MsfCmkOrchestrator';

const FUNCTION_ARN = /^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:msf-cmk-([A-Za-z0-9_]+)(?::[A-Za-z0-9$_-]+)?$/;
/** Characters AWS refuses in state machine and execution names (StartExecution `name`). */
const BAD_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const TERMINAL_TYPES: Record<string, Execution['status']> = { ExecutionSucceeded: 'SUCCEEDED', ExecutionFailed: 'FAILED', ExecutionTimedOut: 'TIMED_OUT', ExecutionAborted: 'ABORTED' };

const validation = (message: string) => new AwsError('ValidationException', message, 400);
const invalidArn = (arn: string) => new AwsError('InvalidArn', `Invalid Arn: '${arn}'`, 400);
const invalidDefinition = (why: string) => new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${why}'`, 400);

export function sfnState(sandbox: Sandbox): NonNullable<SandboxState['stepfunctions']> {
  return (sandbox.state.stepfunctions ??= { stateMachines: {}, executions: {} });
}

function required(input: any, member: string): string {
  const v = input[member];
  if (v === undefined || v === null) throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
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

function handlerTable(sandbox: Sandbox): Record<string, (event: any) => Promise<unknown>> {
  return sandbox.stepFunctions.handlers ?? Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));
}

/**
 * The definition with each Task's function ARN turned back into the runner's `${<Name>FunctionArn}`
 * placeholder (the runner binds handlers through it), and the ARN of each function.
 */
function bindFunctions(sandbox: Sandbox, definitionText: string): { placeholders: string; functionArns: Record<string, string> } {
  let definition: any;
  try {
    definition = JSON.parse(definitionText);
  } catch (e) {
    throw invalidDefinition(`INVALID_JSON_DESCRIPTION: ${(e as Error).message}`);
  }
  if (typeof definition !== 'object' || definition === null || typeof definition.States !== 'object') {
    throw invalidDefinition('SCHEMA_VALIDATION_FAILED: The field "States" is required at /');
  }
  const handlers = handlerTable(sandbox);
  const functionArns: Record<string, string> = {};
  const problems: string[] = [];
  const visit = (states: Record<string, any>, path: string) => {
    for (const [name, s] of Object.entries(states ?? {})) {
      if (s?.Type === 'Task') {
        const m = FUNCTION_ARN.exec(String(s.Resource));
        const known = m && m[1] === sandbox.region && m[2] === sandbox.account && handlers[m[3]];
        if (!known) {
          problems.push(
            `${path}/${name}/Resource: ${s.Resource} is not a function this sandbox runs; it runs arn:aws:lambda:${sandbox.region}:${sandbox.account}:function:msf-cmk-<Name> for <Name> in ${Object.keys(handlers).join(', ')}`,
          );
          continue;
        }
        functionArns[m![3]] = String(s.Resource);
        s.Resource = `\${${m![3]}FunctionArn}`;
      }
      for (const [i, b] of (s?.Branches ?? []).entries()) visit(b.States, `${path}/${name}/Branches[${i}]/States`);
      if (s?.ItemProcessor) visit(s.ItemProcessor.States, `${path}/${name}/ItemProcessor/States`);
      if (s?.Iterator) visit(s.Iterator.States, `${path}/${name}/Iterator/States`);
    }
  };
  visit(definition.States, '/States');
  if (problems.length) throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: ${problems.join('; ')}`);
  return { placeholders: JSON.stringify(definition), functionArns };
}

/** The local engine for a definition, with the same waits and retry scaling for every execution. */
function localMachine(
  sandbox: Sandbox,
  placeholders: string,
  handlers: Record<string, (event: any) => Promise<unknown>>,
  env: Record<string, string>,
  stateMachineName: string,
): LocalStateMachine {
  const { waitMs, retryScale } = sandbox.stepFunctions;
  return new LocalStateMachine({ definitionText: placeholders, handlers, env, region: sandbox.region, account: sandbox.account, waitMs, retryScale, stateMachineName });
}

// ---------------------------------------------------------------------------------------------
// Execution history

interface Draft { type: string; timestamp: number; [details: string]: unknown }

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
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/**
 * Writes the engine's event log into the execution's history in AWS's names and shapes. The Lambda
 * events come from the function wrappers; they are held per function until the engine reports the
 * state's outcome, so they land between its StateEntered and StateExited as in AWS.
 */
class HistoryWriter {
  private readonly held = new Map<string, Draft[]>();
  constructor(
    private readonly sandbox: Sandbox,
    private readonly executionArn: string,
  ) {}

  /** State name → function name, for the Task states. */
  functionOfState: Record<string, string> = {};

  /** The execution while it is RUNNING (not stopped, not removed by a state restore). */
  get open(): Execution | undefined {
    const ex = sfnState(this.sandbox).executions[this.executionArn];
    return ex?.status === 'RUNNING' ? ex : undefined;
  }

  private push(type: string, details?: Record<string, unknown>, timestamp = this.sandbox.clock.now()): void {
    const ex = this.open;
    if (ex) append(ex, { type, timestamp, ...details });
  }

  hold(fn: string, type: string, details?: Record<string, unknown>): void {
    this.held.set(fn, [...(this.held.get(fn) ?? []), { type, timestamp: this.sandbox.clock.now(), ...details }]);
  }

  private release(stateName: string): void {
    const fn = this.functionOfState[stateName];
    for (const d of (fn && this.held.get(fn)) || []) this.push(d.type, d, d.timestamp);
    if (fn) this.held.delete(fn);
  }

  onEvent(e: EventLog): void {
    switch (e.type) {
      case 'StateEntered':
        return this.push(`${e.state.type}StateEntered`, {
          stateEnteredEventDetails: { name: e.state.name, input: json(e.state.input), inputDetails: { truncated: false } },
        });
      case 'StateExited':
        this.release(e.state.name);
        return this.push(`${e.state.type}StateExited`, {
          stateExitedEventDetails: { name: e.state.name, output: json(e.state.output), outputDetails: { truncated: false } },
        });
      case 'StateFailed':
      case 'StateRetried':
      case 'StateCaught':
        // AWS records no event of its own for these; the function's failure is the LambdaFunctionFailed held.
        return this.release(e.state.name);
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        return this.push(e.type, { [`m${e.type.slice(1)}EventDetails`]: { name: e.parentState.name, index: e.index } });
      default:
        // ExecutionStarted is written by StartExecution, the end by `finish` from the run's result.
        return undefined;
    }
  }

  finish(result: ExecutionResult): void {
    const ex = this.open;
    if (!ex) return;
    if (result.status === 'SUCCEEDED') return close(this.sandbox, ex, 'SUCCEEDED', { output: json(result.output) });
    const timedOut = result.events.some((e) => e.type === 'ExecutionTimeout');
    if (timedOut) return close(this.sandbox, ex, 'TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds).' });
    close(this.sandbox, ex, 'FAILED', { error: result.error, cause: result.cause });
  }

  fail(error: string, cause: string): void {
    const ex = this.open;
    if (ex) close(this.sandbox, ex, 'FAILED', { error, cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Running an execution

const lambdaError = (cause: string) => Object.assign(new Error(cause), { name: 'Lambda.AWSLambdaException' });

/** A role session as the principal a service acts as (Step Functions with the state machine's role). */
function serviceSession(sandbox: Sandbox, service: string, roleArn: string, sessionName: string): Principal {
  const s = assumeRoleAsService(sandbox, service, roleArn, sessionName);
  return sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
}

function functionRoleArn(sandbox: Sandbox): string {
  const ref = sandbox.stepFunctions.functionRole ?? DEFAULT_FUNCTION_ROLE;
  return ref.startsWith('arn:') ? ref : sandbox.state.iam.roles[ref]?.Arn ?? `arn:aws:iam::${sandbox.account}:role/${ref}`;
}

async function runExecution(sandbox: Sandbox, sm: StateMachine, executionArn: string): Promise<void> {
  const writer = new HistoryWriter(sandbox, executionArn);
  const ex = writer.open;
  if (!ex) return;
  try {
    const { placeholders, functionArns } = bindFunctions(sandbox, sm.definition);
    writer.functionOfState = Object.fromEntries(taskBindings(JSON.parse(placeholders)).map((b) => [b.stateName, b.handlerName]));
    // Step Functions acts with the state machine's role; Lambda runs the functions with theirs. A role that
    // cannot be assumed fails each invocation, as a Lambda error the ASL may retry.
    let sfnPrincipal: Principal | undefined;
    let sfnRefused: string | undefined;
    try {
      sfnPrincipal = serviceSession(sandbox, 'states.amazonaws.com', sm.roleArn, randomUUID().replace(/-/g, ''));
    } catch {
      sfnRefused = 'Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.';
    }
    let creds = { accessKeyId: '', secretAccessKey: '', sessionToken: '' };
    let lambdaRefused: string | undefined;
    const roleArn = functionRoleArn(sandbox);
    try {
      const s = assumeRoleAsService(sandbox, 'lambda.amazonaws.com', roleArn, 'msf-cmk-functions');
      creds = { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken };
    } catch {
      lambdaRefused = `The role defined for the function cannot be assumed by Lambda. (${roleArn}; set the sandbox option stepFunctions.functionRole)`;
    }
    if (!sandbox.endpoint) throw new Error('the sandbox has no HTTP endpoint for the functions to call (start it with startSandbox)');
    // The standard environment Lambda gives a function, plus the functions' own (stepFunctions.environment).
    const env = {
      AWS_REGION: sandbox.region,
      AWS_ENDPOINT_URL: sandbox.endpoint,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken,
      AWS_MAX_ATTEMPTS: '1',
      ...sandbox.stepFunctions.environment,
    };
    const table = handlerTable(sandbox);
    const handlers = Object.fromEntries(
      Object.entries(functionArns).map(([fn, arn]) => [
        fn,
        async (event: unknown) => {
          // After StopExecution the engine runs on (it cannot be cancelled from here), but no function does.
          if (!writer.open) throw Object.assign(new Error('The execution was stopped.'), { name: 'States.Aborted' });
          writer.hold(fn, 'LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: arn, input: json(event), inputDetails: { truncated: false } } });
          // In AWS order: Step Functions may invoke the function, then Lambda assumes its role.
          const denied = sfnRefused ?? invokeDenied(sandbox, sfnPrincipal!, arn) ?? lambdaRefused;
          if (denied) {
            writer.hold(fn, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: 'Lambda.AWSLambdaException', cause: denied } });
            throw lambdaError(denied);
          }
          writer.hold(fn, 'LambdaFunctionStarted');
          try {
            const out = await table[fn](event);
            writer.hold(fn, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: json(out), outputDetails: { truncated: false } } });
            return out;
          } catch (e) {
            const err = e as Error;
            writer.hold(fn, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: err.name, cause: err.message } });
            throw e;
          }
        },
      ]),
    );
    const machine = localMachine(sandbox, placeholders, handlers, env, ex.stateMachineArn.split(':').pop()!);
    const result = await machine.run(JSON.parse(ex.input), { executionName: ex.name, onEvent: (e) => writer.onEvent(e) });
    writer.finish(result);
  } catch (e) {
    writer.fail('States.Runtime', (e as Error).message);
  }
  sandbox.persist();
}

/** Why Step Functions may not invoke the function with the state machine's role, if it may not. */
function invokeDenied(sandbox: Sandbox, principal: Principal, functionArn: string): string | undefined {
  const result = sandbox.evaluate(principal, 'lambda:InvokeFunction', functionArn);
  if (result.decision === 'Allowed') return undefined;
  const err = sandbox.accessDenied('lambda', principal.arn, 'lambda:InvokeFunction', functionArn, result);
  return `${err.message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`;
}

// ---------------------------------------------------------------------------------------------
// Operations

function describeExecution(ex: Execution) {
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
  };
}

/** Opaque pagination token: an offset bound to the listing it came from. */
function page<T>(items: T[], input: any, scope: string, defaultMax = 100): { items: T[]; nextToken?: string } {
  const max = input.maxResults ? Number(input.maxResults) : defaultMax;
  if (!(max >= 0 && max <= 1000)) throw validation(`1 validation error detected: Value '${input.maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
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
  const ex: Execution = { executionArn, stateMachineArn: smArn, name, status: 'RUNNING', startDate: now, input: text, events: [] };
  append(ex, { type: 'ExecutionStarted', timestamp: now, executionStartedEventDetails: { input: text, inputDetails: { truncated: false }, roleArn: sm.roleArn } });
  executions[executionArn] = ex;
  // After the response: building the engine validates the definition (~150 ms).
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
      if (type !== 'STANDARD') throw new AwsError('StateMachineTypeNotSupported', `State machine type ${type} is not supported by this sandbox (STANDARD only).`, 400);
      const existing = sfnState(sandbox).stateMachines[arn];
      // Idempotent for the same definition and role, as AWS documents; anything else is a conflict.
      if (existing) {
        if (existing.definition === definition && existing.roleArn === roleArn) return { stateMachineArn: arn, creationDate: epochSeconds(existing.creationDate) };
        throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`, 400);
      }
      const { placeholders } = bindFunctions(sandbox, definition);
      try {
        // The engine validates the ASL (asl-validator) and checks every Task has its handler.
        localMachine(sandbox, placeholders, handlerTable(sandbox), {}, name);
      } catch (e) {
        throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: ${(e as Error).message}`);
      }
      const role = findRole(sandbox.state, roleArn);
      const trusted = role && sandbox.isRoleVisible(roleArn) && sandbox.evaluate('states.amazonaws.com', 'sts:AssumeRole', role.Arn, { resourcePolicy: role.AssumeRolePolicyDocument }).decision === 'Allowed';
      if (!trusted) throw new AwsError('AccessDeniedException', 'Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.', 400);
      const now = sandbox.clock.now();
      const tags = ((input.tags ?? []) as { key: string; value: string }[]).map((t) => ({ key: t.key, value: t.value }));
      sfnState(sandbox).stateMachines[arn] = { stateMachineArn: arn, name, definition, roleArn, type: 'STANDARD', creationDate: now, tags };
      return { stateMachineArn: arn, creationDate: epochSeconds(now) };
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

    DescribeExecution: (input, { sandbox, caller }) => {
      const arn = required(input, 'executionArn');
      sandbox.authorize('states', caller, 'states:DescribeExecution', arn);
      return describeExecution(executionOf(sandbox, arn));
    },

    StopExecution: (input, { sandbox, caller }) => {
      const arn = required(input, 'executionArn');
      sandbox.authorize('states', caller, 'states:StopExecution', arn);
      const ex = executionOf(sandbox, arn);
      if (ex.status === 'RUNNING') close(sandbox, ex, 'ABORTED', { error: input.error, cause: input.cause });
      return { stopDate: epochSeconds(ex.stopDate) };
    },

    ListExecutions: (input, { sandbox, caller }) => {
      const smArn = required(input, 'stateMachineArn');
      sandbox.authorize('states', caller, 'states:ListExecutions', smArn);
      stateMachineOf(sandbox, smArn);
      const filter = input.statusFilter as string | undefined;
      const all = Object.values(sfnState(sandbox).executions)
        .filter((e) => e.stateMachineArn === smArn && (!filter || e.status === filter))
        .sort((a, b) => b.startDate - a.startDate);
      const { items, nextToken } = page(all, input, `ListExecutions${smArn}${filter ?? ''}`);
      return {
        executions: items.map((e) => ({ executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status, startDate: epochSeconds(e.startDate), stopDate: epochSeconds(e.stopDate) })),
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
