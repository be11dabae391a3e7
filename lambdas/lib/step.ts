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
 */
import { applyChanges, withKey, type Decision } from './changes';
import { PreconditionFailed, isAwsError } from './errors';
import { clientsAs, forgetSessions, type Actor, type Persona } from './personas';
import type { AwsClients } from './clients';
import type { StepName, WorkflowState } from './model';

/** Read-only clients of a persona, for a find phase. */
export type Readers = (persona: Persona) => Promise<AwsClients>;

export interface StepDefinition<F, O> {
  name: StepName;
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
const withCreatedKey = <T>(value: T, state: WorkflowState): T => (state.key?.created ? withKey(value, { KeyId: state.key.keyId, Arn: state.key.keyArn }) : value);

export interface StepEvent { phase: 'decide' | 'apply'; state: WorkflowState }

export const actorOf = (state: Pick<WorkflowState, 'context' | 'config'>, step: string): Actor => ({ step, context: state.context, applicationName: state.config.applicationName });

export const isPlan = (s: { config: { mode: string } }) => s.config.mode === 'plan';

/** A session that outlived its clock gets ExpiredToken: forget it, so the state machine's retry assumes afresh. */
export async function withFreshSessions<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isAwsError(e, 'ExpiredToken')) forgetSessions();
    throw e;
  }
}

export function stepHandler<F, O>(def: StepDefinition<F, O>) {
  return (event: StepEvent): Promise<Decision<O> | O> =>
    withFreshSessions(async () => {
      const { state } = event;
      const actor = actorOf(state, def.name);
      if (event.phase === 'decide') {
        // The same session name in both phases: a warm container assumes each persona once per step.
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
      const answers = await applyChanges(decision.changes, actor);
      return def.settle ? def.settle(decision, answers) : decision.outcome;
    });
}
