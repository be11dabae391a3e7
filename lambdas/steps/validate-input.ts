/**
 * ValidateInput: the input contract first, before any AWS call (a bad input causes zero writes and
 * zero calls); then the orchestrator's own identity, which every later ARN is built from.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { validateInput } from '../lib/validate';
import { InvalidInput, isAwsError } from '../lib/errors';
import { orchestrator } from '../lib/personas';
import type { Context, WorkflowState } from '../lib/model';

export interface ValidateInputEvent {
  input: unknown;
  execution: { Id: string; Name: string };
}

export async function handler(event: ValidateInputEvent): Promise<Pick<WorkflowState, 'config' | 'context'>> {
  const config = validateInput(event.input);
  const { sts, iam } = orchestrator();
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const [, partition, , , account, resource] = identity.Arn!.split(':');
  let orchestratorRoleArn = identity.Arn!;
  if (resource.startsWith('assumed-role/')) {
    // The session ARN drops the role's path, which trust policies need; read it, or assume "/".
    const roleName = resource.split('/')[1];
    orchestratorRoleArn = await iam
      .send(new GetRoleCommand({ RoleName: roleName }))
      .then((r) => r.Role!.Arn!)
      .catch((e) => {
        // Not allowed to read its own role (e.g. a laptop user): assume the default path "/".
        if (isAwsError(e, 'NoSuchEntity') || isAwsError(e, 'AccessDenied')) return `arn:${partition}:iam::${account}:role/${roleName}`;
        throw e;
      });
  }
  // Same account and region as the orchestrator: MSF needs the key in the application's account (facts §6).
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const keyArn = config.keyId?.startsWith('arn:') ? config.keyId.split(':') : undefined;
  if (keyArn && (keyArn[3] !== region || keyArn[4] !== account)) {
    throw new InvalidInput(`keyId: must be a key in account ${account} and region ${region} (got ${keyArn[4]}/${keyArn[3]})`);
  }
  const execAccount = config.createApplication?.serviceExecutionRoleArn.split(':')[4];
  if (execAccount && execAccount !== account) {
    throw new InvalidInput(`createApplication.serviceExecutionRoleArn: must be a role in account ${account} (got ${execAccount})`);
  }
  const context: Context = {
    partition,
    account,
    region,
    orchestratorRoleArn,
    executionId: event.execution.Id,
    executionName: event.execution.Name,
  };
  return { config, context };
}
