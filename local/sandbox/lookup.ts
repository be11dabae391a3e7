/**
 * Cross-service lookups on the shared state: the services each own their records, but KMS must know
 * whether a role named in a key policy exists, and Managed Flink must resolve the key an application
 * names. Kept here so no service imports another.
 */
import type { Key, ManagedPolicy, PolicyDocument, Role, SandboxState } from './state';

export function roleNameFromArn(arn: string): string | undefined {
  const m = /^arn:aws:(?:iam::\d{12}:role\/(?:.*\/)?|sts::\d{12}:assumed-role\/)([\w+=,.@-]+)/.exec(arn);
  return m?.[1];
}

/** The role an IAM role ARN names, if it exists in this account (path included in the match). */
export function findRole(state: SandboxState, roleArn: string): Role | undefined {
  const name = roleNameFromArn(roleArn);
  const role = name ? state.iam.roles[name] : undefined;
  return role && role.Arn === roleArn ? role : undefined;
}

/** The document of a managed policy's default version: what the policy grants. */
export function defaultPolicyDocument(policy: ManagedPolicy): PolicyDocument {
  return policy.Versions.find((v) => v.VersionId === policy.DefaultVersionId)!.Document;
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A key by id, key ARN, alias name or alias ARN — the forms KMS accepts for `KeyId` [KMS API].
 * Returns `undefined` when nothing matches, including ARNs for another region or account.
 */
export function resolveKey(state: SandboxState, ref: string | undefined): Key | undefined {
  if (!ref) return undefined;
  const arnPrefix = `arn:aws:kms:${state.region}:${state.account}:`;
  let local = ref;
  if (ref.startsWith('arn:')) {
    if (!ref.startsWith(arnPrefix)) return undefined;
    local = ref.slice(arnPrefix.length);
    if (local.startsWith('key/')) local = local.slice(4);
  }
  if (local.startsWith('alias/')) {
    const alias = state.kms.aliases[local];
    return alias ? state.kms.keys[alias.TargetKeyId] : undefined;
  }
  return KEY_ID.test(local) ? state.kms.keys[local] : undefined;
}

/** True for references that point outside this sandbox's account or region (for clearer errors). */
export function isForeignKeyArn(state: SandboxState, ref: string): boolean {
  return ref.startsWith('arn:') && !ref.startsWith(`arn:aws:kms:${state.region}:${state.account}:`);
}
