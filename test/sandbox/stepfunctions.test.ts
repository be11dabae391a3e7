/**
 * Step Functions in the sandbox, through the real SFN client: state machines whose Tasks invoke the
 * sandbox's Lambda functions as the state machine's role, AWS-shaped history, idempotent StartExecution,
 * StopExecution, RedriveExecution, and the time scale.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { clients, deployFunction, deployStateMachine, roleCredentials, testSandbox, ended } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

/** Each function appends its name to CALLS (they run in their own execution environments); Gate waits for GATE. */
const SOURCES: Record<string, string> = {
  Echo: `const fs = require('fs'); exports.handler = async (e) => { fs.appendFileSync(process.env.CALLS, 'Echo\\n'); return { ...e, echoed: true }; };`,
  Boom: `const fs = require('fs'); exports.handler = async () => { fs.appendFileSync(process.env.CALLS, 'Boom\\n'); const e = new Error('the function failed'); e.name = 'Kaboom'; throw e; };`,
  Flaky: `const fs = require('fs'); exports.handler = async (e) => { fs.appendFileSync(process.env.CALLS, 'Flaky\\n'); if (!fs.existsSync(process.env.FIXED)) { const x = new Error('not yet'); x.name = 'NotYet'; throw x; } return e; };`,
  Gate: `const fs = require('fs'); exports.handler = async (e) => { fs.appendFileSync(process.env.CALLS, 'Gate\\n'); while (!fs.existsSync(process.env.GATE)) await new Promise((r) => setTimeout(r, 5)); return e; };`,
};

