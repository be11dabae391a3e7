/**
 * The CDK app deployed into the sandbox, run the way AWS runs it: the synthesized template's roles,
 * policies, functions (from their bundled asset), state machine and rules, started through the Step
 * Functions API and by EventBridge events — no handler is imported by the test or the sandbox.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { readAssembly, deployTemplate } from '../../local/sandbox/deploy';
import { STACK_NAME, cachedAssembly as testAssembly } from '../../local/stack';
import { deployed, execRoleArn, lockItem } from './deployed';
import { leftovers } from '../workflow/faults';
import { REQUEST_DETAIL_TYPE, REQUEST_SOURCE } from '../../infra/event-patterns';
import { clients, ended, roleCredentials } from '../sandbox/helpers';
import { startExecution } from '../../local/start';
import type { Principal } from '../../local/sandbox/sandbox';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const OUTSIDER_ACCOUNT = '111122223333';
const lambdaTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
/** The one principal the request bus's policy names (deployment setting requestPrincipals). */
const REQUESTER = `arn:aws:iam::${A}:role/OnboardingRequester`;
/** One synth for every test here: auto-onboarding on, the requester named. */
const CONTEXT = { autoOnboarding: true, requestPrincipals: [REQUESTER] };
const EVENTS = path.resolve(__dirname, '../../events');
const entriesFiles = (JSON.parse(readFileSync(path.join(EVENTS, 'index.json'), 'utf8')).entries as { file: string }[]).map((e) => e.file);
const execRole = (app: string) => execRoleArn(A, app);
const DEFAULT_APPS = ['orders', 'clicks', 'ledger', 'clickstream'];
/** The fleet's applications, made before the stack exists: auto-onboarding never sees them created. */
const FLEET = ['fleet-a', 'fleet-b', 'fleet-old'];
/** The fleet that is stopped mid-way. */
const HALTED = ['halt-a', 'halt-b'];
async function seedFleet(sb: RunningSandbox) {
  for (const app of [...FLEET, ...HALTED])
    await clients(sb).flink.send(
      new CreateApplicationCommand({
        ApplicationName: app,
        RuntimeEnvironment: app === 'fleet-old' ? 'FLINK-1_15' : 'FLINK-1_20',
        ServiceExecutionRole: execRole(app),
      }),
    );
}

async function executionsOf(sfn: SFNClient, stateMachineArn: string, count: number) {
  for (let i = 0; i < 600; i++) {
    const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
    if (list.length >= count && list.every((e) => e.status !== 'RUNNING'))
      return Promise.all(list.map((e) => sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))));
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('executions still RUNNING');
}

