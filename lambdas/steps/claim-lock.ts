/**
 * ClaimLock: the cleanup's first write. The application's lock passes to the cleanup (`claimedFor` names the
 * ended execution), so that from here on a redrive of that execution finds its lock gone and is refused
 * (RedriveRefused) instead of going on under the compensations, and no other run starts while they work.
 * Taken when free, when the ended execution holds it, or from an earlier cleanup of the same execution that
 * has ended (one that was stopped, say). Held by anyone else — another run, a cleanup still at work — the
 * cleanup ends NotCleanable having changed nothing: run it again once that holder has ended.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { NotCleanable, unlessMissing } from '../lib/errors';
import { LEASE_SECONDS, isConditionFailed, readLock } from '../lib/lock';
import { clientsAs } from '../lib/personas';
import { deployment } from '../lib/settings';
import { actorOf, task } from '../lib/step';
import type { CleanupOf, LockResult, WorkflowState } from '../lib/model';

export const handler = task('ClaimLock', 'orchestrator', async (state: WorkflowState & { cleanupOf: CleanupOf }): Promise<LockResult> => {
  const { cleanupOf } = state;
  const lockId = state.lock!.lockId;
  const actor = actorOf(state, 'ClaimLock');
  const { dynamodb, sfn } = await clientsAs('orchestrator', actor, 'write');
  const now = Math.floor(Date.now() / 1000);
  const claim: LockResult = { lockId, owner: cleanupOf.cleanupExecutionArn, expiresAt: now + LEASE_SECONDS };
  // `from`: the earlier cleanup to take over from; otherwise free, the ended execution's, or already ours.
  const take = (from?: string) =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: deployment().lockTableName,
        Key: { lockId: { S: lockId } },
        UpdateExpression: 'SET #owner = :me, claimedFor = :ended, acquiredAt = :now, expiresAt = :exp',
        ConditionExpression: from ? '#owner = :from AND claimedFor = :ended' : 'attribute_not_exists(#owner) OR #owner = :ended OR #owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':me': { S: claim.owner },
          ':ended': { S: cleanupOf.executionArn },
          ':now': { N: String(now) },
          ':exp': { N: String(claim.expiresAt) },
          ...(from && { ':from': { S: from } }),
        },
      }),
    );
  try {
    await take();
    return claim;
  } catch (e) {
    if (!isConditionFailed(e)) throw e;
  }
  const item = await readLock(lockId, actor);
  const holder = item?.owner?.S;
  const status = holder
    ? ((await unlessMissing(sfn.send(new DescribeExecutionCommand({ executionArn: holder })), 'ExecutionDoesNotExist'))?.status ?? 'GONE')
    : undefined;
  if (holder && item?.claimedFor?.S === cleanupOf.executionArn && status !== 'RUNNING') {
    try {
      await take(holder);
      return claim;
    } catch (again) {
      if (!isConditionFailed(again)) throw again;
    }
  }
  throw new NotCleanable(
    `${lockId} is held by ${holder ?? 'another execution'}${status ? ` (${status})` : ''}: the cleanup of ${cleanupOf.executionArn} changed nothing; run it again once that holder has ended.`,
  );
});
