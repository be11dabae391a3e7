/**
 * The one AWS client factory. Region, endpoint, retries and the orchestrator's own credentials come from
 * the standard environment only (AWS_REGION, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS, the credential chain); a
 * persona passes the temporary credentials it assumed. No endpoint or credential literals.
 *
 * Clients live at module scope, so a warm function container reuses them across invocations. They are
 * keyed by the environment they were built from (a container's environment never changes; a local run
 * that points the same process at another sandbox gets new ones) and by the credentials.
 *
 * `read` clients refuse, before anything is sent, every operation that is not a read: the find phase of
 * every step and the whole of plan mode use them, so they cannot write by construction.
 *
 * Every client is handed to the Tracer, so in Lambda each SDK call is an X-Ray subsegment (elsewhere
 * there is no Tracer).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { WriteRefused } from './errors';
import { tracer } from './observability';

/** Temporary credentials from sts:AssumeRole, in the SDK's shape. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type Access = 'read' | 'write';

export interface AwsClients {
  iam: IAMClient;
  sts: STSClient;
  kms: KMSClient;
  flink: KinesisAnalyticsV2Client;
  dynamodb: DynamoDBClient;
  tagging: ResourceGroupsTaggingAPIClient;
  sfn: SFNClient;
  securityhub: SecurityHubClient;
}

/** What leaves an account as it was: reads, and taking on a role (which changes nothing in it). */
export const isReadOperation = (operation: string) => /^(Describe|Get|List|BatchGet|Query|Scan)/.test(operation) || operation === 'AssumeRole';

type Middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string; clientName?: string }) => (args: unknown) => Promise<unknown>;
type AnyCommand = { middlewareStack: { add: (mw: Middleware, options: object) => void } };
type AnyClient = { send: (command: AnyCommand, ...rest: unknown[]) => Promise<unknown> };

const refuseWrites: Middleware = (next, context) => async (args) => {
  const operation = (context.commandName ?? '').replace(/Command$/, '');
  if (!isReadOperation(operation)) throw new WriteRefused(`${operation} refused: this ${context.clientName ?? 'client'} only reads (find phase or plan mode)`);
  return next(args);
};

/**
 * A view of `client` whose every command refuses to be sent unless it reads. A view, not a second client:
 * reads and writes as one persona share the client, its resolved configuration and its connections.
 */
function readOnly<C extends AnyClient>(client: C): C {
  const marked = new WeakSet<AnyCommand>();
  const send = (command: AnyCommand, ...rest: unknown[]) => {
    if (!marked.has(command)) {
      command.middlewareStack.add(refuseWrites, { step: 'initialize', name: 'msfCmkReadOnly', priority: 'high' });
      marked.add(command);
    }
    return client.send(command, ...rest);
  };
  return new Proxy(client, { get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)) });
}

/** The environment a client is built from: a change means another account, sandbox or identity. */
const environmentKey = () =>
  ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'].map((k) => process.env[k] ?? '').join('|');

const cache = new Map<string, { write: AwsClients; read: AwsClients }>();

/** In Lambda, every SDK call becomes an X-Ray subsegment. */
const traced = <C>(client: C): C => tracer()?.captureAWSv3Client(client) ?? client;

const SERVICES = {
  iam: IAMClient,
  sts: STSClient,
  kms: KMSClient,
  flink: KinesisAnalyticsV2Client,
  dynamodb: DynamoDBClient,
  tagging: ResourceGroupsTaggingAPIClient,
  sfn: SFNClient,
  securityhub: SecurityHubClient,
} as const;

/** Clients made on first use (a step uses two or three of the eight), each with its read-only view. */
function build(config: Record<string, unknown>): { write: AwsClients; read: AwsClients } {
  const made: Partial<AwsClients> = {};
  const views: Partial<AwsClients> = {};
  const write = (name: keyof AwsClients) => (made[name] ??= traced(new SERVICES[name](config) as never));
  const read = (name: keyof AwsClients) => (views[name] ??= readOnly(write(name) as unknown as AnyClient) as never);
  const object = (get: (name: keyof AwsClients) => unknown) =>
    Object.defineProperties(
      {} as AwsClients,
      Object.fromEntries(Object.keys(SERVICES).map((k) => [k, { get: () => get(k as keyof AwsClients), enumerable: true }])),
    );
  return { write: object(write), read: object(read) };
}

/**
 * Clients with the given credentials (the environment's when omitted). `maxAttempts` overrides the
 * environment's AWS_MAX_ATTEMPTS for the one call that must not fail after a non-idempotent one.
 */
export function awsClients(credentials?: Credentials, access: Access = 'write', maxAttempts?: number): AwsClients {
  const key = [environmentKey(), credentials?.accessKeyId ?? 'env', credentials?.sessionToken ?? '', maxAttempts ?? ''].join('\u0000');
  let clients = cache.get(key);
  if (!clients) {
    // Sessions come and go; a container that lives long must not keep every client it ever made.
    if (cache.size >= 64) cache.delete(cache.keys().next().value!);
    clients = build({ ...(credentials ? { credentials } : {}), ...(maxAttempts ? { maxAttempts } : {}) });
    cache.set(key, clients);
  }
  return clients[access];
}
