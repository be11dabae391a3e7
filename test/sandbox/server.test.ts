import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { clients, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

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
    const signer = new SignatureV4({ service: 'sts', region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, applyChecksum: false });
    const signed = await signer.sign({
      method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
    });
    expect(signed.headers['x-amz-content-sha256']).toBeUndefined();
    const res = await fetch(`${sb.endpoint}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Arn>arn:aws:iam::000000000000:root</Arn>');
  });

  it('rejects an unknown access key as InvalidClientTokenId', async () => {
    const sts = new STSClient({ endpoint: sb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }, maxAttempts: 1 });
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