describe('the CDK app deployed into the sandbox', () => {
  let sb: RunningSandbox;
  let outputs: Record<string, string>;
  let template: any;

  beforeAll(async () => {
    const d = await deployed(CONTEXT, { apps: [...DEFAULT_APPS, ...FLEET, ...HALTED], seed: seedFleet });
    ({
      sb,
      assembly: { template },
    } = d);
    outputs = d.result.outputs;
  }, 120_000);
  afterAll(() => sb.close());

  it('makes every resource of the template, and prints the outputs cdk deploy prints', () => {
    const stack = sb.sandbox.state.cloudformation!.stacks[STACK_NAME];
    expect(Object.keys(stack.Resources).sort()).toEqual(Object.keys(template.Resources).sort());
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(template.Outputs).sort());
    expect(outputs.StateMachineArn).toMatch(new RegExp(`^arn:aws:states:us-east-1:${A}:stateMachine:${STACK_NAME}-OnboardApplication`));
    const functions = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(Object.keys(sb.sandbox.state.lambda!.functions)).toHaveLength(functions.length);
    // Every function runs with the synthesized orchestrator role, the one the output names.
    expect(new Set(Object.values(sb.sandbox.state.lambda!.functions).map((f) => f.Role))).toEqual(new Set([outputs.OrchestratorRoleArn]));
  });

  it('re-deploys in place: the same template changes nothing and keeps every ARN', async () => {
    const before = sb.sandbox.snapshot();
    const again = await deployTemplate(sb.sandbox, STACK_NAME, readAssembly(await testAssembly(CONTEXT), STACK_NAME));
    expect(again).toMatchObject({ created: [], updated: [], deleted: [], outputs });
    expect(sb.sandbox.diff(before).filter((c) => !c.path.startsWith('cloudformation'))).toEqual([]);
  });

  it('start-execution on the output ARN onboards a new application: SUCCEEDED, the application on its new CMK', async () => {
    const { sfn, flink } = clients(sb);
    const input = { applicationName: 'orders', createApplication: { serviceExecutionRoleArn: execRole('orders') } };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.StateMachineArn, input: JSON.stringify(input) }));
    const done = await ended(sfn, executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: 'orders' }))).ApplicationDetail!;
    expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({
      KeyType: 'CUSTOMER_MANAGED_KEY',
      KeyId: JSON.parse(done.output!).encryption.KeyId,
    });
    // Each Task ran as Lambda runs it: the function's log group holds its START/END lines.
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    expect(events!.filter((e) => e.type === 'LambdaFunctionSucceeded').length).toBeGreaterThan(8);
  });

  it('a request event starts an onboarding of the application it names; with auto-onboarding, one created by someone else is onboarded once', async () => {
    const { sfn, flink } = clients(sb);
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions!.length;
    const detail = { applicationName: 'ledger', createApplication: { serviceExecutionRoleArn: execRole('ledger') } };
    const requester = clients(sb, roleCredentials(sb, REQUESTER)).events;
    const put = await requester.send(new PutEventsCommand({ Entries: [request(outputs, detail)] }));
    expect(put.FailedEntryCount).toBe(0);
    await flink.send(new CreateApplicationCommand({ ApplicationName: 'clicks', RuntimeEnvironment: 'FLINK-1_20', ServiceExecutionRole: execRole('clicks') }));
    // The workflow's own CreateApplication (for ledger) starts no run of its own.
    const done = (await executionsOf(sfn, outputs.StateMachineArn, before + 2)).slice(0, -before || undefined);
    expect(done.map((e) => [JSON.parse(e.input!).applicationName, e.status]).sort()).toEqual([
      ['clicks', 'SUCCEEDED'],
      ['ledger', 'SUCCEEDED'],
    ]);
    for (const name of ['ledger', 'clicks']) {
      const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!;
      expect(app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription?.KeyType).toBe('CUSTOMER_MANAGED_KEY');
    }
  });

  describe('cli start on the deployed state machine: the one progress view', () => {
    it('prints one line per Task state with its persona, and returns SUCCEEDED', async () => {
      // Created by the workflow, so that auto-onboarding (on here) starts no run of its own.
      const input = { applicationName: 'clickstream', createApplication: { serviceExecutionRoleArn: execRole('clickstream') } };
      const lines: string[] = [];
      const done = await startExecution(
        { client: clients(sb).sfn, stateMachineArn: outputs.StateMachineArn, input, name: 'cli-clickstream', pollMs: 20 },
        (l) => lines.push(l),
      );
      expect(done.status).toBe('SUCCEEDED');
      expect(lines[0]).toBe(`▶ ${outputs.StateMachineArn.replace(':stateMachine:', ':execution:')}:cli-clickstream`);
      expect(lines.filter((l) => /^ {2}✓ ValidateInput +none +\d+ ms$/.test(l))).toHaveLength(1);
      expect(lines.some((l) => /^ {2}✓ SwitchApplicationToCmk +operator/.test(l))).toBe(true);
      expect(lines.at(-1)).toMatch(/^SUCCEEDED in \d+\.\d s$/);
    });

    it('ends on the failing state with its error, not the Fail state it ends in, and returns FAILED', async () => {
      const lines: string[] = [];
      const done = await startExecution(
        { client: clients(sb).sfn, stateMachineArn: outputs.StateMachineArn, input: { applicationName: 'ghost' }, pollMs: 20 },
        (l) => lines.push(l),
      );
      expect(done.status).toBe('FAILED');
      // DecideEnsureApplication refused before any write.
      const failed = lines.findIndex((l) => l.startsWith('  ✗'));
      expect(lines[failed]).toMatch(/^ {2}✗ DecideEnsureApplication +operator +\d+ ms$/);
      expect(lines[failed + 1]).toMatch(/^ {6}ApplicationNotFound: .*ghost/);
      expect(lines.join('\n')).not.toMatch(/RolledBack|retr/);
      expect(lines.at(-2)).toMatch(/^ {2}✓ ReleaseLockAfterRollback/);
      expect(lines.at(-1)).toMatch(/^FAILED in \d+\.\d s: ApplicationNotFound: /);
    });
  });

  describe('who may start an onboarding: only the principals the request bus names', () => {
    const started = async () => (await clients(sb).sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions?.length ?? 0;

    it("refuses an outsider's request by the bus policy: a principal of this account it does not name, even one allowed events:PutEvents on every bus", async () => {
      const { iam } = clients(sb);
      const role = (await iam.send(new CreateRoleCommand({ RoleName: 'SomeoneElse', AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'SomeoneElse',
          PolicyName: 'events',
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] }),
        }),
      );
      const before = await started();
      const err = await clients(sb, roleCredentials(sb, role))
        .events.send(new PutEventsCommand({ Entries: [request(outputs, { applicationName: 'victim' })] }))
        .catch((e) => e);
      expect(err).toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringMatching(
          new RegExp(
            `is not authorized to perform: events:PutEvents on resource: ${outputs.RequestEventBusArn} with an explicit deny in a resource-based policy$`,
          ),
        ),
      });
      expect(await started()).toBe(before);
    });

    it("refuses another account's request by the bus policy", async () => {
      // The sandbox holds one account, so the other account's call is made in process.
      const caller: Principal = { arn: `arn:aws:iam::${OUTSIDER_ACCOUNT}:root`, account: OUTSIDER_ACCOUNT, kind: 'root', userId: OUTSIDER_ACCOUNT };
      const ctx = { sandbox: sb.sandbox, caller, requestId: 'r', service: 'events', operation: 'PutEvents' };
      const before = await started();
      const put = async () =>
        sb.sandbox.services
          .get('events')!
          .operations.PutEvents({ Entries: [{ ...request(outputs, { applicationName: 'victim' }), EventBusName: outputs.RequestEventBusArn }] }, ctx);
      await expect(put()).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(`User: arn:aws:iam::${OUTSIDER_ACCOUNT}:root is not authorized to perform: events:PutEvents`),
      });
      expect(await started()).toBe(before);
    });

    it('starts nothing from a request event on the default bus (no default-bus rule unless defaultBusRequests)', async () => {
      const before = await started();
      const out = await clients(sb).events.send(
        new PutEventsCommand({ Entries: [{ ...request(outputs, { applicationName: 'victim' }), EventBusName: undefined }] }),
      );
      expect(out.FailedEntryCount).toBe(0);
      expect(await started()).toBe(before);
    });

    it.each(entriesFiles)('events/%s, sent as `aws events put-events --entries file://…` sends it, starts one execution with its detail', async (file) => {
      const entries = JSON.parse(readFileSync(path.join(EVENTS, file), 'utf8')) as PutEventsRequestEntry[];
      const { sfn } = clients(sb);
      const list = async () => (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions ?? [];
      const before = new Set((await list()).map((e) => e.executionArn));
      const out = await clients(sb, roleCredentials(sb, REQUESTER)).events.send(new PutEventsCommand({ Entries: entries }));
      expect(out.FailedEntryCount).toBe(0);
      const added = (await list()).filter((e) => !before.has(e.executionArn));
      const inputs = await Promise.all(
        added.map(async (e) => JSON.parse((await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))).input!)),
      );
      expect(inputs).toEqual(entries.map((e) => JSON.parse(e.Detail!)));
      await executionsOf(sfn, outputs.StateMachineArn, before.size + 1);
    });
  });

  it('the fleet onboards each selected application through a child execution of the deployed onboarding, two at once, and reports each', async () => {
    // Act
    const { sfn, flink } = clients(sb);
    const input = { namePattern: 'fleet-*', maxConcurrency: 2, toleratedFailurePercentage: 50 };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.OnboardFleetStateMachineArn, input: JSON.stringify(input) }));
    const done = await ended(sfn, executionArn!);

    // Assess: the summary, the children as executions of the onboarding machine, and the account.
    expect(done.status).toBe('SUCCEEDED');
    const summary = JSON.parse(done.output!);
    expect(summary.counts).toEqual({ selected: 3, succeeded: 2, failed: 1, skipped: 0 });
    const byName = Object.fromEntries(summary.applications.map((a: any) => [a.applicationName, a]));
    const mine = new Set(FLEET.map((a) => byName[a].executionArn));
    const children = ((await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions ?? []).filter((e) =>
      mine.has(e.executionArn),
    );
    expect(children.map((c) => c.status).sort()).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    // MaxConcurrency 2: no moment has three children running.
    const spans = children.map((c) => [c.startDate!.getTime(), c.stopDate!.getTime()]);
    expect(Math.max(...spans.map(([t]) => spans.filter(([s, e]) => s <= t && t < e).length))).toBeLessThanOrEqual(2);
    expect(byName['fleet-old']).toMatchObject({ status: 'FAILED', error: 'UnsupportedRuntime' });
    for (const app of ['fleet-a', 'fleet-b']) {
      const detail = (await flink.send(new DescribeApplicationCommand({ ApplicationName: app }))).ApplicationDetail!;
      expect(detail.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription).toEqual({
        KeyType: 'CUSTOMER_MANAGED_KEY',
        KeyId: byName[app].keyArn,
      });
    }
    // The fleet's history holds the integration's events, not the children's steps.
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    expect(events.filter((e) => e.type === 'TaskSubmitted')).toHaveLength(3);
    expect(events.some((e) => e.type === 'LambdaFunctionScheduled' && e.lambdaFunctionScheduledEventDetails?.resource?.includes('EnsureOperatorRole'))).toBe(
      false,
    );
  });

  it('a stopped fleet stops its running children, and CleanupRule cleans each: the applications as before, their locks free', async () => {
    // Prepare: each child held 1.5 s in EnsureOperatorRole's CreateRole (so both still run when the fleet stops); the
    // cleanup's first read held longer, standing in for its 60 s settle.
    const { sfn } = clients(sb);
    const before = sb.sandbox.snapshot();
    sb.sandbox.faults.setLatency('iam', 'CreateRole', 1500);
    sb.sandbox.faults.setLatency('states', 'GetExecutionHistory', 2500);
    const input = { applicationNames: HALTED, maxConcurrency: 2 };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.OnboardFleetStateMachineArn, input: JSON.stringify(input) }));
    const executions = () => Object.values(sb.sandbox.state.stepfunctions!.executions) as any[];
    const children = () => executions().filter((e) => e.stateMachineArn === outputs.StateMachineArn && HALTED.some((a) => e.input.includes(`"${a}"`)));
    const inOperatorRole = (e: any) => e.events.some((x: any) => x.type === 'TaskStateEntered' && x.stateEnteredEventDetails?.name === 'EnsureOperatorRole');
    for (const until = Date.now() + 60_000; Date.now() < until && !(children().length === 2 && children().every(inOperatorRole)); )
      await new Promise((r) => setTimeout(r, 5));

    // Act
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'stopped by the test' }));

    // Assess: the fleet and both children ABORTED; each child's cleanup SUCCEEDED; nothing of theirs left.
    expect((await ended(sfn, executionArn!)).status).toBe('ABORTED');
    const stopped = children().map((c) => c.executionArn as string);
    for (const child of stopped) expect((await ended(sfn, child)).status).toBe('ABORTED');
    const cleanupOf = async (child: string) => {
      for (const until = Date.now() + 100_000; Date.now() < until; ) {
        const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.CleanupStateMachineArn }))).executions ?? [];
        for (const c of list.filter((x) => x.status !== 'RUNNING')) {
          const described = await sfn.send(new DescribeExecutionCommand({ executionArn: c.executionArn }));
          if (JSON.parse(described.input!).executionArn === child) return described.status;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      return 'none';
    };
    expect(await Promise.all(stopped.map(cleanupOf))).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    sb.sandbox.faults.clear();
    const left = leftovers(sb.sandbox.diff(before), sb.sandbox.state).filter(
      (c) => !/^(stepfunctions|logs|lambda|events|sqs|dynamodb)\./.test(c.path) && HALTED.some((a) => c.path.includes(a)),
    );
    expect(left).toEqual([]);
    for (const app of HALTED) expect((await lockItem(sb, app))?.owner).toBeUndefined();
  });
});

