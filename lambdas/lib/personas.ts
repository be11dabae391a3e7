/**
 * Personas are real (DESIGN.md §4): the orchestrator acts with its own credentials from the
 * environment; operator and key-admin steps act with credentials from sts:AssumeRole of those roles,
 * so the key policy and the operator policy are exercised by exactly the principals they name.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { awsClients, type AwsClients } from './clients';
import { RoleNotYetAssumable, isAwsError } from './errors';
import { keyAdminRoleArn, operatorRoleArn, type WorkflowState } from './model';

export type PersonaName = 'orchestrator' | 'operator' | 'key-admin';

export const orchestrator = (): AwsClients => awsClients();

async function assume(roleArn: string, state: Pick<WorkflowState, 'context'>, step: string): Promise<AwsClients> {
  // Session names carry the execution name so CloudTrail ties every call to one run.
  const sessionName = `${step}-${state.context.executionName}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  try {
    const out = await orchestrator().sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 900 }));
    const c = out.Credentials!;
    return awsClients({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken, expiration: c.Expiration });
  } catch (e) {
    if (isAwsError(e, 'AccessDenied')) {
      throw new RoleNotYetAssumable(
        `Cannot assume ${roleArn} yet: ${(e as Error).message}. A role created moments ago is still propagating; otherwise its trust policy does not trust ${state.context.orchestratorRoleArn}.`,
        { cause: e },
      );
    }
    throw e;
  }
}

export const asOperator = (s: Pick<WorkflowState, 'config' | 'context'>, step: string) => assume(operatorRoleArn(s), s, step);
export const asKeyAdmin = (s: Pick<WorkflowState, 'config' | 'context'>, step: string) => assume(keyAdminRoleArn(s), s, step);
