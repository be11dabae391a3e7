/**
 * The application lock (a DynamoDB item per application ARN) as the steps other than AcquireLock and
 * ReleaseLock see it.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { RedriveRefused } from './errors';
import { clientsAs, type Actor } from './personas';
import { deployment } from './settings';
import type { WorkflowState } from './model';

/** The lock's holder now (a consistent read), or undefined when it is free. */
export async function lockHolder(lockId: string, actor: Actor): Promise<string | undefined> {
  const { dynamodb } = await clientsAs('orchestrator', actor, 'read');
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: deployment().lockTableName, Key: { lockId: { S: lockId } }, ConsistentRead: true }));
  return Item?.owner?.S;
}

/** Refuses (RedriveRefused, nothing changed) unless this execution still holds the lock it took. */
export async function assertLockHeld(state: WorkflowState, actor: Actor): Promise<void> {
  const holder = state.lock ? await lockHolder(state.lock.lockId, actor) : undefined;
  if (!state.lock || holder !== state.lock.owner) {
    throw new RedriveRefused(
      `${state.context.executionArn} was redriven, and ${holder ? `${holder} now holds its lock` : 'its lock has been released'} (its cleanup or msf-cmk unlock ran): resuming would act on what that cleanup undid. The redrive changed nothing; start a new execution with the same input.`,
    );
  }
}
