/**
 * The shape every changing step has (DESIGN conventions 2): `find` reads what the step depends on with
 * read-only clients, `decide` is a pure function of the state and what was found that returns the changes
 * (each with its before- and after-image) and the step's result, and apply makes exactly those changes.
 *
 * One Lambda function per step serves two Task states of the ASL: `Decide<Step>` (phase "decide", its
 * result recorded in `$.ledger.<Step>`) and `<Step>` (phase "apply", which executes that recorded
 * decision). The state machine decides every step before it applies any, so every refusal comes before
 * the first write, the whole ledger exists before anything is written, and plan mode is the decide phase
 * alone: the plan's change list is, by construction, what a real run executes.
 *
 * A decision depends only on the decisions before it (`decided`), never on what an apply returned; the
 * one thing only an apply learns — the id KMS gives a new key — is NEW_KEY in a decision, replaced at
 * apply time once CreateKey has answered.
 *
 * Every handler — steps and compensations alike — is made by `task`, the one wrapper that writes the
 * step's log line (execution, state, application, persona, outcome, duration), traces it, and forgets
 * sessions that expired.
 */
import { performance } from 'node:perf_hooks';
import { applyChanges, withKey, type Decision } from './changes';
import { renewLockForRedrive } from './lock';
import { PreconditionFailed, errorName, isAwsError } from './errors';
import { logger, tracer, withoutDocuments } from './observability';
import { clientsAs, forgetSessions, type Actor, type Persona } from './personas';
import type { AwsClients } from './clients';
import type { StepName, WorkflowState } from './model';

/** Read-only clients of a persona, for a find phase. */
export type Readers = (persona: Persona) => Promise<AwsClients>;

export interface StepDefinition<F, O> {
  name: StepName;
  /** Who makes its changes (its find may read as others). */
  persona: Persona;
  find(state: WorkflowState, read: Readers): Promise<F>;
  decide(state: WorkflowState, found: F): Decision<O>;
  /** What must have been applied before this step applies (order enforced twice: DESIGN conventions 3). */
  requires?: readonly (keyof WorkflowState)[];
  /** The result once applied, from the decided one and each call's answer (e.g. the new key's ARN). */
  settle?(decision: Decision<O>, answers: unknown[]): O;
}

/** The result an earlier step decided on (a decision never depends on an apply). */
export function decided<O>(state: WorkflowState, step: StepName): O {
  const decision = state.ledger[step];
  if (!decision) throw new PreconditionFailed(`Decide${step} has not run: decisions follow the documented order (facts §2).`);
  return decision.outcome as O;
}

/** A decision with the new key (once CreateKey has made it) in place of NEW_KEY. */
const withCreatedKey = <T>(value: T, state: WorkflowState): T =>
  state.key?.created ? withKey(value, { KeyId: state.key.keyId, Arn: state.key.keyArn }) : value;

export interface StepEvent {
  phase: 'decide' | 'apply';
  state: WorkflowState;
  /** `$$.Execution.RedriveCount`, passed to every apply: above 0, the apply first checks the lock is still its own. */
  redriveCount?: number;
}

export const actorOf = (state: Pick<WorkflowState, 'context' | 'config'>, step: string): Actor => ({
  step,
  context: state.context,
  applicationName: state.config.applicationName,
});

export const isPlan = (s: { config: { mode: string } }) => s.config.mode === 'plan';

/** A session that outlived its clock gets ExpiredToken: forget it, so the state machine's retry assumes afresh. */
async function withFreshSessions<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isAwsError(e, 'ExpiredToken')) forgetSessions();
    throw e;
  }
}

/** Who a log line is about: read from the event, whichever of the three shapes a Task passes. */
export interface Subject {
  state: string;
  phase?: StepEvent['phase'];
  execution?: string;
  application?: string;
}

export function subjectOf(name: string, event: any): Subject {
  if (event?.phase && event.state) {
    const s = event.state as WorkflowState;
    return {
      state: event.phase === 'decide' ? `Decide${name}` : name,
      phase: event.phase,
      execution: s.context?.executionArn,
      application: s.config?.applicationName,
    };
  }
  // ValidateInput: the raw input and the execution, before any context exists.
  if (event?.execution) return { state: name, execution: event.execution.Id, application: event.input?.applicationName };
  return { state: name, execution: event?.context?.executionArn, application: event?.config?.applicationName };
}

