/**
 * VerifyEncryption (facts §5 "Verify"): read everything back as the principals that own it — the
 * application reports CUSTOMER_MANAGED_KEY with this key, the update succeeded, the key is Enabled and
 * the operator holds its base and CMK policies — and return the report the execution ends with.
 */
import { DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { asKeyAdmin, asOperator, orchestrator } from '../lib/personas';
import { PreconditionFailed, VerificationFailed } from '../lib/errors';
import { getInlinePolicy } from '../lib/roles';
import { isPlan, planReport, type PlanReport } from '../lib/plan';
import { attachedPolicyArns, cmkPolicyArn } from './grant-operator-key-access';
import { encryptionOf } from './ensure-application';
import { basePolicyName, keyAdminRoleArn, operatorRoleArn, type WorkflowState } from '../lib/model';

export interface OnboardingReport {
  applicationName: string;
  applicationArn: string;
  applicationStatus: string;
  applicationVersionId: number;
  encryption: { KeyType: string; KeyId?: string };
  previousEncryption: { KeyType: string; KeyId?: string };
  operationId?: string;
  key: { keyArn: string; aliasName?: string; keyState: string; created: boolean; adopted: boolean };
  operatorRoleArn: string;
  keyAdminRoleArn: string;
  operatorPolicies: { base: string; cmk: string };
  created: { operatorRole: boolean; keyAdminRole: boolean; application: boolean; key: boolean; cmkPolicy: boolean };
}

/** The execution's output: what was done, or in plan mode what a real run would change. */
export async function handler(state: WorkflowState): Promise<OnboardingReport | PlanReport> {
  const { config, key, switch: sw } = state;
  if (!key || !sw) throw new PreconditionFailed('VerifyEncryption runs only after the switch.');
  if (isPlan(state)) return planReport(state);
  const [{ flink }, { kms }] = await Promise.all([asOperator(state, 'VerifyEncryption'), asKeyAdmin(state, 'VerifyEncryption')]);
  const { iam } = orchestrator();
  const [app, keyMeta, attached, base] = await Promise.all([
    flink.send(new DescribeApplicationCommand({ ApplicationName: config.applicationName })).then((o) => o.ApplicationDetail!),
    kms.send(new DescribeKeyCommand({ KeyId: key.keyArn })).then((o) => o.KeyMetadata!),
    attachedPolicyArns(iam, config.operatorRoleName),
    getInlinePolicy(iam, config.operatorRoleName, basePolicyName(config)),
  ]);
  const encryption = encryptionOf(app);
  const problems: string[] = [];
  if (encryption.KeyType !== 'CUSTOMER_MANAGED_KEY' || encryption.KeyId !== key.keyArn) {
    problems.push(`the application reports ${encryption.KeyType}${encryption.KeyId ? ` ${encryption.KeyId}` : ''}, not CUSTOMER_MANAGED_KEY ${key.keyArn}`);
  }
  if (sw.operationId && sw.poll.operationStatus !== 'SUCCESSFUL') problems.push(`the update operation is ${sw.poll.operationStatus ?? 'unknown'}, not SUCCESSFUL`);
  if (keyMeta.KeyState !== 'Enabled') problems.push(`the key is ${keyMeta.KeyState}, not Enabled`);
  if (!attached.includes(cmkPolicyArn(state))) problems.push(`the operator's CMK policy ${cmkPolicyArn(state)} is not attached`);
  if (base === undefined) problems.push(`the operator's base policy ${basePolicyName(config)} is missing`);
  if (problems.length) throw new VerificationFailed(`${config.applicationName}: ${problems.join('; ')}.`);
  return {
    applicationName: config.applicationName,
    applicationArn: app.ApplicationARN!,
    applicationStatus: app.ApplicationStatus!,
    applicationVersionId: app.ApplicationVersionId!,
    encryption,
    previousEncryption: sw.previousEncryption,
    operationId: sw.operationId,
    key: { keyArn: key.keyArn, aliasName: key.aliasName, keyState: keyMeta.KeyState!, created: key.created, adopted: key.adopted },
    operatorRoleArn: operatorRoleArn(state),
    keyAdminRoleArn: keyAdminRoleArn(state),
    operatorPolicies: { base: basePolicyName(config), cmk: cmkPolicyArn(state) },
    created: {
      operatorRole: !!state.operator?.created,
      keyAdminRole: !!state.keyAdmin?.created,
      application: !!state.application?.created,
      key: key.created,
      cmkPolicy: !!state.operatorKeyAccess?.created,
    },
  };
}
