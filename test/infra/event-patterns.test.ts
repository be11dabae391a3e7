/**
 * The EventBridge rules against the sample events and near-misses in events/ (events/index.json says which
 * rule each must match), with the sandbox's pattern matcher.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { matchesPattern, validatePattern } from '../../local/sandbox/eventbridge-pattern';
import { validateInput } from '../../lambdas/lib/validate';
import {
  autoOnboardingInput,
  autoOnboardingPattern,
  keyGuardPattern,
  onboardingRequestPattern,
  REQUEST_DETAIL_TYPE,
  REQUEST_INPUT_PATH,
  REQUEST_SOURCE,
  type InputTransformer,
} from '../../infra/event-patterns';

const EVENTS = path.resolve(__dirname, '../../events');
interface IndexEntry {
  file: string;
  matches: { request: boolean; autoOnboarding: boolean };
  why: string;
}
/** A PutEvents entries file, and the sample event it sends, if any. */
interface EntriesFile {
  file: string;
  event?: string;
  why: string;
}
const index = JSON.parse(readFileSync(path.join(EVENTS, 'index.json'), 'utf8')) as {
  deployment: { partition: string; account: string; operatorRolePrefix: string };
  events: IndexEntry[];
  entries: EntriesFile[];
};
const load = (file: string) => JSON.parse(readFileSync(path.join(EVENTS, file), 'utf8'));

const patterns = { request: onboardingRequestPattern(), autoOnboarding: autoOnboardingPattern(index.deployment) };

/** A JSONPath of dotted names, as our transformers use (`$.detail.x`). */
const at = (event: unknown, jsonPath: string) =>
  jsonPath
    .split('.')
    .slice(1)
    .reduce<any>((v, k) => v?.[k], event);

/** EventBridge's input transformer for a JSON template: an unquoted placeholder becomes the JSON value. */
function transform(t: InputTransformer, event: unknown): unknown {
  const text = Object.entries(t.inputPathsMap).reduce((out, [name, p]) => out.split(`<${name}>`).join(JSON.stringify(at(event, p))), t.inputTemplate);
  return JSON.parse(text);
}

