/**
 * Stops of the deployed stack's executions and their cleanups, shared by two test files: the onboarding's
 * stops, the sweeper, the cleanup's refusals, the redrives and the timed-out run
 * (test/deploy/stopped-execution.test.ts, in npm test), and the exhaustive matrix — every Task state of each
 * day-two operation and every compensation state of each operation's own rollback
 * (test/exhaustive/stop-matrix.test.ts, npm run test:exhaustive). Each file deploys its own stack.
 *
 * A stopped onboarding runs no Catch; the deployed stack cleans it anyway. Each execution is stopped
 * (StopExecution, as the console's Stop button does) while in one state of the onboarding, its function's
 * call in flight; the status-change event reaches the cleanup rule, which starts the cleanup state machine
 * with that execution's ARN; one cleanup execution leaves the account as before (a created key pending
 * deletion, MSF's operation history and the run's own executions and logs aside) and the lock free.
 * The same for every Task state of each day-two operation's normal path (move-key, revert-to-aws-owned-key,
 * rotate-key on demand with its restart and automatic), and for every compensation state of each
 * operation's own rollback after a late failure: the cleanup finishes an undo the run had begun.
 *
 * Step Functions does not stop a running function: its call lands after the stop. The cleanup waits for
 * it (SettleInFlightTask, 60 s); the sandbox runs Wait states instantly here, so the cleanup's first call
 * is slowed instead by more than the in-flight call's latency, which is what the Wait buys in AWS.
 *
 * One deployment serves the stops, the redrives and (last: it shortens the onboarding's execution timeout in
 * place) the timed-out run: each deployment costs every function a cold start.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DisableRuleCommand, EnableRuleCommand } from '@aws-sdk/client-eventbridge';
import { CreateApplicationCommand, DescribeApplicationCommand, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { FaultSpec } from '../../local/sandbox/faults';
import type { StateChange } from '../../local/sandbox/state';
import { clients, ended } from '../sandbox/helpers';
import { leftovers, leftoversOfExisting } from '../workflow/faults';
import { ASL_FILE, aslFileOf } from '../../infra/onboarding-stack';
import { startExecution } from '../../local/start';
import { cleanupRuleName, deployed, execRoleArn, lockItem, stopIn as stopInState } from './deployed';

const A = '000000000000';
/**
 * Each state to stop in — every Task state an onboarding passes through when nothing fails — and the call its
 * function makes there that is held in flight (none for a read-only state: it is stopped as soon as it is entered).
 */
const STOP_IN: [state: string, service?: string, operation?: string][] = [
  ['ValidateInput'],
  ['AcquireLock', 'dynamodb', 'UpdateItem'],
  ['DecideEnsureOperatorRole'],
  ['DecideEnsureApplication'],
  ['DecideCreateKey'],
  ['DecideGrantOperatorKeyAccess'],
  ['DecideSwitchApplicationToCmk'],
  ['EnsureOperatorRole', 'iam', 'CreateRole'],
  ['EnsureApplication', 'kinesisanalytics', 'CreateApplication'],
  ['CreateKey', 'kms', 'CreateKey'],
  ['GrantOperatorKeyAccess', 'iam', 'PutRolePolicy'],
  ['SwitchApplicationToCmk', 'kinesisanalytics', 'UpdateApplication'],
  ['CheckUpdate', 'kinesisanalytics', 'DescribeApplicationOperation'],
  ['VerifyEncryption', 'kms', 'DescribeKey'],
  ['ReleaseLock', 'dynamodb', 'UpdateItem'],
];
/**
 * Every Task state on an operation's way when nothing fails: on a path of Next, Choices and Default from StartAt
 * (or `start`) to its Succeed state (or other end state) `end`.
 */
function forwardTaskStates(definition: any, end = 'Onboarded', start: string = definition.StartAt): string[] {
  const nexts = (name: string): string[] => {
    const st = definition.States[name];
    return [st.Next, st.Default, ...(st.Choices ?? []).map((c: any) => c.Next)].filter(Boolean);
  };
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    return nexts(from).some((n) => reaches(n, to, seen));
  };
  const onPath = new Set<string>();
  const visit = (name: string) => {
    if (onPath.has(name) || !reaches(name, end)) return;
    onPath.add(name);
    for (const n of nexts(name)) visit(n);
  };
  visit(start);
  return Object.keys(definition.States).filter((n) => onPath.has(n) && definition.States[n].Type === 'Task');
}
const IN_FLIGHT_MS = 100;
/** The day-two and rollback stops' held calls: longer, as more runs share the machine at once. */
const MANY_IN_FLIGHT_MS = 300;
/**
 * The cleanup's first read (GetExecutionHistory) is held this long, standing in for its 60 s settle (instant
 * here): long enough for the in-flight function's held call and every call after it, on a loaded machine.
 */
