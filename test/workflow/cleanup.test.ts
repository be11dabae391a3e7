/**
 * An execution that ends without its Catch (stopped, timed out) is cleaned by the cleanup machine from its
 * last recorded state: stopped after each apply state of the onboarding (the state's function ran, its
 * answer was lost, nothing ran after it), one cleanup execution leaves the account as before (a created key
 * pending deletion, MSF's operation history aside, as for a rollback) and the lock free.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { appArn, accountChanges, defaultHandlers, newAppInput, world, type World } from './harness';
import type { Handler } from '../../local/runner';
import { leftovers } from './faults';

const STOP_AT = [
  'AcquireLock',
  'EnsureOperatorRole',
  'EnsureApplication',
  'CreateKey',
  'GrantOperatorKeyAccess',
  'SwitchApplicationToCmk',
  'CheckUpdate',
  'VerifyEncryption',
];

class Stopped extends Error {
  override name = 'Stopped';
}

describe('cleanup of a stopped onboarding', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  const lockOwner = async (app: string) =>
    (await new DynamoDBClient(w.sb.clientConfig()).send(new GetItemCommand({ TableName: w.deployment.lockTableName, Key: { lockId: { S: appArn(app) } } })))
      .Item?.owner?.S;

  /** Onboards `app`, stopped once `stopAt` has run: returns the state it was entered with (its last recorded state). */
  async function stoppedRun(app: string, stopAt: string) {
    const real = defaultHandlers();
    let last: any;
    let stopped = false;
    // No function runs after the stop: every later invocation fails before touching the account.
    const wrap =
      (name: string, h: Handler): Handler =>
      async (event: any) => {
        if (stopped) throw new Stopped('the execution was stopped');
        const out = await h(event);
        const state = event?.state ?? event;
        const entered = name === 'AcquireLock' ? undefined : state;
        if (event?.phase !== 'decide' && name === stopAt) {
          stopped = true;
          last = entered ?? { ...state, lock: out };
          throw new Stopped('the execution was stopped');
        }
        return out;
      };
    const handlers = Object.fromEntries(Object.entries(real).map(([k, h]) => [k, wrap(k, h)]));
    const r = await w.machine({ handlers }).run(newAppInput(app), { executionName: `stop-${app}` });
    expect(stopped).toBe(true);
    return { r, last };
  }

  it('leaves the account as before, the lock free, for a stop in each state', async () => {
    const rows: string[][] = [];
    for (const [i, stopAt] of STOP_AT.entries()) {
      const app = `stop${i}`;
      await w.ensureExecRole(app);
      const before = w.sb.sandbox.snapshot();
      const { last } = await stoppedRun(app, stopAt);
      const cleanup = await w.operation('cleanup').run(last, { executionName: `cleanup-${app}` });
      const changes = leftovers(accountChanges(w, before), w.sb.sandbox.state);
      const owner = await lockOwner(app);
      rows.push([stopAt, cleanup.status, String(changes.length), owner ? 'held' : 'free']);
      expect({ stopAt, status: cleanup.status, changes: changes.map((c) => c.path), owner }).toEqual({
        stopAt,
        status: 'SUCCEEDED',
        changes: [],
        owner: undefined,
      });
      // Idempotent: a second cleanup finds nothing to do.
      const again = await w.operation('cleanup').run(last, { executionName: `cleanup-again-${app}` });
      expect(again.status).toBe('SUCCEEDED');
      expect(leftovers(accountChanges(w, before), w.sb.sandbox.state)).toEqual([]);
    }
    console.log(['stopped in | cleanup | account changes | lock', ...rows.map((r) => r.join(' | '))].join('\n'));
  }, 60_000);
});
