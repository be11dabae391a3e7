/**
 * The console's server side and its reading of an execution history, without a browser (the browser tests,
 * test-browser/, drive the page itself): what a mount serves and to whom, the error message the request log
 * keeps, and which states a history marks caught and on the rollback path.
 */
import { KMSClient, DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { consoleMount, consoleMounts } from '../../local/console/server';
import { analyse } from '../../local/console/history';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';

describe('the console mount', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ port: 0, mounts: consoleMounts });
  });
  afterAll(() => sb.close());

  it('serves the page and the config on the sandbox port, and bundles the script once', async () => {
    const page = await fetch(`${sb.endpoint}/_console/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/_console/app.js');
    expect(await (await fetch(`${sb.endpoint}/_console/config.json`)).json()).toEqual({
      region: 'us-east-1',
      account: '000000000000',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const script = await fetch(`${sb.endpoint}/_console/app.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });

  it('gives the root keys to loopback callers only', async () => {
    const res = await consoleMount({ method: 'GET', path: 'config.json', loopback: false }, sb.sandbox);
    expect(res.status).toBe(403);
    expect(res.body).not.toContain('secretAccessKey');
  });

  it('leaves a sandbox without the mount as it was: /_console/ is then an unsigned AWS request', async () => {
    const plain = await startSandbox({ port: 0 });
    try {
      const res = await fetch(`${plain.endpoint}/_console/`);
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    } finally {
      await plain.close();
    }
  });

  it("keeps each refused call's message in the request log", async () => {
    const kms = new KMSClient({ ...sb.clientConfig(), maxAttempts: 1 });
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' }))).rejects.toThrow();
    expect(sb.sandbox.faults.log.at(-1)).toMatchObject({
      operation: 'DescribeKey',
      outcome: 'NotFoundException',
      message: expect.stringContaining('alias/none'),
    });
  });
});

describe('reading an execution history', () => {
  const at = new Date(0);
  let id = 0;
  const ev = (type: string, details: Record<string, unknown> = {}, key?: string): HistoryEvent =>
    ({ id: ++id, previousEventId: id - 1, type, timestamp: at, ...(key && { [key]: details }) }) as HistoryEvent;
  const enter = (name: string, type = 'Task') => ev(`${type}StateEntered`, { name, input: '{}' }, 'stateEnteredEventDetails');
  const exit = (name: string, type = 'Task') => ev(`${type}StateExited`, { name, output: '{"ok":true}' }, 'stateExitedEventDetails');
  const failed = { error: 'Boom', cause: 'it broke' };

  it('marks the retried and caught state, and every state after it as the rollback path', () => {
    id = 0;
    const events = [
      ev('ExecutionStarted'),
      enter('Switch'),
      ev('LambdaFunctionScheduled'),
      ev('LambdaFunctionFailed', failed, 'lambdaFunctionFailedEventDetails'),
      ev('LambdaFunctionScheduled'),
      ev('LambdaFunctionFailed', failed, 'lambdaFunctionFailedEventDetails'),
      exit('Switch'),
      enter('Revert'),
      ev('LambdaFunctionScheduled'),
      ev('LambdaFunctionSucceeded'),
      exit('Revert'),
      enter('RolledBack', 'Fail'),
      ev('ExecutionFailed', failed, 'executionFailedEventDetails'),
    ];
    const a = analyse(events, 'FAILED');
    expect(a.status('Switch')).toBe('caught');
    expect(a.status('Revert')).toBe('succeeded');
    expect(a.status('RolledBack')).toBe('failed');
    expect(a.byState.get('Switch')![0]).toMatchObject({ scheduled: 2, attempts: [failed, failed], caught: true });
    expect([...a.taken]).toEqual(['(start)→Switch']);
    expect([...a.rollback]).toEqual(['Switch→Revert', 'Revert→RolledBack', 'RolledBack→(end)']);
  });

  it("counts each attempt once when a Map's iterations run at once (previousEventId is the event before, whatever its iteration)", () => {
    id = 0;
    const events = [
      ev('ExecutionStarted'),
      ev('MapStateEntered', { name: 'Each' }, 'stateEnteredEventDetails'),
      enter('Audit'),
      enter('Audit'),
      ev('LambdaFunctionScheduled'),
      ev('LambdaFunctionStarted'),
      ev('LambdaFunctionScheduled'),
      ev('LambdaFunctionStarted'),
      ev('LambdaFunctionSucceeded'),
      exit('Audit'),
      ev('LambdaFunctionSucceeded'),
      exit('Audit'),
      ev('MapStateExited', { name: 'Each' }, 'stateExitedEventDetails'),
    ];
    const a = analyse(events, 'SUCCEEDED');
    expect(a.byState.get('Audit')!.map((x) => [x.scheduled, x.attempts.length, !!x.exited])).toEqual([
      [1, 0, true],
      [1, 0, true],
    ]);
    expect(a.status('Each')).toBe('succeeded');
  });

  it('shows a state still open as in progress while the execution runs, and aborted once it is stopped', () => {
    id = 0;
    const events = [ev('ExecutionStarted'), enter('Wait', 'Wait')];
    expect(analyse(events, 'RUNNING').status('Wait')).toBe('running');
    expect(analyse(events, 'ABORTED').status('Wait')).toBe('aborted');
    expect(analyse(events, 'RUNNING').rollback.size).toBe(0);
  });
});
