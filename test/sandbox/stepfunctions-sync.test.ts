/**
 * The optimized Step Functions integration in the sandbox, through the real SFN client: a Task on
 * `arn:aws:states:::states:startExecution[.sync[:2]]` starts a child execution as the state machine's role, waits
 * for it (`.sync`, `.sync:2`), inside a Map too, and stops it when the parent is stopped — the fleet's shape.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { clients, deployStateMachine, ended, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';
/** Start other state machines and follow their executions, as the Step Functions IAM docs give it for `.sync`. */
const startAndFollow = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'states:StartExecution', Resource: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:*` },
    { Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: `arn:aws:states:us-east-1:${ACCOUNT}:execution:*:*` },
  ],
};

describe('Step Functions starting child executions (states:startExecution, .sync, .sync:2)', () => {
  let sb: RunningSandbox;
  let sfn: SFNClient;
  let childArn: string;
  let slowArn: string;
  /** A Task starting `stateMachineArn` with the item's app as input, named after it, and the parent's id. */
  const startTask = (stateMachineArn: string, resource = SYNC2, extra: object = {}, parameters: object = {}) => ({
    Type: 'Task',
    Resource: resource,
    Parameters: {
      StateMachineArn: stateMachineArn,
      Input: { 'app.$': '$.app', 'fail.$': '$.fail', 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
      ...parameters,
    },
    ...extra,
  });

  beforeAll(async () => {
    sb = await testSandbox({ stepFunctions: { timeScale: 0 } });
    sfn = clients(sb).sfn;
    // The child: fails when asked to, else says which app it did and who started it.
    childArn = await deployStateMachine(sb, 'Child', {
      StartAt: 'Check',
      States: {
        Check: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'Refuse' }], Default: 'Done' },
        Refuse: { Type: 'Fail', Error: 'ChildFailed', Cause: 'asked to' },
        Done: { Type: 'Pass', Parameters: { 'app.$': '$.app', 'startedBy.$': '$.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID', done: true }, End: true },
      },
    });
    slowArn = await deployStateMachine(sb, 'Slow', { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 3600, End: true } } });
  });
  afterAll(() => sb.close());

  const run = async (stateMachineArn: string, input: unknown) => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
    return { executionArn: executionArn!, done: await ended(sfn, executionArn!) };
  };

  it('runs a Map of 3 iterations, each waiting for its child with .sync:2, and gets each child output as JSON', async () => {
    const parentArn = await deployStateMachine(
      sb,
      'Fleet',
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.apps',
            MaxConcurrency: 2,
            ItemSelector: { 'app.$': '$$.Map.Item.Value', fail: false },
            ItemProcessor: {
              StartAt: 'Onboard',
              States: {
                Onboard: startTask(childArn, SYNC2, { ResultSelector: { 'status.$': '$.Status', 'output.$': '$.Output' }, End: true }, { 'Name.$': '$.app' }),
              },
            },
            End: true,
          },
        },
      },
      { policy: startAndFollow },
    );
    const { executionArn, done } = await run(parentArn, { apps: ['a', 'b', 'c'] });
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toEqual(['a', 'b', 'c'].map((app) => ({ status: 'SUCCEEDED', output: { app, done: true, startedBy: executionArn } })));
    // One history per child; the parent's records the service integration as AWS does.
    const children = await sfn.send(new ListExecutionsCommand({ stateMachineArn: childArn }));
    expect(children.executions!.map((e) => [e.name, e.status]).sort()).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'SUCCEEDED'],
      ['c', 'SUCCEEDED'],
    ]);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const count = (type: string) => events!.filter((e) => e.type === type).length;
    for (const type of ['MapIterationStarted', 'MapIterationSucceeded', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded'])
      expect(count(type)).toBe(3);
    expect(events!.find((e) => e.type === 'TaskSucceeded')!.taskSucceededEventDetails).toMatchObject({
      resourceType: 'states',
      resource: 'startExecution.sync:2',
    });
    // Started as the state machine's role, in the request log like any call.
    const starts = sb.sandbox.faults.log.filter((r) => r.operation === 'StartExecution' && r.caller.includes(':assumed-role/Fleet-StateMachineRole/'));
    expect(starts.map((r) => r.outcome)).toEqual(['OK', 'OK', 'OK']);
  });

  it('gives .sync the child Output as a JSON string, and records TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded', async () => {
    const parentArn = await deployStateMachine(
      sb,
      'SyncOne',
      { StartAt: 'Start', States: { Start: startTask(childArn, 'arn:aws:states:::states:startExecution.sync', { End: true }) } },
      { policy: startAndFollow },
    );
    const { executionArn, done } = await run(parentArn, { app: 'one', fail: false });
    const out = JSON.parse(done.output!);
    expect(out).toMatchObject({ Status: 'SUCCEEDED', StateMachineArn: childArn, InputDetails: { Included: true }, OutputDetails: { Included: true } });
    expect(typeof out.Output).toBe('string');
    expect(JSON.parse(out.Output)).toEqual({ app: 'one', done: true, startedBy: executionArn });
    expect(out.StopDate).toBeGreaterThanOrEqual(out.StartDate);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events!.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    const scheduled = events![2].taskScheduledEventDetails!;
    expect(scheduled).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync', region: 'us-east-1' });
    expect(JSON.parse(scheduled.parameters!)).toMatchObject({ StateMachineArn: childArn, Input: { app: 'one' } });
    expect(JSON.parse(events![4].taskSubmittedEventDetails!.output!)).toMatchObject({ ExecutionArn: out.ExecutionArn });
  });

  it('fails the iteration of a failing child with States.TaskFailed, the DescribeExecution as the cause, seen by a Catch', async () => {
    const parentArn = await deployStateMachine(
      sb,
      'FleetCatch',
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.apps',
            ItemProcessor: {
              StartAt: 'Onboard',
              States: {
                Onboard: startTask(childArn, SYNC2, { Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Failed' }], End: true }),
                Failed: { Type: 'Pass', End: true },
              },
            },
            End: true,
          },
        },
      },
      { policy: startAndFollow },
    );
    const { done } = await run(parentArn, {
      apps: [
        { app: 'good', fail: false },
        { app: 'bad', fail: true },
      ],
    });
    expect(done.status).toBe('SUCCEEDED');
    const [good, bad] = JSON.parse(done.output!);
    expect(good).toMatchObject({ Status: 'SUCCEEDED', Output: { app: 'good' } });
    expect(bad.error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(bad.error.Cause)).toMatchObject({
      Status: 'FAILED',
      StateMachineArn: childArn,
      Error: 'ChildFailed',
      Cause: 'asked to',
      Input: { app: 'bad', fail: true },
    });

    // Without a Catch, the parent fails with it.
    const bare = await deployStateMachine(
      sb,
      'Bare',
      { StartAt: 'Start', States: { Start: startTask(childArn, SYNC2, { End: true }) } },
      { policy: startAndFollow },
    );
    const { done: failed } = await run(bare, { app: 'bad', fail: true });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(JSON.parse(failed.cause!)).toMatchObject({ Status: 'FAILED', Error: 'ChildFailed' });
  });

  it('fails the Task when the role may not start the child (StartExecution) or follow it (DescribeExecution)', async () => {
    const noStart = await deployStateMachine(sb, 'NoStart', { StartAt: 'Start', States: { Start: startTask(slowArn, SYNC2, { End: true }) } });
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: slowArn }))).executions!.length;
    const { done } = await run(noStart, { app: 'x', fail: false });
    expect(done).toMatchObject({ status: 'FAILED', error: 'StepFunctions.AWSStepFunctionsException' });
    expect(done.cause).toMatch(
      new RegExp(
        `^User: arn:aws:sts::${ACCOUNT}:assumed-role/NoStart-StateMachineRole/\\w+ is not authorized to perform: states:StartExecution on resource: ${slowArn} .*\\(Service: AWSStepFunctions; Status Code: 400; Error Code: AccessDeniedException; `,
      ),
    );
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: slowArn }))).executions!.length).toBe(before);
    expect(sb.sandbox.faults.log.filter((r) => r.caller.includes('/NoStart-StateMachineRole/')).map((r) => [r.operation, r.outcome])).toEqual([
      ['StartExecution', 'AccessDeniedException'],
    ]);

    const startOnly = { Version: '2012-10-17', Statement: [startAndFollow.Statement[0]] };
    const noDescribe = await deployStateMachine(
      sb,
      'NoDescribe',
      { StartAt: 'Start', States: { Start: startTask(childArn, SYNC2, { End: true }) } },
      { policy: startOnly },
    );
    const { done: blind } = await run(noDescribe, { app: 'y', fail: false });
    expect(blind).toMatchObject({ status: 'FAILED', error: 'StepFunctions.AWSStepFunctionsException' });
    expect(blind.cause).toContain('is not authorized to perform: states:DescribeExecution');
  });

  it('stops the running child when the parent is stopped, and fire and forget returns the ExecutionArn at once', async () => {
    sb.sandbox.stepFunctions.timeScale = 1;
    try {
      const waiting = await deployStateMachine(
        sb,
        'Waiting',
        { StartAt: 'Start', States: { Start: startTask(slowArn, SYNC2, { End: true }) } },
        { policy: startAndFollow },
      );
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: waiting, input: '{"app":"w","fail":false}' }));
      let child: string | undefined;
      while (!child) {
        const running = await sfn.send(new ListExecutionsCommand({ stateMachineArn: slowArn, statusFilter: 'RUNNING' }));
        child = running.executions?.[0]?.executionArn;
        if (!child) await new Promise((r) => setTimeout(r, 10));
      }
      await sfn.send(new StopExecutionCommand({ executionArn }));
      expect((await ended(sfn, child)).status).toBe('ABORTED');
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
      expect(sb.sandbox.faults.log.filter((r) => r.caller.includes('/Waiting-StateMachineRole/')).map((r) => [r.operation, r.outcome])).toEqual([
        ['StartExecution', 'OK'],
        ['DescribeExecution', 'OK'],
        ['StopExecution', 'OK'],
      ]);

      const forget = await deployStateMachine(
        sb,
        'Forget',
        { StartAt: 'Start', States: { Start: startTask(slowArn, 'arn:aws:states:::states:startExecution', { End: true }) } },
        { policy: { Version: '2012-10-17', Statement: [startAndFollow.Statement[0]] } },
      );
      const { done } = await run(forget, { app: 'f', fail: false });
      expect(done.status).toBe('SUCCEEDED');
      const out = JSON.parse(done.output!);
      expect(out).toMatchObject({ ExecutionArn: expect.stringMatching(`^arn:aws:states:us-east-1:${ACCOUNT}:execution:Slow:`), StartDate: expect.any(Number) });
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn: out.ExecutionArn }))).status).toBe('RUNNING');
      await sfn.send(new StopExecutionCommand({ executionArn: out.ExecutionArn }));
    } finally {
      sb.sandbox.stepFunctions.timeScale = 0;
    }
  });
});
