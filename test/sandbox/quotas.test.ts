/**
 * Per-account quotas as IAM and KMS enforce them (resource limits), request rates as token buckets on
 * the sandbox clock, GetAccountSummary, and both configured from code and from /_sandbox/config.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  GetAccountSummaryCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { ListApplicationsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { SandboxOptions } from '../../local/sandbox/sandbox';

const ACCOUNT = '000000000000';
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const TRUST = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' });
/** An identity policy of exactly `size` characters once whitespace is taken out (padded in the Sid). */
const sized = (size: number, spaces = 0) => {
  const bare = (sid: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
  return bare('S'.repeat(size - bare('').length)).replace('"Effect"', `${' '.repeat(spaces)}"Effect"`);
};
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
const limitExceeded = (message: string) => ({ name: 'LimitExceededException', message, $metadata: expect.objectContaining({ httpStatusCode: 409 }) });

describe('sandbox quotas', () => {
  describe('IAM resource limits (LimitExceeded, 409)', () => {
    let sb: RunningSandbox;
    let iam: ReturnType<typeof clients>['iam'];
    let seq = 0;
    const unique = (base: string) => `${base}${++seq}`;

    beforeAll(async () => {
      sb = await testSandbox({ rates: false, limits: { iam: { RolesPerAccount: 4, PoliciesPerAccount: 3 } } });
      iam = clients(sb).iam;
    });
    afterAll(() => sb.close());

    it('refuses inline policies past 10,240 characters in all on a role, not counting whitespace, naming the role', async () => {
      const role = unique('Inline');
      await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'a', PolicyDocument: sized(6000, 500) }));

      const atLimit = await failure(iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'b', PolicyDocument: sized(4240, 500) })));
      const over = await failure(iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'c', PolicyDocument: sized(200) })));
      // Replacing a policy counts its new size, not both.
      const replaced = await failure(iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'a', PolicyDocument: sized(5000) })));

      expect(atLimit).toBeUndefined();
      expect(over).toMatchObject(limitExceeded(`Maximum policy size of 10240 bytes exceeded for role ${role}`));
      expect(replaced).toBeUndefined();
    });

    it('refuses a managed policy, and a policy version, past 6,144 characters', async () => {
      const ok = await iam.send(new CreatePolicyCommand({ PolicyName: unique('Big'), PolicyDocument: sized(6144, 1000) }));

      const tooBig = await failure(iam.send(new CreatePolicyCommand({ PolicyName: unique('TooBig'), PolicyDocument: sized(6145) })));
      const bigVersion = await failure(iam.send(new CreatePolicyVersionCommand({ PolicyArn: ok.Policy!.Arn, PolicyDocument: sized(6145) })));

      expect(tooBig).toMatchObject(limitExceeded('Cannot exceed quota for PolicySize: 6144'));
      expect(bigVersion).toMatchObject(limitExceeded('Cannot exceed quota for PolicySize: 6144'));
    });

    it('refuses a trust policy past 2,048 characters on CreateRole and UpdateAssumeRolePolicy', async () => {
      const big = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'S'.repeat(2000), Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
      const role = unique('Trust');
      await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));

      const created = await failure(iam.send(new CreateRoleCommand({ RoleName: unique('BigTrust'), AssumeRolePolicyDocument: big })));
      const updated = await failure(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role, PolicyDocument: big })));

      expect(created).toMatchObject(limitExceeded('Cannot exceed quota for ACLSizePerRole: 2048'));
      expect(updated).toMatchObject(limitExceeded('Cannot exceed quota for ACLSizePerRole: 2048'));
    });

    it('refuses roles and customer managed policies past the account quotas, as configured', async () => {
      const roles = Object.keys(sb.sandbox.state.iam.roles).length;
      for (let i = roles; i < 4; i++) await iam.send(new CreateRoleCommand({ RoleName: unique('Fill'), AssumeRolePolicyDocument: TRUST }));
      const policies = Object.keys(sb.sandbox.state.iam.policies).length;
      for (let i = policies; i < 3; i++) await iam.send(new CreatePolicyCommand({ PolicyName: unique('Fill'), PolicyDocument: sized(200) }));

      const role = await failure(iam.send(new CreateRoleCommand({ RoleName: unique('OneTooMany'), AssumeRolePolicyDocument: TRUST })));
      const policy = await failure(iam.send(new CreatePolicyCommand({ PolicyName: unique('OneTooMany'), PolicyDocument: sized(200) })));

      expect(role).toMatchObject(limitExceeded('Cannot exceed quota for RolesPerAccount: 4'));
      expect(policy).toMatchObject(limitExceeded('Cannot exceed quota for PoliciesPerAccount: 3'));
    });

    it('reports the live figures and the quotas in force in GetAccountSummary, the way AWS recommends reading them', async () => {
      const { SummaryMap } = await iam.send(new GetAccountSummaryCommand({}));

      expect(SummaryMap).toMatchObject({
        Roles: Object.keys(sb.sandbox.state.iam.roles).length,
        RolesQuota: 4,
        Policies: Object.keys(sb.sandbox.state.iam.policies).length,
        PoliciesQuota: 3,
        AttachedPoliciesPerRoleQuota: 10,
        PolicySizeQuota: 6144,
        RolePolicySizeQuota: 10240,
        AssumeRolePolicySizeQuota: 2048,
        VersionsPerPolicyQuota: 5,
        PolicyVersionsInUse: Object.keys(sb.sandbox.state.iam.policies).length,
        PolicyVersionsInUseQuota: 10000,
        Users: 0,
      });
    });
  });

  describe('KMS resource limits (LimitExceededException, 400)', () => {
    let sb: RunningSandbox;
    let kms: ReturnType<typeof clients>['kms'];

    beforeAll(async () => {
      sb = await testSandbox({ rates: false, limits: { kms: { KeysPerRegion: 3, AliasesPerKey: 1, GrantsPerKey: 1, OnDemandRotationsPerKey: 1 } } });
      kms = clients(sb).kms;
    });
    afterAll(() => sb.close());

    it('counts every key against the keys quota, refuses a second alias per key, a second grant and a second on-demand rotation', async () => {
      const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      await kms.send(new CreateKeyCommand({}));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/a', TargetKeyId: a.KeyId }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/b', TargetKeyId: b.KeyId }));
      await kms.send(new CreateGrantCommand({ KeyId: a.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Decrypt'] }));
      await kms.send(new RotateKeyOnDemandCommand({ KeyId: a.KeyId }));

      const key = await failure(kms.send(new CreateKeyCommand({})));
      const alias = await failure(kms.send(new CreateAliasCommand({ AliasName: 'alias/a2', TargetKeyId: a.KeyId })));
      const retarget = await failure(kms.send(new UpdateAliasCommand({ AliasName: 'alias/b', TargetKeyId: a.KeyId })));
      const grant = await failure(
        kms.send(new CreateGrantCommand({ KeyId: a.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Encrypt'] })),
      );
      const rotation = await failure(kms.send(new RotateKeyOnDemandCommand({ KeyId: a.KeyId })));

      expect(key).toMatchObject({ name: 'LimitExceededException', message: 'Key quota for this account in this region is 3, current usage is 3.' });
      expect(alias).toMatchObject({
        name: 'LimitExceededException',
        message: 'Aliases per key quota for this account in this region is 1, current usage is 1.',
      });
      expect(retarget).toMatchObject({
        name: 'LimitExceededException',
        message: 'Aliases per key quota for this account in this region is 1, current usage is 1.',
      });
      expect(grant).toMatchObject({
        name: 'LimitExceededException',
        message: 'Grants per key quota for this account in this region is 1, current usage is 1.',
      });
      expect(rotation).toMatchObject({
        name: 'LimitExceededException',
        message: `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${a.Arn}`,
      });
    });
  });

  describe('request rates (token buckets per account and API, on the sandbox clock)', () => {
    let sb: RunningSandbox;
    /** A sandbox whose clock moves only when the test advances it, so buckets refill only then. */
    const start = async (options: SandboxOptions = {}) => {
      sb = await testSandbox(options);
      sb.sandbox.clock.freeze();
      return clients(sb);
    };
    afterEach(() => sb.close());
    /** Sends `n` requests at once and sorts them into answered and refused (by error name). */
    const burst = async (n: number, call: (i: number) => Promise<unknown>) => {
      const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => call(i)));
      return { ok: settled.filter((s) => s.status === 'fulfilled').length, refused: settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : [])) };
    };
    const control = async (method: string, path: string, body?: unknown): Promise<any> =>
      (
        await fetch(`${sb.endpoint}/_sandbox/${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      ).json();

    it('throttles KMS CreateKey past 5 per second with ThrottlingException, and refills as the clock moves', async () => {
      const { kms } = await start();

      const first = await burst(8, () => kms.send(new CreateKeyCommand({})));
      sb.sandbox.advance(1000);
      const second = await burst(5, () => kms.send(new CreateKeyCommand({})));

      expect(first.ok).toBe(5);
      expect(first.refused).toHaveLength(3);
      expect(first.refused[0]).toMatchObject({
        name: 'ThrottlingException',
        message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
      expect(second.ok).toBe(5);
    });

    it('keeps a bucket per API: CreateKey throttled leaves DescribeKey (2,000/s) and CreateAlias (5/s) answering', async () => {
      const { kms } = await start();
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      await burst(6, () => kms.send(new CreateKeyCommand({})));

      const describes = await burst(50, () => kms.send(new DescribeKeyCommand({ KeyId: key.KeyId })));
      const aliases = await burst(6, (i) => kms.send(new CreateAliasCommand({ AliasName: `alias/a${i}`, TargetKeyId: key.KeyId })));

      expect(describes.ok).toBe(50);
      expect(aliases.ok).toBe(5);
    });

    it('shares one bucket among the symmetric cryptographic operations', async () => {
      const { kms } = await start({ rates: { kms: { SymmetricCryptographicOperations: 3 } } });
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;

      const calls = await burst(4, () => kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1]) })));

      expect(calls.ok).toBe(3);
      expect(calls.refused[0]).toMatchObject({ name: 'ThrottlingException' });
    });

    it('throttles each IAM write API at 10 per second with Throttling "Rate exceeded", and leaves reads alone', async () => {
      const { iam } = await start();
      await iam.send(new CreateRoleCommand({ RoleName: 'Reader', AssumeRolePolicyDocument: TRUST }));
      sb.sandbox.advance(1000);

      const creates = await burst(12, (i) => iam.send(new CreateRoleCommand({ RoleName: `Burst${i}`, AssumeRolePolicyDocument: TRUST })));
      const reads = await burst(30, () => iam.send(new GetRoleCommand({ RoleName: 'Reader' })));
      const otherWrite = await failure(iam.send(new AttachRolePolicyCommand({ RoleName: 'Reader', PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/Missing` })));

      expect(creates.ok).toBe(10);
      expect(creates.refused[0]).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: expect.objectContaining({ httpStatusCode: 400 }) });
      expect(reads.ok).toBe(30);
      expect(otherWrite).toMatchObject({ name: 'NoSuchEntityException' });
    });

    it('leaves Managed Flink unthrottled by default and throttles it as configured over /_sandbox/config', async () => {
      const { flink } = await start();
      const free = await burst(40, () => flink.send(new ListApplicationsCommand({})));

      const config = await control('POST', 'config', { rates: { kinesisanalytics: { ListApplications: 2 } } });
      const limited = await burst(4, () => flink.send(new ListApplicationsCommand({})));

      expect(free.ok).toBe(40);
      expect(config.rates.kinesisanalytics).toEqual({ ListApplications: 2 });
      expect(limited.ok).toBe(2);
      expect(limited.refused[0]).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    });

    it('counts throttled requests in the request log and by API at /_sandbox/throttles', async () => {
      const { kms, iam } = await start();
      await burst(7, () => kms.send(new CreateKeyCommand({})));
      await burst(11, (i) => iam.send(new CreateRoleCommand({ RoleName: `Counted${i}`, AssumeRolePolicyDocument: TRUST })));

      const throttles = await control('GET', 'throttles');
      const logged = sb.sandbox.faults.log.filter((e) => e.outcome === 'ThrottlingException');

      expect(throttles).toEqual({ total: 3, byApi: { 'kms:CreateKey': 2, 'iam:CreateRole': 1 } });
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatchObject({ service: 'kms', operation: 'CreateKey', status: 400 });
    });

    it('turns throttling off with rates: false, from code and over /_sandbox/config', async () => {
      const { kms } = await start({ rates: false });
      const off = await burst(8, () => kms.send(new CreateKeyCommand({})));

      await control('POST', 'config', { rates: { kms: { CreateKey: 1 } } });
      const on = await burst(3, () => kms.send(new CreateKeyCommand({})));
      await control('POST', 'config', { rates: false });
      const offAgain = await burst(3, () => kms.send(new CreateKeyCommand({})));

      expect(off.ok).toBe(8);
      expect(on.ok).toBe(1);
      expect(offAgain.ok).toBe(3);
    });

    it('sets limits over /_sandbox/config and refuses an unknown one', async () => {
      const { iam } = await start();

      const set = await control('POST', 'config', { limits: { iam: { PoliciesPerRole: 20 } } });
      const { SummaryMap } = await iam.send(new GetAccountSummaryCommand({}));
      const unknown = await fetch(`${sb.endpoint}/_sandbox/config`, { method: 'POST', body: JSON.stringify({ limits: { iam: { Nope: 1 } } }) });

      expect(set.limits.iam.PoliciesPerRole).toBe(20);
      expect(SummaryMap!.AttachedPoliciesPerRoleQuota).toBe(20);
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toEqual({ error: 'unknown limit iam.Nope' });
    });
  });
});
