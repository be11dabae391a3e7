/**
 * STS: AssumeRole and GetCallerIdentity. AssumeRole evaluates the caller's identity policies and the
 * role's trust policy together (trust policies are resource policies), and honours IAM propagation
 * delay: a role created a moment ago cannot be assumed yet, exactly the AccessDenied AWS returns then.
 */
import { randomBytes } from 'node:crypto';
import { AwsError } from '../errors';
import { findRole } from '../lookup';
import { isoTime } from '../protocols/query';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { PolicyDocument, Session } from '../state';
import { validatePolicy } from '../authz';

const validation = (message: string) => new AwsError('ValidationError', message, 400);
const CHAINING_LIMIT = 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.';

interface Constraint {
  min?: number;
  max?: number;
  minValue?: number;
  maxValue?: number;
  pattern?: string;
}

/** AWS's front-end validation: one ValidationError listing every violated constraint, in its words. */
function validate(checks: [member: string, value: unknown, c: Constraint][]): void {
  const errors = checks.flatMap(([member, value, c]) => {
    if (value === undefined) return c.min ? [`Value null at '${member}' failed to satisfy constraint: Member must not be null`] : [];
    const fail = (rule: string) => [`Value '${value}' at '${member}' failed to satisfy constraint: Member must ${rule}`];
    const text = String(value);
    if (c.minValue !== undefined && !(Number(value) >= c.minValue)) return fail(`have value greater than or equal to ${c.minValue}`);
    if (c.maxValue !== undefined && !(Number(value) <= c.maxValue)) return fail(`have value less than or equal to ${c.maxValue}`);
    if (c.min !== undefined && text.length < c.min) return fail(`have length greater than or equal to ${c.min}`);
    if (c.max !== undefined && text.length > c.max) return fail(`have length less than or equal to ${c.max}`);
    if (c.pattern && !new RegExp(`^${c.pattern}$`).test(text)) return fail(`satisfy regular expression pattern: ${c.pattern}`);
    return [];
  });
  if (errors.length) throw validation(`${errors.length} validation error${errors.length === 1 ? '' : 's'} detected: ${errors.join('; ')}`);
}

/**
 * Issues role-session credentials. Used by AssumeRole, and by the sandbox itself to play a service
 * that assumes a role for you (Lambda with a function's execution role), which root cannot do.
 */
export function issueSession(sandbox: Sandbox, roleArn: string, sessionName: string, durationSeconds = 3600, policy?: PolicyDocument): Session {
  const role = findRole(sandbox.state, roleArn);
  if (!role) throw new AwsError('NoSuchEntity', `The role with ARN ${roleArn} cannot be found.`, 404);
  const session: Session = {
    AccessKeyId: sandbox.randomId('ASIA', 20),
    SecretAccessKey: randomBytes(30).toString('base64').slice(0, 40),
    SessionToken: randomBytes(96).toString('base64'),
    RoleArn: role.Arn,
    RoleId: role.RoleId,
    RoleSessionName: sessionName,
    Expiration: sandbox.clock.now() + durationSeconds * 1000,
    ...(policy && { Policy: policy }),
  };
  // Expired sessions are dropped here so the table does not grow without bound.
  for (const [k, s] of Object.entries(sandbox.state.sts.sessions)) if (s.Expiration <= sandbox.clock.now()) delete sandbox.state.sts.sessions[k];
  sandbox.state.sts.sessions[session.AccessKeyId] = session;
  return session;
}

/**
 * A service principal (e.g. `lambda.amazonaws.com`) assumes a role for a workload: allowed only when
 * the role's trust policy names that service, as in AWS.
 */
