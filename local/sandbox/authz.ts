/**
 * The one door to the IAM policy evaluator (@cloud-copilot/iam-simulate, AGPL-3.0-or-later).
 * Nothing outside local/sandbox may import it; lambdas/ never does.
 *
 * We call `runUnsafeSimulation` with policies validated here, because the validating `runSimulation`
 * drops colon-suffixed context keys such as `kms:EncryptionContext:aws:kinesisanalytics:arn`
 * (toolchain §3). The evaluator models KMS's rule that identity policies count only where the
 * key policy delegates to the account, resource-policy semantics for role trust policies, and permissions
 * boundaries (including the same-account resource-policy grants to a session that a boundary does not limit).
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateIdentityPolicy, validateResourcePolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import type { PolicyDocument } from './state';

export type PolicyKind = 'identity' | 'resource' | 'trust';
export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface AuthzRequest {
  /** An IAM/STS ARN, or a service principal such as `kinesisanalytics.amazonaws.com`. */
  principal: string;
  action: string;
  resource: string;
  resourceAccount: string;
  context: Record<string, string | string[]>;
  identityPolicies: { name: string; document: PolicyDocument }[];
  /** The principal's permissions boundary (a managed policy), when it has one. */
  permissionsBoundary?: { name: string; document: PolicyDocument };
  /** The role session's session policy (AssumeRole `Policy`), when it was given one. */
  sessionPolicy?: PolicyDocument;
  resourcePolicy?: PolicyDocument;
}

export interface AuthzResult {
  decision: Decision;
  /** Which kind of policy decided a denial, for AWS's AccessDenied wording. */
  deniedBy?: 'identity' | 'resource' | 'boundary' | 'session';
}

const validators = { identity: validateIdentityPolicy, resource: validateResourcePolicy, trust: validateTrustPolicy };

/** Problems with a policy document, in the evaluator's words; empty when valid. */
export function validatePolicy(document: unknown, kind: PolicyKind): string[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return ['The policy must be a JSON object'];
  return validators[kind](document).map((e: any) => (e.path ? `${e.path}: ${e.message}` : e.message));
}

// Validated policies are immutable; cache them by content so hot paths do not re-parse.
const cache = new Map<string, unknown>();
function cached(key: string, make: () => unknown) {
  let policy = cache.get(key);
  if (!policy) {
    if (cache.size > 5000) cache.clear();
    policy = make();
    cache.set(key, policy);
  }
  return policy;
}

const asList = (v: unknown): unknown[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
/** IAM's action match: `*`, or service and name compared case-insensitively with `*` and `?` wildcards. */
const actionPatterns = new Map<string, RegExp>();
function actionMatches(pattern: string, action: string): boolean {
  let regex = actionPatterns.get(pattern);
  if (!regex) {
    if (actionPatterns.size > 5000) actionPatterns.clear();
    regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      'i',
    );
    actionPatterns.set(pattern, regex);
  }
  return regex.test(action);
}
/** Whether a statement's Action or NotAction can match `action`; true when unsure (the evaluator decides). */
function mayApply(statement: unknown, action: string): boolean {
  if (typeof statement !== 'object' || statement === null) return true;
  const { Action, NotAction } = statement as { Action?: unknown; NotAction?: unknown };
  const patterns = asList(Action ?? NotAction);
  if (!patterns?.every((p) => typeof p === 'string')) return true;
  const matched = (patterns as string[]).some((p) => actionMatches(p, action));
  return Action !== undefined ? matched : !matched;
}

/**
 * The policy, validated, as the evaluator needs it for `action`. The evaluator analyses every condition of
 * every statement (for its explanations), most of its cost; a statement whose Action/NotAction cannot match
 * the action never allows or denies it, so only those that can are passed on (one is kept if none can, so a
 * policy that is there stays there: KMS and trust decisions depend on whether a resource policy exists).
 */