const SETTLE_MS = 1500;
/** How many runs are stopped (and cleaned) at once. */
const BATCH = 3;
/** The onboarding's execution timeout in the timed-out test (7200 s in the ASL). */
const EXECUTION_TIMEOUT_S = 10;
const apps = STOP_IN.map((_, i) => `stopped${i}`);
/** One way of running a day-two operation (its input, the application it starts from), stopped in each Task state it passes through. */
interface DayTwoRun {
  /** Names the run in the table. */
  name: string;
  /** Its state machine: the stack output, the ASL file, and the Succeed state its normal path ends in. */
  output: string;
  operation: string;
  end: string;
  input: (app: string) => object;
  /** The application is started (RUNNING) once onboarded. */
  running?: boolean;
  /** The applications it runs on, LANES of them, one per run at once; each is as onboarded again once a stopped run is cleaned. */
  apps: string[];
  /**
   * Each state to stop in, and the call its function makes there that is held in flight (none for a state
   * whose reads are not held: it may be left before the stop lands, then a later state is stopped).
   */
  stops: [state: string, service?: string, operation?: string][];
  /** The states of the operation's normal path this input does not pass, and why. */
  notPassed?: Record<string, string>;
}
/** How many runs of one day-two operation are stopped (and cleaned) at once. */
const LANES = 2;
/** How many day-two runs are stopped (and cleaned) at once, of all operations. */
const DAY_TWO_BATCH = 6;
/** How often one state is stopped in before the test gives up on the stop landing while its call is held. */
const MAX_ATTEMPTS = 3;
const lanes = (prefix: string) => Array.from({ length: LANES }, (_, i) => `${prefix}-${'ab'[i]}`);
const DAY_TWO: DayTwoRun[] = [
  {
    name: 'move-key',
    output: 'MoveKeyStateMachineArn',
    operation: 'move-key',
    end: 'Moved',
    input: (app) => ({ applicationName: app }),
    apps: lanes('moving'),
    stops: [
      ['ValidateInput'],
      ['AcquireLock', 'dynamodb', 'UpdateItem'],
      ['DecideEnsureOperatorRole'],
      ['DecideEnsureApplication'],
      ['DecideCreateKey'],
      ['DecideGrantOperatorKeyAccess'],
      ['DecideSwitchApplicationToCmk'],
      ['EnsureOperatorRole'],
      ['EnsureApplication'],
      ['CreateKey', 'kms', 'CreateKey'],
      ['GrantOperatorKeyAccess', 'iam', 'PutRolePolicy'],
      ['SwitchApplicationToCmk', 'kinesisanalytics', 'UpdateApplication'],
      ['CheckUpdate', 'kinesisanalytics', 'DescribeApplicationOperation'],
      ['VerifyEncryption', 'kms', 'DescribeKey'],
      ['ReleaseLock', 'dynamodb', 'UpdateItem'],
    ],
  },
  {
    name: 'revert-to-aws-owned-key',
    output: 'RevertToAwsOwnedKeyStateMachineArn',
    operation: 'revert-to-aws-owned-key',
    end: 'Reverted',
    input: (app) => ({ applicationName: app }),
    apps: lanes('reverting'),
    stops: [
      ['ValidateInput'],
      ['AcquireLock', 'dynamodb', 'UpdateItem'],
      ['DecideSwitchApplicationToAwsOwnedKey'],
      ['DecideRemoveOperatorKeyAccess'],
      ['SwitchApplicationToAwsOwnedKey', 'kinesisanalytics', 'UpdateApplication'],
      ['CheckUpdate', 'kinesisanalytics', 'DescribeApplicationOperation'],
      ['RemoveOperatorKeyAccess', 'iam', 'DeleteRolePolicy'],
      ['VerifyAwsOwnedKey', 'kms', 'DescribeKey'],
      ['ReleaseLock', 'dynamodb', 'UpdateItem'],
    ],
  },
  {
    name: 'rotate-key on-demand, restarted',
    output: 'RotateKeyStateMachineArn',
    operation: 'rotate-key',
    end: 'Rotated',
    input: (app) => ({ applicationName: app, rotation: 'on-demand', restart: true }),
    running: true,
    apps: lanes('ondemand'),
    stops: [
      ['ValidateInput'],
      ['AcquireLock', 'dynamodb', 'UpdateItem'],
      ['DecideRotateKeyOnDemand'],
      ['DecideSetAutomaticRotation'],
      ['DecideRestartApplication'],
      ['RotateKeyOnDemand', 'kms', 'RotateKeyOnDemand'],
      ['SetAutomaticRotation'],
      ['RestartApplication', 'kinesisanalytics', 'UpdateApplication'],
      ['CheckRestart', 'kinesisanalytics', 'DescribeApplicationOperation'],
      ['VerifyRotation', 'kms', 'ListKeyRotations'],
      ['ReleaseLock', 'dynamodb', 'UpdateItem'],
    ],
  },
  {
    name: 'rotate-key automatic',
    output: 'RotateKeyStateMachineArn',
    operation: 'rotate-key',
    end: 'Rotated',
    input: (app) => ({ applicationName: app, rotation: 'automatic', rotationPeriodInDays: 180 }),
    apps: lanes('automatic'),
    stops: [
      ['ValidateInput'],
      ['AcquireLock', 'dynamodb', 'UpdateItem'],
      ['DecideRotateKeyOnDemand'],
      ['DecideSetAutomaticRotation'],
      ['DecideRestartApplication'],
      ['RotateKeyOnDemand'],
      ['SetAutomaticRotation', 'kms', 'EnableKeyRotation'],
      ['RestartApplication'],
      ['VerifyRotation', 'kms', 'ListKeyRotations'],
      ['ReleaseLock', 'dynamodb', 'UpdateItem'],
    ],
    notPassed: { CheckRestart: 'no restart follows an automatic rotation: IsRestartComplete goes straight to VerifyRotation' },
  },
];
/** One operation failed late, so that its own rollback runs, stopped in each compensation state that rollback passes through. */
interface RollbackRun {
  name: string;
  output: string;
  operation: string;
  /** The state whose call fails for good (its Catch starts the rollback), and that fault, for one application. */
  failsIn: string;
  fault: (app: string, keyId: string) => FaultSpec;
  input: (app: string) => object;
  /** The onboarding creates its application (and its cleanup deletes it): one each. Else onboarded first, LANES of them. */
  creates?: boolean;
  apps: string[];
  /** Each compensation state to stop in, and the call its function makes there that is held in flight. */
  stops: [state: string, service?: string, operation?: string][];
}
const injected = (fault: Omit<FaultSpec, 'error' | 'status' | 'message'>): FaultSpec => ({
  error: 'ValidationException',
  status: 400,
  message: 'injected: fails for good',
  times: 1,
  ...fault,
});
/** Its update made, then unreadable for good: every change was made, and the Catch rolls each back. */
const updateUnreadable = (app: string) =>
  injected({ service: 'kinesisanalytics', operation: 'DescribeApplicationOperation', inputContains: `"ApplicationName":"${app}"` });
