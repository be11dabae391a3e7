/**
 * AcquireLock: one run per application. A conditional write to the lock table — granted when no one
 * holds the application's lock, when the holder's lease has run out, or when this very execution holds it
 * (a redrive). Otherwise the execution ends AlreadyInProgress before it has changed anything.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { orchestrator } from '../lib/personas';
import { isPlan } from '../lib/plan';
import { AlreadyInProgress } from '../lib/errors';
import { appArn, type LockResult, type WorkflowState } from '../lib/model';

/** Longer than the state machine's TimeoutSeconds (7200), so a live execution never loses its lock. */
export const LEASE_SECONDS = 7500;

export async function handler(state: WorkflowState): Promise<LockResult | undefined> {
  const { dynamodb } = orchestrator();
  const lockId = appArn(state);
  const now = Math.floor(Date.now() / 1000);
  const owner = state.context.executionId;
  if (isPlan(state)) {
    // A plan writes nothing, not even the lock; but a plan made while another run changes things is stale.
    const held = (await dynamodb.send(new GetItemCommand({ TableName: state.config.lockTableName, Key: { lockId: { S: lockId } }, ConsistentRead: true }))).Item;
    if (held && Number(held.expiresAt?.N ?? 0) >= now) throw inProgress(state, held);
    return undefined;
  }
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: state.config.lockTableName,
        Item: { lockId: { S: lockId }, owner: { S: owner }, acquiredAt: { N: String(now) }, expiresAt: { N: String(now + LEASE_SECONDS) } },
        ConditionExpression: 'attribute_not_exists(lockId) OR expiresAt < :now OR #owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': { N: String(now) }, ':me': { S: owner } },
      }),
    );
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException) && (e as Error).name !== 'ConditionalCheckFailedException') throw e;
    const held = (await dynamodb.send(new GetItemCommand({ TableName: state.config.lockTableName, Key: { lockId: { S: lockId } }, ConsistentRead: true }))).Item;
    throw inProgress(state, held);
  }
  return { lockId, owner, expiresAt: now + LEASE_SECONDS };
}

const inProgress = (state: WorkflowState, held: Record<string, { S?: string; N?: string }> | undefined) =>
  new AlreadyInProgress(
    `${state.config.applicationName} is being onboarded by ${held?.owner?.S ?? 'another execution'} (lock held until ${new Date(Number(held?.expiresAt?.N ?? 0) * 1000).toISOString()}); this execution changed nothing.`,
  );
