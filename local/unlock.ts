/**
 * `msf-cmk unlock <application>`: frees an application's lock whose holder is known not to run — an
 * execution that ended without its rollback (stopped, timed out) or that Step Functions does not know —
 * and records who did it, when, why and whom it displaced in the lock item (`unlocks`). Refuses while the
 * holder is RUNNING. Conditional on the holder, so it never frees a lock someone else has just taken.
 */
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { unlessMissing } from '../lambdas/lib/errors';

export interface UnlockResult {
  unlocked: boolean;
  holder?: string;
  holderStatus?: string;
  message: string;
}

export async function unlock(
  clients: { dynamodb: DynamoDBClient; sfn: SFNClient; sts: STSClient },
  p: { lockTableName: string; applicationArn: string; reason: string },
): Promise<UnlockResult> {
  const key = { lockId: { S: p.applicationArn } };
  const read = await unlessMissing(
    clients.dynamodb.send(new GetItemCommand({ TableName: p.lockTableName, Key: key, ConsistentRead: true })),
    'ResourceNotFoundException',
  );
  if (!read)
    return {
      unlocked: false,
      message: `The lock table ${p.lockTableName} does not exist here: is the orchestrator deployed in this account and Region (--lock-table)?`,
    };
  const item = read.Item;
  const holder = item?.owner?.S;
  if (!holder) return { unlocked: false, message: `${p.applicationArn} is not locked.` };
  const described = await unlessMissing(clients.sfn.send(new DescribeExecutionCommand({ executionArn: holder })), 'ExecutionDoesNotExist', 'InvalidArn');
  const holderStatus = described?.status ?? 'not known to Step Functions';
  if (holderStatus === 'RUNNING')
    return {
      unlocked: false,
      holder,
      holderStatus,
      message: `${holder} is RUNNING: it holds the lock; stop it (its cleanup then releases the lock) rather than unlock.`,
    };
  const by = (await clients.sts.send(new GetCallerIdentityCommand({}))).Arn!;
  const entry = {
    M: { at: { S: new Date().toISOString() }, by: { S: by }, holder: { S: holder }, holderStatus: { S: holderStatus }, reason: { S: p.reason } },
  };
  try {
    await clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: p.lockTableName,
        Key: key,
        UpdateExpression: 'REMOVE #owner, expiresAt, claimedFor SET unlocks = list_append(if_not_exists(unlocks, :none), :entry)',
        ConditionExpression: '#owner = :holder',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':holder': { S: holder }, ':none': { L: [] }, ':entry': { L: [entry] } },
      }),
    );
  } catch (e) {
    if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    return { unlocked: false, holder, holderStatus, message: `The lock changed hands meanwhile; nothing was changed. Look again.` };
  }
  return {
    unlocked: true,
    holder,
    holderStatus,
    message: `Unlocked ${p.applicationArn}: ${holder} (${holderStatus}) no longer holds it; recorded as unlocked by ${by}.`,
  };
}
