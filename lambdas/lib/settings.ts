/**
 * Account settings belong to the deployment (DESIGN conventions 10): CDK validates its context against
 * settings.schema.json and hands the result, plus the ARNs of what the stack deploys, to every function
 * in its environment. Handlers read them here, never from the execution input, so two runs can never
 * disagree about role names, paths, aliases or tables.
 */
import Ajv, { type ErrorObject } from 'ajv';
import schema from './settings.schema.json';
import { InvalidDeployment } from './errors';
import { roleNameOf } from './names';

export interface Settings {
  rolePath: string;
  operatorRolePrefix: string;
  keyAdminRoleName: string;
  aliasPrefix: string;
  lockTableName: string;
  pendingWindowDays: number;
  delegateToAccount: boolean;
  /** Deny DisableKey/ScheduleKeyDeletion in the key policies while a key is tagged in use. */
  keyDeletionGuard: boolean;
  autoOnboarding: boolean;
  /** The event bus for onboarding request events (infra only). */
  requestBusName: string;
  /** Who may put request events on it: account ids or IAM ARNs; absent = this account's root (infra only). */
  requestPrincipals?: string[];
  /** Also take request events from the default bus (infra only). */
  defaultBusRequests: boolean;
  /** Deploy a daily EventBridge Scheduler audit of the account (infra only). */
  dailyAudit: boolean;
  /** Deploy an hourly EventBridge Scheduler sweep for what stopped executions left (infra only). */
  hourlySweep: boolean;
  /** The audit also imports its findings into Security Hub (ReportFindings; the stack grants it). */
  securityHubFindings: boolean;
  /** An existing role to be every application's operator (one constant managed policy), instead of one role each. */
  sharedOperatorRoleArn?: string;
}

/** What the stack deploys that the functions act with or on. */
export interface DeployedResources {
  orchestratorRoleArn: string;
  keyAdminRoleArn: string;
  permissionsBoundaryArn: string;
}

export type Deployment = Settings & DeployedResources;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const check = ajv.compile<Settings>(schema);

const describe = (e: ErrorObject) => `${e.instancePath.replace(/^\//, '') || e.params.additionalProperty || '(settings)'}: ${e.message}`;

/** Settings with defaults, or InvalidDeployment naming every bad one. Rules the schema cannot say are checked here too. */
export function validateSettings(input: Record<string, unknown>): Settings {
  const copy = structuredClone(input);
  if (!check(copy)) throw new InvalidDeployment([...new Set((check.errors ?? []).map(describe))].join('; '));
  const problems: string[] = [];
  if (copy.aliasPrefix.toLowerCase().startsWith('aws/')) problems.push('aliasPrefix: alias/aws/ is reserved for AWS managed keys');
  // Role names are unique per account whatever their path: no application's operator may be the key admin.
  if (copy.keyAdminRoleName.toLowerCase().startsWith(copy.operatorRolePrefix.toLowerCase())) {
    problems.push(
      `keyAdminRoleName: ${copy.keyAdminRoleName} starts with operatorRolePrefix ${copy.operatorRolePrefix}, so an application's operator role could be the key administrator`,
    );
  }
  const shared = copy.sharedOperatorRoleArn;
  if (shared) {
    const roleName = roleNameOf(shared);
    const path = shared.slice(shared.indexOf(':role/') + ':role'.length, -roleName.length);
    // The orchestrator writes to the roles under rolePath; a shared role is someone else's, which it only assumes.
    if (path.startsWith(copy.rolePath))
      problems.push(`sharedOperatorRoleArn: ${shared} is under rolePath ${copy.rolePath}, where the orchestrator manages its own operator roles`);
    if (roleName.toLowerCase() === copy.keyAdminRoleName.toLowerCase()) problems.push(`sharedOperatorRoleArn: ${shared} is the key administrator`);
    // With the account delegation IAM alone would let the shared operator use every key for any application.
    if (copy.delegateToAccount)
      problems.push(
        "sharedOperatorRoleArn: not with delegateToAccount, which would let IAM alone decide the shared operator's use of every key, for any application",
      );
  }
  if (problems.length) throw new InvalidDeployment(problems.join('; '));
  return copy;
}

