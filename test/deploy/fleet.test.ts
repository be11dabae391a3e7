/**
 * The fleet on the deployed stack, as AWS runs it: the OnboardFleet state machine's Map starts the deployed
 * OnboardApplication as child executions (states:startExecution.sync:2, as the fleet's own role), each with
 * its own history; the bad runtime fails alone within the tolerated percentage.
 */
import { CreateApplicationCommand, DescribeApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { GetExecutionHistoryCommand, ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { RunningSandbox } from '../../local/sandbox/server';
import { clients, ended } from '../sandbox/helpers';
import { deployed, execRoleArn } from './deployed';

const A = '000000000000';
const APPS = ['fleet-a', 'fleet-b', 'fleet-old'];

describe('the deployed fleet', () => {
  let sb: RunningSandbox;
  let outputs: Record<string, string>;
  beforeAll(async () => {
    const d = await deployed({}, { apps: APPS, lambdaRoles: [], sandbox: { rates: false } });
    ({ sb } = d);
    outputs = d.result.outputs;
    for (const app of APPS)
      await clients(sb).flink.send(
        new CreateApplicationCommand({
          ApplicationName: app,
          RuntimeEnvironment: app === 'fleet-old' ? 'FLINK-1_15' : 'FLINK-1_20',
          ServiceExecutionRole: execRoleArn(A, app),
        }),
      );
  }, 120_000);
  afterAll(() => sb.close());

  it('onboards each selected application through a child execution of the deployed onboarding, two at once, and reports each', async () => {
    // Act
    const { sfn, flink } = clients(sb);
    const input = { namePattern: 'fleet-*', maxConcurrency: 2, toleratedFailurePercentage: 50 };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.OnboardFleetStateMachineArn, input: JSON.stringify(input) }));
    const done = await ended(sfn, executionArn!);

    // Assess: the summary, the children as executions of the onboarding machine, and the account.
    expect(done.status).toBe('SUCCEEDED');
    const summary = JSON.parse(done.output!);
    expect(summary.counts).toEqual({ selected: 3, succeeded: 2, failed: 1, skipped: 0 });
    const children = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn }))).executions ?? [];
    expect(children.map((c) => c.status).sort()).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    const byName = Object.fromEntries(summary.applications.map((a: any) => [a.applicationName, a]));
    expect(new Set(children.map((c) => c.executionArn))).toEqual(new Set(APPS.map((a) => byName[a].executionArn)));
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
});
