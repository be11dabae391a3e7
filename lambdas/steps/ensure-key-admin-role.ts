/**
 * EnsureKeyAdminRole (facts §2 step 3): a separate key administrator with KMS management rights and no
 * cryptographic use of keys — separate from the operator even where one person does both (facts §1).
 */
import { orchestrator } from '../lib/personas';
import { ensureManagedRole, planManagedRole, type ManagedRoleSpec } from '../lib/roles';
import { isPlan, type Planned } from '../lib/plan';
import { keyAdminPolicy, roleTrustPolicy, boundaryPolicyArn } from '../lib/policies';
import { creationTags, keyAdminPolicyName, keyAdminRoleArn, type KeyAdminResult, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<Planned<KeyAdminResult>> {
  const { config, context } = state;
  const spec: ManagedRoleSpec = {
    roleName: config.keyAdminRoleName,
    path: config.rolePath,
    description: 'KMS key administrator for Managed Flink CMK onboarding (no cryptographic use)',
    trustPolicy: roleTrustPolicy({ trustedPrincipalArns: [context.orchestratorRoleArn] }),
    tags: creationTags(state),
    permissionsBoundaryArn: boundaryPolicyArn(context),
    inlinePolicyName: keyAdminPolicyName,
    inlinePolicy: keyAdminPolicy({ scope: { partition: context.partition, account: context.account, region: context.region }, aliasPrefix: config.aliasPrefix }),
  };
  if (isPlan(state)) {
    return { roleArn: keyAdminRoleArn(state), created: false, planned: await planManagedRole(orchestrator().iam, spec, keyAdminRoleArn(state)) };
  }
  const { roleArn, created } = await ensureManagedRole(orchestrator().iam, spec);
  return { roleArn, created };
}
