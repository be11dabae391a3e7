/**
 * AcquireLock: one run per application. A conditional write to the application's lock item — granted
 * when no one holds it, when this very execution holds it (a retry after a lost answer, a redrive), or
 * when its holder has ended SUCCEEDED or FAILED (its own rollback ran; only its release was lost).
 * An execution that was stopped or timed out ran no rollback: its lock stays until its cleanup (or
 * `msf-cmk unlock`) releases it. Otherwise the run ends AlreadyInProgress having changed nothing.
 */
import { GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { AlreadyInProgress, unlessMissing } from '../lib/errors';
import { appArn } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { LEASE_SECONDS, isConditionFailed } from '../lib/lock';
import { deployment } from '../lib/settings';
import { actorOf, isPlan, task } from '../lib/step';
import type { LockResult, WorkflowState } from '../lib/model';

/** Holders whose own Catch ran to its end: their lock may be taken over. */
const ENDED_CLEANLY = ['SUCCEEDED', 'FAILED'];

type Item = Record<string, AttributeValue> | undefined;

export const handler = task('AcquireLock', 'orchestrator', async (state: WorkflowState): Promise<LockResult | undefined> => {
  const { dynamodb, sfn } = await clientsAs('orchestrator', actorOf(state, 'AcquireLock'), isPlan(state) ? 'read' : 'write');
  const table = deployment().lockTableName;
  const lockId = appArn(state.context, state.config.applicationName);
  const me = state.context.executionArn;
  const now = Math.floor(Date.now() / 1000);
  const read = async (): Promise<Item> =>
    (await dynamodb.send(new GetItemCommand({ TableName: table, Key: { lockId: { S: lockId } }, ConsistentRead: true }))).Item;
  const holderStatus = async (owner: string) =>
    (await unlessMissing(sfn.send(new DescribeExecutionCommand({ executionArn: owner })), 'ExecutionDoesNotExist'))?.status ?? 'GONE';
  const refuse = (held: Item, status?: string) =>
    new AlreadyInProgress(
      `${state.config.applicationName} is held by ${held?.owner?.S ?? 'another execution'}${status ? ` (${status}${status === 'RUNNING' ? '' : '; its rollback did not run: run its cleanup, or msf-cmk unlock'})` : ''}, lock until ${new Date(Number(held?.expiresAt?.N ?? 0) * 1000).toISOString()}; this execution changed nothing.`,
    );

  if (isPlan(state)) {
    // A plan writes nothing, not even the lock; but a plan made while another run changes things is stale.
    const held = await read();
    if (held?.owner?.S && held.owner.S !== me && Number(held.expiresAt?.N ?? 0) >= now) throw refuse(held);
    return undefined;
  }
  // Takes the lock if the condition holds: free, ours, past its lease, or held by `from` (a takeover).
  const take = (from?: string) =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { lockId: { S: lockId } },
        UpdateExpression: 'SET #owner = :me, acquiredAt = :now, expiresAt = :exp REMOVE claimedFor',
        ConditionExpression: from ? '#owner = :from' : 'attribute_not_exists(#owner) OR #owner = :me OR expiresAt < :now',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':me': { S: me },
          ':now': { N: String(now) },
          ':exp': { N: String(now + LEASE_SECONDS) },
          ...(from && { ':from': { S: from } }),
        },
      }),
    );
  try {
    await take();
  } catch (e) {
    if (!isConditionFailed(e)) throw e;
    const held = await read();
    const owner = held?.owner?.S;
    const status = owner ? await holderStatus(owner) : undefined;
    if (!owner || !ENDED_CLEANLY.includes(status!)) throw refuse(held, status);
    try {
      await take(owner);
    } catch (again) {
      if (isConditionFailed(again)) throw refuse(await read());
      throw again;
    }
  }
  return { lockId, owner: me, expiresAt: now + LEASE_SECONDS };
});
