/**
 * SQS (`AmazonSQS.*`, AWS JSON 1.0): standard queues with attributes and a resource policy, and their
 * messages — what a dead-letter queue needs. EventBridge puts undeliverable events here, authorized by
 * the queue's policy as in AWS. Not modelled: FIFO queues, visibility timeouts beyond a fixed receive
 * (a received message is gone once deleted, back after 30 s otherwise), long polling, redrive.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { PolicyDocument, Queue, SandboxState } from '../state';

const VISIBILITY_MS = 30_000;
const SETTABLE = new Set([
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'Policy',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'RedrivePolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
]);

export function sqsState(sandbox: Sandbox): NonNullable<SandboxState['sqs']> {
  return (sandbox.state.sqs ??= { queues: {} });
}

const queueArn = (sandbox: Sandbox, name: string) => `arn:aws:sqs:${sandbox.region}:${sandbox.account}:${name}`;
const queueUrl = (sandbox: Sandbox, name: string) => `${sandbox.endpoint ?? `https://sqs.${sandbox.region}.amazonaws.com`}/${sandbox.account}/${name}`;
const nonExistent = () => new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400);

/** The queue a URL (or, for EventBridge, an ARN) names. */
export function queueOf(sandbox: Sandbox, ref: unknown): Queue {
  const name =
    String(ref ?? '')
      .split(/[/:]/)
      .pop() ?? '';
  const q = Object.hasOwn(sqsState(sandbox).queues, name) ? sqsState(sandbox).queues[name] : undefined;
  if (!q) throw nonExistent();
  return q;
}

/** Authorizes `action` on the queue for a principal or a service, with the queue's policy. */
function authorizeOn(sandbox: Sandbox, who: Principal | string, action: string, q: Queue, context?: Record<string, string>): void {
  const policy = q.Attributes.Policy ? (JSON.parse(q.Attributes.Policy) as PolicyDocument) : undefined;
  sandbox.authorize('sqs', who, action, q.QueueArn, { resourcePolicy: policy, context });
}

/** A message sent by a service principal (EventBridge to a dead-letter queue), as the queue's policy allows. */
export function sendAsService(sandbox: Sandbox, servicePrincipal: string, arn: string, body: string, sourceArn: string): void {
  const q = queueOf(sandbox, arn);
  authorizeOn(sandbox, servicePrincipal, 'sqs:SendMessage', q, { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sandbox.account });
  enqueue(sandbox, q, body, {});
}

function enqueue(sandbox: Sandbox, q: Queue, body: string, attributes: Record<string, unknown>): string {
  const id = randomUUID();
  q.Messages.push({
    MessageId: id,
    Body: body,
    MD5OfBody: createHash('md5').update(body).digest('hex'),
    SentAt: sandbox.clock.now(),
    VisibleAt: sandbox.clock.now(),
    MessageAttributes: attributes,
  });
  return id;
}

function attributesOf(sandbox: Sandbox, q: Queue, names: string[]): Record<string, string> {
  const now = sandbox.clock.now();
  const all: Record<string, string> = {
    ...q.Attributes,
    QueueArn: q.QueueArn,
    CreatedTimestamp: String(Math.floor(q.CreatedTimestamp / 1000)),
    LastModifiedTimestamp: String(Math.floor(q.LastModifiedTimestamp / 1000)),
    ApproximateNumberOfMessages: String(q.Messages.filter((m) => m.VisibleAt <= now).length),
    ApproximateNumberOfMessagesNotVisible: String(q.Messages.filter((m) => m.VisibleAt > now).length),
    ApproximateNumberOfMessagesDelayed: '0',
  };
  if (!names.length) return {};
  return names.includes('All') ? all : Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]]));
}

