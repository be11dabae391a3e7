/**
 * EnsureOperatorRole (facts §2 step 1): the application lifecycle operator exists first, with its base
 * policy only — no KMS rights, since the key does not exist yet and no least-privilege statement could
 * name it.
 */
import { orchestrator } from '../lib/personas';
import { ensureManagedRole, managedRoleSpec, planManagedRole } from '../lib/roles';
import { isPlan, type Planned } from '../lib/plan';
import { operatorBasePolicy } from '../lib/policies';
import { MANAGED_BY_TAG, appArn, basePolicyName, operatorRoleArn, type OperatorResult, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<Planned<OperatorResult>> {
  const { config } = state;
  const basePolicy = operatorBasePolicy({
    scope: state.context,
    applicationArn: appArn(state),
    createWithExecutionRoleArn: config.createApplication?.serviceExecutionRoleArn,
    // The operator may create only applications that carry our tag, which EnsureApplication sets.
    createRequestTag: MANAGED_BY_TAG,
  });
  const spec = managedRoleSpec(state, {
    roleName: config.operatorRoleName,
    description: 'Managed Flink application lifecycle operator (API caller) for CMK onboarding',
    inlinePolicyName: basePolicyName(config),
    inlinePolicy: basePolicy,
  });
  if (isPlan(state)) {
    const planned = await planManagedRole(orchestrator().iam, spec, operatorRoleArn(state));
    return { roleArn: operatorRoleArn(state), created: false, basePolicyName: basePolicyName(config), basePolicyChanged: false, basePolicyAdded: false, planned };
  }
  const { roleArn, created, policyChanged, policyAdded } = await ensureManagedRole(orchestrator().iam, spec);
  return { roleArn, created, basePolicyName: basePolicyName(config), basePolicyChanged: policyChanged, basePolicyAdded: policyAdded };
}
