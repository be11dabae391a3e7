/**
 * The reads every step and compensation shares, each answering `undefined` for "not there". They take
 * clients, so a find phase passes its read-only ones.
 */
import { GetRoleCommand, GetRolePolicyCommand, type IAMClient, type Role } from '@aws-sdk/client-iam';
import {
  DescribeApplicationCommand,
  ListApplicationSnapshotsCommand,
  ListTagsForResourceCommand,
  type ApplicationDetail,
  type KinesisAnalyticsV2Client,
  type SnapshotDetails,
  type Tag as AppTag,
} from '@aws-sdk/client-kinesis-analytics-v2';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  type RotationsListEntry,
  type KMSClient,
  type KeyMetadata,
  type Tag as KeyTag,
} from '@aws-sdk/client-kms';
import { unlessMissing } from './errors';

/** Encryption as the workflow records it (facts §5): AWS owned, or a CMK with the KeyId MSF reports. */
export interface EncryptionConfig {
  KeyType: 'AWS_OWNED_KEY' | 'CUSTOMER_MANAGED_KEY';
  KeyId?: string;
}

export function encryptionOf(app: ApplicationDetail): EncryptionConfig {
  const d = app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
  return d?.KeyType === 'CUSTOMER_MANAGED_KEY' ? { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: d.KeyId } : { KeyType: 'AWS_OWNED_KEY' };
}

/** IAM returns policy documents URL-encoded. */
export const decodePolicy = (doc: string | undefined): unknown => (doc ? JSON.parse(decodeURIComponent(doc)) : undefined);

/**
 * The role, or undefined. IAM authorizes GetRole of a role that does not exist against the path-less ARN
 * (it cannot know the path), so a caller allowed only `role/<path>*` — the orchestrator — gets
 * AccessDenied instead of NoSuchEntity; that too means "not there, not ours". A same-named role elsewhere
 * then surfaces as EntityAlreadyExists on CreateRole.
 */
export const getRole = async (iam: IAMClient, roleName: string): Promise<Role | undefined> =>
  (await unlessMissing(iam.send(new GetRoleCommand({ RoleName: roleName })), 'NoSuchEntity', 'AccessDenied'))?.Role;

/** An inline policy's document, or undefined (a missing role answers AccessDenied to the orchestrator, as for getRole). */
export const getRolePolicy = async (iam: IAMClient, roleName: string, policyName: string): Promise<unknown> =>
  decodePolicy(
    (await unlessMissing(iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })), 'NoSuchEntity', 'AccessDenied'))?.PolicyDocument,
  );

export const describeApplication = async (flink: KinesisAnalyticsV2Client, name: string): Promise<ApplicationDetail | undefined> =>
  (await unlessMissing(flink.send(new DescribeApplicationCommand({ ApplicationName: name })), 'ResourceNotFoundException'))?.ApplicationDetail;

export const applicationTags = async (flink: KinesisAnalyticsV2Client, arn: string): Promise<AppTag[] | undefined> =>
  (await unlessMissing(flink.send(new ListTagsForResourceCommand({ ResourceARN: arn })), 'ResourceNotFoundException'))?.Tags;

export async function applicationSnapshots(flink: KinesisAnalyticsV2Client, name: string): Promise<SnapshotDetails[]> {
  const all: SnapshotDetails[] = [];
  let NextToken: string | undefined;
  do {
    const page = await unlessMissing(
      flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: name, Limit: 50, NextToken })),
      'ResourceNotFoundException',
    );
    all.push(...(page?.SnapshotSummaries ?? []));
    NextToken = page?.NextToken;
  } while (NextToken);
  return all;
}

export const describeKey = async (kms: KMSClient, keyRef: string): Promise<KeyMetadata | undefined> =>
  (await unlessMissing(kms.send(new DescribeKeyCommand({ KeyId: keyRef })), 'NotFoundException'))?.KeyMetadata;

export const keyPolicyOf = async (kms: KMSClient, keyId: string): Promise<unknown> =>
  JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy ?? '{}');

export async function keyTags(kms: KMSClient, keyId: string): Promise<KeyTag[]> {
  return (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags ?? [];
}

/** The key an alias names (its id), or undefined when the alias does not exist. */
export const aliasTarget = async (kms: KMSClient, alias: string): Promise<string | undefined> => (await describeKey(kms, alias))?.KeyId;

/** A key's id from its key ARN or id; an alias is resolved by `describeWith`'s client. */
export async function keyIdOf(keyRef: string, describeWith: () => Promise<KMSClient>): Promise<string> {
  const m = /(?:^|:key\/)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(keyRef);
  if (m) return m[1];
  const key = await describeKey(await describeWith(), keyRef);
  return key?.KeyId ?? keyRef;
}

/** Every rotation of a key's material (ListKeyRotations, paged). */
export async function keyRotations(kms: KMSClient, keyId: string): Promise<RotationsListEntry[]> {
  const all: RotationsListEntry[] = [];
  let Marker: string | undefined;
  do {
    const page = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, Marker }));
    all.push(...(page.Rotations ?? []));
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  return all;
}

/** How many on-demand rotations a key has had (KMS caps them per key, next-capabilities §1.2). */
export const onDemandRotations = async (kms: KMSClient, keyId: string): Promise<number> =>
  (await keyRotations(kms, keyId)).filter((r) => r.RotationType === 'ON_DEMAND').length;
