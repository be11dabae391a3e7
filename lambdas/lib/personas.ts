/**
 * Personas are real (DESIGN.md §4): the orchestrator acts with its own credentials from the environment;
 * operator and key-admin steps act with credentials from sts:AssumeRole of those roles, so the key policy
 * and the operator policy are exercised by exactly the principals they name.
 *
 * Sessions are kept at module scope per role and execution (the session name is the execution's, so
 * CloudTrail ties every call to one run) and reused until five minutes before they expire, so a warm
 * container that decides, applies and polls assumes each persona once per run, whichever step asks. They
 * never enter the execution state, which is logged and kept in the history.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { awsClients, type Access, type AwsClients, type Credentials } from './clients';
import { RoleNotYetAssumable, isAwsError } from './errors';
import { SESSION_PREFIX, appArn, operatorRoleArn, type Context } from './names';
import { sharedOperatorSessionPolicy } from './policies';
import { deployment } from './settings';

export type Persona = 'orchestrator' | 'operator' | 'key-admin';

/** Who acts: the step, the run and the application it serves. */
export interface Actor {
  step: string;
  context: Context;
  applicationName: string;
}

const REFRESH_MS = 5 * 60 * 1000;
const sessions = new Map<string, Credentials>();

/** STS role session names: at most 64 of [\w+=,.@-]. One per execution: the step is in the function's log line. */
export const sessionName = (actor: Pick<Actor, 'context'>) => `${SESSION_PREFIX}${actor.context.executionName}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);

export const personaRoleArn = (persona: Exclude<Persona, 'orchestrator'>, actor: Actor) =>
  persona === 'key-admin' ? deployment().keyAdminRoleArn : operatorRoleArn(actor.context, deployment(), actor.applicationName);

async function assume(roleArn: string, actor: Actor, policy?: string): Promise<Credentials> {
  const name = sessionName(actor);
  const key = `${roleArn}\u0000${actor.context.executionArn}\u0000${policy ?? ''}\u0000${process.env.AWS_ENDPOINT_URL ?? ''}\u0000${process.env.AWS_ACCESS_KEY_ID ?? ''}`;
  const held = sessions.get(key);
  if (held?.expiration && held.expiration.getTime() - Date.now() > REFRESH_MS) return held;
  // A container serves many runs: sessions of runs gone by are dropped once they would be refreshed anyway.
  for (const [k, c] of sessions) if (!c.expiration || c.expiration.getTime() - Date.now() <= REFRESH_MS) sessions.delete(k);
  try {
    const out = await awsClients().sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: name, DurationSeconds: 900, Policy: policy }));
    const c = out.Credentials!;
    const credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken, expiration: c.Expiration };
    sessions.set(key, credentials);
    return credentials;
  } catch (e) {
    if (isAwsError(e, 'AccessDenied')) {
      throw new RoleNotYetAssumable(
        `Cannot assume ${roleArn} yet: ${(e as Error).message}. A role created moments ago is still propagating; otherwise its trust policy does not trust ${deployment().orchestratorRoleArn}.`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** A shared operator is someone else's role: each session of it is one application's operator, no more. */
const sessionPolicyFor = (persona: Persona, actor: Actor): string | undefined =>
  persona === 'operator' && deployment().sharedOperatorRoleArn
    ? JSON.stringify(sharedOperatorSessionPolicy({ scope: actor.context, applicationArn: appArn(actor.context, actor.applicationName) }))
    : undefined;

/**
 * Clients acting as `persona` for `actor`; `read` ones refuse every write. `maxAttempts` gives one call
 * the SDK's own retries (the environment says 1: the state machine owns retries).
 */
export async function clientsAs(persona: Persona, actor: Actor, access: Access, maxAttempts?: number): Promise<AwsClients> {
  if (persona === 'orchestrator') return awsClients(undefined, access, maxAttempts);
  return awsClients(await assume(personaRoleArn(persona, actor), actor, sessionPolicyFor(persona, actor)), access, maxAttempts);
}

/** After an ExpiredToken (the session outlived the clock it was issued on): assume afresh next time. */
export function forgetSessions(): void {
  sessions.clear();
}
