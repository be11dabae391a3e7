/**
 * DynamoDB's tables and items are part of the account state: mirrored after each write, persisted with
 * the state file, in snapshots and diffs, and back as they were after a restore.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { testSandbox } from './helpers';

const table = {
  TableName: 'locks',
  BillingMode: 'PAY_PER_REQUEST' as const,
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
};

describe('DynamoDB in the account state', () => {
  it('mirrors each write, so that a diff shows it and a restore takes it back', async () => {
    const sb = await testSandbox();
    try {
      const db = new DynamoDBClient({ ...sb.clientConfig(), maxAttempts: 1 });
      await db.send(new CreateTableCommand(table));
      const before = sb.sandbox.snapshot();
      await db.send(new PutItemCommand({ TableName: 'locks', Item: { id: { S: 'a' }, n: { N: '1' } } }));
      await db.send(
        new UpdateItemCommand({
          TableName: 'locks',
          Key: { id: { S: 'a' } },
          UpdateExpression: 'SET n = :two',
          ExpressionAttributeValues: { ':two': { N: '2' } },
        }),
      );
      await db.send(new PutItemCommand({ TableName: 'locks', Item: { id: { S: 'b' } } }));
      await db.send(new DeleteItemCommand({ TableName: 'locks', Key: { id: { S: 'b' } } }));
      expect(sb.sandbox.state.dynamodb!.tables.locks.items).toEqual({ '{"id":{"S":"a"}}': { id: { S: 'a' }, n: { N: '2' } } });
      expect(sb.sandbox.diff(before).map((c) => c.path)).toEqual(['dynamodb.tables.locks']);
      sb.sandbox.restore(before);
      expect((await db.send(new GetItemCommand({ TableName: 'locks', Key: { id: { S: 'a' } } }))).Item).toBeUndefined();
    } finally {
      await sb.close();
    }
  });

  it('keeps tables and items across a restart from the state file', async () => {
    const stateFile = path.join(mkdtempSync(path.join(tmpdir(), 'ddb-')), 'state.json');
    const first = await testSandbox({ stateFile });
    await new DynamoDBClient({ ...first.clientConfig(), maxAttempts: 1 }).send(new CreateTableCommand(table));
    await new DynamoDBClient({ ...first.clientConfig(), maxAttempts: 1 }).send(new PutItemCommand({ TableName: 'locks', Item: { id: { S: 'kept' } } }));
    await first.close();
    const second = await testSandbox({ stateFile });
    try {
      const got = await new DynamoDBClient({ ...second.clientConfig(), maxAttempts: 1 }).send(
        new GetItemCommand({ TableName: 'locks', Key: { id: { S: 'kept' } } }),
      );
      expect(got.Item).toEqual({ id: { S: 'kept' } });
    } finally {
      await second.close();
    }
  });
});