function validated(document: PolicyDocument, kind: PolicyKind, name: string, action: string) {
  const json = JSON.stringify(document);
  const statements = asList(document.Statement);
  const applying = statements?.filter((s) => mayApply(s, action));
  if (!statements || !applying || applying.length === statements.length) {
    return cached(`${kind}\u0000${name}\u0000${json}`, () => createValidatedPolicy(document, validators[kind], { name }));
  }
  return cached(`${kind}\u0000${name}\u0000${action}\u0000${json}`, () =>
    createValidatedPolicy({ ...document, Statement: applying.length ? applying : [statements[0]] }, validators[kind], { name }),
  );
}

/**
 * The evaluator reads a request on resource `*` as a pattern that matches every policy resource, so a
 * policy scoped to one ARN would allow e.g. kinesisanalytics:CreateApplication or kms:CreateKey. In
 * AWS only a policy Resource of `*` matches such actions; a literal that no ARN matches gives that.
 */
const NO_RESOURCE = 'no-resource';

function simulate(req: AuthzRequest, withResourcePolicy: boolean, withBoundary = true): Decision {
  const boundary = withBoundary ? req.permissionsBoundary : undefined;
  return runUnsafeSimulation(
    {
      request: {
        principal: req.principal,
        action: req.action,
        resource: { resource: req.resource === '*' ? NO_RESOURCE : req.resource, accountId: req.resourceAccount },
        contextVariables: req.context,
      },
      identityPolicies: req.identityPolicies.map((p) => ({ name: p.name, policy: validated(p.document, 'identity', p.name, req.action) })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: withResourcePolicy && req.resourcePolicy ? validated(req.resourcePolicy, 'resource', 'ResourcePolicy', req.action) : undefined,
      // A boundary is a managed policy, validated as identity policies are.
      permissionBoundaryPolicies: boundary ? [{ name: boundary.name, policy: validated(boundary.document, 'identity', boundary.name, req.action) }] : undefined,
    } as any,
    {},
  ) as Decision;
}

export function evaluate(req: AuthzRequest): AuthzResult {
  // A session policy limits a role session as a boundary does (identity policies, and resource policies
  // that name the role rather than the session): allowed only when allowed under both. The evaluator's
  // unvalidated entry point takes no session policy, hence the second pass with it in the boundary's place.
  if (req.sessionPolicy) {
    const { sessionPolicy, ...rest } = req;
    const bounded = evaluate(rest);
    if (bounded.decision !== 'Allowed') return bounded;
    const bySession = evaluate({ ...rest, permissionsBoundary: { name: 'SessionPolicy', document: sessionPolicy } });
    return bySession.decision === 'Allowed' ? bySession : { decision: bySession.decision, deniedBy: 'session' };
  }
  const decision = simulate(req, true);
  if (decision === 'Allowed') return { decision };
  // Which policy said no, for AWS's wording. The boundary is named when the request would pass
  // without it, or when only it denies explicitly.
  if (req.permissionsBoundary) {
    const unbounded = simulate(req, true, false);
    if (unbounded === 'Allowed' || (decision === 'ExplicitlyDenied' && unbounded !== 'ExplicitlyDenied')) return { decision, deniedBy: 'boundary' };
  }
  // Another account's caller needs a resource policy too: without one, that is what is missing.
  const callerAccount = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(req.principal)?.[1];
  if (!req.resourcePolicy) return { decision, deniedBy: callerAccount && callerAccount !== req.resourceAccount ? 'resource' : 'identity' };
  // KMS decides by the key policy first, so it names the resource-based policy unless an identity
  // policy denies explicitly.
  const identityOnly = simulate(req, false, false);
  if (identityOnly === 'ExplicitlyDenied') return { decision, deniedBy: 'identity' };
  if (decision === 'ExplicitlyDenied' || identityOnly === 'Allowed' || req.action.startsWith('kms:') || !req.identityPolicies.length) {
    return { decision, deniedBy: 'resource' };
  }
  return { decision, deniedBy: 'identity' };
}
