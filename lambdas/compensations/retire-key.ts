/**
 * Undoes CreateKey, for a key this execution created (never an adopted one): schedules its deletion
 * after the configured pending window and removes its alias — unless the application or one of its
 * snapshots still references the key. Then deleting it would make them unrestorable (facts §6, §7), so
 * the key stays enabled, is tagged with why, and is reported.
 */
import {
  DeleteAliasCommand,
  DescribeKeyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { DescribeApplicationCommand, ListApplicationSnapshotsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { asKeyAdmin, asOperator } from '../lib/personas';
import { isAwsError } from '../lib/errors';
import { encryptionOf } from '../steps/ensure-application';
import { CREATED_BY_KEY, aliasName, type KeyRetirement, type WorkflowState } from '../lib/model';

export const RETAINED_TAG_KEY = 'msf-cmk:retained';

async function createdByUs(kms: KMSClient, keyId: string, state: WorkflowState): Promise<boolean> {
  try {
    const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags ?? [];
    return tags.some((t) => t.TagKey === CREATED_BY_KEY && t.TagValue === state.context.executionName);
  } catch (e) {
    // Keys whose policy does not let the key admin in are not ours.
    if (isAwsError(e, 'AccessDeniedException') || isAwsError(e, 'NotFoundException')) return false;
    throw e;
  }
}

/** The key CreateKey made, from its result — or, if it crashed before returning, by this execution's tag. */
async function findKey(kms: KMSClient, state: WorkflowState): Promise<{ keyArn: string; keyId: string } | undefined> {
  if (state.key) return state.key.created ? state.key : undefined;
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListKeysCommand({ Marker: marker, Limit: 1000 }));
    for (const k of page.Keys ?? []) if (await createdByUs(kms, k.KeyId!, state)) return { keyArn: k.KeyArn!, keyId: k.KeyId! };
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return undefined;
}

/** What of the application still names the key: its configuration and its snapshots. */
async function references(state: WorkflowState, key: { keyArn: string; keyId: string }): Promise<string[]> {
  const names = new Set([key.keyArn, key.keyId, aliasName(state.config), key.keyArn.replace(/key\/.*$/, aliasName(state.config))]);
  const { flink } = await asOperator(state, 'RetireKey');
  const app = state.config.applicationName;
  try {
    const detail = (await flink.send(new DescribeApplicationCommand({ ApplicationName: app }))).ApplicationDetail!;
    const refs: string[] = [];
    if (names.has(encryptionOf(detail).KeyId ?? '')) refs.push(`application ${detail.ApplicationARN}`);
    let nextToken: string | undefined;
    do {
      const page = await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: app, Limit: 50, NextToken: nextToken }));
      for (const s of page.SnapshotSummaries ?? []) if (names.has(s.ApplicationEncryptionConfigurationDescription?.KeyId ?? '')) refs.push(`snapshot ${s.SnapshotName}`);
      nextToken = page.NextToken;
    } while (nextToken);
    return refs;
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return [];
    throw e;
  }
}

export async function handler(state: WorkflowState): Promise<KeyRetirement> {
  // No key admin, no key: CreateKey runs as the key admin.
  if (!state.keyAdmin) return { action: 'none' };
  const { kms } = await asKeyAdmin(state, 'RetireKey');
  const key = await findKey(kms, state);
  if (!key || !(await createdByUs(kms, key.keyId, state))) return { action: 'none' };
  const refs = await references(state, key);
  if (refs.length) {
    await kms.send(new TagResourceCommand({ KeyId: key.keyArn, Tags: [{ TagKey: RETAINED_TAG_KEY, TagValue: `referenced by ${refs.join(', ')}`.slice(0, 256) }] }));
    return { keyArn: key.keyArn, action: 'retained', references: refs };
  }
  // The alias goes only if it is this key's: a re-run then creates a fresh key instead of finding this one.
  const aliased = await kms.send(new DescribeKeyCommand({ KeyId: aliasName(state.config) })).catch(() => undefined);
  if (aliased?.KeyMetadata?.KeyId === key.keyId) await kms.send(new DeleteAliasCommand({ AliasName: aliasName(state.config) }));
  const described = (await kms.send(new DescribeKeyCommand({ KeyId: key.keyArn }))).KeyMetadata!;
  if (described.KeyState === 'PendingDeletion') return { keyArn: key.keyArn, action: 'scheduled-deletion', deletionDate: described.DeletionDate?.toISOString() };
  const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyArn, PendingWindowInDays: state.config.pendingWindowDays }));
  return { keyArn: key.keyArn, action: 'scheduled-deletion', deletionDate: out.DeletionDate?.toISOString() };
}
