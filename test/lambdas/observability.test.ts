/**
 * The Tracer captures every SDK client the one factory makes (inside Lambda), and a failure's log line
 * keeps the error's words but not the documents it quotes.
 */
import { execFileSync } from 'node:child_process';
import { withoutDocuments } from '../../lambdas/lib/observability';

const middlewareNames = (client: { middlewareStack: { identify(): string[] } }) => client.middlewareStack.identify().join(' ');

describe('tracing the SDK clients', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('instruments every client of the factory with X-Ray inside Lambda', () => {
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    process.env.AWS_REGION = 'us-east-1';
    jest.isolateModules(() => {
      const { awsClients } = require('../../lambdas/lib/clients') as typeof import('../../lambdas/lib/clients');
      const clients = awsClients(undefined, 'read');
      for (const client of [clients.iam, clients.sts, clients.kms, clients.flink, clients.dynamodb, clients.tagging, clients.sfn]) {
        expect(middlewareNames(client)).toContain('XRaySDKInstrumentation');
      }
    });
  });

  it('does not load the X-Ray SDK outside Lambda, whose async hook would slow every promise of a local run', () => {
    const script =
      "require('./lambdas/steps'); require('./lambdas/lib/clients').awsClients(undefined, 'read').kms; console.log(Object.keys(require.cache).some((k) => k.includes('aws-xray-sdk-core')))";
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: 'us-east-1' };
    delete env.AWS_EXECUTION_ENV;
    expect(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: `${__dirname}/../..`, env, encoding: 'utf8' }).trim()).toBe('false');
  });

  it('leaves clients as they are outside Lambda (local runs and tests)', () => {
    delete process.env.AWS_EXECUTION_ENV;
    process.env.AWS_REGION = 'us-east-1';
    jest.isolateModules(() => {
      const { awsClients } = require('../../lambdas/lib/clients') as typeof import('../../lambdas/lib/clients');
      expect(middlewareNames(awsClients().kms)).not.toContain('XRaySDKInstrumentation');
    });
  });
});

describe('withoutDocuments', () => {
  it.each([
    [
      'a key policy quoted in the message',
      'Add these statements (facts §3) to it: [{"Sid":"A","Effect":"Allow","Principal":{"Service":"x"}}]',
      'Add these statements (facts §3) to it: [{…}]',
    ],
    ['two documents', 'was {"a":1}, now {"b":{"c":2}}', 'was {…}, now {…}'],
    ['a message without any', 'Application absent does not exist', 'Application absent does not exist'],
  ])('%s', (_what, message, expected) => {
    expect(withoutDocuments(message)).toBe(expected);
  });
});
