/**
 * EventBridge (`AWSEvents.*`, JSON 1.1): the default event bus and custom buses with their resource
 * policies (PutPermission, RemovePermission), rules with event patterns on any bus, targets, PutEvents
 * authorized against the bus's policy by the sandbox's evaluator, and `emitEvent` for events AWS services
 * send themselves to the default bus (CloudTrail "AWS API Call via CloudTrail", facts §8). A matching
 * event is delivered to each target of each enabled rule of its bus before the call returns (AWS
 * delivers asynchronously, best effort): the sandbox delivers to Step Functions state
 * machines, as StartExecution called with the target's role (which EventBridge assumes as
 * events.amazonaws.com, so its trust and permissions are enforced as in AWS). Failed deliveries are
 * kept in `state.events.failedInvocations`, where AWS would send them to the dead-letter queue.
 * Schedule expressions are stored but never fire.
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { validatePolicy } from '../authz';
import { matchesPattern, validatePattern } from '../eventbridge-pattern';
import { epochSeconds } from '../protocols/json';
import { assumeRoleAsService } from './sts';
import { sendAsService } from './sqs';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { EventBus, EventRule, EventTarget, PolicyDocument, SandboxState } from '../state';

/** An event as rules see it and targets receive it. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

const DEFAULT_BUS = 'default';
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
/** Event bus names (CreateEventBus): also `/`, up to 256 characters. */
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;
const STATEMENT_ID = /^[a-zA-Z0-9-_]{1,64}$/;
/** "The permission policy on the event bus cannot exceed 10 KB in size" (PutPermission reference). */
const MAX_POLICY_BYTES = 10 * 1024;
const STATES = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];
const MAX_TARGETS_PER_RULE = 5;
const KEPT_FAILURES = 100;

const validation = (message: string) => new AwsError('ValidationException', message, 400);
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** EventBridge event times have no milliseconds. */
const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function eventsState(sandbox: Sandbox): NonNullable<SandboxState['events']> & { buses: Record<string, EventBus> } {
  const events = (sandbox.state.events ??= { rules: {}, failedInvocations: [] });
  events.buses ??= {};
  return events as NonNullable<SandboxState['events']> & { buses: Record<string, EventBus> };
}

function checkName(value: unknown, member: string): string {
  if (value === undefined || value === null)
    throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  const text = String(value);
  if (!NAME.test(text))
    throw validation(
      `1 validation error detected: Value '${text}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
    );
  return text;
}

const busArn = (sandbox: Sandbox, name = DEFAULT_BUS) => `arn:aws:events:${sandbox.region}:${sandbox.account}:event-bus/${name}`;
/** Rules on a custom bus carry the bus in their ARN: `rule/<bus>/<name>`. */
const ruleArn = (sandbox: Sandbox, name: string, bus = DEFAULT_BUS) =>
  `arn:aws:events:${sandbox.region}:${sandbox.account}:rule/${bus === DEFAULT_BUS ? '' : `${bus}/`}${name}`;

/** The bus a request names (by name or ARN, the default when omitted), whether or not it exists. */
function busRef(sandbox: Sandbox, ref: unknown): string {
  if (ref === undefined || ref === null || ref === '') return DEFAULT_BUS;
  const text = String(ref);
  const arn = /^arn:aws[\w-]*:events:([^:]*):(\d{12}):event-bus\/(.+)$/.exec(text);
  if (!arn) return text;
  // A bus of another account or Region is never here.
  return arn[1] === sandbox.region && arn[2] === sandbox.account ? arn[3] : text;
}

/** The bus, or undefined; the default bus always exists (stored once it has a policy). */
function findBus(sandbox: Sandbox, name: string): EventBus | undefined {
  const buses = eventsState(sandbox).buses;
  if (Object.hasOwn(buses, name)) return buses[name];
  return name === DEFAULT_BUS ? { Name: DEFAULT_BUS, Arn: busArn(sandbox) } : undefined;
}

function busOf(sandbox: Sandbox, ref: unknown): EventBus {
  const name = busRef(sandbox, ref);
  const bus = findBus(sandbox, name);
  if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`, 400);
  return bus;
}

/** Only existing buses may hold rules; their name is the rules' key. */
const busName = (sandbox: Sandbox, ref: unknown): string => busOf(sandbox, ref).Name;

