/**
 * The operator's CMK rights in either operator model: one role per application, which holds an inline
 * `msf-cmk-key-<keyId>` policy per key (GrantOperatorKeyAccess writes it), or the deployment's shared
 * operator role (setting sharedOperatorRoleArn), which holds the stack's one managed policy for every key
 * and which no step writes to. What either model holds for a key is read here (SwitchApplicationToAwsOwnedKey
 * and the audit); the steps that would write for a per-application role decide on `sharedOperator()` themselves.
 */
import { GetPolicyCommand, GetPolicyVersionCommand, paginateListAttachedRolePolicies, type IAMClient } from '@aws-sdk/client-iam';
import { unlessMissing } from './errors';
import { SHARED_OPERATOR_POLICY_NAME, cmkPolicyName, sharedOperatorPolicyArn, type Context } from './names';
import { decodePolicy, getRolePolicy } from './reads';
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
 * What the operator holds for this key, or undefined: its inline policy for the key, or for a shared
 * operator the default version of the stack's policy while it is attached (a widened version shows).
 */
export async function operatorKeyPolicyOf(iam: IAMClient, ctx: Context, roleName: string, keyId: string): Promise<unknown> {
  if (!sharedOperator()) return getRolePolicy(iam, roleName, cmkPolicyName(keyId));
  if (!(await attachedPolicyNames(iam, roleName))?.includes(SHARED_OPERATOR_POLICY_NAME)) return undefined;
  const PolicyArn = sharedOperatorPolicyArn(ctx);
  const policy = await unlessMissing(iam.send(new GetPolicyCommand({ PolicyArn })), 'NoSuchEntity');
  if (!policy) return undefined;
  const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn, VersionId: policy.Policy!.DefaultVersionId }));
  return decodePolicy(version.PolicyVersion?.Document);
}