/** Environment variable of each setting and deployed resource (the functions' contract with the stack). */
const ENV: Record<keyof Deployment, string> = {
  rolePath: 'MSF_CMK_ROLE_PATH',
  operatorRolePrefix: 'MSF_CMK_OPERATOR_ROLE_PREFIX',
  keyAdminRoleName: 'MSF_CMK_KEY_ADMIN_ROLE_NAME',
  aliasPrefix: 'MSF_CMK_ALIAS_PREFIX',
  lockTableName: 'MSF_CMK_LOCK_TABLE',
  pendingWindowDays: 'MSF_CMK_PENDING_WINDOW_DAYS',
  delegateToAccount: 'MSF_CMK_DELEGATE_TO_ACCOUNT',
  keyDeletionGuard: 'MSF_CMK_KEY_DELETION_GUARD',
  autoOnboarding: 'MSF_CMK_AUTO_ONBOARDING',
  requestBusName: 'MSF_CMK_REQUEST_BUS_NAME',
  requestPrincipals: 'MSF_CMK_REQUEST_PRINCIPALS',
  defaultBusRequests: 'MSF_CMK_DEFAULT_BUS_REQUESTS',
  dailyAudit: 'MSF_CMK_DAILY_AUDIT',
  hourlySweep: 'MSF_CMK_HOURLY_SWEEP',
  securityHubFindings: 'MSF_CMK_SECURITY_HUB_FINDINGS',
  sharedOperatorRoleArn: 'MSF_CMK_SHARED_OPERATOR_ROLE_ARN',
  orchestratorRoleArn: 'MSF_CMK_ORCHESTRATOR_ROLE_ARN',
  keyAdminRoleArn: 'MSF_CMK_KEY_ADMIN_ROLE_ARN',
  permissionsBoundaryArn: 'MSF_CMK_PERMISSIONS_BOUNDARY_ARN',
};

/** The functions' environment for a deployment (CDK sets exactly this; local tools too). */
export function deploymentEnvironment(d: Deployment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(ENV).flatMap(([k, name]) => {
      const v = d[k as keyof Deployment];
      // Lists travel as JSON (an IAM name may contain a comma); an absent optional setting is left out.
      return v === undefined ? [] : [[name, Array.isArray(v) ? JSON.stringify(v) : String(v)]];
    }),
  );
}

/** A setting's value from its environment variable text, by the schema's type. */
function fromEnvironment(k: keyof Settings, v: string): unknown {
  const type = (schema.properties as Record<string, { type: string }>)[k].type;
  if (type === 'integer') return Number(v);
  if (type === 'boolean') return v === 'true';
  if (type === 'array') {
    try {
      return JSON.parse(v);
    } catch {
      return v; // the schema then names it
    }
  }
  return v;
}

let cached: { key: string; value: Deployment } | undefined;

/** The deployment this function runs in, from its environment (read once per environment). */
export function deployment(env: NodeJS.ProcessEnv = process.env): Deployment {
  const key = Object.values(ENV)
    .map((name) => env[name] ?? '')
    .join('\u0000');
  if (cached?.key === key) return cached.value;
  const missing = (['orchestratorRoleArn', 'keyAdminRoleArn', 'permissionsBoundaryArn'] as const).filter((k) => !env[ENV[k]]);
  if (missing.length)
    throw new InvalidDeployment(
      `the function environment lacks ${missing.map((k) => ENV[k]).join(', ')}; deploy with the CDK stack (or local/deployment.ts) to set it`,
    );
  const raw: Record<string, unknown> = {};
  for (const k of Object.keys(schema.properties) as (keyof Settings)[]) {
    const v = env[ENV[k]];
    if (v === undefined || v === '') continue;
    raw[k] = fromEnvironment(k, v);
  }
  const value: Deployment = {
    ...validateSettings(raw),
    orchestratorRoleArn: env[ENV.orchestratorRoleArn]!,
    keyAdminRoleArn: env[ENV.keyAdminRoleArn]!,
    permissionsBoundaryArn: env[ENV.permissionsBoundaryArn]!,
  };
  cached = { key, value };
  return value;
}
