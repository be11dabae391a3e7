/**
 * revert-to-aws-owned-key is safe by construction too: each of its mutating calls — the forward steps', the
 * compensations' and the lock's — meets each fault of ./faults.ts, and every run ends reverted exactly once
 * or with the account as it was before the run (the application back on its CMK, the operator holding its
 * CMK policy again); a RollbackIncomplete names what is left, and the next revert converges.
 */
import { faultMatrix } from './faults';

faultMatrix({
  operation: 'revert-to-aws-owned-key',
  async prepare(w) {
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
  },
  run: (w) => w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' }),
  done(w) {
    const s = w.sb.sandbox.state;
    return {
      keyType: s.kinesisanalytics.applications.orders.Encryption.KeyType,
      cmkPolicies: Object.keys(s.iam.roles['msf-cmk-operator-orders'].InlinePolicies).filter((n) => n.startsWith('msf-cmk-key-')).length,
      keys: Object.values(s.kms.keys).map((k) => k.KeyState),
    };
  },
  forward: {
    'AcquireLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner' },
    'SwitchApplicationToAwsOwnedKey: kinesisanalytics:UpdateApplication': {
      service: 'kinesisanalytics',
      operation: 'UpdateApplication',
      inputContains: '"KeyTypeUpdate":"AWS_OWNED_KEY"',
    },
    'RemoveOperatorKeyAccess: iam:DeleteRolePolicy': { service: 'iam', operation: 'DeleteRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
    'ReleaseLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  compensating: {
    'RestoreOperatorKeyAccess: iam:PutRolePolicy': { service: 'iam', operation: 'PutRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
    'RevertApplication: kinesisanalytics:UpdateApplication': {
      service: 'kinesisanalytics',
      operation: 'UpdateApplication',
      inputContains: '"KeyTypeUpdate":"CUSTOMER_MANAGED_KEY"',
    },
    'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
  },
  // The verification's DescribeApplication is the run's second (the first is DecideSwitchApplicationToAwsOwnedKey's).
  failLate: {
    service: 'kinesisanalytics',
    operation: 'DescribeApplication',
    error: 'ValidationException',
    message: 'injected: the application cannot be read back',
    status: 400,
    skip: 1,
    times: 1,
  },
  lateCause: 'VerifyAwsOwnedKey failed with ValidationException',
});