const UNDO_ONBOARDING: RollbackRun['stops'] = [
  ['RevertApplication', 'kinesisanalytics', 'UpdateApplication'],
  ['CheckRevert', 'kinesisanalytics', 'DescribeApplicationOperation'],
  ['RevokeOperatorKeyAccess', 'iam', 'DeleteRolePolicy'],
  ['RetireKey', 'kms', 'ScheduleKeyDeletion'],
  ['DeleteCreatedApplication', 'kinesisanalytics', 'DeleteApplication'],
  ['RestoreOperatorRole', 'iam', 'DeleteRole'],
  ['ReportRollback'],
  ['ReleaseLockAfterRollback', 'dynamodb', 'UpdateItem'],
];
const ROLLBACKS: RollbackRun[] = [
  {
    name: 'onboarding',
    output: 'StateMachineArn',
    operation: 'onboard-application',
    failsIn: 'CheckUpdate',
    fault: updateUnreadable,
    input: (app) => ({ applicationName: app, createApplication: { serviceExecutionRoleArn: execRoleArn(A, app) } }),
    creates: true,
    apps: UNDO_ONBOARDING.map((_, i) => `unwinding${i}`),
    stops: UNDO_ONBOARDING,
  },
  {
    name: 'move-key',
    output: 'MoveKeyStateMachineArn',
    operation: 'move-key',
    failsIn: 'CheckUpdate',
    fault: updateUnreadable,
    input: (app) => ({ applicationName: app }),
    apps: lanes('unmoving'),
    // The same compensations (the application and the operator role were not made by the move: nothing to delete).
    stops: UNDO_ONBOARDING.map(([state, ...call]) => (['DeleteCreatedApplication', 'RestoreOperatorRole'].includes(state) ? [state] : [state, ...call])),
  },
  {
    name: 'revert-to-aws-owned-key',
    output: 'RevertToAwsOwnedKeyStateMachineArn',
    operation: 'revert-to-aws-owned-key',
    // Its verification's read of the application (the run's second; DecideSwitchApplicationToAwsOwnedKey's is the
    // first), after the operator's CMK policy was removed: the rollback puts it back, then the application.
    failsIn: 'VerifyAwsOwnedKey',
    fault: (app) => injected({ service: 'kinesisanalytics', operation: 'DescribeApplication', inputContains: `"ApplicationName":"${app}"`, skip: 1 }),
    input: (app) => ({ applicationName: app }),
    apps: lanes('unreverting'),
    stops: [
      ['RestoreOperatorKeyAccess', 'iam', 'PutRolePolicy'],
      ['RevertApplication', 'kinesisanalytics', 'UpdateApplication'],
      ['CheckRevert', 'kinesisanalytics', 'DescribeApplicationOperation'],
      ['ReportRollback'],
      ['ReleaseLockAfterRollback', 'dynamodb', 'UpdateItem'],
    ],
  },
  {
    name: 'rotate-key automatic',
    output: 'RotateKeyStateMachineArn',
    operation: 'rotate-key',
    // Its verification's read of the key's rotations (the decision's was the first), after the setting changed.
    failsIn: 'VerifyRotation',
    fault: (_app, keyId) => injected({ service: 'kms', operation: 'ListKeyRotations', inputContains: keyId, skip: 1 }),
    input: (app) => ({ applicationName: app, rotation: 'automatic', rotationPeriodInDays: 180 }),
    apps: lanes('unrotating').slice(0, 1),
    stops: [['RestoreAutomaticRotation', 'kms', 'DisableKeyRotation'], ['ReportRollback'], ['ReleaseLockAfterRollback', 'dynamodb', 'UpdateItem']],
  },
];
/** The redrive tests' applications, one per failure class. */
const REDRIVE_APPS = ['throttled', 'rolledback', 'resumed', 'cleaned', 'racing', 'late'];
/** The onboarding the sweeper must find: its status-change event never reached a rule. */
const UNSWEPT = 'unswept';

/** What the run and its cleanup leave in the account, less their own executions, logs and function containers. */
const accountLeftovers = (changes: StateChange[], sb: RunningSandbox) =>
  leftovers(changes, sb.sandbox.state).filter((c) => !/^(stepfunctions|logs|lambda|events|sqs)\./.test(c.path));

const lockOwnerIn = async (sb: RunningSandbox, app: string) => (await lockItem(sb, app))?.owner?.S;

/** The cleanup executions, newest first, once `count` have ended (up to 150 s: CI machines are slow). */
async function cleanupsIn(sb: RunningSandbox, outputs: Record<string, string>, count: number) {
  const { sfn } = clients(sb);
  let list: ExecutionListItem[] = [];
  for (const until = Date.now() + 150_000; Date.now() < until; ) {
    list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn, maxResults: 1000 }))).executions ?? [];
    if (list.length >= count && list.every((e) => e.status !== 'RUNNING')) return list;
    await new Promise((r) => setTimeout(r, 25));
  }
  // Where each cleanup still running is: its newest state.
  const running = list
    .filter((e) => e.status === 'RUNNING')
    .map(
      (e) =>
        `${e.name} in ${(sb.sandbox.state.stepfunctions!.executions[e.executionArn!].events as any[]).findLast((v) => v.stateEnteredEventDetails)?.stateEnteredEventDetails.name}`,
    );
  throw new Error(`the cleanup did not end: ${list.length} of ${count} started; running: ${running.join(', ') || 'none'}`);
}

let sb: RunningSandbox;
let outputs: Record<string, string>;

const lockOwner = (app: string) => lockOwnerIn(sb, app);
const cleanups = (count: number) => cleanupsIn(sb, outputs, count);

/** Stops the execution as soon as it is in `state` (its function's call is then held in flight). */
const stopIn = (executionArn: string, state: string) => stopInState(sb, executionArn, state);

/** The Task state an execution was in when it ended. */
const endedInState = (executionArn: string): string | undefined =>
  (sb.sandbox.state.stepfunctions!.executions[executionArn].events as any[]).findLast((e) => e.type === 'TaskStateEntered')?.stateEnteredEventDetails?.name;

