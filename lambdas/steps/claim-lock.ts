/**
 * ClaimLock: the cleanup's first write. The lock of the ended execution it cleans passes to the cleanup
 * (`claimedFor` names the ended execution), so that from here on a redrive of that execution finds its lock
 * gone and is refused (RedriveRefused) instead of resuming under the compensations; a second cleanup of
 * the same execution (one that was stopped, say) may take it over. A lock that is neither — free, or another
 * execution's — is left as it is, and the compensations go on without it (each undoes only what still shows
 * what the ended execution left).
 */
import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { clientsAs } from '../lib/personas';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import { LEASE_SECONDS } from './acquire-lock';
import type { CleanupOf, LockResult, WorkflowState } from '../lib/model';

export const handler = task('ClaimLock', 'orchestrator', async (state: WorkflowState & { cleanupOf: CleanupOf }): Promise<LockResult | undefined> => {
  const { lock, cleanupOf } = state;
  if (!lock) return undefined;
  const { dynamodb } = await clientsAs('orchestrator', actorOf(state, 'ClaimLock'), 'write');
  const now = Math.floor(Date.now() / 1000);
  const claim: LockResult = { lockId: lock.lockId, owner: cleanupOf.cleanupExecutionArn, expiresAt: now + LEASE_SECONDS };
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: deployment().lockTableName,
        Key: { lockId: { S: lock.lockId } },
        UpdateExpression: 'SET #owner = :me, claimedFor = :ended, acquiredAt = :now, expiresAt = :exp',
        ConditionExpression: '#owner = :ended OR (attribute_exists(#owner) AND claimedFor = :ended)',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':me': { S: claim.owner },
          ':ended': { S: cleanupOf.executionArn },
          ':now': { N: String(now) },
          ':exp': { N: String(claim.expiresAt) },
        },
      }),
    );
    return claim;
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException) && (e as Error).name !== 'ConditionalCheckFailedException') throw e;
    return lock;
  }
});
