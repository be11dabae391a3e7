/**
 * ValidateInput: the input contract first, before any AWS call — a bad input causes zero writes and zero
 * calls. It checks every downstream constraint it can (tag rules, the execution ARN as an ownership tag
 * value, key and execution role in this account and Region), reads the deployment from the environment,
 * and takes account, Region and partition from the execution ARN.
 */
import { InvalidInput } from '../lib/errors';
import { contextOf } from '../lib/names';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';
import { validateInput } from '../lib/validate';
import type { Operation, WorkflowState } from '../lib/model';

export interface ValidateInputEvent {
  input: unknown;
  execution: { Id: string; Name: string };
  /** Which state machine asks (its ASL says); onboarding when absent. */
  operation?: Operation;
}

/** IAM, KMS and Managed Flink tag values: the execution ARN is one on everything the run creates. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

export const handler = task('ValidateInput', 'none', async (event: ValidateInputEvent): Promise<Pick<WorkflowState, 'config' | 'context' | 'ledger'>> => {
  const config = validateInput(event.input, event.operation);
  const d = deployment();
  const context = contextOf(event.execution.Id);
  const problems: string[] = [];
  // The shared operator's one policy covers only the workflow's own keys (tagged managed-by): an adopted key,
  // perhaps delegating to IAM, would be usable by that role for any of its applications.
  if (config.keyId && d.sharedOperatorRoleArn)
    problems.push(
      `keyId: a deployment with a shared operator role (sharedOperatorRoleArn) adopts no key: its policy covers only the keys the workflow creates`,
    );
  const shared = d.sharedOperatorRoleArn?.split(':');
  if (shared && shared[4] !== context.account)
    problems.push(`sharedOperatorRoleArn: ${d.sharedOperatorRoleArn} is not in account ${context.account}, where the application is`);
  if (!TAG_VALUE.test(context.executionArn)) {
    problems.push(
      `execution name ${JSON.stringify(context.executionName)}: the execution ARN tags what the run creates, and tag values allow only letters, digits, spaces and _ . : / = + - @ (256 at most); start it under another name`,
    );
  }
  const keyArn = config.keyId?.startsWith('arn:') ? config.keyId.split(':') : undefined;
  if (keyArn && (keyArn[3] !== context.region || keyArn[4] !== context.account)) {
    problems.push(`keyId: must be a key in account ${context.account} and Region ${context.region}, where the application is (got ${keyArn[4]}/${keyArn[3]})`);
  }
  const execAccount = config.createApplication?.serviceExecutionRoleArn.split(':')[4];
  if (execAccount && execAccount !== context.account) {
    problems.push(`createApplication.serviceExecutionRoleArn: must be a role in account ${context.account} (got ${execAccount})`);
  }
  if (problems.length) throw new InvalidInput(problems.join('; '));
  return { config, context, ledger: {} };
});
