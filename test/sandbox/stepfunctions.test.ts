/**
 * Step Functions in the sandbox, through the real SFN client: state machines, executions on the local
 * engine with Lambda ARNs bound to handlers, AWS-shaped history, idempotent StartExecution, and the
 * CLI's `startExecution` following a full onboarding.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { clients, deployOrchestrator, deployStateMachine, roleCredentials, testSandbox, ended } from './helpers';
import { LocalStateMachine } from '../../local/runner';
import { startExecution } from '../../local/start';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:msf-cmk-${name}`;
const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** A gate a handler waits on, so an execution stays RUNNING until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('Step Functions on a stub handler table (engine level)', () => {
  let sb: RunningSandbox;
  let sfn: SFNClient;
  let g = gate();
  const calls: string[] = [];
  const handlers = {
    Echo: async (e: any) => (calls.push('Echo'), { ...e, echoed: true }),
    Boom: async () => {
      calls.push('Boom');
      throw named('Kaboom', 'the function failed');
    },
    Gate: async (e: any) => (calls.push('Gate'), await g.opened, e),
  };
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
    sb = await testSandbox({ stepFunctions: { handlers } });
    sfn = clients(sb).sfn;
    await deployOrchestrator(sb);
    echoArn = await deployStateMachine(sb, 'Echo', echoMachine);
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    calls.length = 0;
    g = gate();
  });

  it('creates a state machine from ASL with msf-cmk function ARNs, and describes and lists it', async () => {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: echoArn }));
    expect(described).toMatchObject({ stateMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Echo`, name: 'Echo', status: 'ACTIVE', type: 'STANDARD', roleArn: `arn:aws:iam::${ACCOUNT}:role/Echo-StateMachineRole` });
    expect(JSON.parse(described.definition!)).toEqual(echoMachine);
    expect(described.creationDate).toBeInstanceOf(Date);
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines!.map((s) => s.name)).toContain('Echo');
  });

  it('answers in AWS JSON 1.0, the content type the SDK sends', async () => {
    let contentType: string | undefined;
    const client = clients(sb).sfn;
    client.middlewareStack.add((next) => async (args) => {
      const out: any = await next(args);
      contentType = out.response.headers['content-type'];
      return out;
    }, { step: 'deserialize' });
    await client.send(new ListStateMachinesCommand({}));
    expect(contentType).toBe('application/x-amz-json-1.0');
  });

  it('refuses a Task whose function the sandbox does not run, at CreateStateMachine, naming it', async () => {
    const definition = { StartAt: 'X', States: { X: { Type: 'Task', Resource: fn('Unknown'), End: true } } };
    const err = await deployStateMachine(sb, 'Unknown', definition).catch((e) => e);
    expect(err.name).toBe('InvalidDefinition');
    expect(err.message).toContain(`Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: /States/X/Resource: ${fn('Unknown')} is not a function this sandbox runs`);
    expect(err.message).toContain('Echo, Boom, Gate');
  });

  it('refuses a role that does not trust Step Functions', async () => {
    const { iam } = clients(sb);
    const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'NotForStates', AssumeRolePolicyDocument: JSON.stringify(lambdaTrust) }));
    const err = await sfn.send(new CreateStateMachineCommand({ name: 'Untrusted', definition: JSON.stringify(echoMachine), roleArn: role.Role!.Arn })).catch((e) => e);
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
      'ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted',
      'LambdaFunctionSucceeded', 'TaskStateExited', 'WaitStateEntered', 'WaitStateExited', 'SucceedStateEntered', 'SucceedStateExited', 'ExecutionSucceeded',
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
    expect([first, second, third].map((p) => p.events!.map((e) => e.id))).toEqual([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13]]);
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
    expect(done).toMatchObject({ status: 'FAILED', error: 'Kaboom', cause: 'the function failed' });
    expect(calls).toEqual(['Boom', 'Boom']);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events!.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails)).toEqual([
      { error: 'Kaboom', cause: 'the function failed' },
      { error: 'Kaboom', cause: 'the function failed' },
    ]);
    expect(events!.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'Kaboom', cause: 'the function failed' } });
  });

  describe('StartExecution with a name (idempotency, as AWS documents it for STANDARD)', () => {
    let gateArn: string;
    beforeAll(async () => {
      gateArn = await deployStateMachine(sb, 'Gated', { StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: fn('Gate'), Next: 'Echo' }, Echo: { Type: 'Task', Resource: fn('Echo'), End: true } } });
    });

    it('returns the same execution for the same name and input while it runs, and starts it once', async () => {
      const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'once', input: '{"n":1}' }));
      const b = await sfn.send(new StartExecutionCommand({ stateMachineArn: gateArn, name: 'once', input: '{"n":1}' }));
      expect({ arn: b.executionArn, start: b.startDate }).toEqual({ arn: a.executionArn, start: a.startDate });
      g.open();
      await ended(sfn, a.executionArn!);
      expect(calls).toEqual(['Gate', 'Echo']);
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
      while (!calls.includes('Gate')) await new Promise((r) => setTimeout(r, 10)); // the engine reaches the gate
      const stop = await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'changed my mind' }));
      g.open();
      await new Promise((r) => setTimeout(r, 100));
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(d).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'changed my mind', stopDate: stop.stopDate });
      expect(calls).toEqual(['Gate']);
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

  it('refuses bad requests with AWS error names and messages', async () => {
    const missing = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Nope`;
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: missing }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist', message: `State Machine Does Not Exist: '${missing}'` });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, input: '{nope' }))).rejects.toMatchObject({ name: 'InvalidExecutionInput', message: expect.stringMatching(/^Invalid State Machine Execution Input: '/) });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: echoArn, name: 'a b' }))).rejects.toMatchObject({ name: 'InvalidName', message: "Invalid Name: 'a b'" });
    const ghost = `arn:aws:states:us-east-1:${ACCOUNT}:execution:Echo:ghost`;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: ghost }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist', message: `Execution Does Not Exist: '${ghost}'` });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: echoArn }))).rejects.toMatchObject({ name: 'InvalidArn', message: "Invalid Arn: 'Resource type not valid in this context: stateMachine'" });
  });

  it('refuses StartExecution to a caller whose policies do not allow states:StartExecution', async () => {
    const { iam } = clients(sb);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'NoStates', AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const { sfn: denied } = clients(sb, roleCredentials(sb, role.Role!.Arn!));
    const err = await denied.send(new StartExecutionCommand({ stateMachineArn: echoArn })).catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(`User: arn:aws:sts::${ACCOUNT}:assumed-role/NoStates/test-session is not authorized to perform: states:StartExecution on resource: ${echoArn} because no identity-based policy allows the states:StartExecution action`);
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
    expect(done.cause).toMatch(/^User: arn:aws:sts::000000000000:assumed-role\/NoInvoke-StateMachineRole\/\w+ is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:msf-cmk-Echo/);
    expect(calls).toEqual([]);
  });

  it('deletes a state machine: StartExecution then finds none', async () => {
    const arn = await deployStateMachine(sb, 'Doomed', echoMachine);
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn: arn }));
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});

describe('Step Functions running the onboarding (runner-substituted ASL, real handlers)', () => {
  let sb: RunningSandbox;
  let smArn: string;
  const execRoleArn = (app: string) => `arn:aws:iam::${ACCOUNT}:role/${app}-flink-execution`;
  const flinkTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

  beforeAll(async () => {
    sb = await testSandbox();
    const { iam } = clients(sb);
    await deployOrchestrator(sb);
    for (const app of ['orders', 'ledger']) await iam.send(new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: flinkTrust }));
    const definition = new LocalStateMachine({ account: ACCOUNT, region: sb.sandbox.region }).definition;
    smArn = await deployStateMachine(sb, 'OnboardApplication', definition);
  });
  afterAll(() => sb.close());

  it('onboards a new application once for two StartExecution calls with the same name and input', async () => {
    const { sfn, flink } = clients(sb);
    const input = JSON.stringify({ applicationName: 'orders', createApplication: { serviceExecutionRoleArn: execRoleArn('orders') } });
    const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: smArn, name: 'onboard-orders', input }));
    const b = await sfn.send(new StartExecutionCommand({ stateMachineArn: smArn, name: 'onboard-orders', input }));
    expect(b.executionArn).toBe(a.executionArn);
    const done = await ended(sfn, a.executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output!);
    const { DescribeApplicationCommand } = await import('@aws-sdk/client-kinesis-analytics-v2');
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'orders' }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({ KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: output.key.keyArn });
    expect(Object.keys(sb.sandbox.state.kms.keys)).toHaveLength(1);
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn }));
    expect(listed.executions).toHaveLength(1);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: a.executionArn, maxResults: 1000 }));
    const exited = events!.filter((e) => e.type === 'TaskStateExited').map((e) => e.stateExitedEventDetails!.name);
    expect(exited).toEqual(expect.arrayContaining(['ValidateInput', 'EnsureOperatorRole', 'EnsureApplication', 'CreateKey', 'SwitchApplicationToCmk', 'VerifyEncryption']));
  });

  it('startExecution (CLI) prints one line per state and returns SUCCEEDED', async () => {
    const { flink } = clients(sb);
    const { CreateApplicationCommand } = await import('@aws-sdk/client-kinesis-analytics-v2');
    await flink.send(new CreateApplicationCommand({ ApplicationName: 'ledger', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: execRoleArn('ledger') }));
    // Standard environment config, as the CLI runs: root's credentials, region from the environment.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: '', AWS_REGION: 'us-east-1' });
    const lines: string[] = [];
    const status = await startExecution({ endpoint: sb.endpoint, stateMachineArn: smArn, input: { applicationName: 'ledger' }, name: 'cli-ledger', pollMs: 20 }, (l) => lines.push(l));
    expect(status).toBe('SUCCEEDED');
    expect(lines[0]).toBe(`▶ arn:aws:states:us-east-1:${ACCOUNT}:execution:OnboardApplication:cli-ledger`);
    expect(lines.filter((l) => /^ {2}✓ ValidateInput +none +\d+ ms$/.test(l))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('  ✓ VerifyEncryption'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^SUCCEEDED in \d+\.\d s$/);
  });

  it('startExecution (CLI) ends on the failing state with its error and returns FAILED', async () => {
    const lines: string[] = [];
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: '', AWS_REGION: 'us-east-1' });
    const status = await startExecution({ endpoint: sb.endpoint, stateMachineArn: smArn, input: { applicationName: 'ghost' }, pollMs: 20 }, (l) => lines.push(l));
    expect(status).toBe('FAILED');
    // DecideEnsureApplication refused before any write: it is the state shown failed, not the Fail state it ends in.
    const failed = lines.findIndex((l) => l.startsWith('  ✗'));
    expect(lines[failed]).toMatch(/^ {2}✗ DecideEnsureApplication +operator +\d+ ms$/);
    expect(lines[failed + 1]).toMatch(/^ {6}ApplicationNotFound: .*ghost/);
    expect(lines.join('\n')).not.toMatch(/RolledBack|retr/);
    expect(lines.at(-2)).toMatch(/^ {2}✓ ReleaseLockAfterRollback/);
    expect(lines.at(-1)).toMatch(/^FAILED in \d+\.\d s: ApplicationNotFound: /);
  });
});