export function assumeRoleAsService(sandbox: Sandbox, servicePrincipal: string, roleArn: string, sessionName: string, sourceArn?: string): Session {
  const role = findRole(sandbox.state, roleArn);
  // As with AssumeRole, a missing, a propagating and an untrusting role give the same answer.
  const trusted =
    role &&
    sandbox.isRoleVisible(roleArn) &&
    sandbox.evaluate(servicePrincipal, 'sts:AssumeRole', role.Arn, {
      resourcePolicy: role.AssumeRolePolicyDocument,
      // What the service says it acts for (the confused-deputy keys trust policies condition on).
      context: { 'aws:SourceAccount': sandbox.account, ...(sourceArn && { 'aws:SourceArn': sourceArn }) },
    }).decision === 'Allowed';
  if (!trusted) throw new AwsError('AccessDenied', `User: ${servicePrincipal} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
  return issueSession(sandbox, roleArn, sessionName);
}

/** A session policy as STS takes it: an identity policy in JSON, or MalformedPolicyDocument. */
function sessionPolicyOf(text: string): PolicyDocument {
  let doc: PolicyDocument;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'The policy is not in the valid JSON format.', 400);
  }
  const problems = validatePolicy(doc, 'identity');
  if (problems.length) throw new AwsError('MalformedPolicyDocument', problems.join('; '), 400);
  return doc;
}

function credentialsOf(s: Session) {
  return { AccessKeyId: s.AccessKeyId, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Expiration: isoTime(s.Expiration) };
}

function callerIdentity(p: Principal) {
  return { UserId: p.userId, Account: p.account, Arn: p.arn };
}

export const stsService: Service = {
  name: 'sts',
  protocol: 'query',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  readOnly: new Set(['GetCallerIdentity']),
  // CloudTrail flags AssumeRole read-only, though it issues credentials, and records them (less the secret).
  cloudTrail: { readOnly: new Set(['GetCallerIdentity', 'AssumeRole']), responseOf: new Set(['AssumeRole']) },
  operations: {
    GetCallerIdentity: (_input, { caller }) => callerIdentity(caller),

    AssumeRole: (input, { sandbox, caller }) => {
      const roleArn = input.RoleArn === undefined ? undefined : String(input.RoleArn);
      const sessionName = input.RoleSessionName === undefined ? undefined : String(input.RoleSessionName);
      const duration = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
      validate([
        ['roleArn', roleArn, { min: 20, max: 2048 }],
        ['roleSessionName', sessionName, { min: 2, max: 64, pattern: '[\\w+=,.@-]*' }],
        ['durationSeconds', input.DurationSeconds, { minValue: 900, maxValue: 43200 }],
        ['policy', input.Policy, { max: 2048 }],
      ]);
      const policy = input.Policy === undefined ? undefined : sessionPolicyOf(String(input.Policy));
      // Six colon-separated parts with a partition, service and resource, or STS refuses it as AWS does.
      if (!/^arn:[^:]+:[^:]+:[^:]*:[^:]*:[^:]+$/.test(roleArn!)) throw validation(`${roleArn} is invalid`);
      if (caller.kind === 'root') throw new AwsError('AccessDenied', 'Roles may not be assumed by root accounts.', 403);
      // Every caller that gets here is a role session, so this is role chaining: one hour at most,
      // whatever the role's MaxSessionDuration (AssumeRole API reference, DurationSeconds). As that
      // setting is at least 3600, it can never be the tighter limit, so it is not checked.
      if (duration > 3600) throw validation(CHAINING_LIMIT);
      const role = findRole(sandbox.state, roleArn!);
      // AWS words an implicit denial without a reason, so a missing role, one still propagating and one
      // whose trust policy does not admit the caller all look the same.
      const denied = () => new AwsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
      if (!role || !sandbox.isRoleVisible(role.Arn)) throw denied();
      const result = sandbox.evaluate(caller, 'sts:AssumeRole', role.Arn, {
        resourcePolicy: role.AssumeRolePolicyDocument,
        context: { 'sts:RoleSessionName': sessionName! },
      });
      if (result.decision === 'ExplicitlyDenied') throw sandbox.accessDenied('sts', caller.arn, 'sts:AssumeRole', role.Arn, result);
      if (result.decision !== 'Allowed') throw denied();
      const session = issueSession(sandbox, role.Arn, sessionName!, duration, policy);
      return {
        Credentials: credentialsOf(session),
        AssumedRoleUser: {
          AssumedRoleId: `${role.RoleId}:${sessionName}`,
          Arn: `arn:aws:sts::${sandbox.account}:assumed-role/${role.RoleName}/${sessionName}`,
        },
      };
    },
  },
};