function ruleOf(sandbox: Sandbox, input: any, member = 'Name'): EventRule {
  const bus = busName(sandbox, input.EventBusName);
  const name = checkName(input[member], member === 'Name' ? 'name' : 'rule');
  const rule = eventsState(sandbox).rules[`${bus}/${name}`];
  if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`, 400);
  return rule;
}

function parsePattern(text: string): object {
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch (e) {
    throw new AwsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${(e as Error).message}`, 400);
  }
  const problem = validatePattern(pattern);
  if (problem) throw new AwsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${problem}`, 400);
  return pattern as object;
}

function passRole(sandbox: Sandbox, caller: Principal, roleArn: string | undefined): void {
  if (roleArn) sandbox.authorize('events', caller, 'iam:PassRole', roleArn, { context: { 'iam:PassedToService': 'events.amazonaws.com' } });
}

// ---------------------------------------------------------------------------------------------
// Input transformation (Input, InputPath, InputTransformer)

/** A JSONPath of the simple form EventBridge accepts: `$`, `$.a.b`, `$.a[0].b`. */
function atPath(value: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  const steps = path.slice(1).match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  return steps.reduce<unknown>((v, step) => {
    if (v === undefined || v === null) return undefined;
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    return (v as any)[key];
  }, value);
}

/**
 * InputTemplate with `<name>` placeholders: inside a JSON string a value is inserted as text, outside
 * as JSON (EventBridge user guide, eb-transform-target-input). Reserved names give the rule and event.
 */
function renderTemplate(t: NonNullable<EventTarget['InputTransformer']>, rule: EventRule, event: EventBridgeEvent, ingestedAt: number): string {
  const values: Record<string, unknown> = {
    'aws.events.rule-arn': rule.Arn,
    'aws.events.rule-name': rule.Name,
    'aws.events.event.ingestion-time': eventTime(ingestedAt),
    'aws.events.event': event,
    'aws.events.event.json': event,
  };
  for (const [name, path] of Object.entries(t.InputPathsMap ?? {})) values[name] = atPath(event, path);
  let out = '';
  let last = 0;
  let inString = false;
  for (const m of t.InputTemplate.matchAll(/<([A-Za-z0-9_.-]+)>/g)) {
    const before = t.InputTemplate.slice(last, m.index);
    // Unescaped quotes before the placeholder tell whether it sits inside a JSON string.
    for (let i = 0; i < before.length; i++) if (before[i] === '"' && before[i - 1] !== '\\') inString = !inString;
    out += before;
    last = m.index! + m[0].length;
    if (!(m[1] in values)) {
      out += m[0];
      continue;
    }
    const v = values[m[1]];
    out += inString ? JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v ?? null)).slice(1, -1) : JSON.stringify(v ?? null);
  }
  return out + t.InputTemplate.slice(last);
}

function targetInput(target: EventTarget, rule: EventRule, event: EventBridgeEvent, ingestedAt: number): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) return JSON.stringify(atPath(event, target.InputPath) ?? null);
  if (target.InputTransformer) return renderTemplate(target.InputTransformer, rule, event, ingestedAt);
  return JSON.stringify(event);
}

// ---------------------------------------------------------------------------------------------
// Delivery

const retriable = (e: unknown) => e instanceof AwsError && (e.status >= 500 || /Throttl/.test(e.code));

/** Starts the target state machine as the target's role; retries what AWS would retry. */
function invokeTarget(sandbox: Sandbox, rule: EventRule, target: EventTarget, event: EventBridgeEvent, ingestedAt: number): void {
  const fail = (code: string, message: string) => {
    const failures = eventsState(sandbox).failedInvocations;
    failures.push({
      Time: sandbox.clock.now(),
      EventId: event.id,
      RuleArn: rule.Arn,
      TargetId: target.Id,
      TargetArn: target.Arn,
      ErrorCode: code,
      ErrorMessage: message,
      DeadLetterArn: target.DeadLetterConfig?.Arn,
    });
    failures.splice(0, Math.max(0, failures.length - KEPT_FAILURES));
    // The event goes to the target's dead-letter queue, if its policy lets EventBridge send for this rule.
    if (target.DeadLetterConfig?.Arn) {
      try {
        sendAsService(sandbox, 'events.amazonaws.com', target.DeadLetterConfig.Arn, JSON.stringify(event), rule.Arn);
      } catch (e) {
        failures.at(-1)!.DeadLetterError = `${(e as AwsError).code ?? 'Error'}: ${(e as Error).message}`;
      }
    }
  };
  const states = sandbox.services.get('states');
  if (!states || !/^arn:aws:states:[^:]+:\d{12}:stateMachine:/.test(target.Arn)) {
    fail('NotSupported', `The sandbox delivers only to Step Functions state machines (target ${target.Arn}).`);
    return;
  }
  const attempts = 1 + Math.min(target.RetryPolicy?.MaximumRetryAttempts ?? 185, 185);
  for (let attempt = 1; ; attempt++) {
    try {
      const s = assumeRoleAsService(sandbox, 'events.amazonaws.com', target.RoleArn!, randomUUID().replace(/-/g, ''), rule.Arn);
      const caller = sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      sandbox.faults.check('states', 'StartExecution', caller.arn);
      const ctx = { sandbox, caller, requestId: sandbox.requestId(), service: 'states', operation: 'StartExecution' };
      void states.operations.StartExecution({ stateMachineArn: target.Arn, input: targetInput(target, rule, event, ingestedAt) }, ctx);
      return;
    } catch (e) {
      if (retriable(e) && attempt < attempts) continue;
      fail(e instanceof AwsError ? e.code : 'InternalFailure', (e as Error).message);
      return;
    }
  }
}

/** Read-only API calls reach only rules that opted into all CloudTrail management events (facts §8). */
function reaches(rule: EventRule, event: EventBridgeEvent): boolean {
  if (rule.State === 'DISABLED' || !rule.EventPattern) return false;
  const readOnly = event['detail-type'] === 'AWS API Call via CloudTrail' && event.detail.readOnly === true;
  if (readOnly && rule.State !== 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') return false;
  return matchesPattern(JSON.parse(rule.EventPattern), event);
}

function deliver(sandbox: Sandbox, event: EventBridgeEvent, bus = DEFAULT_BUS): void {
  const ingestedAt = sandbox.clock.now();
  for (const rule of Object.values(eventsState(sandbox).rules)) {
    if (rule.EventBusName !== bus || !reaches(rule, event)) continue;
    for (const target of rule.Targets) invokeTarget(sandbox, rule, target, event, ingestedAt);
  }
}

/**
 * An event an AWS service sends to the default bus: fills in id, time, account and region, matches it
 * against every enabled rule and delivers it. Returns the event as delivered.
 */
export function emitEvent(
  sandbox: Sandbox,
  event: Pick<EventBridgeEvent, 'source' | 'detail-type' | 'detail'> & Partial<EventBridgeEvent>,
  bus = DEFAULT_BUS,
): EventBridgeEvent {
  const full: EventBridgeEvent = {
    version: '0',
    id: randomUUID(),
    account: sandbox.account,
    time: eventTime(sandbox.clock.now()),
    region: sandbox.region,
    resources: [],
    ...event,
  };
  deliver(sandbox, full, bus);
  return full;
}

export const camelCase = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(camelCase)
    : isObject(v)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k[0].toLowerCase() + k.slice(1), camelCase(x)]))
      : v;

/**
 * The CloudTrail-shaped event of a successful API call (facts §8 [CT][EB-CT]): detail-type "AWS API Call
 * via CloudTrail", the caller in userIdentity, the request's parameters in camelCase.
 */
export function apiCallEvent(sandbox: Sandbox, caller: Principal, service: string, operation: string, request: unknown) {
  const role = caller.kind === 'assumed-role';
  return {
    source: `aws.${service}`,
    'detail-type': 'AWS API Call via CloudTrail',
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: role ? 'AssumedRole' : 'Root',
        principalId: caller.userId,
        arn: caller.arn,
        accountId: caller.account,
        ...(role && {
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId: caller.userId.split(':')[0],
              arn: caller.roleArn,
              accountId: caller.account,
              userName: caller.roleName,
            },
          },
        }),
      },
      eventTime: eventTime(sandbox.clock.now()),
      eventSource: `${service}.amazonaws.com`,
      eventName: operation,
      awsRegion: sandbox.region,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'aws-sdk-js',
      requestParameters: camelCase(request),
      responseElements: null,
      requestID: randomUUID(),
      eventID: randomUUID(),
      readOnly: /^(Describe|List|Get)/.test(operation),
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: sandbox.account,
    },
  };
}

/** One line for a service operation to announce itself: `emitApiCallEvent(sandbox, caller, 'kinesisanalytics', 'CreateApplication', input)`. */
export function emitApiCallEvent(sandbox: Sandbox, caller: Principal, service: string, operation: string, request: unknown): EventBridgeEvent {
  return emitEvent(sandbox, apiCallEvent(sandbox, caller, service, operation, request));
}

// ---------------------------------------------------------------------------------------------
// Operations

function ruleView(r: EventRule) {
  return {
    Name: r.Name,
    Arn: r.Arn,
    EventPattern: r.EventPattern,
    ScheduleExpression: r.ScheduleExpression,
    State: r.State,
    Description: r.Description,
    RoleArn: r.RoleArn,
    EventBusName: r.EventBusName,
    CreatedBy: r.CreatedBy,
  };
}

function busView(b: EventBus) {
  return {
    Name: b.Name,
    Arn: b.Arn,
    Description: b.Description,
    Policy: b.Policy,
    CreationTime: epochSeconds(b.CreationTime),
    LastModifiedTime: epochSeconds(b.LastModifiedTime),
  };
}

/** Writes a bus's changed fields back (the default bus is stored from its first policy on). */
function storeBus(sandbox: Sandbox, bus: EventBus, change: Partial<EventBus>): void {
  const updated = { ...bus, ...change, LastModifiedTime: sandbox.clock.now() };
  if (updated.Policy === undefined) delete updated.Policy;
  eventsState(sandbox).buses[bus.Name] = updated;
}

/** PutPermission's `Policy`: JSON, a valid resource policy (every statement names a principal). */
function parseBusPolicy(text: string): PolicyDocument {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw validation('Policy is not valid JSON.');
  }
  const problems = validatePolicy(policy, 'resource');
  const statements = (policy as any)?.Statement;
  if (!problems.length && [statements].flat().some((st: any) => st?.Principal === undefined && st?.NotPrincipal === undefined))
    problems.push('every statement of a resource policy must name a Principal');
  if (problems.length) throw validation(`Policy is not valid: ${problems.join('; ')}`);
  return policy as PolicyDocument;
}

/**
 * PutPermission without `Policy`: one statement letting an account (or everyone, `*`, with an optional
 * condition such as `aws:PrincipalOrgID`) put events, replacing a statement of the same id.
 */
function permissionStatement(bus: EventBus, input: any) {
  // The missing-parameter and Condition wordings are ours; the unsupported-action one is moto's and LocalStack's.
  if (input.Action === undefined || input.Principal === undefined || input.StatementId === undefined) {
    throw validation('Parameters Action, Principal and StatementId are required when Policy is not given.');
  }
  if (input.Action !== 'events:PutEvents') throw validation("Provided value in parameter 'action' is not supported.");
  const principal = String(input.Principal);
  if (principal !== '*' && !/^\d{12}$/.test(principal))
    throw validation(
      `1 validation error detected: Value '${principal}' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\d{12}|\\*)`,
    );
  const sid = String(input.StatementId);
  if (!STATEMENT_ID.test(sid))
    throw validation(
      `1 validation error detected: Value '${sid}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+`,
    );
  const c = input.Condition;
  if (c !== undefined && principal !== '*') throw validation('Condition can only be set when Principal is "*".');
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: principal === '*' ? '*' : { AWS: `arn:aws:iam::${principal}:root` },
    Action: 'events:PutEvents',
    Resource: bus.Arn,
    ...(c !== undefined && { Condition: { [String(c.Type ?? 'StringEquals')]: { [String(c.Key)]: String(c.Value) } } }),
  };
}

