/**
 * The deployment's CDK context settings (`-c name=value` or cdk.json "context"), checked at synth time.
 * rolePath, operatorRoleName and aliasPrefix are checked by the execution-input schema itself, which also
 * supplies their defaults, so a deployment can never hold a value an execution would refuse.
 */
import type { Node } from 'constructs';
import { validateInput } from '../lambdas/lib/validate';

export interface Settings {
  /** IAM path of the roles and policies the workflow manages; the orchestrator may touch nothing else. */
  rolePath: string;
  /** The operator role's name: auto-onboarding ignores applications its sessions create. */
  operatorRoleName: string;
  /** Alias prefix for keys created by auto-onboarding executions. */
  aliasPrefix: string;
  /** Start an onboarding for every application created in this account and Region (facts §8). */
  autoOnboarding: boolean;
  /** KMS PendingWindowInDays for a key the workflow schedules for deletion; reserved for the key-removal step. */
  pendingWindowDays: number;
  /** The DynamoDB table of per-application locks (one run per application). */
  lockTableName: string;
}

const fail = (message: string): never => {
  throw new Error(`Invalid CDK context: ${message}`);
};

/** Context values from `-c` arrive as strings, those from cdk.json or `new App({ context })` as JSON. */
function flag(name: string, value: unknown): boolean {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  return fail(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

function days(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  // ScheduleKeyDeletion accepts 7 to 30 days.
  if (!Number.isInteger(n) || n < 7 || n > 30) fail(`${name} must be a whole number of days from 7 to 30, got ${JSON.stringify(value)}`);
  return n;
}

export function readSettings(node: Node): Settings {
  const get = (name: string) => node.tryGetContext(name) as unknown;
  const named = Object.fromEntries(
    ['rolePath', 'operatorRoleName', 'aliasPrefix', 'lockTableName'].flatMap((name) => (get(name) === undefined ? [] : [[name, get(name)]])),
  );
  let config;
  try {
    config = validateInput({ applicationName: 'context-check', ...named });
  } catch (e) {
    return fail((e as Error).message);
  }
  // With "/" the orchestrator could rewrite every role in the account, its own included.
  if (config.rolePath === '/') fail('rolePath must not be "/": the orchestrator manages every role under it');
  return {
    rolePath: config.rolePath,
    operatorRoleName: config.operatorRoleName,
    aliasPrefix: config.aliasPrefix,
    autoOnboarding: flag('autoOnboarding', get('autoOnboarding')),
    pendingWindowDays: days('pendingWindowDays', get('pendingWindowDays'), 30),
    lockTableName: config.lockTableName,
  };
}
