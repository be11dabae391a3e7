/**
 * Find-or-create for the roles this workflow manages (operator, key admin): idempotent, never takes
 * over a role it did not create, and converges trust and inline policy to the expected documents.
 */
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import { ResourceConflict, isAwsError } from './errors';
import { MANAGED_BY_TAG, creationTags, type WorkflowState } from './model';
import { boundaryPolicyArn, roleTrustPolicy, type PolicyDocument } from './policies';
import { change, type PlannedChange } from './plan';

/** IAM returns policy documents URL-encoded. */
export const decodePolicy = (doc: string | undefined): unknown => (doc ? JSON.parse(decodeURIComponent(doc)) : undefined);

/**
 * The role, or undefined when it does not exist. IAM authorizes GetRole of a role that does not exist
 * against the path-less ARN (it cannot know the path), so a caller allowed only `role/<path>*` — the
 * orchestrator — gets AccessDenied instead of NoSuchEntity; that too means "not ours, not there".
 * A same-named role elsewhere then surfaces as EntityAlreadyExists on CreateRole.
 */
export async function getRole(iam: IAMClient, roleName: string): Promise<Role | undefined> {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  } catch (e) {
    if (isAwsError(e, 'NoSuchEntity') || isAwsError(e, 'AccessDenied')) return undefined;
    throw e;
  }
}

export async function getInlinePolicy(iam: IAMClient, roleName: string, policyName: string): Promise<unknown> {
  try {
    return decodePolicy((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }))).PolicyDocument);
  } catch (e) {
    if (isAwsError(e, 'NoSuchEntity')) return undefined;
    throw e;
  }
}

export interface ManagedRoleSpec {
  roleName: string;
  path: string;
  description: string;
  trustPolicy: PolicyDocument;
  /** Tags for a role this run creates (creationTags). */
  tags: { Key: string; Value: string }[];
  inlinePolicyName: string;
  inlinePolicy: PolicyDocument;
  /** The managed-roles boundary every role the workflow creates carries (policies.ts managedRolesBoundary). */
  permissionsBoundaryArn: string;
}

/**
 * The spec of a role the workflow manages: under the input's path, trusted by exactly the orchestrator,
 * tagged as this execution's, capped by the managed-roles boundary; only its inline policy differs.
 */
export function managedRoleSpec(
  state: Pick<WorkflowState, 'config' | 'context'>,
  role: Pick<ManagedRoleSpec, 'roleName' | 'description' | 'inlinePolicyName' | 'inlinePolicy'>,
): ManagedRoleSpec {
  return {
    ...role,
    path: state.config.rolePath,
    trustPolicy: roleTrustPolicy({ trustedPrincipalArns: [state.context.orchestratorRoleArn] }),
    tags: creationTags(state),
    permissionsBoundaryArn: boundaryPolicyArn(state.context),
  };
}

export async function ensureManagedRole(iam: IAMClient, spec: ManagedRoleSpec): Promise<{ roleArn: string; created: boolean; policyChanged: boolean; policyAdded: boolean }> {
  let role = await getRole(iam, spec.roleName);
  let created = false;
  if (!role) {
    // Concurrent onboardings share these roles: if another run created it first, use that one.
    role = await createRole(iam, spec).catch(async (e) => {
      if (!isAwsError(e, 'EntityAlreadyExists')) throw e;
      return undefined;
    });
    created = !!role;
    role ??= await getRole(iam, spec.roleName);
    if (!role) throw new ResourceConflict(`A role named ${spec.roleName} exists outside ${spec.path}; refusing to take it over.`);
  }
  if (!created) {
    assertManagedByUs(role!, spec);
    // A role from before boundaries were required gets it first: the orchestrator may write only to bounded roles.
    if (role!.PermissionsBoundary?.PermissionsBoundaryArn !== spec.permissionsBoundaryArn) {
      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: spec.roleName, PermissionsBoundary: spec.permissionsBoundaryArn }));
    }
    const trust = mergedTrust(decodePolicy(role!.AssumeRolePolicyDocument), spec.trustPolicy);
    if (trust) await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: spec.roleName, PolicyDocument: JSON.stringify(trust) }));
  }
  const current = created ? undefined : await getInlinePolicy(iam, spec.roleName, spec.inlinePolicyName);
  const policyChanged = !isDeepStrictEqual(current, spec.inlinePolicy);
  if (policyChanged) {
    await iam.send(new PutRolePolicyCommand({ RoleName: spec.roleName, PolicyName: spec.inlinePolicyName, PolicyDocument: JSON.stringify(spec.inlinePolicy) }));
  }
  return { roleArn: role!.Arn!, created, policyChanged, policyAdded: current === undefined };
}

