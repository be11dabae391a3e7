/**
 * DynamoDB, for the workflow's one-run-per-application lock. Requests are authenticated and authorized
 * here like every other service, then served by dynalite (Apache-2.0), an independent DynamoDB
 * implementation running in memory behind this sandbox — so conditional writes behave as DynamoDB's do,
 * not as we imagine them. Its tables live in dynalite, outside the sandbox's JSON state (not snapshotted).
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { AwsError } from '../errors';
import type { Handler, Sandbox, Service } from '../sandbox';

const OPERATIONS = ['CreateTable', 'DescribeTable', 'DeleteTable', 'ListTables', 'PutItem', 'GetItem', 'DeleteItem', 'UpdateItem', 'Query', 'Scan'];
const READ_ONLY = new Set(['DescribeTable', 'ListTables', 'GetItem', 'Query', 'Scan']);
// dynalite wants a well-formed SigV4 header; authentication has already happened in the sandbox.
const FORWARD_AUTH = 'AWS4-HMAC-SHA256 Credential=sandbox/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

interface Backend { endpoint: string; close(): Promise<void> }
const backends = new WeakMap<Sandbox, Promise<Backend>>();

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
    });
    backends.set(sandbox, b);
    sandbox.disposers.push(async () => (await b!).close());
  }
  return b;
}

const operation = (name: string): Handler => async (input, { sandbox, caller }) => {
  const resource = name === 'ListTables' ? '*' : `arn:aws:dynamodb:${sandbox.region}:${sandbox.account}:table/${String(input.TableName ?? '')}`;
  sandbox.authorize('dynamodb', caller, `dynamodb:${name}`, resource);
  const { endpoint } = await backend(sandbox);
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${name}`, authorization: FORWARD_AUTH, 'x-amz-date': '20260101T000000Z' },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new AwsError(String(body.__type ?? 'InternalFailure').split('#').pop()!, String(body.message ?? body.Message ?? ''), res.status);
  return body;
};

export const dynamoDbService: Service = {
  name: 'dynamodb',
  protocol: 'json',
  targetPrefix: 'DynamoDB_20120810',
  readOnly: READ_ONLY,
  operations: Object.fromEntries(OPERATIONS.map((op) => [op, operation(op)])),
};