/** A request event for the deployed request bus. */
const request = (outputs: Record<string, string>, detail: object): PutEventsRequestEntry => ({
  EventBusName: outputs.RequestEventBusName,
  Source: REQUEST_SOURCE,
  DetailType: REQUEST_DETAIL_TYPE,
  Detail: JSON.stringify(detail),
});

describe('the orchestrator role the sandbox runs with is the synthesized one', () => {
  // (Without AssumePersonas a run still succeeds, in AWS too: a same-account trust policy that names the
  // orchestrator role grants AssumeRole by itself.)
  it('without the statement of the CDK policy that lets it create operator roles, the execution fails with AccessDenied on iam:CreateRole', async () => {
    const { sb, result } = await deployed(CONTEXT, {
      edit: (template) => {
        const sid = 'WriteOnlyBoundedOperatorRoles';
        const policy = Object.values(template.Resources as Record<string, any>).find(
          (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument.Statement.some((s: any) => s.Sid === sid),
        );
        policy.Properties.PolicyDocument.Statement = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Sid !== sid);
      },
    });
    try {
      const { sfn } = clients(sb);
      const before = sb.sandbox.snapshot();
      const input = { applicationName: 'orders', createApplication: { serviceExecutionRoleArn: execRole('orders') } };
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: result.outputs.StateMachineArn, input: JSON.stringify(input) }));
      const done = await ended(sfn, executionArn!);
      expect(done.status).toBe('FAILED');
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
      const failure = events!.find((e) => e.type === 'LambdaFunctionFailed')!.lambdaFunctionFailedEventDetails!;
      expect(failure.error).toBe('AccessDenied');
      expect(JSON.parse(failure.cause!).errorMessage).toMatch(
        new RegExp(
          `^User: arn:aws:sts::${A}:assumed-role/${STACK_NAME}-OrchestratorRole\\w+-\\w+/[^ ]+ is not authorized to perform: iam:CreateRole on resource: `,
        ),
      );
      // Nothing was changed in the account (the lock is the workflow's own bookkeeping).
      expect(sb.sandbox.diff(before).filter((c) => !/^(stepfunctions|dynamodb|logs)/.test(c.path))).toEqual([]);
    } finally {
      await sb.close();
    }
  }, 120_000);
});
