/**
 * Does a key policy allow the requests Managed Flink makes with a key (facts §3, §4, §7)? A small, pure
 * evaluator for what key policies say — Effect, Principal, Action, Resource and the condition operators
 * key policies use — deciding the way IAM does: an explicit Deny wins, then an Allow. It decides
 * conservatively where it cannot be sure (NotPrincipal, NotAction, an operator it does not know: such an
 * Allow grants nothing and such a Deny counts as matching), so "allowed" here means allowed in AWS.
 *
 * Used to adopt a key: MSF would refuse the switch later, after writes, if the key's policy did not allow
 * these requests. (The sandbox's policy engine is AGPL and never bundled into a function; the tests hold
 * this evaluator against it.)
 */
import { ENCRYPTION_CONTEXT_KEY, MSF_SERVICE_PRINCIPALS, viaService } from './policies';
import type { Scope } from './names';

/** One request as KMS evaluates it: who, what, and the request context. */
export interface KeyRequest {
  /** An IAM role ARN or a service principal. */
  principal: { AWS: string } | { Service: string };
  action: string;
  context: Record<string, string | string[]>;
  /** What the request is for, in words (for the refusal message). */
  purpose: string;
}

type Statement = Record<string, any>;
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM wildcard match: `*` any run of characters, `?` one character, case-sensitive unless told. */
function like(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'i' : '',
  );
  return re.test(value);
}

function principalMatches(statement: Statement, request: KeyRequest, scope: Required<Scope>): boolean | 'unknown' {
  if (statement.NotPrincipal !== undefined) return 'unknown';
  const p = statement.Principal;
  if (p === '*') return true;
  if (typeof p !== 'object' || p === null) return false;
  if ('AWS' in request.principal) {
    const arn = request.principal.AWS;
    // The account itself (root or id) delegates to IAM: the operator's IAM policy, which the workflow writes, decides.
    const account = [`arn:${scope.partition}:iam::${scope.account}:root`, scope.account];
    return list(p.AWS).some((v) => v === '*' || v === arn || account.includes(String(v)));
  }
  return list(p.Service).includes(request.principal.Service);
}

/** A condition block satisfied by the context; 'unknown' where an operator is not one this evaluator knows. */
function conditionsHold(condition: Record<string, Record<string, unknown>> | undefined, context: KeyRequest['context']): boolean | 'unknown' {
  let unknown = false;
  for (const [rawOperator, entries] of Object.entries(condition ?? {})) {
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = rawOperator.replace(/IfExists$/, '');
    for (const [key, expected] of Object.entries(entries)) {
      const present = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
      const actual = present === undefined ? undefined : list(context[present]).map(String);
      const wanted = list(expected).map(String);
      if (actual === undefined) {
        if (ifExists || operator.startsWith('ForAllValues:')) continue;
        if (operator === 'Null') {
          if (wanted[0] !== 'true') return false;
          continue;
        }
        return false;
      }
      const one = (test: (w: string, a: string) => boolean) => actual.some((a) => wanted.some((w) => test(w, a)));
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
          if (!one((w, a) => w === a)) return false;
          break;
        case 'StringEqualsIgnoreCase':
          if (!one((w, a) => w.toLowerCase() === a.toLowerCase())) return false;
          break;
        case 'StringLike':
        case 'ArnLike':
          if (!one((w, a) => like(w, a))) return false;
          break;
        case 'StringNotEquals':
        case 'ArnNotEquals':
          if (one((w, a) => w === a)) return false;
          break;
        case 'StringNotLike':
        case 'ArnNotLike':
          if (one((w, a) => like(w, a))) return false;
          break;
        case 'ForAllValues:StringEquals':
          if (!actual.every((a) => wanted.includes(a))) return false;
          break;
        case 'ForAnyValue:StringEquals':
          if (!actual.some((a) => wanted.includes(a))) return false;
          break;
        case 'ForAllValues:StringLike':
          if (!actual.every((a) => wanted.some((w) => like(w, a)))) return false;
          break;
        case 'ForAnyValue:StringLike':
          if (!actual.some((a) => wanted.some((w) => like(w, a)))) return false;
          break;
        case 'Null':
          if (wanted[0] === 'true') return false;
          break;
        default:
          unknown = true;
      }
    }
  }
  return unknown ? 'unknown' : true;
}

