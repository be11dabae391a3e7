/**
 * Event pattern matching, table-driven from the EventBridge user guide's examples (eb-event-patterns,
 * eb-create-pattern-operators, eb-event-patterns-arrays, eb-event-patterns-null-values).
 */
import { matchesPattern, validatePattern } from '../../local/sandbox/eventbridge-pattern';

/** The guide's example event, with the fields its operator examples filter on. */
const event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0', 'arn:aws:ec2:us-west-1:123456789012:instance/i-b188560f'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'c-count': 5,
    'd-count': 7,
    'x-limit': 301.8,
    FileName: 'photo.png',
    eventVersion: '',
    responseElements: null,
    location: { city: 'New York', zip: 10001 },
    tags: [
      { key: 'team', value: 'payments' },
      { key: 'env', value: 'prod' },
    ],
    'source-ip': '10.0.0.123',
  },
};

const cases: [name: string, pattern: object, expected: boolean][] = [
  ['an exact value', { source: ['aws.ec2'] }, true],
  ['an exact value that differs', { source: ['aws.s3'] }, false],
  ['alternatives in an array (OR)', { source: ['aws.s3', 'aws.ec2'] }, true],
  ['several fields (AND), one failing', { source: ['aws.ec2'], region: ['eu-west-1'] }, false],
  ['nested objects', { detail: { location: { city: ['New York'] } } }, true],
  ['a field the event lacks', { detail: { missing: ['x'] } }, false],
  ['a number', { detail: { 'c-count': [5] } }, true],
  ['null matches a null value', { detail: { responseElements: [null] } }, true],
  ['null does not match a missing field', { detail: { nothing: [null] } }, false],
  ['the empty string', { detail: { eventVersion: [''] } }, true],
  ['an array in the event: any element', { resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-b188560f', 'other'] }, true],
  ['an array in the event: no element', { resources: ['other'] }, false],
  ['an array of objects in the event', { detail: { tags: { key: ['env'], value: ['prod'] } } }, true],
  ['prefix', { time: [{ prefix: '2017-12-22' }] }, true],
  ['prefix that differs', { region: [{ prefix: 'eu-' }] }, false],
  ['prefix ignoring case', { 'detail-type': [{ prefix: { 'equals-ignore-case': 'ec2 instance' } }] }, true],
  ['suffix', { detail: { FileName: [{ suffix: '.png' }] } }, true],
  ['suffix that differs', { detail: { FileName: [{ suffix: '.jpg' }] } }, false],
  ['suffix ignoring case', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.PNG' } }] } }, true],
  ['equals-ignore-case', { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] }, true],
  ['anything-but a value', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
  ['anything-but the same value', { detail: { state: [{ 'anything-but': 'terminated' }] } }, false],
  ['anything-but a list', { detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } }, false],
  ['anything-but a number', { detail: { 'c-count': [{ 'anything-but': 100 }] } }, true],
  ['anything-but a prefix', { region: [{ 'anything-but': { prefix: 'us-' } }] }, false],
  ['anything-but a suffix', { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, true],
  ['anything-but ignoring case', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['TERMINATED'] } }] } }, false],
  ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  ['exists true', { detail: { state: [{ exists: true }] } }, true],
  ['exists true on a missing field', { detail: { missing: [{ exists: true }] } }, false],
  ['exists false on a missing field', { detail: { missing: [{ exists: false }] } }, true],
  ['exists false on a present field', { detail: { state: [{ exists: false }] } }, false],
  ['exists only looks at leaves', { detail: { location: [{ exists: true }] } }, false],
  ['numeric range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, true],
  ['numeric range missed', { detail: { 'd-count': [{ numeric: ['<', 7] }] } }, false],
  ['numeric equality', { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, true],
  ['numeric on a string', { detail: { state: [{ numeric: ['>', 0] }] } }, false],
  ['wildcard', { detail: { FileName: [{ wildcard: 'photo*.png' }] } }, true],
  ['$or: one branch matches', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } }, true],
  ['$or: no branch matches', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['>', 10] }] }] } }, false],
  [
    'the facts sheet CloudTrail pattern against an EC2 event',
    { source: ['aws.kinesisanalytics'], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventSource: ['kinesisanalytics.amazonaws.com'] } },
    false,
  ],
];

describe('matchesPattern: EventBridge matching rules', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    expect(validatePattern(pattern)).toBeUndefined();
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});

describe('validatePattern: InvalidEventPatternException reasons', () => {
  it.each<[string, unknown, string]>([
    ['a pattern that is not an object', ['aws.ec2'], 'Filter is not an object at $'],
    ['a leaf that is not an array', { source: 'aws.ec2' }, '"source" must be an object or an array at $.source'],
    ['an empty array', { source: [] }, 'Empty arrays are not allowed at $.source'],
    ['an unknown operator', { source: [{ regex: 'aws.*' }] }, 'Unrecognized match type regex at $.source'],
    ['exists that is not a boolean', { x: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false. at $.x'],
    ['a prefix that is not a string', { x: [{ prefix: 1 }] }, 'prefix match pattern must be a string at $.x'],
    ['a numeric bound that is not a number', { x: [{ numeric: ['>', '1'] }] }, 'Value of > must be numeric at $.x'],
    ['an unknown numeric operator', { x: [{ numeric: ['!=', 1] }] }, 'Unrecognized numeric range operator: != at $.x'],
    ['$or with one branch', { $or: [{ a: ['b'] }] }, 'Or relationship field must be an array of at least 2 objects at $.$or'],
    ['an object as a match value', { x: [{ a: 1, b: 2 }] }, 'Only one key allowed in match expression at $.x'],
  ])('refuses %s', (_name, pattern, reason) => {
    expect(validatePattern(pattern)).toBe(reason);
  });
});
