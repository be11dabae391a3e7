/**
 * ReleaseLock: after success and after a rollback, complete or not. Deletes the lock only if this
 * execution still holds it; a lock that cannot be released simply expires with its lease.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { orchestrator } from '../lib/personas';
import type { WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<{ released: boolean }> {
  if (!state.lock) return { released: false };
  try {
    await orchestrator().dynamodb.send(
      new DeleteItemCommand({
        TableName: state.config.lockTableName,
        Key: { lockId: { S: state.lock.lockId } },
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: state.lock.owner } },
      }),
    );
    return { released: true };
  } catch (e) {
    if ((e as Error).name === 'ConditionalCheckFailedException') return { released: false };
    throw e;
  }
}