describe('EventBridge rules against events/', () => {
  it('indexes every sample event, and only existing ones', () => {
    // Prepare
    const onDisk = readdirSync(EVENTS, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json') && f !== 'index.json')
      .sort();
    // Act
    const indexed = [...index.events, ...index.entries].map((e) => e.file).sort();
    // Assess
    expect(indexed).toEqual(onDisk);
  });

  it.each(index.entries)('$file is a PutEvents entries array for the request bus: $why', ({ file, event }) => {
    // Prepare
    const entries = load(file);
    // Act
    const details = entries.map((e: any) => JSON.parse(e.Detail));
    // Assess
    expect(entries.map((e: any) => [e.EventBusName, e.Source, e.DetailType])).toEqual(
      entries.map(() => ['msf-cmk-onboarding-requests', REQUEST_SOURCE, REQUEST_DETAIL_TYPE]),
    );
    for (const d of details) expect(() => validateInput(d)).not.toThrow();
    if (event) expect(details).toEqual([load(event).detail]);
  });

  it('builds patterns EventBridge accepts', () => {
    expect(validatePattern(patterns.request)).toBeUndefined();
    expect(validatePattern(patterns.autoOnboarding)).toBeUndefined();
  });

  describe.each(index.events)('$file: $why', ({ file, matches }) => {
    it.each(['request', 'autoOnboarding'] as const)('matches the %s rule exactly when the index says so', (rule) => {
      // Prepare
      const event = load(file);
      // Act
      const matched = matchesPattern(patterns[rule], event);
      // Assess
      expect(matched).toBe(matches[rule]);
    });
  });

  it.each(index.events.filter((e) => e.matches.request).map((e) => e.file))(
    'passes the detail of request event %s on as an execution input the workflow accepts',
    (file) => {
      // Prepare
      const event = load(file);
      // Act
      const input = at(event, REQUEST_INPUT_PATH);
      // Assess
      expect(input).toEqual(event.detail);
      expect(() => validateInput(input)).not.toThrow();
    },
  );

  it.each(index.events.filter((e) => e.matches.autoOnboarding).map((e) => e.file))(
    "turns CloudTrail event %s into an execution input naming the created application, and nothing else (the rest is the deployment's)",
    (file) => {
      // Prepare
      const event = load(file);
      // Act
      const input = transform(autoOnboardingInput(), event);
      // Assess
      expect(input).toEqual({ applicationName: event.detail.requestParameters.applicationName });
      expect(validateInput(input)).toMatchObject(input as object);
    },
  );

  it('excludes the operators by role name prefix in any session, and nobody else, for the deployment in hand', () => {
    // Prepare
    const event = load('cloudtrail-create-application-by-user.json');
    const withCaller = (arn: string) => ({ ...event, detail: { ...event.detail, userIdentity: { ...event.detail.userIdentity, arn } } });
    const pattern = autoOnboardingPattern({ partition: 'aws-cn', account: '111122223333', operatorRolePrefix: 'ops-' });
    // Act
    const results = {
      ownOperator: matchesPattern(pattern, withCaller('arn:aws-cn:sts::111122223333:assumed-role/ops-orders/EnsureApplication.run-1')),
      otherRole: matchesPattern(pattern, withCaller('arn:aws-cn:sts::111122223333:assumed-role/operations/alice')),
      otherAccountsOperator: matchesPattern(pattern, withCaller('arn:aws-cn:sts::444455556666:assumed-role/ops-orders/x')),
    };
    // Assess
    expect(results).toEqual({ ownOperator: false, otherRole: true, otherAccountsOperator: true });
  });

  it("with a shared operator, excludes only the workflow's own sessions of that role: the pipeline's own creations are onboarded", () => {
    // Prepare
    const event = load('cloudtrail-create-application-by-user.json');
    const withCaller = (arn: string) => ({ ...event, detail: { ...event.detail, userIdentity: { ...event.detail.userIdentity, arn } } });
    const shared = 'arn:aws:iam::111122223333:role/pipelines/flink-deployer';
    const pattern = autoOnboardingPattern({ partition: 'aws', account: '111122223333', operatorRolePrefix: 'ops-', sharedOperatorRoleArn: shared });
    // Act
    const results = {
      workflowSession: matchesPattern(pattern, withCaller('arn:aws:sts::111122223333:assumed-role/flink-deployer/msf-cmk.run-1')),
      pipelineSession: matchesPattern(pattern, withCaller('arn:aws:sts::111122223333:assumed-role/flink-deployer/build-42')),
      otherRole: matchesPattern(pattern, withCaller('arn:aws:sts::111122223333:assumed-role/operations/alice')),
    };
    // Assess
    expect(results).toEqual({ workflowSession: false, pipelineSession: true, otherRole: true });
  });
});

describe('the key guard pattern', () => {
  const call = (eventName: string, extra: object = {}) => ({
    source: 'aws.kms',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: { eventSource: 'kms.amazonaws.com', eventName, ...extra },
  });
  it.each([
    ['a failed DisableKey (nothing happened to the key)', call('DisableKey', { errorCode: 'AccessDeniedException' }), false],
    ['EnableKey (it helps)', call('EnableKey'), false],
    ['a read (DescribeKey)', call('DescribeKey'), false],
    ['a DisableKey from another source', { ...call('DisableKey'), source: 'msf-cmk.onboarding' }, false],
    ['DisableKey', call('DisableKey'), true],
    ['ScheduleKeyDeletion', call('ScheduleKeyDeletion'), true],
    ['PutKeyPolicy', call('PutKeyPolicy'), true],
    ['DeleteAlias', call('DeleteAlias'), true],
    ['UntagResource (the first act before a guarded deletion)', call('UntagResource'), true],
    ['TagResource', call('TagResource'), false],
    ["KMS's own KMS CMK Deletion", { source: 'aws.kms', 'detail-type': 'KMS CMK Deletion', detail: { 'key-id': 'k' } }, true],
  ])('%s → matches: %s', (_what, event, matches) => {
    expect(validatePattern(keyGuardPattern())).toBeUndefined();
    expect(matchesPattern(keyGuardPattern(), event)).toBe(matches);
  });
});
