/**
 * The application lock (a DynamoDB item per application ARN) as the steps other than AcquireLock and
 * ClaimLock see it.
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { RedriveRefused } from './errors';
import { clientsAs, type Actor } from './personas';
import { deployment } from './settings';
import type { LockResult, WorkflowState } from './model';

/** Longer than the state machines' TimeoutSeconds, so a live execution never loses its lock. */
export const LEASE_SECONDS = 7500;

export const isConditionFailed = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

/** The lock item now (a consistent read). */
export async function readLock(lockId: string, actor: Actor): Promise<Record<string, AttributeValue> | undefined> {
  const { dynamodb } = await clientsAs('orchestrator', actor, 'read');
  return (await dynamodb.send(new GetItemCommand({ TableName: deployment().lockTableName, Key: { lockId: { S: lockId } }, ConsistentRead: true }))).Item;
}

const refused = (state: WorkflowState, item: Record<string, AttributeValue> | undefined) =>
  new RedriveRefused(
    `${state.context.executionArn} was redriven, and ${item?.claimedFor?.S === state.lock?.owner ? `its cleanup ${item?.owner?.S} has claimed its lock` : item?.owner?.S ? `${item.owner.S} now holds its lock` : 'its lock has been released'} (its cleanup or msf-cmk unlock ran): going on would act on what that cleanup undoes. The redrive changed nothing; start a new execution with the same input.`,
  );

/**
 * Before a redriven apply: the lock must still be this execution's and unclaimed by a cleanup. Checked and
 * renewed in one conditional write (a redrive may come hours later, past the lease it took), else
 * RedriveRefused, nothing changed.
 */
export async function renewLockForRedrive(state: WorkflowState, actor: Actor): Promise<LockResult> {
  const lock = state.lock;
  if (!lock) throw refused(state, undefined);
  const { dynamodb } = await clientsAs('orchestrator', actor, 'write');
  const expiresAt = Math.floor(Date.now() / 1000) + LEASE_SECONDS;
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: deployment().lockTableName,
        Key: { lockId: { S: lock.lockId } },
        UpdateExpression: 'SET expiresAt = :exp',
        ConditionExpression: '#owner = :me AND attribute_not_exists(claimedFor)',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: lock.owner }, ':exp': { N: String(expiresAt) } },
      }),
    );
  } catch (e) {
    if (isConditionFailed(e)) throw refused(state, await readLock(lock.lockId, actor));
    throw e;
  }
  return { ...lock, expiresAt };
}

/** After a release that found the lock not its own: a cleanup has claimed it, so this run is being undone. */
export async function refuseIfClaimed(state: WorkflowState, actor: Actor): Promise<void> {
  const item = state.lock ? await readLock(state.lock.lockId, actor) : undefined;
  if (item?.claimedFor?.S && item.claimedFor.S === state.lock?.owner) throw refused(state, item);
}
