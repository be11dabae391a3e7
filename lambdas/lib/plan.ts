/**
 * Plan mode (`"mode": "plan"`): the same states run, and each forward step finds and decides as usual,
 * but instead of acting it returns its usual result plus `planned`, the changes it would make. No write
 * call is made. The ledger fields (`created`, `attachedByThisRun`, `basePolicyAdded`, `operationId`)
 * stay false/absent, so a rollback reached in plan mode finds nothing of this execution's to undo.
 */
import type { AwsClients } from './clients';
import { asKeyAdmin, asOperator } from './personas';
import type { Config, WorkflowState } from './model';

/** One change a real run would make: the API call as `service:Operation` and the resource it targets. */
export interface PlannedChange {
  action: string;
  resource: string;
  detail?: string;
}

export type Planned<T> = T & { planned?: PlannedChange[] };

/** What a plan-mode execution ends with (the Succeed state outputs `$.report`). */
export interface PlanReport {
  mode: 'plan';
  applicationName: string;
  changes: PlannedChange[];
}

/** The key ARN of a key that does not exist yet: KMS chooses it on CreateKey. */
export const NEW_KEY = '(new key)';

export const isPlan = (s: { config: Pick<Config, 'mode'> }) => s.config.mode === 'plan';

export const change = (action: string, resource: string, detail?: string): PlannedChange => (detail ? { action, resource, detail } : { action, resource });

type Persona = 'operator' | 'key-admin';
const PERSONA: Record<Persona, { label: string; step: string; result: (s: WorkflowState) => Planned<object> | undefined }> = {
  operator: { label: 'operator', step: 'EnsureOperatorRole', result: (s) => s.operator },
  'key-admin': { label: 'key administrator', step: 'EnsureKeyAdminRole', result: (s) => s.keyAdmin },
};

/**
 * Clients of a persona for plan-mode reads, or undefined when the run would still change that role
 * (create it, its trust or its policy): what it may read today is not what it could read in the real run,
 * so the step plans from what the orchestrator knows and says so (`cannotReadAs`).
 */
export async function readAs(state: WorkflowState, persona: Persona, step: string): Promise<AwsClients | undefined> {
  const role = PERSONA[persona].result(state);
  if (!role || role.planned?.length) return undefined;
  return persona === 'operator' ? asOperator(state, step) : asKeyAdmin(state, step);
}

/** Why a plan entry is conditional: the step could not read as its persona (see readAs). */
export const cannotReadAs = (persona: Persona) =>
  `cannot read it as the ${PERSONA[persona].label} before ${PERSONA[persona].step} has made that role and its policy`;

/** Every step's planned changes, in the documented order. */
export function planReport(state: WorkflowState): PlanReport {
  const results: (Planned<object> | undefined)[] = [state.operator, state.application, state.keyAdmin, state.key, state.operatorKeyAccess, state.switch];
  return { mode: 'plan', applicationName: state.config.applicationName, changes: results.flatMap((r) => r?.planned ?? []) };
}
