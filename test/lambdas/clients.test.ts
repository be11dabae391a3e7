/**
 * The one client factory: read clients refuse every write before anything is sent (the find phase and plan
 * mode use them), and are views of the persona's clients, not clients of their own.
 */
import { CreateKeyCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { awsClients } from '../../lambdas/lib/clients';

describe('the client factory', () => {
  let sb: RunningSandbox;
  const saved = { ...process.env };
  beforeAll(async () => {
    sb = await startSandbox({ port: 0 });
    Object.assign(process.env, { AWS_ENDPOINT_URL: sb.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  });
  afterAll(async () => {
    process.env = { ...saved };
    await sb.close();
  });

  it('refuses a write on a read client before it is sent, and sends reads', async () => {
    sb.sandbox.faults.log.length = 0;
    const { kms } = awsClients(undefined, 'read');
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'WriteRefused', message: expect.stringContaining('CreateKey refused') });
    await expect(kms.send(new ListAliasesCommand({}))).resolves.toMatchObject({ Aliases: expect.any(Array) });
    expect(sb.sandbox.faults.log.map((e) => e.operation)).toEqual(['ListAliases']);
  });

  it('lets the write client of the same persona write: the refusal belongs to the view', async () => {
    await expect(awsClients(undefined, 'write').kms.send(new CreateKeyCommand({}))).resolves.toMatchObject({ KeyMetadata: expect.any(Object) });
  });

  it('builds each client once per persona, reads and writes sharing it', () => {
    expect(awsClients(undefined, 'read').kms.config).toBe(awsClients(undefined, 'write').kms.config);
    expect(awsClients(undefined, 'read').kms).toBe(awsClients(undefined, 'read').kms);
  });
});
