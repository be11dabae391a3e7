/**
 * The step log lines an on-call engineer searches by: one structured JSON line per invocation, each with the
 * execution, state, application, persona, outcome and duration — and at INFO no credentials and no policy
 * documents (they stay in the execution state).
 */
import { functionEnvironment } from '../../local/deployment';
import { newAppInput, world, type World } from './harness';

/** The JSON lines written to stdout and stderr (WARN and above) while `run` runs. */
async function linesOf(run: () => Promise<unknown>): Promise<Record<string, any>[]> {
  const out: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: any) => {
      out.push(String(chunk));
      return true;
    }),
  );
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('step log lines (Powertools Logger, level from the deployment environment)', () => {
  let w: World;
  afterEach(() => w?.close());

  it('writes one line per step with execution, state, application, persona, outcome and duration, and nothing secret', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const env: Record<string, string> = { ...w.env, POWERTOOLS_LOG_LEVEL: 'INFO' };
    const machine = w.machine({ env });
    let executionArn = '';
    const lines = await linesOf(async () => {
      executionArn = (await machine.run(newAppInput('orders'))).executionArn;
    });
    const states = lines.map((l) => l.state);
    expect(states).toEqual(
      expect.arrayContaining(['ValidateInput', 'AcquireLock', 'DecideCreateKey', 'CreateKey', 'SwitchApplicationToCmk', 'VerifyEncryption', 'ReleaseLock']),
    );
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 'INFO',
        service: 'msf-cmk-orchestrator',
        execution: executionArn,
        application: 'orders',
        persona: expect.stringMatching(/^(orchestrator|operator|key-admin|none)$/),
        outcome: 'succeeded',
        durationMs: expect.any(Number),
      });
    }
    expect(lines.find((l) => l.state === 'CreateKey')).toMatchObject({ persona: 'key-admin', phase: 'apply' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('Statement');
    expect(text).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    expect(text).not.toContain(env.AWS_SESSION_TOKEN);
    expect(text).not.toMatch(/SecretAccessKey|SessionToken/);
  });

  it('says which step failed and with which error', async () => {
    w = await world();
    const lines = await linesOf(() => w.machine({ env: { ...w.env, POWERTOOLS_LOG_LEVEL: 'INFO' } }).run({ applicationName: 'absent' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', state: 'DecideEnsureApplication', outcome: 'failed', error: 'ApplicationNotFound', application: 'absent' }),
    );
  });

  it('at DEBUG also names each decided change by action and resource, still without its document', async () => {
    w = await world();
    await w.ensureExecRole('debug');
    const lines = await linesOf(() => w.machine({ env: { ...w.env, POWERTOOLS_LOG_LEVEL: 'DEBUG' } }).run(newAppInput('debug')));
    const decided = lines.filter((l) => l.level === 'DEBUG' && l.state === 'DecideCreateKey');
    expect(decided.map((l) => l.message)).toEqual(['DecideCreateKey decided kms:CreateKey', 'DecideCreateKey decided kms:CreateAlias']);
    expect(decided[0]).toMatchObject({
      resource: expect.stringContaining(':key/'),
      detail: expect.any(String),
      execution: expect.any(String),
      application: 'debug',
    });
    expect(JSON.stringify(lines)).not.toContain('Statement');
  });

  it('is silent in local runs unless asked for (the local default environment)', async () => {
    w = await world();
    await w.ensureExecRole('quiet');
    const lines = await linesOf(() => w.machine().run(newAppInput('quiet')));
    expect(lines).toEqual([]);
    expect(functionEnvironment(undefined, 'us-east-1', undefined, w.deployment)).toMatchObject({
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_SERVICE_NAME: 'msf-cmk-orchestrator',
    });
  });
});
