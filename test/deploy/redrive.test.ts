/**
 * Redrive (RedriveExecution, the console's "Redrive from failure") on the deployed stack, one failure class
 * at a time (docs/operations.md, "Redrive"):
 * - refused before any change (ValidateInput, AcquireLock run no Catch): the run fails where it was, and a
 *   redrive resumes there and onboards;
 * - failed after the lock: it compensated and ended in a Fail state, which a redrive re-enters: FAILED again,
 *   nothing changed;
 * - stopped: with its cleanup not run, a redrive resumes where it stopped and onboards; once its cleanup has
 *   claimed its lock (or undone it), the redrive's first change is refused (RedriveRefused), nothing changed.
 */
import { DisableRuleCommand, EnableRuleCommand } from '@aws-sdk/client-eventbridge';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { StateChange } from '../../local/sandbox/state';
import { clients, ended } from '../sandbox/helpers';
import { leftovers } from '../workflow/faults';
import { cleanupRuleName, deployed, execRoleArn, lockItem, stopIn as stopInState } from './deployed';

const A = '000000000000';
const APPS = ['throttled', 'rolledback', 'resumed', 'cleaned', 'racing', 'late'];
/** What a run leaves in the account, less executions, logs, function containers and rule state. */
const accountLeftovers = (changes: StateChange[], sb: RunningSandbox) =>
  leftovers(changes, sb.sandbox.state).filter((c) => !/^(stepfunctions|logs|lambda|events|sqs)\./.test(c.path));