function assertManagedByUs(role: Role, spec: ManagedRoleSpec): void {
  const ours = role.Tags?.some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
  if (!ours || role.Path !== spec.path) {
    throw new ResourceConflict(`Role ${role.Arn} exists but was not created by this workflow (no ${MANAGED_BY_TAG.Key}=${MANAGED_BY_TAG.Value} tag under ${spec.path}); refusing to take it over.`);
  }
}

/** Plan mode: the changes ensureManagedRole would make to the role `roleArn`, found with reads only. */
export async function planManagedRole(iam: IAMClient, spec: ManagedRoleSpec, roleArn: string): Promise<PlannedChange[]> {
  const role = await getRole(iam, spec.roleName);
  if (!role) {
    return [
      change('iam:CreateRole', roleArn, spec.description),
      change('iam:PutRolePolicy', roleArn, `adds inline policy ${spec.inlinePolicyName}`),
    ];
  }
  assertManagedByUs(role, spec);
  const changes: PlannedChange[] = [];
  if (mergedTrust(decodePolicy(role.AssumeRolePolicyDocument), spec.trustPolicy)) {
    changes.push(change('iam:UpdateAssumeRolePolicy', roleArn, 'adds this orchestrator role to the trusted principals'));
  }
  const current = await getInlinePolicy(iam, spec.roleName, spec.inlinePolicyName);
  if (!isDeepStrictEqual(current, spec.inlinePolicy)) {
    changes.push(change('iam:PutRolePolicy', roleArn, `${current === undefined ? 'adds' : 'updates'} inline policy ${spec.inlinePolicyName}`));
  }
  return changes;
}

/** AWS principals a trust policy names (a string or a list). */
const trustedArns = (doc: any): string[] => (doc?.Statement ?? []).flatMap((s: any) => [s.Principal?.AWS ?? []].flat());

/**
 * The trust policy after adding this orchestrator, or undefined when it is already trusted. Adding, not
 * replacing: a second deployment (or a laptop run) must not lock out the orchestrator that made the role.
 */
function mergedTrust(current: unknown, wanted: PolicyDocument): PolicyDocument | undefined {
  const have = trustedArns(current);
  const add = trustedArns(wanted).filter((a) => !have.includes(a));
  if (!add.length) return undefined;
  return roleTrustPolicy({ trustedPrincipalArns: [...new Set([...have, ...add])].sort() });
}

async function createRole(iam: IAMClient, spec: ManagedRoleSpec): Promise<Role> {
  const out = await iam.send(
    new CreateRoleCommand({
      RoleName: spec.roleName,
      Path: spec.path,
      Description: spec.description,
      AssumeRolePolicyDocument: JSON.stringify(spec.trustPolicy),
      PermissionsBoundary: spec.permissionsBoundaryArn,
      Tags: spec.tags,
    }),
  );
  return out.Role!;
}

/** True when the operator role holds the base policy of another application: the roles serve it too. */
export async function operatorServesOtherApplications(iam: IAMClient, operatorRoleName: string, ownBasePolicy: string): Promise<boolean> {
  const role = await getRole(iam, operatorRoleName);
  if (!role) return false;
  const inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: operatorRoleName }))).PolicyNames ?? [];
  return inline.some((n) => n.startsWith('msf-cmk-base-') && n !== ownBasePolicy);
}

/**
 * Deletes a role this execution created (its created-by tag says so) and no other application uses:
 * inline policies, attachments, then the role. Anything else is left alone. Returns whether it did.
 */
export async function deleteRoleIfCreatedBy(
  iam: IAMClient,
  roleName: string,
  isOurs: (tags: Role['Tags']) => boolean,
  inUseElsewhere: () => Promise<boolean>,
): Promise<boolean> {
  const role = await getRole(iam, roleName);
  if (!role || !isOurs(role.Tags)) return false;
  // The roles are shared by every application onboarded: one another run has onboarded meanwhile keeps it.
  if (await inUseElsewhere()) return false;
  const inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
  for (const name of inline) await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
  const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
  for (const p of attached) await iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: p.PolicyArn! }));
  await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
  return true;
}