/** The onboarding's stops, the sweeper, the cleanup's refusals, the redrives and (last) the timed-out run. */
export function stoppedExecutions(): void {
  describe('stopped, timed out or redriven: the deployed stack cleans an onboarding from its own history, and a redrive resumes only where safe', () => {
    beforeAll(async () => {
      const d = await deployed(
        {},
        {
          apps: [...apps, UNSWEPT, 'timedout', ...REDRIVE_APPS],
          lambdaRoles: [],
          // Eight runs at once, retried at once (Wait and retry intervals are instant here): no request rates.
          sandbox: { rates: false },
        },
      );
      sb = d.sb;
      outputs = d.result.outputs;
    }, 120_000);
    afterAll(() => sb.close());
    it('stops in every Task state an onboarding passes through', () => {
      expect(STOP_IN.map(([state]) => state)).toEqual(forwardTaskStates(JSON.parse(readFileSync(ASL_FILE, 'utf8'))));
    });

    it('leaves the account as before and the lock free, whichever state it was stopped in (the runs concurrent, in batches)', async () => {
      const { sfn } = clients(sb);
      const before = sb.sandbox.snapshot();
      for (const [, service, operation] of STOP_IN) if (service && operation) sb.sandbox.faults.setLatency(service, operation, IN_FLIGHT_MS);
      sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', SETTLE_MS);
      // One application per state, BATCH at a time: each run is stopped in its own state, and cleaned on its own.
      // (All at once would start an execution environment per run for every function: CPU, not coverage.)
      const stopped: string[] = [];
      for (let from = 0; from < STOP_IN.length; from += BATCH) {
        const batch = await Promise.all(
          STOP_IN.slice(from, from + BATCH).map(async ([state], j) => {
            const app = apps[from + j];
            const input = { applicationName: app, createApplication: { serviceExecutionRoleArn: execRoleArn(A, app) } };
            const { executionArn } = await sfn.send(
              new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, name: `stop-in-${state}`, input: JSON.stringify(input) }),
            );
            await stopIn(executionArn!, state);
            return executionArn!;
          }),
        );
        for (const executionArn of batch) expect((await ended(sfn, executionArn)).status).toBe('ABORTED');
        stopped.push(...batch);
        await cleanups(stopped.length);
      }
      const done = await cleanups(STOP_IN.length);
      sb.sandbox.faults.clear();
      const cleanupOf = new Map<string, { status: string; settled: boolean; says?: string }>();
      for (const c of done) {
        const { input, status, output } = await sfn.send(new DescribeExecutionCommand({ executionArn: c.executionArn }));
        const history = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: c.executionArn, maxResults: 1000 }))).events ?? [];
        cleanupOf.set(JSON.parse(input!).executionArn, {
          status: status!,
          settled: history.some((e) => e.stateEnteredEventDetails?.name === 'SettleInFlightTask'),
          says: JSON.parse(output!).rollback?.cause,
        });
      }
      const left = accountLeftovers(sb.sandbox.diff(before), sb).map((c) => c.path);
      const rows: string[][] = [];
      for (const [i, [state]] of STOP_IN.entries()) {
        const cleanup = cleanupOf.get(stopped[i]);
        const mine = left.filter((path) => path.includes(apps[i]));
        const owner = await lockOwner(apps[i]);
        rows.push([state, cleanup?.status ?? 'none', cleanup?.settled ? 'waited' : '-', String(mine.length), owner ? 'held' : 'free']);
        // Where it ended: a state whose call is not held may be left before the stop lands, then a later one.
        const endedIn = endedInState(stopped[i]);
        expect(STOP_IN.slice(i, STOP_IN[i][1] ? i + 1 : undefined).map(([s]) => s)).toContain(endedIn);
        // Stopped before it validated its input, it decided nothing: nothing to clean, nothing to wait for.
        const settled = endedIn !== 'ValidateInput';
        // Its report says how the run ended, and where: it was stopped, nothing failed.
        const says = settled ? expect.stringMatching(new RegExp(`^${stopped[i]} ended ABORTED in ${endedIn}, running no Catch; cleaned by `)) : undefined;
        expect({ state, cleanup, left: mine, owner }).toEqual({ state, cleanup: { status: 'SUCCEEDED', settled, says }, left: [], owner: undefined });
      }
      expect(left).toEqual([]);
      console.log(
        `stopped in → cleanup (one execution each)\n${['state | cleanup | in flight | changes left | lock', ...rows.map((r) => r.join(' | '))].join('\n')}`,
      );
    }, 180_000);

    const sweep = async () => {
      const { sfn } = clients(sb);
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.SweepStateMachineArn, input: '{}' }));
      const done = await ended(sfn, executionArn!);
      expect(done.status).toBe('SUCCEEDED');
      return JSON.parse(done.output!) as { orphans: { executionArn: string; status: string; lock?: string; resources: string[]; fix: string }[] };
    };

    it('the sweeper finds nothing on an account whose stopped executions were all cleaned, and reports one whose cleanup never ran, read-only', async () => {
      const { sfn, events } = clients(sb);
      expect((await sweep()).orphans).toEqual([]);
      // The status-change event is lost: the cleanup rule is disabled while the execution is stopped.
      const rule = await cleanupRuleName(sb);
      await events.send(new DisableRuleCommand({ Name: rule }));
      sb.sandbox.faults.setLatency('kms', 'CreateKey', IN_FLIGHT_MS);
      const input = { applicationName: UNSWEPT, createApplication: { serviceExecutionRoleArn: execRoleArn(A, UNSWEPT) } };
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
      await stopIn(executionArn!, 'CreateKey');
      await new Promise((r) => setTimeout(r, 2 * IN_FLIGHT_MS));
      sb.sandbox.faults.clear();
      await events.send(new EnableRuleCommand({ Name: rule }));
      const before = sb.sandbox.snapshot();
      const { orphans } = await sweep();
      expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
      // Stopped in CreateKey: its lock, its operator role and application, and the key its call made.
      expect(orphans).toEqual([
        {
          executionArn,
          status: 'ABORTED',
          lock: `arn:aws:kinesisanalytics:us-east-1:${A}:application/${UNSWEPT}`,
          resources: [
            expect.stringMatching(/^arn:aws:iam::000000000000:role\/msf-cmk\/msf-cmk-operator-unswept$/),
            expect.stringMatching(/^arn:aws:kinesisanalytics:us-east-1:000000000000:application\/unswept$/),
            expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\//),
          ],
          fix: expect.stringContaining(`cleanup ${executionArn}`),
        },
      ]);
      // Its cleanup, started by hand, is itself stopped once it has claimed the lock: the sweeper still reports
      // the execution it was cleaning (not the stopped cleanup), and names the same fix.
      sb.sandbox.faults.setLatency('kinesisanalytics', 'DescribeApplication', 500);
      const { executionArn: interrupted } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: outputs.CleanupStateMachineArn, input: JSON.stringify({ executionArn }) }),
      );
      const claimedFor = async () => (await lockItem(sb, UNSWEPT))?.claimedFor?.S;
      for (const until = Date.now() + 60_000; Date.now() < until && (await claimedFor()) !== executionArn; ) await new Promise((r) => setTimeout(r, 5));
      await sfn.send(new StopExecutionCommand({ executionArn: interrupted }));
      sb.sandbox.faults.clear();
      expect([(await ended(sfn, interrupted!)).status, await lockOwner(UNSWEPT)]).toEqual(['ABORTED', interrupted]);
      expect((await sweep()).orphans).toEqual([expect.objectContaining({ executionArn, status: 'ABORTED', lock: orphans[0].lock })]);
      // Cleaned by hand again, the lock taken over from the stopped cleanup: no longer reported, the lock free.
      const cleaned = await startExecution({ client: sfn, stateMachineArn: outputs.CleanupStateMachineArn, input: { executionArn }, pollMs: 10 }, () => {});
      expect(cleaned.status).toBe('SUCCEEDED');
      expect(await lockOwner(UNSWEPT)).toBeUndefined();
      expect((await sweep()).orphans).toEqual([]);
    }, 180_000);

    it('a cleanup refuses a running execution (NotCleanable), finds nothing to clean after a SUCCEEDED one, and refuses a bad ARN: all changing nothing', async () => {
      const { sfn } = clients(sb);
      sb.sandbox.faults.setLatency('iam', 'CreateRole', 2000);
      const input = { applicationName: 'notyet', createApplication: { serviceExecutionRoleArn: execRoleArn(A, apps[0]) } };
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
      const { executionArn: cleanupArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: outputs.CleanupStateMachineArn, input: JSON.stringify({ executionArn }) }),
      );
      const cleanup = await ended(sfn, cleanupArn!);
      sb.sandbox.faults.clear();
      await ended(sfn, executionArn!);
      expect([cleanup.status, cleanup.error]).toEqual(['FAILED', 'NotCleanable']);
      expect(cleanup.cause).toContain('RUNNING');
      // Ended by its own path (SUCCEEDED here): nothing to clean, nothing changed.
      const before = sb.sandbox.snapshot();
      const clean = async (input: unknown) =>
        ended(
          sfn,
          (await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.CleanupStateMachineArn, input: JSON.stringify(input) }))).executionArn!,
        );
      const finished = await clean({ executionArn });
      expect([finished.status, JSON.parse(finished.output!).nothingToClean]).toEqual(['SUCCEEDED', expect.stringContaining('ended SUCCEEDED')]);
      // Not an execution ARN: refused by name, before any call.
      const bad = await clean({ executionArn: 'stopped0' });
      expect([bad.status, bad.error, bad.cause]).toEqual(['FAILED', 'InvalidInput', expect.stringContaining('executionArn')]);
      expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
    }, 180_000);

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
    describe('a redrive of an onboarding resumes only where that is safe, and is refused, changing nothing, where it is not', () => {
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
        const list = (await sfn().send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn, maxResults: 1000 }))).executions ?? [];
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

    it('an onboarding that timed out (its call in flight) is cleaned the same way', async () => {
      const { sfn } = clients(sb);
      // The deployed onboarding machine, given a short execution timeout in place (same ARN: CleanupRule still matches it).
      const deployedMachine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: outputs.StateMachineArn }));
      const definition = JSON.parse(deployedMachine.definition!);
      await sfn.send(
        new UpdateStateMachineCommand({
          stateMachineArn: outputs.StateMachineArn,
          definition: JSON.stringify({ ...definition, TimeoutSeconds: EXECUTION_TIMEOUT_S }),
        }),
      );
      const before = sb.sandbox.snapshot();
      // CreateKey outlasts the execution (held 1 s past its timeout); the cleanup reads the account only once
      // that call has landed, however late the run reached it.
      const HELD_MS = (EXECUTION_TIMEOUT_S + 1) * 1000;
      sb.sandbox.faults.setLatency('kms', 'CreateKey', HELD_MS);
      const input = { applicationName: 'timedout', createApplication: { serviceExecutionRoleArn: execRoleArn(A, 'timedout') } };
      const started = Date.now();
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
      const execution = () => sb.sandbox.state.stepfunctions!.executions[executionArn!];
      while (!execution().events.some((e: any) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'CreateKey'))
        await new Promise((r) => setTimeout(r, 2));
      const lands = Date.now() + HELD_MS;
      sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', lands - (started + EXECUTION_TIMEOUT_S * 1000) + 1000);
      for (let i = 0; i < 600 && (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'RUNNING'; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('TIMED_OUT');
      const [cleanup] = await cleanups(1);
      sb.sandbox.faults.clear();
      expect(JSON.parse((await sfn.send(new DescribeExecutionCommand({ executionArn: cleanup.executionArn }))).input!)).toEqual({ executionArn });
      expect(cleanup.status).toBe('SUCCEEDED');
      expect(accountLeftovers(sb.sandbox.diff(before), sb)).toEqual([]);
      expect(await lockOwner('timedout')).toBeUndefined();
      // A second cleanup of the same execution finds nothing of it left, and changes nothing.
      const after = sb.sandbox.snapshot();
      const { executionArn: again } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: outputs.CleanupStateMachineArn, input: JSON.stringify({ executionArn }) }),
      );
      expect((await ended(sfn, again!)).status).toBe('SUCCEEDED');
      expect(accountLeftovers(sb.sandbox.diff(after), sb)).toEqual([]);
      // And `msf-cmk cleanup <execution-arn> --state-machine-arn … --endpoint …`, by hand: the same, followed to its end.
      const lines: string[] = [];
      const byHand = await startExecution({ client: sfn, stateMachineArn: outputs.CleanupStateMachineArn, input: { executionArn }, pollMs: 10 }, (l) =>
        lines.push(l),
      );
      expect([byHand.status, JSON.parse(byHand.output!).cleanupOf]).toEqual([
        'SUCCEEDED',
        { executionArn, status: 'TIMED_OUT', cleanupExecutionArn: byHand.executionArn, inFlightTask: 'CreateKey' },
      ]);
      expect(lines.at(-1)).toMatch(/^SUCCEEDED in /);
      expect(accountLeftovers(sb.sandbox.diff(after), sb)).toEqual([]);
    }, 180_000);
  });
}

