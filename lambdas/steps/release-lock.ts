/**
 * ReleaseLock: after success and after any rollback. Releases the lock only if this execution still holds
 * it; the item stays (it keeps the application's unlock audit). A release that fails does not block the
 * next run: AcquireLock takes over a lock whose holder has ended.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isConditionFailed, refuseIfClaimed } from '../lib/lock';
import { clientsAs } from '../lib/personas';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import type { WorkflowState } from '../lib/model';

export const handler = task('ReleaseLock', 'orchestrator', async (state: WorkflowState): Promise<{ released: boolean }> => {
  if (!state.lock) return { released: false };
  const actor = actorOf(state, 'ReleaseLock');
  const { dynamodb } = await clientsAs('orchestrator', actor, 'write');
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: deployment().lockTableName,
        Key: { lockId: { S: state.lock.lockId } },
        UpdateExpression: 'REMOVE #owner, expiresAt, claimedFor SET releasedAt = :now, lastOwner = :me',
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: state.lock.owner }, ':now': { N: String(Math.floor(Date.now() / 1000)) } },
      }),
    );
    return { released: true };
  } catch (e) {
    if (!isConditionFailed(e)) throw e;
    // Claimed by this execution's cleanup (it was stopped, then redriven): it is being undone, not done.
    await refuseIfClaimed(state, actor);
    // Otherwise not ours any more: released by an earlier attempt whose answer was lost, or taken over.
    return { released: false };
  }
});