/** What a step line says of a result: how many changes a decision holds (never the changes themselves). */
const summaryOf = (result: unknown) => {
  const changes = (result as Decision | undefined)?.changes;
  return Array.isArray(changes) ? { changes: changes.length, actions: changes.map((c) => c.action) } : {};
};

/** The Lambda context, when Lambda gives one (the local runner passes the event only). */
interface LambdaContext {
  awsRequestId: string;
  functionName: string;
}

export type Task<E, R> = ((event: E, context?: LambdaContext) => Promise<R>) & { readonly persona: Persona | 'none' };

/**
 * A Lambda handler for `name`, acting as `persona`: one log line per invocation with its outcome and
 * duration (INFO when it succeeds, WARN with the error's name when it fails — the state machine decides
 * whether that is retried), inside its own trace subsegment.
 */
export function task<E, R>(name: string, persona: Persona | 'none', run: (event: E) => Promise<R>): Task<E, R> {
  const handler = async (event: E, context?: LambdaContext): Promise<R> => {
    const log = logger();
    const subject = subjectOf(name, event);
    log.resetKeys();
    if (context) log.addContext(context as never);
    log.appendKeys({ ...subject, persona });
    const trace = tracer();
    const segment = trace?.isTracingEnabled() ? trace.getSegment() : undefined;
    const sub = segment?.addNewSubsegment(`## ${subject.state}`);
    if (trace && sub) {
      trace.setSegment(sub);
      trace.putAnnotation('state', subject.state);
      if (subject.execution) trace.putAnnotation('execution', subject.execution);
      if (subject.application) trace.putAnnotation('application', subject.application);
    }
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    try {
      const result = await withFreshSessions(() => run(event));
      log.info(`${subject.state} succeeded`, { outcome: 'succeeded', durationMs: ms(), ...summaryOf(result) });
      if (log.getLevelName() === 'DEBUG')
        for (const c of (result as Decision | undefined)?.changes ?? [])
          log.debug(`${subject.state} decided ${c.action}`, { resource: c.resource, detail: c.detail });
      return result;
    } catch (e) {
      log.warn(`${subject.state} failed`, {
        outcome: 'failed',
        durationMs: ms(),
        error: errorName(e),
        errorMessage: withoutDocuments((e as Error)?.message ?? String(e)),
      });
      if (sub) trace?.addErrorAsMetadata(e as Error);
      throw e;
    } finally {
      if (sub && segment) {
        sub.close();
        trace?.setSegment(segment);
      }
    }
  };
  return Object.assign(handler, { persona });
}

export function stepHandler<F, O>(def: StepDefinition<F, O>): Task<StepEvent, Decision<O> | O> {
  return task(def.name, def.persona, async (event: StepEvent): Promise<Decision<O> | O> => {
    const { state } = event;
    const actor = actorOf(state, def.name);
    if (event.phase === 'decide') {
      const found = await def.find(state, (persona) => clientsAs(persona, actor, 'read'));
      return def.decide(state, found);
    }
    const recorded = state.ledger[def.name] as Decision<O> | undefined;
    if (!recorded) throw new PreconditionFailed(`${def.name} applies the decision Decide${def.name} recorded, and there is none.`);
    if (isPlan(state)) throw new PreconditionFailed(`${def.name} does not apply in plan mode.`);
    const missing = (def.requires ?? []).filter((k) => state[k] === undefined);
    if (missing.length) throw new PreconditionFailed(`${def.name} applies after ${missing.join(', ')} (facts §2): the documented order was not followed.`);
    const decision = withCreatedKey(recorded, state);
    if (!decision.changes.length) return decision.outcome;
    // A redrive resumes mid-way: if a cleanup has undone this run since, its lock has gone with it.
    if (event.redriveCount) await renewLockForRedrive(state, actor);
    const answers = await applyChanges(decision.changes, actor);
    return def.settle ? def.settle(decision, answers) : decision.outcome;
  });
}
