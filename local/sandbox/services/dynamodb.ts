/**
 * DynamoDB. Requests are authenticated and authorized here like every other service, then served by
 * dynalite (Apache-2.0), an independent DynamoDB implementation running in memory behind this sandbox —
 * so conditional writes behave as DynamoDB's do, not as we imagine them. After each write the table
 * definitions and the written items are mirrored into the sandbox state (`dynamodb.tables`), so that
 * they are persisted with the state file, appear in snapshots and diffs, and come back on a restore: the
 * backend is rebuilt from the mirror when the sandbox starts from a state file or a state is restored.
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { AwsError } from '../errors';
import type { Handler, Sandbox, Service } from '../sandbox';
import type { SandboxState } from '../state';

const OPERATIONS = ['CreateTable', 'DescribeTable', 'DeleteTable', 'ListTables', 'PutItem', 'GetItem', 'DeleteItem', 'UpdateItem', 'Query', 'Scan'];
const READ_ONLY = new Set(['DescribeTable', 'ListTables', 'GetItem', 'Query', 'Scan']);
// dynalite wants a well-formed SigV4 header; authentication has already happened in the sandbox.
const FORWARD_AUTH = 'AWS4-HMAC-SHA256 Credential=sandbox/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

interface Backend {
  endpoint: string;
  close(): Promise<void>;
}
const backends = new WeakMap<Sandbox, Promise<Backend>>();
type Mirror = NonNullable<SandboxState['dynamodb']>;

const mirror = (sandbox: Sandbox): Mirror => (sandbox.state.dynamodb ??= { tables: {} });

async function send(endpoint: string, name: string, input: unknown): Promise<Record<string, any>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${name}`,
      authorization: FORWARD_AUTH,
      'x-amz-date': '20260101T000000Z',
    },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok)
    throw new AwsError(
      String(body.__type ?? 'InternalFailure')
        .split('#')
        .pop()!,
      String(body.message ?? body.Message ?? ''),
      res.status,
    );
  return body;
}

/** The backend, started on first use and loaded with the mirrored tables and items. */
function backend(sandbox: Sandbox): Promise<Backend> {
  let b = backends.get(sandbox);
  if (!b) {
    b = new Promise<Backend>((resolve, reject) => {
      const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve({ endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
      });
    }).then(async (started) => {
      for (const [TableName, t] of Object.entries(mirror(sandbox).tables)) {
        await send(started.endpoint, 'CreateTable', { ...t.definition, TableName });
        // dynalite makes a table ACTIVE on a timer, even at createTableMs 0; until then items are refused.
        while ((await send(started.endpoint, 'DescribeTable', { TableName })).Table?.TableStatus !== 'ACTIVE') await new Promise((r) => setTimeout(r, 1));
        for (const Item of Object.values(t.items)) await send(started.endpoint, 'PutItem', { TableName, Item });
      }
      return started;
    });
    backends.set(sandbox, b);
    const mine = b;
    sandbox.disposers.push(async () => (await mine).close());
  }
  return b;
}

/** Tables and items as the mirror keeps them: the key attributes, in key schema order, as JSON. */
function keyOf(definition: Record<string, any>, item: Record<string, unknown>): { id: string; key: Record<string, unknown> } {
  const key = Object.fromEntries((definition.KeySchema as { AttributeName: string }[]).map((k) => [k.AttributeName, item[k.AttributeName]]));
  return { id: JSON.stringify(key), key };
}

const CREATE_MEMBERS = ['KeySchema', 'AttributeDefinitions', 'BillingMode', 'ProvisionedThroughput', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes'];

/** Copies what a successful write changed from the backend into the mirror. */
async function mirrorWrite(sandbox: Sandbox, endpoint: string, name: string, input: Record<string, any>): Promise<void> {
  const tables = mirror(sandbox).tables;
  const TableName = String(input.TableName);
  if (name === 'CreateTable')
    tables[TableName] = { definition: Object.fromEntries(CREATE_MEMBERS.filter((m) => input[m] !== undefined).map((m) => [m, input[m]])), items: {} };
  else if (name === 'DeleteTable') delete tables[TableName];
  else if (tables[TableName]) {
    const { id, key } = keyOf(tables[TableName].definition, name === 'PutItem' ? input.Item : input.Key);
    const { Item } = await send(endpoint, 'GetItem', { TableName, Key: key, ConsistentRead: true });
    if (Item) tables[TableName].items[id] = Item;
    else delete tables[TableName].items[id];
  }
}

const WRITES = new Set(['CreateTable', 'DeleteTable', 'PutItem', 'UpdateItem', 'DeleteItem']);

const operation =
  (name: string): Handler =>
  async (input, { sandbox, caller }) => {
    const resource = name === 'ListTables' ? '*' : `arn:aws:dynamodb:${sandbox.region}:${sandbox.account}:table/${String(input.TableName ?? '')}`;
    sandbox.authorize('dynamodb', caller, `dynamodb:${name}`, resource);
    const { endpoint } = await backend(sandbox);
    const body = await send(endpoint, name, input);
    if (WRITES.has(name)) await mirrorWrite(sandbox, endpoint, name, input);
    return body;
  };

export const dynamoDbService: Service = {
  name: 'dynamodb',
  protocol: 'json',
  targetPrefix: 'DynamoDB_20120810',
  readOnly: READ_ONLY,
  operations: Object.fromEntries(OPERATIONS.map((op) => [op, operation(op)])),
  // A restored state brings its own tables: the next call starts a backend loaded from it.
  onRestore: (sandbox) => {
    const old = backends.get(sandbox);
    backends.delete(sandbox);
    void old?.then((b) => b.close());
  },
};
