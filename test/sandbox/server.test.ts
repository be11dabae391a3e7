import { XMLParser } from 'fast-xml-parser';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { clients, testSandbox } from './helpers';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { request } from 'node:http';

describe('sandbox server: identity and wire protocol', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterAll(() => sb.close());

  it('answers GetCallerIdentity for the account root signed with test/test', async () => {
    const { sts } = clients(sb);
    const out = await sts.send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root', UserId: '000000000000' });
  });

  it('rejects a request signed with the wrong secret as SignatureDoesNotMatch (Query) and InvalidSignatureException (JSON)', async () => {
    const bad = { accessKeyId: 'test', secretAccessKey: 'wrong' };
    const sts = new STSClient({ endpoint: sb.endpoint, region: 'us-east-1', credentials: bad, maxAttempts: 1 });
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const kms = new KMSClient({ endpoint: sb.endpoint, region: 'us-east-1', credentials: bad, maxAttempts: 1 });
    await expect(kms.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  it('accepts a request signed as the AWS CLI (botocore) signs it: no x-amz-content-sha256 header', async () => {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('@aws-crypto/sha256-js');
    const url = new URL(sb.endpoint);
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      applyChecksum: false,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    expect(signed.headers['x-amz-content-sha256']).toBeUndefined();
    const res = await fetch(`${sb.endpoint}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Arn>arn:aws:iam::000000000000:root</Arn>');
  });

  it('rejects an unknown access key as InvalidClientTokenId', async () => {
    const sts = new STSClient({
      endpoint: sb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });

  it('logs every request with caller, service, operation and outcome', async () => {
    sb.sandbox.faults.log.length = 0;
    await clients(sb).sts.send(new GetCallerIdentityCommand({}));
    expect(sb.sandbox.faults.log).toEqual([
      expect.objectContaining({ caller: 'arn:aws:iam::000000000000:root', service: 'sts', operation: 'GetCallerIdentity', outcome: 'OK', status: 200 }),
    ]);
  });

  it('answers an injected throttling fault in the protocol shape, then passes', async () => {
    sb.sandbox.faults.throttle('sts', 'GetCallerIdentity', 1);
    const { sts } = clients(sb);
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: '000000000000' });
  });
});

describe('sandbox server: requests only a web page elsewhere could send', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ port: 0 });
  });
  afterAll(() => sb.close());

  /** A raw request with the headers a browser would set (fetch may not set Host). */
  const send = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: sb.port, path, method: 'GET', headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('refuses a Host that is not a loopback name (DNS rebinding) and an Origin other than its own, and serves its own', async () => {
    const own = `127.0.0.1:${sb.port}`;
    expect((await send('/_sandbox/health', { host: `rebound.example:${sb.port}` })).status).toBe(403);
    const crossSite = await send('/_sandbox/state', { host: own, origin: 'http://evil.example' });
    expect(crossSite).toEqual({ status: 403, body: expect.stringContaining('Origin http://evil.example is not this sandbox') });
    expect((await send('/_sandbox/health', { host: own, origin: `http://${own}` })).status).toBe(200);
    expect((await send('/_sandbox/health', { host: `localhost:${sb.port}` })).status).toBe(200);
    expect((await send('/_sandbox/health', { host: own, origin: 'null' })).status).toBe(403);
  });
});

describe('sandbox server: a service it does not emulate', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterAll(() => sb.close());

  /** A request signed for `service` as its SDK sends it, and the answer as text. */
  async function send(service: string, req: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string }) {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('@aws-crypto/sha256-js');
    const url = new URL(sb.endpoint);
    const signer = new SignatureV4({ service, region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const signed = await signer.sign({
      method: req.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: req.path,
      query: req.query ?? {},
      headers: { host: url.host, ...req.headers },
      body: req.body,
    });
    const qs = new URLSearchParams(req.query ?? {}).toString();
    const res = await fetch(`${sb.endpoint}${req.path}${qs ? `?${qs}` : ''}`, {
      method: req.method,
      headers: signed.headers as Record<string, string>,
      body: req.body,
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  }
  const xml = (body: string) => new XMLParser().parse(body);
  const message = (service: string) => `Service ${service} is not emulated by this sandbox (docs/sandbox.md lists what is).`;

  it('answers JSON 1.1 (Systems Manager) as its SDK parses errors: x-amzn-errortype and {__type, message}', async () => {
    const res = await send('ssm', {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParameter' },
      body: '{"Name":"x"}',
    });
    expect([res.status, res.headers['x-amzn-errortype'], JSON.parse(res.body)]).toEqual([
      400,
      'UnknownOperationException',
      { __type: 'UnknownOperationException', message: message('ssm') },
    ]);
  });

  it('answers the Query protocol (SNS) with <ErrorResponse><Error><Code>', async () => {
    const res = await send('sns', {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=ListTopics&Version=2010-03-31',
    });
    expect([res.status, xml(res.body).ErrorResponse.Error]).toEqual([400, { Type: 'Sender', Code: 'InvalidAction', Message: message('sns') }]);
  });

  it("answers EC2's Query variant with <Response><Errors><Error><Code>", async () => {
    const res = await send('ec2', {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=DescribeInstances&Version=2016-11-15',
    });
    expect([res.status, xml(res.body).Response.Errors.Error]).toEqual([400, { Code: 'InvalidAction', Message: message('ec2') }]);
  });

  it('answers REST-JSON (EKS) in JSON with x-amzn-errortype, not in XML', async () => {
    const res = await send('eks', { method: 'GET', path: '/clusters' });
    expect([res.status, res.headers['content-type'], res.headers['x-amzn-errortype'], JSON.parse(res.body).message]).toEqual([
      400,
      'application/json',
      'UnknownOperationException',
      message('eks'),
    ]);
  });

  it('answers REST-XML (S3) with a root <Error><Code>, NotImplemented 501 as S3 answers what it does not implement', async () => {
    const res = await send('s3', { method: 'GET', path: '/my-bucket', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect([res.status, xml(res.body).Error]).toEqual([501, expect.objectContaining({ Code: 'NotImplemented', Message: message('s3') })]);
  });

  it('logs the refused request under the signing name of the service it was meant for', async () => {
    sb.sandbox.faults.log.length = 0;
    await send('sns', {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=ListTopics&Version=2010-03-31',
    });
    expect(sb.sandbox.faults.log).toEqual([expect.objectContaining({ service: 'sns', outcome: 'InvalidAction', status: 400 })]);
  });

  it('answers an emulated JSON service reached over another protocol (KMS without X-Amz-Target) the same way', async () => {
    const res = await send('kms', { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([res.status, res.headers['x-amzn-errortype']]).toEqual([400, 'UnknownOperationException']);
  });
});
