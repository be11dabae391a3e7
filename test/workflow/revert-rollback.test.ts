/**
 * revert-to-aws-owned-key is safe by construction too: each of its mutating calls — the forward steps', the
 * compensations' and the lock's — meets each kind of fault of ./faults.ts, and every run ends reverted
 * exactly once or with the account as it was before the run (the application back on its CMK, the operator
 * holding its CMK policy again); a RollbackIncomplete names what is left, and the next revert converges.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FaultSpec } from '../../local/sandbox/faults';
import type { SandboxState, StateChange } from '../../local/sandbox/state';
import { FAULTS, leftovers, type Fault } from './faults';
import { world, type World } from './harness';

const FORWARD: Record<string, Omit<FaultSpec, 'error'>> = {
  'AcquireLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'SET #owner' },
  'SwitchApplicationToAwsOwnedKey: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication', inputContains: '"KeyTypeUpdate":"AWS_OWNED_KEY"' },
  'RemoveOperatorKeyAccess: iam:DeleteRolePolicy': { service: 'iam', operation: 'DeleteRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
  'ReleaseLock: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
};
/** Reached by failing the verification for good, once everything forward is applied. */
const COMPENSATING: Record<string, Omit<FaultSpec, 'error'>> = {
  'RestoreOperatorKeyAccess: iam:PutRolePolicy': { service: 'iam', operation: 'PutRolePolicy', inputContains: '"PolicyName":"msf-cmk-key-' },
  'RevertApplication: kinesisanalytics:UpdateApplication': { service: 'kinesisanalytics', operation: 'UpdateApplication', inputContains: '"KeyTypeUpdate":"CUSTOMER_MANAGED_KEY"' },
  'ReleaseLockAfterRollback: dynamodb:UpdateItem': { service: 'dynamodb', operation: 'UpdateItem', inputContains: 'REMOVE #owner' },
};
// The verification's DescribeApplication is the run's second (the first is DecideSwitchApplicationToAwsOwnedKey's).
const FAIL_THE_VERIFICATION: FaultSpec = { service: 'kinesisanalytics', operation: 'DescribeApplication', error: 'ValidationException', message: 'injected: the application cannot be read back', status: 400, skip: 1, times: 1 };

/** An update and its revert make new application versions: MSF's version history is history, like its operations. */
const VERSION_HISTORY = ['ApplicationVersionId', 'ApplicationVersionUpdatedFrom', 'ApplicationVersionRolledBackFrom', 'ApplicationVersionRolledBackTo', 'ConditionalToken', 'LastUpdateTimestamp'];
const withoutHistory = (app: unknown) => app && Object.fromEntries(Object.entries(app).filter(([k]) => !VERSION_HISTORY.includes(k)));
const left = (changes: StateChange[], after: SandboxState) =>
  leftovers(changes, after).filter((c) => !(/^kinesisanalytics\.applications\./.test(c.path) && isDeepStrictEqual(withoutHistory(c.before), withoutHistory(c.after))));

describe('revert fault matrix: every mutating call × throttled twice, permanent, lost response, crash', () => {
  const table: string[] = [];
  afterAll(() => console.log(`revert fault matrix (${table.length} scenarios; call × fault → outcome)\n${table.join('\n')}`));

  let w: World;
  let onboarded: SandboxState;
  beforeAll(async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    onboarded = w.sb.sandbox.snapshot();
  });
  afterAll(() => w.close());
  beforeEach(async () => {
    w.sb.sandbox.faults.clear();
    w.sb.sandbox.restore(onboarded);
    // The lock table lives outside the sandbox's state: a lock the last scenario left is freed here.
    await w.unlock('orders', 'the next scenario');
  });

  const revert = () => w.operation('revert-to-aws-owned-key').run({ applicationName: 'orders' });
  const state = () => {
    const s = w.sb.sandbox.state;
    const app = s.kinesisanalytics.applications.orders;
    return {
      keyType: app.Encryption.KeyType,
      cmkPolicies: Object.keys(s.iam.roles['msf-cmk-operator-orders'].InlinePolicies).filter((n) => n.startsWith('msf-cmk-key-')).length,
      keys: Object.values(s.kms.keys).map((k) => k.KeyState),
    };
  };
  const REVERTED = { keyType: 'AWS_OWNED_KEY', cmkPolicies: 0, keys: ['Enabled'] };

  /** The next revert succeeds; a lock whose release failed for good is freed by `msf-cmk unlock` first. */
  async function nextRevertGoes(): Promise<string> {
    let next = await revert();
    let note = '';
    if (next.error === 'AlreadyInProgress') {
      expect((await w.unlock('orders', 'its release failed')).unlocked).toBe(true);
      next = await revert();
      note = '; its lock, left by a lost release, freed by unlock';
    }
    expect(next.status).toBe('SUCCEEDED');
    expect(state()).toEqual(REVERTED);
    return note;
  }

  async function expectCleanEnd(result: Awaited<ReturnType<typeof revert>>): Promise<string> {
    w.sb.sandbox.advance(0);
    if (result.status === 'SUCCEEDED') expect(state()).toEqual(REVERTED);
    else {
      expect(left(w.sb.sandbox.diff(onboarded), w.sb.sandbox.state)).toEqual([]);
      const failedAt = result.events.filter((e) => e.type === 'StateFailed').map((e) => (e as { state: { name: string } }).state.name);
      if (!failedAt.includes('AcquireLock')) expect(result.cause).toMatch(/Rolled back\.|Nothing was changed\./);
    }
    w.sb.sandbox.faults.clear();
    const note = await nextRevertGoes();
    return `${result.status === 'SUCCEEDED' ? 'SUCCEEDED, reverted once' : `${result.error}, rolled back to the state before`}${note}`;
  }

  describe.each(Object.keys(FORWARD))('%s', (call) => {
    it.each(Object.keys(FAULTS) as Fault[])('%s: ends reverted once or as before, and the next revert converges', async (fault) => {
      w.sb.sandbox.faults.inject(FAULTS[fault](FORWARD[call]));
      const result = await revert();
      table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
    });
  });

  describe.each(Object.keys(COMPENSATING))('%s (in a rollback)', (call) => {
    it.each(Object.keys(FAULTS) as Fault[])('%s: rolls back completely, or ends RollbackIncomplete naming what is left', async (fault) => {
      w.sb.sandbox.faults.inject(FAIL_THE_VERIFICATION);
      w.sb.sandbox.faults.inject(FAULTS[fault](COMPENSATING[call]));
      const result = await revert();
      expect(result.status).toBe('FAILED');
      w.sb.sandbox.advance(0);
      if (result.error === 'RollbackIncomplete') {
        const remaining = left(w.sb.sandbox.diff(onboarded), w.sb.sandbox.state).filter((c) => !c.path.startsWith('dynamodb'));
        expect(remaining.length).toBeGreaterThan(0);
        expect(result.cause).toMatch(/Left in place, as read back from the account: /);
        w.sb.sandbox.faults.clear();
        const note = await nextRevertGoes();
        table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → RollbackIncomplete naming ${remaining.length} leftover(s); the next revert converges${note}`);
      } else {
        expect(result.cause).toContain('VerifyAwsOwnedKey failed with ValidationException');
        table.push(`${call.padEnd(70)} × ${fault.padEnd(15)} → ${await expectCleanEnd(result)}`);
      }
    });
  });
});