function checkAttributes(attributes: Record<string, unknown> = {}): Record<string, string> {
  for (const k of Object.keys(attributes)) if (!SETTABLE.has(k)) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${k}.`, 400);
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
}

export const sqsService: Service = {
  name: 'sqs',
  protocol: 'json',
  targetPrefix: 'AmazonSQS',
  readOnly: new Set(['GetQueueUrl', 'GetQueueAttributes', 'ListQueues']),
  operations: {
    CreateQueue: (input, { sandbox, caller }) => {
      const name = String(input.QueueName ?? '');
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
        throw new AwsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length', 400);
      sandbox.authorize('sqs', caller, 'sqs:CreateQueue', queueArn(sandbox, name));
      const attributes = {
        VisibilityTimeout: '30',
        MaximumMessageSize: '262144',
        MessageRetentionPeriod: '345600',
        DelaySeconds: '0',
        ReceiveMessageWaitTimeSeconds: '0',
        SqsManagedSseEnabled: 'true',
        ...checkAttributes(input.Attributes),
      };
      const existing = sqsState(sandbox).queues[name];
      if (existing) {
        // Idempotent for the same attributes, as SQS is.
        const same = Object.entries(checkAttributes(input.Attributes)).every(([k, v]) => existing.Attributes[k] === v);
        if (!same)
          throw new AwsError(
            'QueueAlreadyExists',
            `A queue already exists with the same name and a different value for attribute(s) ${Object.keys(input.Attributes ?? {}).join(', ')}`,
            400,
          );
        return { QueueUrl: queueUrl(sandbox, name) };
      }
      const now = sandbox.clock.now();
      sqsState(sandbox).queues[name] = {
        QueueName: name,
        QueueArn: queueArn(sandbox, name),
        Attributes: attributes,
        Tags: input.tags ?? {},
        CreatedTimestamp: now,
        LastModifiedTimestamp: now,
        Messages: [],
      };
      return { QueueUrl: queueUrl(sandbox, name) };
    },
    GetQueueUrl: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueName);
      authorizeOn(sandbox, caller, 'sqs:GetQueueUrl', q);
      return { QueueUrl: queueUrl(sandbox, q.QueueName) };
    },
    ListQueues: (input, { sandbox, caller }) => {
      sandbox.authorize('sqs', caller, 'sqs:ListQueues', '*');
      const prefix = String(input.QueueNamePrefix ?? '');
      return {
        QueueUrls: Object.keys(sqsState(sandbox).queues)
          .filter((n) => n.startsWith(prefix))
          .sort()
          .map((n) => queueUrl(sandbox, n)),
      };
    },
    GetQueueAttributes: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:GetQueueAttributes', q);
      return { Attributes: attributesOf(sandbox, q, input.AttributeNames ?? []) };
    },
    SetQueueAttributes: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:SetQueueAttributes', q);
      const attributes = checkAttributes(input.Attributes);
      if (attributes.Policy !== undefined && attributes.Policy !== '') {
        try {
          JSON.parse(attributes.Policy);
        } catch {
          throw new AwsError('InvalidAttributeValue', 'Invalid value for the parameter Policy.', 400);
        }
      }
      for (const [k, v] of Object.entries(attributes)) {
        if (v === '') delete q.Attributes[k];
        else q.Attributes[k] = v;
      }
      q.LastModifiedTimestamp = sandbox.clock.now();
      return {};
    },
    DeleteQueue: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:DeleteQueue', q);
      delete sqsState(sandbox).queues[q.QueueName];
      return {};
    },
    SendMessage: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:SendMessage', q);
      const body = String(input.MessageBody ?? '');
      if (!body) throw new AwsError('MissingParameter', 'The request must contain the parameter MessageBody.', 400);
      const id = enqueue(sandbox, q, body, input.MessageAttributes ?? {});
      return { MessageId: id, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
    },
    ReceiveMessage: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:ReceiveMessage', q);
      const now = sandbox.clock.now();
      const max = Math.min(Number(input.MaxNumberOfMessages ?? 1), 10);
      const visible = q.Messages.filter((m) => m.VisibleAt <= now).slice(0, max);
      for (const m of visible) {
        m.VisibleAt = now + (input.VisibilityTimeout !== undefined ? Number(input.VisibilityTimeout) * 1000 : VISIBILITY_MS);
        m.ReceiptHandle = randomUUID();
      }
      return { Messages: visible.map((m) => ({ MessageId: m.MessageId, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body })) };
    },
    DeleteMessage: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:DeleteMessage', q);
      const i = q.Messages.findIndex((m) => m.ReceiptHandle === input.ReceiptHandle);
      if (i < 0) throw new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${input.ReceiptHandle}" is not a valid receipt handle.`, 400);
      q.Messages.splice(i, 1);
      return {};
    },
    PurgeQueue: (input, { sandbox, caller }) => {
      const q = queueOf(sandbox, input.QueueUrl);
      authorizeOn(sandbox, caller, 'sqs:PurgeQueue', q);
      q.Messages.length = 0;
      return {};
    },
  },
};