describe('Step Functions invoking Lambda functions', () => {
  let sb: RunningSandbox;
  let sfn: SFNClient;
  const dir = mkdtempSync(join(tmpdir(), 'sfn-test-'));
  const environment = { CALLS: join(dir, 'calls'), GATE: join(dir, 'gate'), FIXED: join(dir, 'fixed') };
  const calls = () => (existsSync(environment.CALLS) ? readFileSync(environment.CALLS, 'utf8').split('\n').filter(Boolean) : []);
  const g = { open: () => writeFileSync(environment.GATE, '') };
  const echoMachine = {
    StartAt: 'Prepare',
    States: {
      Prepare: { Type: 'Pass', Result: { x: 1 }, ResultPath: '$.prepared', Next: 'Echo' },
      Echo: { Type: 'Task', Resource: fn('Echo'), Next: 'Pause' },
      Pause: { Type: 'Wait', Seconds: 3600, Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  };
  let echoArn: string;

  beforeAll(async () => {
    sb = await testSandbox({ stepFunctions: { timeScale: 0 } });
    sfn = clients(sb).sfn;
    for (const [name, source] of Object.entries(SOURCES)) await deployFunction(sb, name, source, { environment });
    echoArn = await deployStateMachine(sb, 'Echo', echoMachine);
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    rmSync(environment.CALLS, { force: true });
    rmSync(environment.GATE, { force: true });
    rmSync(environment.FIXED, { force: true });
  });

  it('creates a state machine from ASL with function ARNs, and describes and lists it', async () => {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: echoArn }));
    expect(described).toMatchObject({
      stateMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Echo`,
      name: 'Echo',
      status: 'ACTIVE',
      type: 'STANDARD',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/Echo-StateMachineRole`,
    });
    expect(JSON.parse(described.definition!)).toEqual(echoMachine);
    expect(described.creationDate).toBeInstanceOf(Date);
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines!.map((s) => s.name)).toContain('Echo');
  });

  it('answers in AWS JSON 1.0, the content type the SDK sends', async () => {
    let contentType: string | undefined;
    const client = clients(sb).sfn;
    client.middlewareStack.add(
      (next) => async (args) => {
        const out: any = await next(args);
        contentType = out.response.headers['content-type'];
        return out;
      },
      { step: 'deserialize' },
    );
    await client.send(new ListStateMachinesCommand({}));
    expect(contentType).toBe('application/x-amz-json-1.0');
  });

  it('refuses a Task resource the sandbox does not serve, at CreateStateMachine, naming it', async () => {
    const resource = 'arn:aws:states:::sqs:sendMessage';
    const definition = { StartAt: 'X', States: { X: { Type: 'Task', Resource: resource, End: true } } };
    const err = await deployStateMachine(sb, 'Unknown', definition).catch((e) => e);
    expect(err.name).toBe('InvalidDefinition');
    expect(err.message).toBe(
      `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: /States/X/Resource: ${resource} is not served by this sandbox (it serves Lambda function ARNs, arn:aws:states:::lambda:invoke and arn:aws:states:::states:startExecution[.sync[:2]])'`,
    );
  });

  it('fails a Task whose function does not exist with Lambda.ResourceNotFoundException', async () => {
    const arn = await deployStateMachine(sb, 'Missing', { StartAt: 'X', States: { X: { Type: 'Task', Resource: fn('Nope'), End: true } } });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const done = await ended(sfn, executionArn!);
    expect(done).toMatchObject({ status: 'FAILED', error: 'Lambda.ResourceNotFoundException' });
    expect(done.cause).toMatch(/^Function not found: arn:aws:lambda:us-east-1:000000000000:function:Nope /);
  });

  it('invokes through arn:aws:states:::lambda:invoke, with Payload in and the Lambda response out', async () => {
    const arn = await deployStateMachine(sb, 'Integration', {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: fn('Echo'), 'Payload.$': '$' },
          ResultSelector: { 'out.$': '$.Payload', 'status.$': '$.StatusCode' },
          End: true,
        },
      },
    });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"a":2}' }));
    const done = await ended(sfn, executionArn!);
    expect(JSON.parse(done.output!)).toEqual({ out: { a: 2, echoed: true }, status: 200 });
  });

  it('takes Wait states and retry intervals at the time scale (1 is as the definition says)', async () => {
    const arn = await deployStateMachine(sb, 'Slow', { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 1, End: true } } });
    sb.sandbox.stepFunctions.timeScale = 0.2;
    const started = Date.now();
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    await ended(sfn, executionArn!);
    sb.sandbox.stepFunctions.timeScale = 0;
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('refuses a role that does not trust Step Functions', async () => {
    const { iam } = clients(sb);
    const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'NotForStates', AssumeRolePolicyDocument: JSON.stringify(lambdaTrust) }));
    const err = await sfn
      .send(new CreateStateMachineCommand({ name: 'Untrusted', definition: JSON.stringify(echoMachine), roleArn: role.Role!.Arn }))
      .catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe('Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.');
  });

  it('runs an execution to SUCCEEDED and records its history in AWS event names and shapes', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, name: 'shapes', input: '{"a":1}' }));
    expect(executionArn).toBe(`arn:aws:states:us-east-1:${ACCOUNT}:execution:Echo:shapes`);
    const done = await ended(sfn, executionArn!);
    expect(done).toMatchObject({ status: 'SUCCEEDED', name: 'shapes', stateMachineArn: echoArn, input: '{"a":1}' });
    expect(JSON.parse(done.output!)).toEqual({ a: 1, prepared: { x: 1 }, echoed: true });
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());

    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events!.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'WaitStateEntered',
      'WaitStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events!.map((e) => [e.id, e.previousEventId])).toEqual(events!.map((_, i) => [i + 1, i]));
    expect(events![0]).toMatchObject({ executionStartedEventDetails: { input: '{"a":1}', roleArn: `arn:aws:iam::${ACCOUNT}:role/Echo-StateMachineRole` } });
    expect(events![3]).toMatchObject({ stateEnteredEventDetails: { name: 'Echo', input: '{"a":1,"prepared":{"x":1}}' } });
    expect(events![4]).toMatchObject({ lambdaFunctionScheduledEventDetails: { resource: fn('Echo'), input: '{"a":1,"prepared":{"x":1}}' } });
    expect(JSON.parse(events![6].lambdaFunctionSucceededEventDetails!.output!)).toEqual({ a: 1, prepared: { x: 1 }, echoed: true });
    expect(events![12]).toMatchObject({ executionSucceededEventDetails: { output: done.output } });
    expect(events!.every((e, i) => e.timestamp instanceof Date && (i === 0 || e.timestamp >= events![i - 1].timestamp!))).toBe(true);
  });

  it('pages the history with maxResults and nextToken, in either order, and can leave out the data', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, name: 'paging' }));
    await ended(sfn, executionArn!);
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5 }));
    const second = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken: first.nextToken }));
    const third = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken: second.nextToken }));
    expect([first, second, third].map((p) => p.events!.map((e) => e.id))).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13],
    ]);
    expect(third.nextToken).toBeUndefined();
    const reversed = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2, reverseOrder: true }));
    expect(reversed.events!.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    const bare = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1, includeExecutionData: false }));
    expect(bare.events![0].executionStartedEventDetails).toEqual({ inputDetails: { truncated: false }, roleArn: expect.any(String) });
    const err = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: 'bogus' })).catch((e) => e);
    expect(err).toMatchObject({ name: 'InvalidToken', message: "Invalid Token: 'bogus'" });
  });

  it('fails an execution with the function error once its retries are spent, one LambdaFunctionFailed per attempt', async () => {
    const arn = await deployStateMachine(sb, 'Boom', {
      StartAt: 'Explode',
      States: { Explode: { Type: 'Task', Resource: fn('Boom'), Retry: [{ ErrorEquals: ['Kaboom'], IntervalSeconds: 5, MaxAttempts: 1 }], End: true } },
    });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const done = await ended(sfn, executionArn!);
    // As in AWS: the error is the function's errorType, the cause Lambda's error payload.
    expect(done).toMatchObject({ status: 'FAILED', error: 'Kaboom' });
    expect(JSON.parse(done.cause!)).toMatchObject({
      errorType: 'Kaboom',
      errorMessage: 'the function failed',
      trace: expect.arrayContaining([expect.stringMatching(/^Kaboom: the function failed/)]),
    });
    expect(calls()).toEqual(['Boom', 'Boom']);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events!.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails!.error)).toEqual(['Kaboom', 'Kaboom']);
    expect(events!.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'Kaboom', cause: done.cause } });
  });

  describe('StartExecution with a name (idempotency, as AWS documents it for STANDARD)', () => {
    let gateArn: string;
    beforeAll(async () => {
      gateArn = await deployStateMachine(sb, 'Gated', {
        StartAt: 'Hold',
        States: { Hold: { Type: 'Task', Resource: fn('Gate'), Next: 'Echo' }, Echo: { Type: 'Task', Resource: fn('Echo'), End: true } },
      });
    });

    it('returns the same execution for the same name and input while it runs, and starts it once', async () => {
      const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'once', input: '{"n":1}' }));
      const b = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'once', input: '{"n":1}' }));
      expect({ arn: b.executionArn, start: b.startDate }).toEqual({ arn: a.executionArn, start: a.startDate });
      g.open();
      await ended(sfn, a.executionArn!);
      expect(calls()).toEqual(['Gate', 'Echo']);
    });

    it('refuses the same name with a different input as ExecutionAlreadyExists', async () => {
      const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'other-input', input: '{"n":1}' }));
      const err = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'other-input', input: '{"n":2}' })).catch((e) => e);
      expect(err).toMatchObject({ name: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${a.executionArn}'` });
      g.open();
      await ended(sfn, a.executionArn!);
    });

    it('refuses the same name and input once the execution has closed', async () => {
      g.open();
      const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'closed', input: '{}' }));
      await ended(sfn, a.executionArn!);
      const err = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'closed', input: '{}' })).catch((e) => e);
      expect(err).toMatchObject({ name: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${a.executionArn}'` });
    });

    it('stops a running execution: ABORTED with ExecutionAborted, and no function runs after it', async () => {
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'stopped' }));
      while (!calls().includes('Gate')) await new Promise((r) => setTimeout(r, 10)); // the engine reaches the gate
      const stop = await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'changed my mind' }));
      g.open();
      await new Promise((r) => setTimeout(r, 100));
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(d).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'changed my mind', stopDate: stop.stopDate });
      expect(calls()).toEqual(['Gate']);
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }));
      expect(events![0]).toMatchObject({ type: 'ExecutionAborted', executionAbortedEventDetails: { error: 'Operator', cause: 'changed my mind' } });
    });

    it('lists executions newest first, filtered by status', async () => {
      const running = await sfn.send(new ListExecutionsCommand({ stateMachineArn: gateArn, statusFilter: 'ABORTED' }));
      expect(running.executions!.map((e) => e.name)).toEqual(['stopped']);
      const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: gateArn }));
      expect(all.executions!.map((e) => e.name)).toEqual(['stopped', 'closed', 'other-input', 'once']);
    });
  });

  describe('RedriveExecution (AWS: the same execution resumes at its unsuccessful state)', () => {
    /** Echo, then Flaky (fails until FIXED exists), with the redrive count the context gives it, then Done. */
    const flakyMachine = {
      StartAt: 'Echo',
      States: {
        Echo: { Type: 'Task', Resource: fn('Echo'), Next: 'Flaky' },
        Flaky: {
          Type: 'Task',
          Resource: fn('Flaky'),
          Parameters: { 'echoed.$': '$.echoed', 'redriveCount.$': '$$.Execution.RedriveCount' },
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    let flakyArn: string;
    let gatedArn: string;
    beforeAll(async () => {
      flakyArn = await deployStateMachine(sb, 'Flaky', flakyMachine);
      gatedArn = await deployStateMachine(sb, 'GatedRedrive', {
        StartAt: 'Hold',
        States: { Hold: { Type: 'Task', Resource: fn('Gate'), Next: 'Echo' }, Echo: { Type: 'Task', Resource: fn('Echo'), End: true } },
      });
    });
    const failedRun = async (name: string) => {
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: flakyArn, name }));
      expect((await ended(sfn, executionArn!)).status).toBe('FAILED');
      return executionArn!;
    };

    it('resumes a FAILED execution at the failed state, reruns none that succeeded, and counts the redrive', async () => {
      const executionArn = await failedRun('redriven');
      expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ redriveCount: 0, redriveStatus: 'REDRIVABLE' });
      writeFileSync(environment.FIXED, '');
      const { redriveDate } = await sfn.send(new RedriveExecutionCommand({ executionArn }));
      const done = await ended(sfn, executionArn);
      expect(done).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, redriveDate, redriveStatus: 'NOT_REDRIVABLE' });
      // Echo ran once, in the first attempt; Flaky twice; the resumed state got the first attempt's input.
      expect(calls()).toEqual(['Echo', 'Flaky', 'Flaky']);
      expect(JSON.parse(done.output!)).toEqual({ echoed: true, redriveCount: 1 });
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      const types = events!.map((e) => e.type);
      expect(types.filter((t) => /^Execution/.test(t!))).toEqual(['ExecutionStarted', 'ExecutionFailed', 'ExecutionRedriven', 'ExecutionSucceeded']);
      expect(events!.find((e) => e.type === 'ExecutionRedriven')).toMatchObject({ executionRedrivenEventDetails: { redriveCount: 1 } });
      expect(types.slice(types.indexOf('ExecutionRedriven') + 1, types.indexOf('ExecutionRedriven') + 2)).toEqual(['TaskStateEntered']);
      await expect(sfn.send(new RedriveExecutionCommand({ executionArn }))).rejects.toMatchObject({ name: 'ExecutionNotRedrivable' });
    });

    it('resumes a stopped execution at the state it was stopped in, with the definition it started with', async () => {
      const updated = await deployStateMachine(sb, 'GatedUpdated', {
        StartAt: 'Hold',
        States: { Hold: { Type: 'Task', Resource: fn('Gate'), Next: 'Echo' }, Echo: { Type: 'Task', Resource: fn('Echo'), End: true } },
      });
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: updated, input: '{"n":1}' }));
      while (!calls().includes('Gate')) await new Promise((r) => setTimeout(r, 10));
      await sfn.send(new StopExecutionCommand({ executionArn }));
      // Changed since: the redrive still runs the definition the execution started with.
      await sfn.send(
        new UpdateStateMachineCommand({
          stateMachineArn: updated,
          definition: JSON.stringify({ StartAt: 'Boom', States: { Boom: { Type: 'Task', Resource: fn('Boom'), End: true } } }),
        }),
      );
      g.open();
      await sfn.send(new RedriveExecutionCommand({ executionArn }));
      const done = await ended(sfn, executionArn!);
      expect({ status: done.status, output: JSON.parse(done.output!) }).toEqual({ status: 'SUCCEEDED', output: { n: 1, echoed: true } });
      expect(calls()).toEqual(['Gate', 'Gate', 'Echo']);
    });

    it('refuses ExecutionNotRedrivable while it runs, once it succeeded, and 14 days after it closed, changing nothing', async () => {
      const { executionArn: running } = await sfn.send(new StartExecutionCommand({ stateMachineArn: gatedArn }));
      await expect(sfn.send(new RedriveExecutionCommand({ executionArn: running }))).rejects.toMatchObject({
        name: 'ExecutionNotRedrivable',
        message: 'Execution is RUNNING and cannot be redriven',
      });
      while (!calls().includes('Gate')) await new Promise((r) => setTimeout(r, 10));
      await sfn.send(new StopExecutionCommand({ executionArn: running }));
      rmSync(environment.CALLS, { force: true });
      const old = await failedRun('too-old');
      sb.sandbox.clock.advance(15 * 86_400_000);
      const before = sb.sandbox.snapshot();
      await expect(sfn.send(new RedriveExecutionCommand({ executionArn: old }))).rejects.toMatchObject({ name: 'ExecutionNotRedrivable' });
      expect(await sfn.send(new DescribeExecutionCommand({ executionArn: old }))).toMatchObject({
        status: 'FAILED',
        redriveCount: 0,
        redriveStatus: 'NOT_REDRIVABLE',
        redriveStatusReason: 'Execution can no longer be redriven: it closed more than 14 days ago',
      });
      expect(sb.sandbox.diff(before)).toEqual([]);
      expect(calls()).toEqual(['Echo', 'Flaky']);
    });

    it('refuses a caller whose policies do not allow states:RedriveExecution on the execution', async () => {
      const executionArn = await failedRun('denied');
      const { iam } = clients(sb);
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
      const role = await iam.send(new CreateRoleCommand({ RoleName: 'NoRedrive', AssumeRolePolicyDocument: JSON.stringify(trust) }));
      const err = await clients(sb, roleCredentials(sb, role.Role!.Arn!))
        .sfn.send(new RedriveExecutionCommand({ executionArn }))
        .catch((e) => e);
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toContain(`is not authorized to perform: states:RedriveExecution on resource: ${executionArn}`);
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('FAILED');
    });
  });

  it('refuses bad requests with AWS error names and messages', async () => {
    const missing = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Nope`;
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: missing }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
      message: `State Machine Does Not Exist: '${missing}'`,
    });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, input: '{nope' }))).rejects.toMatchObject({
      name: 'InvalidExecutionInput',
      message: expect.stringMatching(/^Invalid State Machine Execution Input: '/),
    });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, name: 'a b' }))).rejects.toMatchObject({
      name: 'InvalidName',
      message: "Invalid Name: 'a b'",
    });
    const ghost = `arn:aws:states:us-east-1:${ACCOUNT}:execution:Echo:ghost`;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: ghost }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
      message: `Execution Does Not Exist: '${ghost}'`,
    });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: echoArn }))).rejects.toMatchObject({
      name: 'InvalidArn',
      message: "Invalid Arn: 'Resource type not valid in this context: stateMachine'",
    });
  });

  it('refuses StartExecution to a caller whose policies do not allow states:StartExecution', async () => {
    const { iam } = clients(sb);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'NoStates', AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const { sfn: denied } = clients(sb, roleCredentials(sb, role.Role!.Arn!));
    const err = await denied.send(new StartExecutionCommand({ stateMachineArn: echoArn })).catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/NoStates/test-session is not authorized to perform: states:StartExecution on resource: ${echoArn} because no identity-based policy allows the states:StartExecution action`,
    );
  });

  it('fails the Task with Lambda.AWSLambdaException when the state machine role may not invoke the function', async () => {
    const arn = await deployStateMachine(sb, 'NoInvoke', { StartAt: 'Echo', States: { Echo: { Type: 'Task', Resource: fn('Echo'), End: true } } });
    const { iam } = clients(sb);
    const { DeleteRolePolicyCommand } = await import('@aws-sdk/client-iam');
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'NoInvoke-StateMachineRole', PolicyName: 'invoke-functions' }));
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const done = await ended(sfn, executionArn!);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('Lambda.AWSLambdaException');
    expect(done.cause).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/NoInvoke-StateMachineRole\/\w+ is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:Echo/,
    );
    expect(calls()).toEqual([]);
  });

  it('deletes a state machine: StartExecution then finds none', async () => {
    const arn = await deployStateMachine(sb, 'Doomed', echoMachine);
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn: arn }));
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});
