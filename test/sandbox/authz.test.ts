/**
 * The sandbox's door to the policy evaluator passes it only the statements whose Action/NotAction can
 * match the request (the evaluator's cost is in analysing every condition of every statement). These
 * specify that the decision stays IAM's: wildcards and case as IAM matches actions, NotAction and explicit
 * denies, conditioned or not.
 */
import { evaluate, type AuthzRequest } from '../../local/sandbox/authz';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Someone`;
// A resource without a resource policy, so that the identity policy alone decides (a KMS key would need its key policy).
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
const request = (action: string, document: Record<string, unknown>): AuthzRequest => ({
  principal: `arn:aws:sts::${ACCOUNT}:assumed-role/Someone/s`,
  action,
  resource: TABLE,
  resourceAccount: ACCOUNT,
  context: { 'aws:PrincipalArn': ROLE, 'aws:PrincipalAccount': ACCOUNT },
  identityPolicies: [{ name: 'mixed', document }],
});

const MIXED = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'GetWildcard', Effect: 'Allow', Action: 'dynamodb:Get*', Resource: '*' },
    { Sid: 'OneCharacter', Effect: 'Allow', Action: ['dynamodb:?uery'], Resource: TABLE },
    { Sid: 'UpperCase', Effect: 'Allow', Action: 'DYNAMODB:describetable', Resource: TABLE },
    { Sid: 'AllButDynamoDb', Effect: 'Allow', NotAction: 'dynamodb:*', Resource: '*' },
    { Sid: 'DenyGetShardIterator', Effect: 'Deny', Action: 'dynamodb:GetShardIterator', Resource: '*' },
    {
      Sid: 'DenyWritesUnlessTagged',
      Effect: 'Deny',
      Action: 'dynamodb:PutItem',
      Resource: '*',
      Condition: { StringNotEquals: { 'aws:ResourceTag/owner': 'me' } },
    },
    { Sid: 'AllowItemWrites', Effect: 'Allow', Action: 'dynamodb:*Item', Resource: '*' },
  ],
};

describe('authorization passes the evaluator only the statements that can match the action, and decides as IAM does', () => {
  it.each([
    ['dynamodb:GetItem', 'Allowed'], // dynamodb:Get*
    ['dynamodb:GetShardIterator', 'ExplicitlyDenied'], // dynamodb:Get* allows, the Deny wins
    ['dynamodb:Query', 'Allowed'], // dynamodb:?uery
    ['dynamodb:ExecuteStatement', 'ImplicitlyDenied'], // nothing names it
    ['dynamodb:DescribeTable', 'Allowed'], // actions match case-insensitively
    ['s3:GetObject', 'Allowed'], // NotAction dynamodb:*
    ['dynamodb:Scan', 'ImplicitlyDenied'], // NotAction dynamodb:* excludes every DynamoDB action
    ['dynamodb:PutItem', 'ExplicitlyDenied'], // the untagged table meets the conditioned Deny
    ['dynamodb:DeleteItem', 'Allowed'], // dynamodb:*Item, no Deny names it
  ])('%s is %s', (action, decision) => {
    expect(evaluate(request(action, MIXED)).decision).toBe(decision);
  });

  it('a policy that allows nothing for the action still denies implicitly, with nothing left to pass on', () => {
    const onlyS3 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    expect(evaluate(request('dynamodb:GetItem', onlyS3)).decision).toBe('ImplicitlyDenied');
  });
});
