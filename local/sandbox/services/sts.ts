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
import type { Session } from '../state';

const validation = (message: string) => new AwsError('ValidationError', message, 400);

/**
 * Issues role-session credentials. Used by AssumeRole, and by the sandbox itself to play a service
 * that assumes a role for you (Lambda with a function's execution role), which root cannot do.
 */
export function issueSession(sandbox: Sandbox, roleArn: string, sessionName: string, durationSeconds = 3600): Session {
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
export function assumeRoleAsService(sandbox: Sandbox, servicePrincipal: string, roleArn: string, sessionName: string): Session {
  const role = findRole(sandbox.state, roleArn);
  if (!role || !sandbox.isRoleVisible(roleArn)) {
    throw new AwsError('AccessDenied', `${servicePrincipal} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
  }
  sandbox.authorize('sts', servicePrincipal, 'sts:AssumeRole', role.Arn, {
    resourcePolicy: role.AssumeRolePolicyDocument,
    context: { 'aws:SourceAccount': sandbox.account },
  });
  return issueSession(sandbox, roleArn, sessionName);
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
  operations: {
    GetCallerIdentity: (_input, { caller }) => callerIdentity(caller),

    AssumeRole: (input, { sandbox, caller }) => {
      const roleArn = String(input.RoleArn ?? '');
      const sessionName = String(input.RoleSessionName ?? '');
      if (roleArn.length < 20 || roleArn.length > 2048) throw validation(`1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`);
      if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
        throw validation(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
      }
      const duration = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
      if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
        throw validation(`1 validation error detected: Value '${input.DurationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
      }
      if (caller.kind === 'root') throw new AwsError('AccessDenied', 'Roles may not be assumed by root accounts.', 403);
      const role = findRole(sandbox.state, roleArn);
      const denied = () => new AwsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
      // A missing role and one still propagating look the same to the caller, as in AWS.
      if (!role || !sandbox.isRoleVisible(roleArn)) throw denied();
      if (duration > role.MaxSessionDuration) {
        throw validation(`The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`);
      }
      sandbox.authorize('sts', caller, 'sts:AssumeRole', role.Arn, {
        resourcePolicy: role.AssumeRolePolicyDocument,
        context: { 'sts:RoleSessionName': sessionName },
      });
      const session = issueSession(sandbox, role.Arn, sessionName, duration);
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