/** Every Task state of each day-two operation, and every compensation state of each operation's rollback. */
export function stopMatrix(): void {
  describe('stopped in any state of a day-two operation or of a rollback: the deployed stack cleans it from its own history', () => {
    beforeAll(async () => {
      const d = await deployed(
        {},
        {
          apps: [...DAY_TWO.flatMap((run) => run.apps), ...ROLLBACKS.flatMap((run) => run.apps)],
          lambdaRoles: [],
          // Eight runs at once, retried at once (Wait and retry intervals are instant here): no request rates.
          sandbox: { rates: false },
        },
      );
      sb = d.sb;
      outputs = d.result.outputs;
    }, 120_000);
    afterAll(() => sb.close());
    it('stops each day-two operation in every Task state its normal path passes through, and every day-two operation is here', () => {
      const forward = (operation: string, end: string) => forwardTaskStates(JSON.parse(readFileSync(aslFileOf(operation), 'utf8')), end);
      for (const run of DAY_TWO)
        expect({ run: run.name, stops: run.stops.map(([state]) => state) }).toEqual({
          run: run.name,
          stops: forward(run.operation, run.end).filter((state) => !(state in (run.notPassed ?? {}))),
        });
      // What one run of an operation does not pass, another does: every Task state of its normal path is stopped in.
      for (const operation of new Set(DAY_TWO.map((run) => run.operation))) {
        const runs = DAY_TWO.filter((run) => run.operation === operation);
        const stopped = new Set(runs.flatMap((run) => run.stops.map(([state]) => state)));
        expect({ operation, missed: forward(operation, runs[0].end).filter((state) => !stopped.has(state)) }).toEqual({ operation, missed: [] });
      }
      // A new state machine is either a day-two operation (then stopped in here) or named as not one.
      const NOT_DAY_TWO = ['onboard-application', 'onboard-fleet', 'cleanup', 'sweep', 'audit'];
      const machines = readdirSync(path.dirname(ASL_FILE))
        .filter((f) => f.endsWith('.asl.json'))
        .map((f) => f.replace('.asl.json', ''))
        .filter((m) => !NOT_DAY_TWO.includes(m));
      expect(machines.sort()).toEqual([...new Set(DAY_TWO.map((run) => run.operation))].sort());
    });

    it('a move, a revert or a rotation stopped in any state it passes through is cleaned the same way: the application as onboarded, the lock free (the runs concurrent, in batches)', async () => {
      const { sfn, flink } = clients(sb);
      const dayTwoApps = DAY_TWO.flatMap((run) => run.apps);
      const application = async (app: string) => (await flink.send(new DescribeApplicationCommand({ ApplicationName: app }))).ApplicationDetail!;
      // A RUNNING application is made and started on the AWS owned key, then onboarded (snapshotted and restarted on its CMK).
      const running = new Set(DAY_TWO.filter((run) => run.running).flatMap((run) => run.apps));
      for (const app of running) {
        await flink.send(new CreateApplicationCommand({ ApplicationName: app, RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: execRoleArn(A, app) }));
        await flink.send(new StartApplicationCommand({ ApplicationName: app, RunConfiguration: {} }));
        for (let i = 0; i < 400 && (await application(app)).ApplicationStatus !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 25));
      }
      const onboardings = await Promise.all(
        dayTwoApps.map(async (app) => {
          const input = running.has(app)
            ? { applicationName: app }
            : { applicationName: app, createApplication: { serviceExecutionRoleArn: execRoleArn(A, app) } };
          const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
          return (await ended(sfn, executionArn!)).status;
        }),
      );
      expect(onboardings).toEqual(dayTwoApps.map(() => 'SUCCEEDED'));
      for (const app of dayTwoApps) expect([app, (await application(app)).ApplicationStatus]).toEqual([app, running.has(app) ? 'RUNNING' : 'READY']);
      const keyIdOf = async (app: string) =>
        (await application(app)).ApplicationConfigurationDescription!.ApplicationEncryptionConfigurationDescription!.KeyId!.split('/').pop()!;
      const changed = (c: StateChange) =>
        Object.keys({ ...(c.before as object), ...(c.after as object) }).filter(
          (k) => JSON.stringify((c.before as any)?.[k]) !== JSON.stringify((c.after as any)?.[k]),
        );
      let cleaned = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn, maxResults: 1000 }))).executions!.length;
      const cleanupsOf = new Map<string, string[]>();
      const seen = new Set<string>();
      const rows: string[][] = [];
      const allLeft: string[] = [];
      const timings: string[] = [];
      for (const run of DAY_TWO)
        for (const [, service, operation] of run.stops) if (service && operation) sb.sandbox.faults.setLatency(service, operation, MANY_IN_FLIGHT_MS);
      // The cleanup's 60 s settle is instant here: its first read is held back past the in-flight call instead.
      sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', SETTLE_MS);
      try {
        // Each batch stops up to LANES runs of each operation at once (DAY_TWO_BATCH in all), the next states
        // of each, one application each: each cleaned on its own, and its application as onboarded again for the next batch. A run whose
        // held call landed before the stop did was stopped in a later state: cleaned all the same (checked), and
        // stopped in its state again in a later batch.
        type DayTwoCase = { run: DayTwoRun; stop: DayTwoRun['stops'][number]; index: number; attempt: number };
        const pending: DayTwoCase[][] = DAY_TWO.map((run) => run.stops.map((stop, index) => ({ run, stop, index, attempt: 1 })));
        for (let batch = 1; pending.some((queue) => queue.length); batch++) {
          // The runs with the most states left first, up to LANES of each and DAY_TWO_BATCH in all.
          const order = pending.map((queue, r) => [queue.length, r]).sort(([a], [b]) => b - a);
          const cases: (DayTwoCase & { app: string })[] = [];
          for (const [, r] of order)
            for (const [j, c] of pending[r].splice(0, Math.min(LANES, DAY_TWO_BATCH - cases.length)).entries()) cases.push({ ...c, app: DAY_TWO[r].apps[j] });
          const keyIds = new Map(await Promise.all(cases.map(async ({ app }) => [app, await keyIdOf(app)] as const)));
          const before = sb.sandbox.snapshot();
          const started = Date.now();
          const stopped = await Promise.all(
            cases.map(async ({ run, stop: [state], app, attempt }) => {
              const { executionArn } = await sfn.send(
                new StartExecutionCommand({
                  stateMachineArn: outputs[run.output],
                  name: `${app}-${state}-${attempt}`,
                  input: JSON.stringify(run.input(app)),
                }),
              );
              await stopIn(executionArn!, state);
              return executionArn!;
            }),
          );
          for (const executionArn of stopped) expect((await ended(sfn, executionArn)).status).toBe('ABORTED');
          cleaned += cases.length;
          for (const c of await cleanups(cleaned)) {
            if (seen.has(c.executionArn!)) continue;
            seen.add(c.executionArn!);
            const of = JSON.parse((await sfn.send(new DescribeExecutionCommand({ executionArn: c.executionArn }))).input!).executionArn;
            cleanupsOf.set(of, [...(cleanupsOf.get(of) ?? []), c.status!]);
          }
          timings.push(`batch ${batch}: ${cases.length} runs stopped and cleaned in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          const changes = sb.sandbox.diff(before);
          let left = leftoversOfExisting(changes, sb.sandbox.state)
            .filter((c) => !/^(stepfunctions|logs|lambda|events|sqs)\./.test(c.path))
            .map((c) => c.path);
          for (const [k, c] of cases.entries()) {
            const { run, stop, index, app, attempt } = c;
            const [state, service] = stop;
            const states = run.stops.map(([s]) => s);
            const keyId = keyIds.get(app)!;
            const owner = await lockOwner(app);
            // Where it ended: a state whose call is not held may be left before the stop lands, then a later one.
            const endedIn = endedInState(stopped[k])!;
            expect(states.slice(index)).toContain(endedIn);
            const again = !!service && endedIn !== state;
            if (again) {
              expect([run.name, state, attempt]).toEqual([run.name, state, expect.any(Number)]);
              expect(attempt).toBeLessThan(MAX_ATTEMPTS);
              pending[DAY_TWO.indexOf(run)].push({ run, stop, index, attempt: attempt + 1 });
            }
            // What no cleanup takes back, by design: an on-demand rotation's new material (and its rotation record),
            // made once the run reached RotateKeyOnDemand, and the system snapshot of its restart, made once it
            // reached RestartApplication (each call held, it lands after the stop); and the period an automatic
            // rotation set, put back to off, which KMS no longer shows (GetKeyRotationStatus) nor applies.
            const onDemand = (run.input(app) as { rotation?: string }).rotation === 'on-demand';
            const reached = (s: string) => states.indexOf(endedIn) >= states.indexOf(s);
            const keyChange = changes.find((ch) => ch.path === `kms.keys.${keyId}`);
            const snapshots = left.filter((p) => p.startsWith(`kinesisanalytics.snapshots.${app}/`));
            const restarted = onDemand && reached('RestartApplication');
            const kept = [...(keyChange ? changed(keyChange) : []), ...(restarted ? snapshots.map(() => "its restart's snapshot") : [])];
            const mine = left.filter((p) => (p.includes(app) || p.includes(keyId)) && !(restarted && snapshots.includes(p)));
            left = left.filter((p) => !(p.includes(app) || p.includes(keyId)) || mine.includes(p));
            const cleanup = cleanupsOf.get(stopped[k]);
            rows.push([
              run.name,
              endedIn === state ? state : `${state} (stopped in ${endedIn}${again ? ', its call done first: stopped again' : ''})`,
              cleanup?.join(', ') ?? 'none',
              String(mine.length),
              owner ? 'held' : 'free',
              kept.join(', ') || '-',
            ]);
            expect({ run: run.name, state, batch, cleanup, left: mine, owner, kept }).toEqual({
              run: run.name,
              state,
              batch,
              cleanup: ['SUCCEEDED'],
              left: [],
              owner: undefined,
              kept: [
                ...(onDemand && reached('RotateKeyOnDemand') ? ['Rotations', 'KeyMaterial'] : []),
                ...(!onDemand && reached('SetAutomaticRotation') && (keyChange?.after as { RotationEnabled?: boolean })?.RotationEnabled === false
                  ? ['RotationPeriodInDays']
                  : []),
                ...(restarted ? ["its restart's snapshot"] : []),
              ],
            });
          }
          allLeft.push(...left);
        }
      } finally {
        sb.sandbox.faults.clear();
        console.log(
          `day-two operation stopped in → cleanup (one execution each)\n${['operation | state | cleanup | changes left | lock | kept by design', ...rows.map((r) => r.join(' | '))].join('\n')}\n${timings.join('\n')}`,
        );
      }
      expect(allLeft).toEqual([]);
      // Every state of every run stopped in: each row its own run.
      expect(new Set(rows.map(([run, state]) => `${run} ${state.split(' ')[0]}`)).size).toBe(DAY_TWO.reduce((n, run) => n + run.stops.length, 0));
    }, 300_000);

    it('stops in every compensation state the rollback of an onboarding, a move, a revert and a rotation passes through after a late failure', () => {
      for (const run of ROLLBACKS) {
        const definition = JSON.parse(readFileSync(aslFileOf(run.operation), 'utf8'));
        const catchTarget = definition.States[run.failsIn].Catch.find((c: any) => c.ErrorEquals.includes('States.ALL')).Next;
        expect({ run: run.name, stops: run.stops.map(([state]) => state) }).toEqual({
          run: run.name,
          stops: forwardTaskStates(definition, 'RolledBack', catchTarget),
        });
      }
    });

    it('an operation stopped while its own rollback runs is finished by its cleanup from the ledger: the account as before, the lock free (in batches)', async () => {
      const { sfn, flink } = clients(sb);
      const onboarded = ROLLBACKS.filter((run) => !run.creates).flatMap((run) => run.apps);
      const onboardings = await Promise.all(
        onboarded.map(async (app) => {
          const input = { applicationName: app, createApplication: { serviceExecutionRoleArn: execRoleArn(A, app) } };
          const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
          return (await ended(sfn, executionArn!)).status;
        }),
      );
      expect(onboardings).toEqual(onboarded.map(() => 'SUCCEEDED'));
      /** The application's key (none for an application not made yet). */
      const keyIdOf = async (app: string) =>
        (
          await flink.send(new DescribeApplicationCommand({ ApplicationName: app })).catch(() => undefined)
        )?.ApplicationDetail?.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyId?.split('/').pop();
      let cleaned = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn, maxResults: 1000 }))).executions!.length;
      const cleanupsOf = new Map<string, string[]>();
      const seen = new Set<string>();
      const rows: string[][] = [];
      const allLeft: string[] = [];
      const timings: string[] = [];
      for (const run of ROLLBACKS)
        for (const [, service, operation] of run.stops) if (service && operation) sb.sandbox.faults.setLatency(service, operation, MANY_IN_FLIGHT_MS);
      sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', SETTLE_MS);
      try {
        // Each batch: the next states of every operation's rollback, one application each (a new one for each
        // onboarding, which creates it; else one of its onboarded applications, as onboarded again once cleaned).
        const lanesOf = (run: RollbackRun) => (run.creates ? LANES : run.apps.length);
        type RollbackCase = { run: RollbackRun; stop: RollbackRun['stops'][number]; index: number; attempt: number };
        const pending: RollbackCase[][] = ROLLBACKS.map((run) => run.stops.map((stop, index) => ({ run, stop, index, attempt: 1 })));
        for (let batch = 1; pending.some((queue) => queue.length); batch++) {
          // One application of its own for each state of an onboarding (which creates it, and whose cleanup deletes
          // it: a second attempt reuses it); else each of its run's, one per run at once.
          const cases = pending.flatMap((queue, r) =>
            queue.splice(0, lanesOf(ROLLBACKS[r])).map((c, j) => ({ ...c, app: c.run.creates ? c.run.apps[c.index] : c.run.apps[j] })),
          );
          const keyIds = new Map(await Promise.all(cases.map(async ({ app }) => [app, await keyIdOf(app)] as const)));
          const before = sb.sandbox.snapshot();
          const started = Date.now();
          const stopped = await Promise.all(
            cases.map(async ({ run, stop: [state], app, attempt }) => {
              sb.sandbox.faults.inject(run.fault(app, keyIds.get(app) ?? app));
              const { executionArn } = await sfn.send(
                new StartExecutionCommand({
                  stateMachineArn: outputs[run.output],
                  name: `${app}-undoing-${state}-${attempt}`,
                  input: JSON.stringify(run.input(app)),
                }),
              );
              await stopIn(executionArn!, state);
              return executionArn!;
            }),
          );
          // Stopped, or (the stop landing after its last call) rolled back to its end: FAILED, no cleanup to start.
          const endings = await Promise.all(stopped.map((executionArn) => ended(sfn, executionArn)));
          const statuses = endings.map((e) => e.status!);
          expect(cases.map(({ run, stop: [state] }, k) => [run.name, state, statuses[k]])).toEqual(
            cases.map(({ run, stop: [state] }, k) => [run.name, state, statuses[k] === 'FAILED' && state === run.stops.at(-1)![0] ? 'FAILED' : 'ABORTED']),
          );
          cleaned += statuses.filter((status) => status === 'ABORTED').length;
          for (const c of await cleanups(cleaned)) {
            if (seen.has(c.executionArn!)) continue;
            seen.add(c.executionArn!);
            const of = JSON.parse((await sfn.send(new DescribeExecutionCommand({ executionArn: c.executionArn }))).input!).executionArn;
            cleanupsOf.set(of, [...(cleanupsOf.get(of) ?? []), c.status!]);
          }
          timings.push(`batch ${batch}: ${cases.length} runs stopped and cleaned in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          let left = leftoversOfExisting(sb.sandbox.diff(before), sb.sandbox.state)
            .filter((c) => !/^(stepfunctions|logs|lambda|events|sqs)\./.test(c.path))
            .map((c) => c.path);
          for (const [k, { run, stop, index, app, attempt }] of cases.entries()) {
            const [state, service] = stop;
            const events = sb.sandbox.state.stepfunctions!.executions[stopped[k]].events as any[];
            // It failed late, as injected, in the state named, and was rolling back when stopped.
            const failed = events.find((e) => e.type === 'LambdaFunctionFailed' || e.type === 'TaskFailed');
            const failure = failed?.lambdaFunctionFailedEventDetails ?? failed?.taskFailedEventDetails;
            const failedIn = events.findLast((e) => e.type === 'TaskStateEntered' && e.id < failed?.id)?.stateEnteredEventDetails?.name;
            const endedIn = endedInState(stopped[k])!;
            const keyId = keyIds.get(app);
            const mine = left.filter((p) => p.includes(app) || (keyId && p.includes(keyId)));
            left = left.filter((p) => !mine.includes(p));
            allLeft.push(...mine);
            const owner = await lockOwner(app);
            const cleanup = cleanupsOf.get(stopped[k]);
            // Its held call landed before the stop did: stopped in a later state, cleaned all the same (checked), and
            // stopped in its state again in a later batch. (Or it rolled back to its end: nothing to clean.)
            const rolledBack = statuses[k] === 'FAILED';
            const again = (!!service && endedIn !== state) || rolledBack;
            if (again) {
              expect([run.name, state, attempt]).toEqual([run.name, state, expect.any(Number)]);
              expect(attempt).toBeLessThan(MAX_ATTEMPTS);
              pending[ROLLBACKS.indexOf(run)].push({ run, stop, index, attempt: attempt + 1 });
            }
            rows.push([
              run.name,
              state,
              rolledBack ? 'RolledBack (its call done first: stopped again)' : again ? `${endedIn} (its call done first: stopped again)` : endedIn,
              cleanup?.join(', ') ?? 'none',
              String(mine.length),
              owner ? 'held' : 'free',
            ]);
            const states = run.stops.map(([s]) => s);
            expect({ run: run.name, state, failedIn, cause: failure?.cause }).toEqual({
              run: run.name,
              state,
              failedIn: run.failsIn,
              cause: expect.stringContaining('injected: fails for good'),
            });
            expect(states.slice(index)).toContain(endedIn);
            expect({ run: run.name, state, batch, cleanup, left: mine, owner }).toEqual({
              run: run.name,
              state,
              batch,
              cleanup: rolledBack ? undefined : ['SUCCEEDED'],
              left: [],
              owner: undefined,
            });
          }
          allLeft.push(...left);
        }
      } finally {
        sb.sandbox.faults.clear();
        console.log(
          `stopped in its own rollback (after a late failure) → cleanup (one execution each)\n${['operation | stopped in | ended in | cleanup | changes left | lock', ...rows.map((r) => r.join(' | '))].join('\n')}\n${timings.join('\n')}`,
        );
      }
      expect(allLeft).toEqual([]);
    }, 240_000);
  });
}
