import { CreateRoleCommand, GetRoleCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { clients, testSandbox, type Credentials } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const trust = (service: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });

describe('sandbox control endpoint', () => {
  let sb: RunningSandbox;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;

  /** One call to `/_sandbox/<path>` with a JSON body; returns the status and the parsed JSON answer. */
  const control = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${sb.endpoint}/_sandbox/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  const createRole = async (service = 'lambda.amazonaws.com') => {
    const { Role } = await clients(sb).iam.send(new CreateRoleCommand({ RoleName: unique('Workload'), AssumeRolePolicyDocument: trust(service) }));
    return Role!;
  };

  /** Workload credentials issued through the control endpoint, as an SDK credentials object. */
  const credentialsFor = async (roleArn: string): Promise<Credentials> => {
    const { status, body } = await control('POST', 'credentials', { roleArn });
    expect(status).toBe(200);
    return { accessKeyId: body.accessKeyId, secretAccessKey: body.secretAccessKey, sessionToken: body.sessionToken };
  };

  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterEach(async () => {
    await control('DELETE', 'faults');
  });
  afterAll(() => sb.close());

  it('reports health with the account and region, each service running, and the deployed stacks', async () => {
    const services = ['dynamodb', 'events', 'iam', 'kinesisanalytics', 'kms', 'lambda', 'logs', 'securityhub', 'sqs', 'states', 'sts', 'tagging'];
    await expect(control('GET', 'health')).resolves.toEqual({
      status: 200,
      body: { ok: true, account: ACCOUNT, region: 'us-east-1', services: Object.fromEntries(services.map((s) => [s, 'running'])), stacks: [] },
    });
  });

  describe('faults and latency', () => {
    it('answers a fault injected over HTTP in the Query shape (STS), once, then passes', async () => {
      const { sts } = clients(sb);

      await control('POST', 'faults', { service: 'sts', operation: 'GetCallerIdentity', error: 'Throttling', message: 'Rate exceeded', status: 400, times: 1 });

      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'Throttling',
        message: 'Rate exceeded',
        $fault: 'client',
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Arn: ROOT });
      await expect(control('GET', 'faults')).resolves.toMatchObject({ body: [] });
    });

    it('answers a fault injected over HTTP in the JSON shape (KMS), for that operation only', async () => {
      const { kms, sts } = clients(sb);

      await control('POST', 'faults', { service: 'kms', operation: 'ListKeys', error: 'ThrottlingException', message: 'Rate exceeded', times: 1 });

      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Arn: ROOT });
      await expect(kms.send(new ListKeysCommand({}))).rejects.toMatchObject({
        name: 'ThrottlingException',
        message: 'Rate exceeded',
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
    });

    it('answers an InternalFailure fault with status 500 as a server fault in both protocols', async () => {
      const { iam, kms } = clients(sb);

      await control('POST', 'faults', { service: 'iam', operation: 'ListRoles', error: 'InternalFailure', message: 'Injected outage', times: 1 });
      await control('POST', 'faults', { service: 'kms', operation: 'ListKeys', error: 'InternalFailure', message: 'Injected outage', times: 1 });

      for (const call of [() => iam.send(new ListRolesCommand({})), () => kms.send(new ListKeysCommand({}))]) {
        await expect(call()).rejects.toMatchObject({
          name: 'InternalFailure',
          message: 'Injected outage',
          $fault: 'server',
          $metadata: expect.objectContaining({ httpStatusCode: 500 }),
        });
      }
    });

    it('keeps a fault without "times" armed until the faults are cleared', async () => {
      const { sts } = clients(sb);
      const spec = { service: 'sts', operation: '*', error: 'ServiceUnavailable', message: 'Down for good', status: 503 };

      await control('POST', 'faults', spec);

      for (let i = 0; i < 3; i++) {
        await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
          name: 'ServiceUnavailable',
          $metadata: expect.objectContaining({ httpStatusCode: 503 }),
        });
      }
      await expect(control('GET', 'faults')).resolves.toEqual({ status: 200, body: [spec] });
      await control('DELETE', 'faults');
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Arn: ROOT });
    });

    it('adds the configured latency to the matching service only', async () => {
      const { sts, iam } = clients(sb);
      const timed = async (call: () => Promise<unknown>) => {
        const started = performance.now();
        await call();
        return performance.now() - started;
      };

      await control('POST', 'latency', { service: 'sts', ms: 300 });

      // Timers may fire a millisecond early; the point is that the delay is there, and only for STS.
      expect(await timed(() => sts.send(new GetCallerIdentityCommand({})))).toBeGreaterThanOrEqual(298);
      expect(await timed(() => iam.send(new ListRolesCommand({})))).toBeLessThan(250);
    });
  });

  it('advances the clock so that a role session expires', async () => {
    const role = await createRole();
    const { sts } = clients(sb, await credentialsFor(role.Arn!));
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/sandbox-workload`,
    });
    const before = sb.sandbox.clock.now();

    const { status, body } = await control('POST', 'clock/advance', { ms: 3600_000 });

    expect(status).toBe(200);
    expect(Date.parse(body.now) - before).toBeGreaterThanOrEqual(3600_000);
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredToken',
      message: 'The security token included in the request is expired',
    });
  });

  it('lists each request in the log with its caller, service, operation and outcome', async () => {
    const role = await createRole();
    const workload = clients(sb, await credentialsFor(role.Arn!));
    await control('DELETE', 'log');

    await clients(sb).sts.send(new GetCallerIdentityCommand({}));
    await expect(workload.iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });

    const { body } = await control('GET', 'log');
    expect(body).toEqual([
      expect.objectContaining({ caller: ROOT, service: 'sts', operation: 'GetCallerIdentity', outcome: 'OK', status: 200 }),
      expect.objectContaining({
        caller: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/sandbox-workload`,
        service: 'iam',
        operation: 'ListRoles',
        outcome: 'AccessDenied',
        status: 403,
      }),
    ]);
  });

  it('returns the log from an index on, with its whole length in a header, for a poller', async () => {
    await control('DELETE', 'log');
    for (let i = 0; i < 3; i++) await clients(sb).sts.send(new GetCallerIdentityCommand({}));
    const res = await fetch(`${sb.endpoint}/_sandbox/log?from=2`);
    expect(res.headers.get('x-sandbox-log-length')).toBe('3');
    expect(await res.json()).toEqual([expect.objectContaining({ operation: 'GetCallerIdentity' })]);
  });

  it('returns the account with GET state and puts it back with PUT state', async () => {
    const { iam } = clients(sb);
    const kept = await createRole();
    const { body: saved } = await control('GET', 'state');
    expect(Object.keys(saved.iam.roles)).toContain(kept.RoleName);
    const dropped = await createRole();

    await expect(control('PUT', 'state', saved)).resolves.toEqual({ status: 200, body: { ok: true } });

    await expect(iam.send(new GetRoleCommand({ RoleName: kept.RoleName }))).resolves.toMatchObject({ Role: { RoleId: kept.RoleId } });
    await expect(iam.send(new GetRoleCommand({ RoleName: dropped.RoleName }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      message: `The role with name ${dropped.RoleName} cannot be found.`,
    });
  });

  it('turns the IAM propagation delay on with config, so a new role is refused until the clock passes it', async () => {
    try {
      await expect(control('POST', 'config', { iamPropagationDelayMs: 60_000 })).resolves.toMatchObject({
        status: 200,
        body: { iamPropagationDelayMs: 60_000 },
      });
      const role = await createRole();

      const refused = await control('POST', 'credentials', { roleArn: role.Arn });
      await control('POST', 'clock/advance', { ms: 60_000 });
      const issued = await control('POST', 'credentials', { roleArn: role.Arn });

      expect(refused).toEqual({
        status: 403,
        body: { code: 'AccessDenied', error: `User: lambda.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: ${role.Arn}` },
      });
      expect(issued).toMatchObject({ status: 200, body: { accessKeyId: expect.stringMatching(/^ASIA/) } });
    } finally {
      await control('POST', 'config', { iamPropagationDelayMs: 0 });
    }
  });

  it('issues workload credentials for a role that trusts lambda.amazonaws.com and refuses a role that does not', async () => {
    const lambdaRole = await createRole('lambda.amazonaws.com');
    const ec2Role = await createRole('ec2.amazonaws.com');
    const before = sb.sandbox.clock.now();

    const issued = await control('POST', 'credentials', { roleArn: lambdaRole.Arn, sessionName: 'orchestrator' });
    const refused = await control('POST', 'credentials', { roleArn: ec2Role.Arn });

    expect(issued.status).toBe(200);
    expect(Date.parse(issued.body.expiration) - before).toBeGreaterThanOrEqual(3600_000);
    const { sts } = clients(sb, { accessKeyId: issued.body.accessKeyId, secretAccessKey: issued.body.secretAccessKey, sessionToken: issued.body.sessionToken });
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${lambdaRole.RoleName}/orchestrator`,
    });
    expect(refused).toEqual({
      status: 403,
      body: {
        code: 'AccessDenied',
        error: `User: lambda.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: ${ec2Role.Arn}`,
      },
    });
  });

  it('answers an unknown control route with 404 and a message naming it', async () => {
    await expect(control('POST', 'nope')).resolves.toEqual({ status: 404, body: { error: 'no control route POST /_sandbox/nope' } });
  });
});
