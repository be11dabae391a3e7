/**
 * EnsureKeyAdminRole (facts §2 step 3): a separate key administrator with KMS management rights and no
 * cryptographic use of keys — separate from the operator even where one person does both (facts §1).
 */
import { orchestrator } from '../lib/personas';
import { ensureManagedRole, managedRoleSpec, planManagedRole } from '../lib/roles';
import { isPlan, type Planned } from '../lib/plan';
import { keyAdminPolicy } from '../lib/policies';
import { keyAdminPolicyName, keyAdminRoleArn, type KeyAdminResult, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<Planned<KeyAdminResult>> {
  const spec = managedRoleSpec(state, {
    roleName: state.config.keyAdminRoleName,
    description: 'KMS key administrator for Managed Flink CMK onboarding (no cryptographic use)',
    inlinePolicyName: keyAdminPolicyName,
    inlinePolicy: keyAdminPolicy({ scope: state.context, aliasPrefix: state.config.aliasPrefix }),
  });
  if (isPlan(state)) {
    return { roleArn: keyAdminRoleArn(state), created: false, planned: await planManagedRole(orchestrator().iam, spec, keyAdminRoleArn(state)) };
  }
  const { roleArn, created } = await ensureManagedRole(orchestrator().iam, spec);
  return { roleArn, created };
}
