/**
 * CloudWatch Logs (`Logs_20140328.*`, JSON 1.1): log groups as account resources (in the state), and
 * the lines functions print, by group and stream. Log events are kept in memory only — they are output,
 * not account configuration, so they stay out of snapshots, diffs and the state file.
 */
import { AwsError } from '../errors';
import type { Sandbox, Service } from '../sandbox';
import type { LogGroup, SandboxState } from '../state';

interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}
const events = new WeakMap<Sandbox, Map<string, Map<string, LogEvent[]>>>();
/** Lines kept per stream; older ones are dropped (a bound, not a retention policy). */
const MAX_EVENTS_PER_STREAM = 10_000;

export function logsState(sandbox: Sandbox): NonNullable<SandboxState['logs']> {
  return (sandbox.state.logs ??= { groups: {} });
}

/** Lines written to a stream (the Lambda service's environments write here). */
export function appendLogEvents(sandbox: Sandbox, group: string, stream: string, messages: string[]): void {
  let groups = events.get(sandbox);
  if (!groups) events.set(sandbox, (groups = new Map()));
  let streams = groups.get(group);
  if (!streams) groups.set(group, (streams = new Map()));
  let list = streams.get(stream);
  if (!list) streams.set(stream, (list = []));
  const now = sandbox.clock.now();
  for (const message of messages) list.push({ timestamp: now, message, ingestionTime: now });
  if (list.length > MAX_EVENTS_PER_STREAM) list.splice(0, list.length - MAX_EVENTS_PER_STREAM);
}

const groupArn = (sandbox: Sandbox, name: string) => `arn:aws:logs:${sandbox.region}:${sandbox.account}:log-group:${name}`;
const notFound = () => new AwsError('ResourceNotFoundException', 'The specified log group does not exist.', 400);

function groupOf(sandbox: Sandbox, name: unknown): LogGroup {
  const g = logsState(sandbox).groups[String(name)];
  if (!g) throw notFound();
  return g;
}

function required(input: any, member: string): string {
  if (typeof input[member] !== 'string' || !input[member])
    throw new AwsError(
      'InvalidParameterException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
      400,
    );
  return input[member];
}

const RETENTION = new Set([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]);

function streamsOf(sandbox: Sandbox, group: string): Map<string, LogEvent[]> {
  return events.get(sandbox)?.get(group) ?? new Map();
}

export const logsService: Service = {
  name: 'logs',
  protocol: 'json',
  targetPrefix: 'Logs_20140328',
  readOnly: new Set(['DescribeLogGroups', 'DescribeLogStreams', 'GetLogEvents', 'FilterLogEvents', 'ListTagsForResource']),
  operations: {
    CreateLogGroup: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:CreateLogGroup', groupArn(sandbox, name));
      if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name))
        throw new AwsError(
          'InvalidParameterException',
          `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
          400,
        );
      if (logsState(sandbox).groups[name]) throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists', 400);
      logsState(sandbox).groups[name] = {
        logGroupName: name,
        arn: `${groupArn(sandbox, name)}:*`,
        creationTime: sandbox.clock.now(),
        tags: input.tags ?? {},
        ...(input.kmsKeyId && { kmsKeyId: input.kmsKeyId }),
      };
      return {};
    },
    DeleteLogGroup: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:DeleteLogGroup', groupArn(sandbox, name));
      groupOf(sandbox, name);
      delete logsState(sandbox).groups[name];
      events.get(sandbox)?.delete(name);
      return {};
    },
    PutRetentionPolicy: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:PutRetentionPolicy', groupArn(sandbox, name));
      const days = Number(input.retentionInDays);
      if (!RETENTION.has(days))
        throw new AwsError(
          'InvalidParameterException',
          `1 validation error detected: Value '${input.retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${[...RETENTION].join(', ')}]`,
          400,
        );
      groupOf(sandbox, name).retentionInDays = days;
      return {};
    },
    DeleteRetentionPolicy: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:DeleteRetentionPolicy', groupArn(sandbox, name));
      delete groupOf(sandbox, name).retentionInDays;
      return {};
    },
    DescribeLogGroups: (input, { sandbox, caller }) => {
      sandbox.authorize('logs', caller, 'logs:DescribeLogGroups', `arn:aws:logs:${sandbox.region}:${sandbox.account}:log-group:*`);
      const prefix = String(input.logGroupNamePrefix ?? '');
      const logGroups = Object.values(logsState(sandbox).groups)
        .filter((g) => g.logGroupName.startsWith(prefix))
        .sort((a, b) => a.logGroupName.localeCompare(b.logGroupName))
        .map(({ tags: _tags, ...g }) => ({ ...g, storedBytes: 0 }));
      return { logGroups };
    },
    DescribeLogStreams: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:DescribeLogStreams', groupArn(sandbox, name));
      groupOf(sandbox, name);
      const logStreams = [...streamsOf(sandbox, name)].map(([logStreamName, list]) => ({
        logStreamName,
        creationTime: list[0]?.timestamp,
        firstEventTimestamp: list[0]?.timestamp,
        lastEventTimestamp: list.at(-1)?.timestamp,
        lastIngestionTime: list.at(-1)?.ingestionTime,
        arn: `${groupArn(sandbox, name)}:log-stream:${logStreamName}`,
      }));
      return { logStreams };
    },
    GetLogEvents: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      const stream = required(input, 'logStreamName');
      sandbox.authorize('logs', caller, 'logs:GetLogEvents', groupArn(sandbox, name));
      groupOf(sandbox, name);
      const list = streamsOf(sandbox, name).get(stream);
      if (!list) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.', 400);
      return { events: list, nextForwardToken: `f/${list.length}`, nextBackwardToken: 'b/0' };
    },
    FilterLogEvents: (input, { sandbox, caller }) => {
      const name = required(input, 'logGroupName');
      sandbox.authorize('logs', caller, 'logs:FilterLogEvents', groupArn(sandbox, name));
      groupOf(sandbox, name);
      // Filter patterns: plain terms only (every term must appear), a subset of CloudWatch's syntax.
      const terms = String(input.filterPattern ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((t) => t.replace(/^"|"$/g, ''));
      const out = [...streamsOf(sandbox, name)].flatMap(([logStreamName, list]) =>
        list.filter((e) => terms.every((t) => e.message.includes(t))).map((e) => ({ logStreamName, ...e, eventId: `${logStreamName}/${e.timestamp}` })),
      );
      return { events: out.sort((a, b) => a.timestamp - b.timestamp) };
    },
    TagResource: (input, { sandbox, caller }) => {
      const arn = required(input, 'resourceArn');
      sandbox.authorize('logs', caller, 'logs:TagResource', arn);
      const g = Object.values(logsState(sandbox).groups).find((x) => x.arn.replace(/:\*$/, '') === arn.replace(/:\*$/, ''));
      if (!g) throw notFound();
      Object.assign(g.tags, input.tags ?? {});
      return {};
    },
    ListTagsForResource: (input, { sandbox, caller }) => {
      const arn = required(input, 'resourceArn');
      sandbox.authorize('logs', caller, 'logs:ListTagsForResource', arn);
      const g = Object.values(logsState(sandbox).groups).find((x) => x.arn.replace(/:\*$/, '') === arn.replace(/:\*$/, ''));
      if (!g) throw notFound();
      return { tags: g.tags };
    },
  },
};
