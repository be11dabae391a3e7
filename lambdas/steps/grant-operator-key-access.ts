/**
 * GrantOperatorKeyAccess (facts §2 step 5), as the orchestrator: the operator's CMK policy for exactly this
 * key and application (facts §4), next to its base policy. It names the key ARN and the application ARN, so
 * both must exist before it applies. One inline policy per key: an operator moving between keys holds both meanwhile.
 */
import { isDeepStrictEqual } from 'node:util';
import { NEW_KEY, type Decision } from '../lib/changes';
import { SHARED_OPERATOR_POLICY_NAME, appArn, cmkPolicyName } from '../lib/names';
import { sharedOperator } from '../lib/operator';
import { operatorCmkPolicy } from '../lib/policies';
import { getRolePolicy } from '../lib/reads';
import { decided, stepHandler, type StepDefinition } from '../lib/step';
import type { KeyResult, OperatorKeyAccessResult, OperatorResult, WorkflowState } from '../lib/model';

/** The operator role and the key, as decided before: the policy names the key (facts §2 step 5). */
function decidedBefore(state: WorkflowState) {
  const operator = decided<OperatorResult>(state, 'EnsureOperatorRole');
  const key = decided<KeyResult>(state, 'CreateKey');
  return { operator, key, policyName: cmkPolicyName(key.keyId) };
}

export const definition: StepDefinition<{ current?: unknown }, OperatorKeyAccessResult> = {
  name: 'GrantOperatorKeyAccess',
  persona: 'orchestrator',
  requires: ['lock', 'key', 'application'],

  async find(state, read) {
    const { operator, key, policyName } = decidedBefore(state);
    // A role this run created, or a key not made yet, holds no policy for it: nothing to read. A shared
    // operator holds the stack's policy for every key (EnsureOperatorRole checked it): nothing to grant.
    if (operator.created || key.keyId === NEW_KEY || sharedOperator()) return {};
    return { current: await getRolePolicy((await read('orchestrator')).iam, operator.roleName, policyName) };
  },

  decide(state, { current }): Decision<OperatorKeyAccessResult> {
    const { operator, key, policyName } = decidedBefore(state);
    if (sharedOperator()) return { changes: [], outcome: { roleName: operator.roleName, policyName: SHARED_OPERATOR_POLICY_NAME } };
    const application = appArn(state.context, state.config.applicationName);
    const wanted = operatorCmkPolicy({ scope: state.context, keyArn: key.keyArn, applicationArn: application });
    const outcome = { roleName: operator.roleName, policyName };
    if (isDeepStrictEqual(current, wanted)) return { changes: [], outcome };
    return {
      outcome,
      changes: [
        {
          action: 'iam:PutRolePolicy',
          resource: operator.roleArn,
          persona: 'orchestrator',
          request: { RoleName: operator.roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(wanted) },
          before: current,
          after: wanted,
          detail: `${current === undefined ? 'adds' : 'updates'} inline policy ${policyName}: use of ${key.keyId === NEW_KEY ? `the new key ${key.aliasName}` : key.keyArn} only through Managed Flink, for ${application}`,
        },
      ],
    };
  },
};

export const handler = stepHandler(definition);