describe('a redrive of an onboarding resumes only where that is safe, and is refused, changing nothing, where it is not', () => {
  let sb: RunningSandbox;
  let outputs: Record<string, string>;
  beforeAll(async () => {
    const d = await deployed({}, { apps: APPS, lambdaRoles: [], sandbox: { rates: false } });
    sb = d.sb;
    outputs = d.result.outputs;
  }, 120_000);
  afterAll(() => sb.close());

  const sfn = () => clients(sb).sfn;
  const input = (app: string) => ({ applicationName: app, createApplication: { serviceExecutionRoleArn: execRoleArn(A, app) } });
  const start = async (app: string, body: object = input(app)) =>
    (await sfn().send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(body) }))).executionArn!;
  const redrive = async (executionArn: string) => {
    await sfn().send(new RedriveExecutionCommand({ executionArn }));
    return ended(sfn(), executionArn);
  };
  /** The states a redrive entered, in order. */
  const enteredAfterRedrive = async (executionArn: string) => {
    const events = (await sfn().send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
    const from = events.findIndex((e) => e.type === 'ExecutionRedriven');
    return events.slice(from).flatMap((e) => (e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name!] : []));
  };
  const lock = (app: string) => lockItem(sb, app);
  const keyType = async (app: string) =>
    (await clients(sb).flink.send(new DescribeApplicationCommand({ ApplicationName: app }))).ApplicationDetail?.ApplicationConfigurationDescription
      ?.ApplicationEncryptionConfigurationDescription?.KeyType;
  /** Stops the execution once it has entered `state`, its call there held in flight. */
  async function stopIn(executionArn: string, state: string) {
    await stopInState(sb, executionArn, state);
    expect((await ended(sfn(), executionArn)).status).toBe('ABORTED');
  }
  /**
   * A state's call held in flight (100 ms; GrantOperatorKeyAccess's by default), and the cleanup's first read held longer (1.5 s): its 60 s
   * settle is instant here, and the in-flight call must land before the compensations read the account.
   */
  const holdInFlightCall = (service = 'iam', operation = 'PutRolePolicy') => {
    sb.sandbox.faults.setLatency(service, operation, 100);
    sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', 1500);
  };
  const cleanupRule = () => cleanupRuleName(sb);
  const cleanupsOf = async (executionArn: string) => {
    const list = (await sfn().send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn }))).executions ?? [];
    const mine = [];
    for (const c of list) {
      const d = await sfn().send(new DescribeExecutionCommand({ executionArn: c.executionArn }));
      if (JSON.parse(d.input!).executionArn === executionArn) mine.push(d);
    }
    return mine;
  };
  const cleanedUp = async (executionArn: string) => {
    for (const until = Date.now() + 100_000; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
      const [c] = await cleanupsOf(executionArn);
      if (c && c.status !== 'RUNNING') return c;
    }
    throw new Error(`no cleanup of ${executionArn} ended`);
  };

  it('throttled out of its retries at AcquireLock, before any change: FAILED uncaught there, and a redrive resumes at AcquireLock and onboards', async () => {
    // 7 attempts: the first and AcquireLock's 6 retries (the functions make one attempt per call).
    sb.sandbox.faults.throttle('dynamodb', 'UpdateItem', 7);
    const executionArn = await start('throttled');
    const failed = await ended(sfn(), executionArn);
    sb.sandbox.faults.clear();
    expect([failed.status, failed.error]).toEqual(['FAILED', 'ThrottlingException']);
    const history = (await sfn().send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000 }))).events ?? [];
    expect(history.find((e) => e.stateEnteredEventDetails)?.stateEnteredEventDetails?.name).toBe('AcquireLock');
    expect(await lock('throttled')).toBeUndefined();
    const done = await redrive(executionArn);
    expect({ status: done.status, redriveCount: done.redriveCount, key: await keyType('throttled') }).toEqual({
      status: 'SUCCEEDED',
      redriveCount: 1,
      key: 'CUSTOMER_MANAGED_KEY',
    });
    const entered = await enteredAfterRedrive(executionArn);
    expect(entered[0]).toBe('AcquireLock');
    expect(entered).not.toContain('ValidateInput');
    expect((await lock('throttled'))?.owner).toBeUndefined();
  });

  it('rolled back after a refusal: a redrive re-enters its Fail state and fails again, changing nothing', async () => {
    // Flink 1.19 cannot use a CMK (facts §6): refused while deciding, after the lock was taken.
    await clients(sb).flink.send(
      new CreateApplicationCommand({ ApplicationName: 'rolledback', RuntimeEnvironment: 'FLINK-1_19', ServiceExecutionRole: execRoleArn(A, 'rolledback') }),
    );
    const executionArn = await start('rolledback', { applicationName: 'rolledback' });
    const failed = await ended(sfn(), executionArn);
    // The Fail state RolledBack ends it with the step's own error.
    expect([failed.status, failed.error]).toEqual(['FAILED', 'UnsupportedRuntime']);
    const before = sb.sandbox.snapshot();
    const again = await redrive(executionArn);
    expect([again.status, again.error, again.cause, again.redriveCount]).toEqual(['FAILED', 'UnsupportedRuntime', failed.cause, 1]);
    expect(await enteredAfterRedrive(executionArn)).toEqual(['RolledBack']);
    expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
  });

  it('stopped, its cleanup never run (the event lost): a redrive resumes in the state it was stopped in and onboards', async () => {
    const { events } = clients(sb);
    const rule = await cleanupRule();
    await events.send(new DisableRuleCommand({ Name: rule }));
    try {
      sb.sandbox.faults.setLatency('iam', 'PutRolePolicy', 100);
      const executionArn = await start('resumed');
      await stopIn(executionArn, 'GrantOperatorKeyAccess');
      sb.sandbox.faults.clear();
      const done = await redrive(executionArn);
      expect({ status: done.status, key: await keyType('resumed'), lock: (await lock('resumed'))?.owner }).toEqual({
        status: 'SUCCEEDED',
        key: 'CUSTOMER_MANAGED_KEY',
        lock: undefined,
      });
      expect((await enteredAfterRedrive(executionArn))[0]).toBe('GrantOperatorKeyAccess');
      expect(await cleanupsOf(executionArn)).toEqual([]);
    } finally {
      await events.send(new EnableRuleCommand({ Name: rule }));
    }
  });

  it('stopped and cleaned: a redrive is refused at its first change (RedriveRefused), changing nothing', async () => {
    const before = sb.sandbox.snapshot();
    holdInFlightCall();
    const executionArn = await start('cleaned');
    await stopIn(executionArn, 'GrantOperatorKeyAccess');
    expect((await cleanedUp(executionArn)).status).toBe('SUCCEEDED');
    sb.sandbox.faults.clear();
    expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
    const cleaned = sb.sandbox.snapshot();
    const refused = await redrive(executionArn);
    expect([refused.status, refused.error]).toEqual(['FAILED', 'RedriveRefused']);
    expect(await enteredAfterRedrive(executionArn)).toEqual(['GrantOperatorKeyAccess', 'RedriveRefused']);
    expect(accountLeftovers(sb.sandbox.diff(cleaned), sb)).toEqual([]);
  });

  // In an apply (its first change refused), and after the last one (its release refused, not SUCCEEDED).
  it.each([
    ['racing', 'GrantOperatorKeyAccess', 'iam', 'PutRolePolicy', ['RedriveRefused']],
    // Resumed after its last change, it verifies an application its cleanup may have reverted already: then
    // its verification fails; else its release is refused. Never SUCCEEDED.
    ['late', 'VerifyEncryption', 'kms', 'DescribeKey', ['RedriveRefused', 'VerificationFailed']],
  ])(
    'stopped (%s) in %s and redriven while its cleanup runs: refused once the cleanup has claimed the lock; the cleanup leaves the account as before',
    async (app, state, service, operation, errors) => {
      const before = sb.sandbox.snapshot();
      holdInFlightCall(service, operation);
      const executionArn = await start(app);
      await stopIn(executionArn, state);
      // The cleanup's compensations held back, so that the redrive lands between its claim and its end.
      sb.sandbox.faults.setLatency('kinesisanalytics', 'DescribeApplication', 300);
      for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 5)))
        if ((await lock(app))?.claimedFor?.S === executionArn) break;
      const claimed = await lock(app);
      expect(claimed?.claimedFor?.S).toBe(executionArn);
      const refused = await redrive(executionArn);
      sb.sandbox.faults.clear();
      expect([refused.status, errors.includes(refused.error!)]).toEqual(['FAILED', true]);
      const [cleanup] = await cleanupsOf(executionArn);
      expect(claimed?.owner?.S).toBe(cleanup.executionArn);
      expect((await cleanedUp(executionArn)).status).toBe('SUCCEEDED');
      expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
      expect((await lock(app))?.owner).toBeUndefined();
    },
  );
});