/** Whether `statement` applies to `request` on `keyArn`: true, false, or 'unknown' (it cannot tell). */
function applies(statement: Statement, request: KeyRequest, keyArn: string, scope: Required<Scope>): boolean | 'unknown' {
  if (statement.NotAction !== undefined || statement.NotResource !== undefined) return 'unknown';
  if (!list(statement.Action).some((a) => like(String(a), request.action, true))) return false;
  if (!list(statement.Resource).some((r) => r === '*' || like(String(r), keyArn))) return false;
  const principal = principalMatches(statement, request, scope);
  if (principal === false) return false;
  const conditions = conditionsHold(statement.Condition, request.context);
  if (conditions === false) return false;
  return principal === 'unknown' || conditions === 'unknown' ? 'unknown' : true;
}

export function isAllowed(policy: unknown, request: KeyRequest, keyArn: string, scope: Required<Scope>): boolean {
  const statements = list((policy as { Statement?: unknown })?.Statement) as Statement[];
  if (statements.some((s) => s.Effect === 'Deny' && applies(s, request, keyArn, scope) !== false)) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s, request, keyArn, scope) === true);
}

/** The KMS requests MSF makes for `applicationArn` with the caller's (the operator's) rights and its own (facts §3, §4). */
export function msfKeyRequests(p: { scope: Required<Scope>; applicationArn: string; operatorRoleArn: string }): KeyRequest[] {
  const via = { 'kms:ViaService': viaService(p.scope.region), 'kms:CallerAccount': p.scope.account };
  const ec = { [ENCRYPTION_CONTEXT_KEY]: p.applicationArn };
  const grant = { ...ec, 'kms:GrantOperations': ['Decrypt'], 'kms:GrantConstraintType': 'EncryptionContextSubset' };
  const source = { 'aws:SourceArn': p.applicationArn, 'aws:SourceAccount': p.scope.account };
  const operator = { AWS: p.operatorRoleArn };
  const [durable, running] = MSF_SERVICE_PRINCIPALS.map((Service) => ({ Service }));
  return [
    { principal: operator, action: 'kms:DescribeKey', context: via, purpose: 'the operator describes the key through Managed Flink' },
    { principal: operator, action: 'kms:GenerateDataKey', context: { ...via, ...ec }, purpose: "the operator uses it for the application's durable state" },
    { principal: operator, action: 'kms:Decrypt', context: { ...via, ...ec }, purpose: "the operator uses it for the application's state" },
    {
      principal: operator,
      action: 'kms:GenerateDataKeyWithoutPlaintext',
      context: { ...via, ...ec },
      purpose: "the operator uses it for the application's running state",
    },
    { principal: operator, action: 'kms:CreateGrant', context: { ...via, ...grant }, purpose: 'the operator creates the running-state Decrypt grant' },
    { principal: durable, action: 'kms:DescribeKey', context: source, purpose: `${durable.Service} validates the key` },
    { principal: durable, action: 'kms:GenerateDataKey', context: { ...source, ...ec }, purpose: `${durable.Service} writes durable state` },
    { principal: durable, action: 'kms:Decrypt', context: ec, purpose: `${durable.Service} reads durable state` },
    { principal: running, action: 'kms:DescribeKey', context: source, purpose: `${running.Service} validates the key` },
    { principal: running, action: 'kms:Decrypt', context: ec, purpose: `${running.Service} reads running state` },
    { principal: running, action: 'kms:GenerateDataKeyWithoutPlaintext', context: ec, purpose: `${running.Service} writes running state` },
    { principal: running, action: 'kms:CreateGrant', context: grant, purpose: `${running.Service} creates its Decrypt grant` },
  ];
}

/** The requests a key policy refuses, in words ("kms:Decrypt by …: …"). */
export function refusedRequests(policy: unknown, keyArn: string, p: Parameters<typeof msfKeyRequests>[0]): KeyRequest[] {
  return msfKeyRequests(p).filter((r) => !isAllowed(policy, r, keyArn, p.scope));
}
