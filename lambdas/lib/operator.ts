/**
 * The operator's CMK rights in either operator model: one role per application, which holds an inline
 * `msf-cmk-key-<keyId>` policy per key (GrantOperatorKeyAccess writes it), or the deployment's shared
 * operator role (setting sharedOperatorRoleArn), which holds the stack's one managed policy for every key
 * and which no step writes to. Steps and the audit ask here, so neither model leaks into them.
 */
import { paginateListAttachedRolePolicies, type IAMClient } from '@aws-sdk/client-iam';
import { unlessMissing } from './errors';
import { SHARED_OPERATOR_POLICY_NAME, cmkPolicyName, type Context } from './names';
import { sharedOperatorKeyPolicy } from './policies';
import { getRolePolicy } from './reads';
import { deployment } from './settings';

export const sharedOperator = (): boolean => !!deployment().sharedOperatorRoleArn;

/** The names of the managed policies attached to a role, or undefined when the role is not there (or not readable). */
export const attachedPolicyNames = (iam: IAMClient, roleName: string): Promise<string[] | undefined> =>
  unlessMissing(
    (async () => {
      const names: string[] = [];
      for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName }))
        names.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyName!));
      return names;
    })(),
    'NoSuchEntity',
    'AccessDenied',
  );

/**
 * What the operator holds for this key, or undefined. A shared operator holds the stack's policy when it is
 * attached; its document is the stack's to keep (CloudFormation drift detection sees it), so it is not read.
 */
export async function operatorKeyPolicyOf(iam: IAMClient, ctx: Context, roleName: string, keyId: string): Promise<unknown> {
  if (!sharedOperator()) return getRolePolicy(iam, roleName, cmkPolicyName(keyId));
  return (await attachedPolicyNames(iam, roleName))?.includes(SHARED_OPERATOR_POLICY_NAME) ? sharedOperatorKeyPolicy({ scope: ctx }) : undefined;
}
