/**
 * RemoveOperatorKeyAccess, as the orchestrator: once the application runs on the AWS owned key, the
 * operator's inline CMK policies are deleted (facts §5: remove the rights only after the switch; AOK needs
 * none). All of them, not only the left key's: a revert whose rollback stopped half-way, or a move that kept
 * an old key's policy, leaves others, and the next revert converges. The before-image of each is its
 * document, so a rollback puts it back before the application returns to the CMK.
 */
import { ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import type { Decision } from '../lib/changes';
import { unlessMissing } from '../lib/errors';
import { cmkPolicyName, operatorRoleArn, operatorRoleName } from '../lib/names';
import { sharedOperator } from '../lib/operator';
import { getRolePolicy } from '../lib/reads';
import { deployment } from '../lib/settings';
import { stepHandler, type StepDefinition } from '../lib/step';
import type { OperatorKeyRemovalResult } from '../lib/model';

type Found = { policies: { name: string; document: unknown }[] };

/** The names cmkPolicyName gives, whatever the key. */
const CMK_POLICY_PREFIX = cmkPolicyName('');

export const definition: StepDefinition<Found, OperatorKeyRemovalResult> = {
  name: 'RemoveOperatorKeyAccess',
  persona: 'orchestrator',
  // The application must have left the key first (facts §5).
  requires: ['lock', 'switch'],

  async find(state, read) {
    // A shared operator holds the stack's one policy, no per-key ones; no step writes to it (docs/operations.md).
    if (sharedOperator()) return { policies: [] };
    const { iam } = await read('orchestrator');
    const RoleName = operatorRoleName(deployment(), state.config.applicationName);
    // A role that is not there answers AccessDenied to the orchestrator (reads.ts getRole).
    const names = (await unlessMissing(iam.send(new ListRolePoliciesCommand({ RoleName })), 'NoSuchEntity', 'AccessDenied'))?.PolicyNames ?? [];
    const policies: Found['policies'] = [];
    for (const name of names.filter((n) => n.startsWith(CMK_POLICY_PREFIX))) policies.push({ name, document: await getRolePolicy(iam, RoleName, name) });
    return { policies };
  },

  decide(state, { policies }): Decision<OperatorKeyRemovalResult> {
    const roleName = operatorRoleName(deployment(), state.config.applicationName);
    return {
      outcome: { roleName, policyNames: policies.map((p) => p.name) },
      changes: policies.map(({ name, document }) => ({
        action: 'iam:DeleteRolePolicy' as const,
        resource: operatorRoleArn(state.context, deployment(), state.config.applicationName),
        persona: 'orchestrator' as const,
        request: { RoleName: roleName, PolicyName: name },
        before: document,
        detail: `removes inline policy ${name}: the operator's use of a CMK, which the AWS owned key does not need`,
      })),
    };
  },
};

export const handler = stepHandler(definition);