function page<T>(items: T[], input: any): { items: T[]; NextToken?: string } {
  const limit = input.Limit ? Number(input.Limit) : 100;
  const start = input.NextToken ? Number(Buffer.from(String(input.NextToken), 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw validation('The NextToken is not valid.');
  const end = start + limit;
  return { items: items.slice(start, end), NextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}

function validateTarget(t: any): EventTarget {
  const Id = checkName(t?.Id, 'targets.member.id');
  if (!t.Arn) throw validation(`1 validation error detected: Value null at 'targets.member.arn' failed to satisfy constraint: Member must not be null`);
  const inputs = ['Input', 'InputPath', 'InputTransformer'].filter((k) => t[k] !== undefined);
  if (inputs.length > 1) throw validation(`Only one of Input, InputPath, or InputTransformer must be provided for target ${Id}.`);
  if (t.Input !== undefined) {
    try {
      JSON.parse(t.Input);
    } catch {
      throw validation(`Input for target ${Id} must be valid JSON text.`);
    }
  }
  if (t.InputTransformer && typeof t.InputTransformer.InputTemplate !== 'string') {
    throw validation(
      `1 validation error detected: Value null at 'targets.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (/^arn:aws:states:/.test(t.Arn) && !t.RoleArn) throw validation(`RoleArn is required for target ${t.Arn}.`);
  const pick = ['RoleArn', 'Input', 'InputPath', 'InputTransformer', 'RetryPolicy', 'DeadLetterConfig'] as const;
  return Object.fromEntries([['Id', Id], ['Arn', String(t.Arn)], ...pick.filter((k) => t[k] !== undefined).map((k) => [k, t[k]])]) as EventTarget;
}

export const eventBridgeService: Service = {
  name: 'events',
  protocol: 'json',
  targetPrefix: 'AWSEvents',
  readOnly: new Set(['DescribeRule', 'ListRules', 'ListTargetsByRule', 'TestEventPattern', 'DescribeEventBus', 'ListEventBuses']),
  operations: {
    CreateEventBus: (input, { sandbox, caller }) => {
      if (input.Name === undefined || input.Name === null)
        throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const name = String(input.Name);
      if (!BUS_NAME.test(name))
        throw validation(
          `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`,
        );
      const arn = busArn(sandbox, name);
      sandbox.authorize('events', caller, 'events:CreateEventBus', arn);
      if (findBus(sandbox, name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`, 400);
      // Partner event buses (aws.partner/…) need a partner event source, which the sandbox has none of
      // (the refusal's wording is ours).
      if (name.startsWith('aws.')) throw validation('Event source aws.partner/* is not valid: partner event sources are not emulated.');
      const now = sandbox.clock.now();
      eventsState(sandbox).buses[name] = { Name: name, Arn: arn, Description: input.Description, CreationTime: now, LastModifiedTime: now };
      return { EventBusArn: arn, ...(input.Description !== undefined && { Description: input.Description }) };
    },

    DescribeEventBus: (input, { sandbox, caller }) => {
      const name = busRef(sandbox, input.Name);
      sandbox.authorize('events', caller, 'events:DescribeEventBus', busArn(sandbox, name));
      return busView(busOf(sandbox, name));
    },

    ListEventBuses: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:ListEventBuses', '*');
      const buses = [findBus(sandbox, DEFAULT_BUS)!, ...Object.values(eventsState(sandbox).buses).filter((b) => b.Name !== DEFAULT_BUS)]
        .filter((b) => !input.NamePrefix || b.Name.startsWith(String(input.NamePrefix)))
        .sort((a, b) => a.Name.localeCompare(b.Name));
      const { items, NextToken } = page(buses, input);
      return { EventBuses: items.map(busView), NextToken };
    },

    DeleteEventBus: (input, { sandbox, caller }) => {
      if (input.Name === undefined || input.Name === null)
        throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const name = busRef(sandbox, input.Name);
      sandbox.authorize('events', caller, 'events:DeleteEventBus', busArn(sandbox, name));
      if (name === DEFAULT_BUS) throw validation('Cannot delete event bus default.');
      // Deleting a bus that does not exist succeeds (moto, LocalStack); its rules go with it (LocalStack's
      // choice; unconfirmed for AWS, which may refuse a bus that has rules).
      const state = eventsState(sandbox);
      delete state.buses[name];
      for (const [key, rule] of Object.entries(state.rules)) if (rule.EventBusName === name) delete state.rules[key];
      return {};
    },

    PutPermission: (input, { sandbox, caller }) => {
      const bus = busOf(sandbox, input.EventBusName);
      sandbox.authorize('events', caller, 'events:PutPermission', bus.Arn);
      let policy: PolicyDocument;
      if (input.Policy !== undefined) {
        // A whole policy replaces the bus's policy (the invalid-policy wordings are ours).
        policy = parseBusPolicy(String(input.Policy));
      } else {
        const current: { Statement: any[] } = bus.Policy ? JSON.parse(bus.Policy) : { Version: '2012-10-17', Statement: [] };
        const statement = permissionStatement(bus, input);
        policy = { ...current, Statement: [...current.Statement.filter((s) => s.Sid !== statement.Sid), statement] } as PolicyDocument;
      }
      const text = JSON.stringify(policy);
      if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new AwsError('PolicyLengthExceededException', 'The event bus policy is too long.', 400);
      storeBus(sandbox, bus, { Policy: text });
      return {};
    },

    RemovePermission: (input, { sandbox, caller }) => {
      const bus = busOf(sandbox, input.EventBusName);
      sandbox.authorize('events', caller, 'events:RemovePermission', bus.Arn);
      if (input.RemoveAllPermissions === true) {
        storeBus(sandbox, bus, { Policy: undefined });
        return {};
      }
      if (input.StatementId === undefined) throw validation('Parameter StatementId is required when RemoveAllPermissions is not true.');
      if (!bus.Policy) throw new AwsError('ResourceNotFoundException', 'EventBus does not have a policy.', 400);
      const policy = JSON.parse(bus.Policy);
      const rest = policy.Statement.filter((s: any) => s.Sid !== String(input.StatementId));
      if (rest.length === policy.Statement.length) throw new AwsError('ResourceNotFoundException', 'Statement with the provided id does not exist.', 400);
      storeBus(sandbox, bus, { Policy: rest.length ? JSON.stringify({ ...policy, Statement: rest }) : undefined });
      return {};
    },

    PutRule: (input, { sandbox, caller }) => {
      const name = checkName(input.Name, 'name');
      const bus = busName(sandbox, input.EventBusName);
      const arn = ruleArn(sandbox, name, bus);
      sandbox.authorize('events', caller, 'events:PutRule', arn);
      if (input.EventPattern === undefined && input.ScheduleExpression === undefined) {
        throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      }
      if (input.EventPattern !== undefined) parsePattern(String(input.EventPattern));
      const state = input.State ?? 'ENABLED';
      if (!STATES.includes(state))
        throw validation(
          `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${STATES.join(', ')}]`,
        );
      passRole(sandbox, caller, input.RoleArn);
      const rules = eventsState(sandbox).rules;
      const key = `${bus}/${name}`;
      rules[key] = {
        Name: name,
        Arn: arn,
        EventBusName: bus,
        EventPattern: input.EventPattern,
        ScheduleExpression: input.ScheduleExpression,
        State: state,
        Description: input.Description,
        RoleArn: input.RoleArn,
        CreatedBy: sandbox.account,
        Targets: rules[key]?.Targets ?? [],
      };
      return { RuleArn: arn };
    },

    DescribeRule: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:DescribeRule', ruleArn(sandbox, checkName(input.Name, 'name'), busRef(sandbox, input.EventBusName)));
      return ruleView(ruleOf(sandbox, input));
    },

    ListRules: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:ListRules', '*');
      const bus = busName(sandbox, input.EventBusName);
      const rules = Object.values(eventsState(sandbox).rules)
        .filter((r) => r.EventBusName === bus && (!input.NamePrefix || r.Name.startsWith(input.NamePrefix)))
        .sort((a, b) => a.Name.localeCompare(b.Name));
      const { items, NextToken } = page(rules, input);
      return { Rules: items.map(ruleView), NextToken };
    },

    DeleteRule: (input, { sandbox, caller }) => {
      const name = checkName(input.Name, 'name');
      sandbox.authorize('events', caller, 'events:DeleteRule', ruleArn(sandbox, name, busRef(sandbox, input.EventBusName)));
      const key = `${busName(sandbox, input.EventBusName)}/${name}`;
      const rule = eventsState(sandbox).rules[key];
      // Deleting a rule that does not exist succeeds.
      if (rule?.Targets.length) throw validation("Rule can't be deleted since it has targets.");
      delete eventsState(sandbox).rules[key];
      return {};
    },

    EnableRule: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:EnableRule', ruleArn(sandbox, checkName(input.Name, 'name'), busRef(sandbox, input.EventBusName)));
      ruleOf(sandbox, input).State = 'ENABLED';
      return {};
    },

    DisableRule: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:DisableRule', ruleArn(sandbox, checkName(input.Name, 'name'), busRef(sandbox, input.EventBusName)));
      ruleOf(sandbox, input).State = 'DISABLED';
      return {};
    },

    PutTargets: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:PutTargets', ruleArn(sandbox, checkName(input.Rule, 'rule'), busRef(sandbox, input.EventBusName)));
      const rule = ruleOf(sandbox, input, 'Rule');
      if (!Array.isArray(input.Targets) || !input.Targets.length) {
        throw validation(
          "1 validation error detected: Value '[]' at 'targets' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      const targets = input.Targets.map(validateTarget);
      for (const t of targets) passRole(sandbox, caller, t.RoleArn);
      const merged = [...rule.Targets.filter((t) => !targets.some((n: EventTarget) => n.Id === t.Id)), ...targets];
      if (merged.length > MAX_TARGETS_PER_RULE) throw new AwsError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.', 400);
      rule.Targets = merged;
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    ListTargetsByRule: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:ListTargetsByRule', ruleArn(sandbox, checkName(input.Rule, 'rule'), busRef(sandbox, input.EventBusName)));
      const { items, NextToken } = page(ruleOf(sandbox, input, 'Rule').Targets, input);
      return { Targets: items, NextToken };
    },

    RemoveTargets: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:RemoveTargets', ruleArn(sandbox, checkName(input.Rule, 'rule'), busRef(sandbox, input.EventBusName)));
      const rule = ruleOf(sandbox, input, 'Rule');
      const ids = new Set<string>(input.Ids ?? []);
      rule.Targets = rule.Targets.filter((t) => !ids.has(t.Id));
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    TestEventPattern: (input, { sandbox, caller }) => {
      sandbox.authorize('events', caller, 'events:TestEventPattern', '*');
      const pattern = parsePattern(String(input.EventPattern));
      let event: unknown;
      try {
        event = JSON.parse(String(input.Event));
      } catch {
        throw validation('Parameter Event is not valid.');
      }
      return { Result: matchesPattern(pattern, event as object) };
    },

    PutEvents: (input, { sandbox, caller }) => {
      const entries: any[] = input.Entries ?? [];
      if (entries.length < 1 || entries.length > 10) {
        throw validation(
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${entries.length ? 'less than or equal to 10' : 'greater than or equal to 1'}`,
        );
      }
      // PutEvents is authorized on each entry's bus, against the bus's resource policy (same account:
      // the caller's IAM policy or the bus policy; another account: both), with the entry's source and
      // detail-type as condition keys. One refusal refuses the call.
      for (const e of entries) {
        const name = busRef(sandbox, e.EventBusName);
        const bus = findBus(sandbox, name);
        sandbox.authorize(
          'events',
          caller,
          'events:PutEvents',
          bus?.Arn ?? (String(e.EventBusName ?? '').startsWith('arn:') ? String(e.EventBusName) : busArn(sandbox, name)),
          {
            context: { ...(e.Source && { 'events:source': String(e.Source) }), ...(e.DetailType && { 'events:detail-type': String(e.DetailType) }) },
            resourcePolicy: bus?.Policy ? (JSON.parse(bus.Policy) as PolicyDocument) : undefined,
          },
        );
      }
      const results = entries.map((e) => {
        const failed = (ErrorCode: string, ErrorMessage: string) => ({ ErrorCode, ErrorMessage });
        // AWS accepts an entry for a bus that does not exist and drops it: FailedEntryCount 0 and an
        // EventId (aws/aws-cli#9186, aws/aws-sdk#186). Its bus name here matches no rule.
        const bus = busRef(sandbox, e.EventBusName);
        for (const member of ['Source', 'DetailType', 'Detail']) {
          if (!e[member]) return failed('InvalidArgument', `Parameter ${member} is not valid. Reason: ${member} is a required argument.`);
        }
        // Only AWS services send events with an aws.* source.
        if (String(e.Source).startsWith('aws.')) return failed('NotAuthorizedForSourceException', 'Not authorized for the source.');
        let detail: unknown;
        try {
          detail = JSON.parse(String(e.Detail));
        } catch {
          return failed('MalformedDetail', 'Detail is malformed.');
        }
        if (!isObject(detail)) return failed('MalformedDetail', 'Detail is malformed.');
        const event = emitEvent(
          sandbox,
          {
            source: String(e.Source),
            'detail-type': String(e.DetailType),
            detail,
            resources: e.Resources ?? [],
            ...(e.Time !== undefined && { time: eventTime(Number(e.Time) * 1000) }),
          },
          bus,
        );
        return { EventId: event.id };
      });
      return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
    },
  },
};
