/**
 * A corpus of bad inputs: every one ends the execution at ValidateInput with InvalidInput and a Cause
 * naming the field — and the sandbox sees no call at all: ValidateInput reads the deployment from its
 * environment and the account from the execution ARN.
 */
import { world, type World } from './harness';

const A = '000000000000';
const ROLE = `arn:aws:iam::${A}:role/exec`;
const app = (extra: object) => ({ applicationName: 'orders', ...extra });
const long = (n: number) => 'a'.repeat(n);
const manyTags = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));

const CORPUS: [string, unknown, string][] = [
  ['no applicationName', {}, 'applicationName'],
  ['an empty applicationName', { applicationName: '' }, 'applicationName'],
  ['a blank applicationName', { applicationName: ' ' }, 'applicationName'],
  ['a space in applicationName', { applicationName: 'my app' }, 'applicationName'],
  ['a slash in applicationName', { applicationName: 'a/b' }, 'applicationName'],
  ['applicationName over 128 characters', { applicationName: long(129) }, 'applicationName'],
  ['applicationName as a number', { applicationName: 42 }, 'applicationName'],
  ['applicationName null', { applicationName: null }, 'applicationName'],
  ['applicationName true', { applicationName: true }, 'applicationName'],
  ['applicationName as an array', { applicationName: ['orders'] }, 'applicationName'],
  ['applicationName as an object', { applicationName: { name: 'orders' } }, 'applicationName'],
  ['a shell injection in applicationName', { applicationName: 'orders;rm -rf /' }, 'applicationName'],
  ['a SQL injection in applicationName', { applicationName: "orders' OR 1=1--" }, 'applicationName'],
  ['markup in applicationName', { applicationName: '<script>alert(1)</script>' }, 'applicationName'],
  ['a path traversal in applicationName', { applicationName: '../../etc/passwd' }, 'applicationName'],
  ['a JNDI lookup in applicationName', { applicationName: '${jndi:ldap://x/a}' }, 'applicationName'],
  ['non-ASCII letters in applicationName', { applicationName: 'örders' }, 'applicationName'],
  ['a newline in applicationName', { applicationName: 'orders\nx' }, 'applicationName'],
  ['createApplication as a string', app({ createApplication: 'yes' }), 'createApplication'],
  ['createApplication as an array', app({ createApplication: [] }), 'createApplication'],
  ['createApplication without its execution role', app({ createApplication: {} }), 'createApplication.serviceExecutionRoleArn'],
  ['an execution role that is not an ARN', app({ createApplication: { serviceExecutionRoleArn: 'exec' } }), 'createApplication.serviceExecutionRoleArn'],
  [
    'an execution role that is a user',
    app({ createApplication: { serviceExecutionRoleArn: `arn:aws:iam::${A}:user/bob` } }),
    'createApplication.serviceExecutionRoleArn',
  ],
  [
    'an execution role in another account',
    app({ createApplication: { serviceExecutionRoleArn: 'arn:aws:iam::111122223333:role/exec' } }),
    'createApplication.serviceExecutionRoleArn',
  ],
  [
    'an execution role ARN over 2048 characters',
    app({ createApplication: { serviceExecutionRoleArn: `${ROLE}${long(2048)}` } }),
    'createApplication.serviceExecutionRoleArn',
  ],
  [
    'FLINK-1_18 for a new application',
    app({ createApplication: { serviceExecutionRoleArn: ROLE, runtimeEnvironment: 'FLINK-1_18' } }),
    'createApplication.runtimeEnvironment',
  ],
  [
    'a runtime with a trailing space',
    app({ createApplication: { serviceExecutionRoleArn: ROLE, runtimeEnvironment: 'FLINK-1_20 ' } }),
    'createApplication.runtimeEnvironment',
  ],
  ['a runtime as a number', app({ createApplication: { serviceExecutionRoleArn: ROLE, runtimeEnvironment: 120 } }), 'createApplication.runtimeEnvironment'],
  ['an unknown field in createApplication', app({ createApplication: { serviceExecutionRoleArn: ROLE, code: 's3://x' } }), 'createApplication.code'],
  [
    'a description over 1024 characters',
    app({ createApplication: { serviceExecutionRoleArn: ROLE, applicationDescription: long(1025) } }),
    'createApplication.applicationDescription',
  ],
  ['an empty keyId', app({ keyId: '' }), 'keyId'],
  ['a keyId that is not a key', app({ keyId: 'my-key' }), 'keyId'],
  ['a keyId that is an S3 ARN', app({ keyId: 'arn:aws:s3:::bucket' }), 'keyId'],
  ['a keyId in another region', app({ keyId: `arn:aws:kms:eu-west-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab` }), 'keyId'],
  ['a keyId in another account', app({ keyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }), 'keyId'],
  ['an alias with a space', app({ keyId: 'alias/my key' }), 'keyId'],
  ['a keyId over 2048 characters', app({ keyId: `alias/${long(2048)}` }), 'keyId'],
  ['a keyId as a number', app({ keyId: 1234 }), 'keyId'],
  ['an account-wide setting (aliasPrefix belongs to the deployment)', app({ aliasPrefix: 'msf-cmk/' }), 'aliasPrefix'],
  ['an account-wide setting (rolePath belongs to the deployment)', app({ rolePath: '/msf-cmk/' }), 'rolePath'],
  ['an account-wide setting (operatorRoleName)', app({ operatorRoleName: 'Op' }), 'operatorRoleName'],
  ['an account-wide setting (keyAdminRoleName)', app({ keyAdminRoleName: 'Admin' }), 'keyAdminRoleName'],
  ['an account-wide setting (lockTableName)', app({ lockTableName: 'other-locks' }), 'lockTableName'],
  ['an account-wide setting (delegateToAccount)', app({ delegateToAccount: true }), 'delegateToAccount'],
  ['an account-wide setting (pendingWindowDays)', app({ pendingWindowDays: 7 }), 'pendingWindowDays'],
  ['a tag key reserved for AWS', app({ tags: { 'aws:createdBy': 'me' } }), 'tags.aws:createdBy'],
  ['a tag key reserved for AWS, in capitals', app({ tags: { 'AWS:x': 'me' } }), 'tags.AWS:x'],
  ["the workflow's managed-by tag key", app({ tags: { 'managed-by': 'someone-else' } }), 'tags.managed-by'],
  ["a tag key under the workflow's msf-cmk: prefix", app({ tags: { 'msf-cmk:created-by-execution': 'x' } }), 'tags.msf-cmk:created-by-execution'],
  ['tag keys that differ only in case', app({ tags: { Team: 'a', team: 'b' } }), 'tags.team'],
  ['a tag key with a character tags refuse', app({ tags: { 'cost#center': 'x' } }), 'tags.cost#center'],
  ['a tag value with a character tags refuse', app({ tags: { team: 'a;b' } }), 'tags.team'],
  ['tags as a string', app({ tags: 'team=payments' }), 'tags'],
  ['a tag value that is a number', app({ tags: { team: 1 } }), 'tags.team'],
  ['an empty tag key', app({ tags: { '': 'v' } }), 'tags'],
  ['more than 20 tags', app({ tags: manyTags }), 'tags'],
  ['a tag value over 256 characters', app({ tags: { team: long(257) } }), 'tags.team'],
  ['an unknown top-level field', app({ keyID: 'x' }), 'keyID'],
  ['an input that is an array', [], '(input)'],
  ['an input that is a string', 'orders', '(input)'],
];

describe('bad inputs end at ValidateInput with InvalidInput naming the field, and write nothing', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  it(`the corpus has at least 50 cases (${CORPUS.length})`, () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CORPUS)('refuses %s', async (_what, input, field) => {
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run(input);
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(result.cause).toContain(`${field}:`);
    expect(result.events.filter((e) => e.type === 'StateEntered').map((e) => (e as { state: { name: string } }).state.name)).toEqual(['ValidateInput']);
    expect(w.sb.sandbox.faults.log).toEqual([]);
  });
});
