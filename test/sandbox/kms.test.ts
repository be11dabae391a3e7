import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  type KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type CreateKeyCommandInput,
} from '@aws-sdk/client-kms';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { PolicyDocument } from '../../local/sandbox/state';
import { invokeKms, parsedKeyPolicy } from '../../local/sandbox/services/kms';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const DAY = 86_400_000;
const APP_ARN = `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/MyCmkApplication`;
const EC_KEY = 'kms:EncryptionContext:aws:kinesisanalytics:arn';
const keyArn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const ROOT_STATEMENT = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
/** The error a call fails with (undefined if it succeeds), so later calls can run before the assertions. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('sandbox KMS', () => {
  let sb: RunningSandbox;
  let kms: KMSClient;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;

  /** A role written straight into state (Lambda may assume it), visible after the sandbox's propagation delay. */
  const putRole = (identityPolicy?: object): string => {
    const RoleName = unique('Role');
    const now = sb.sandbox.clock.now();
    const Arn = `arn:aws:iam::${ACCOUNT}:role/${RoleName}`;
    sb.sandbox.state.iam.roles[RoleName] = {
      RoleName,
      RoleId: sb.sandbox.randomId('AROA'),
      Arn,
      Path: '/',
      CreateDate: now,
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Tags: [],
      InlinePolicies: identityPolicy ? { inline: identityPolicy as PolicyDocument } : {},
      AttachedPolicyArns: [],
      VisibleAt: now + sb.sandbox.iamPropagationDelayMs,
    };
    return Arn;
  };
  const kmsAs = (roleArn: string) => clients(sb, roleCredentials(sb, roleArn)).kms;
  const sessionArn = (roleArn: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${roleArn.split('/').pop()}/test-session`;
  const createKey = async (input: CreateKeyCommandInput = {}) => (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
  const denied = (who: string, action: string, resource: string, why = `because no resource-based policy allows the ${action} action`) => ({
    name: 'AccessDeniedException',
    message: `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
  });

  beforeAll(async () => {
    // These specify behaviour, not request rates (quotas.test.ts), and create resources faster than AWS allows.
    sb = await testSandbox({ rates: false });
    kms = clients(sb).kms;
  });
  afterAll(() => sb.close());
  afterEach(() => {
    sb.sandbox.iamPropagationDelayMs = 0;
  });

  describe('keys', () => {
    it('creates a symmetric key with a UUID v4 id, its ARN and the default key policy', async () => {
      const before = sb.sandbox.clock.now();

      const meta = await createKey({ Description: 'app key' });
      const stored = await kms.send(new GetKeyPolicyCommand({ KeyId: meta.KeyId }));
      const names = await kms.send(new ListKeyPoliciesCommand({ KeyId: meta.KeyId }));

      expect(meta.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(meta).toMatchObject({
        Arn: keyArn(meta.KeyId!),
        AWSAccountId: ACCOUNT,
        Description: 'app key',
        Enabled: true,
        KeyState: 'Enabled',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        MultiRegion: false,
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      });
      expect(meta.CreationDate!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(stored.PolicyName).toBe('default');
      expect(JSON.parse(stored.Policy!)).toEqual({ Version: '2012-10-17', Id: 'key-default-1', Statement: [ROOT_STATEMENT] });
      expect(names.PolicyNames).toEqual(['default']);
    });

    it('returns a given key policy exactly as given, and parses it once for other services', async () => {
      const given = `{ "Version": "2012-10-17",\n  "Statement": [${JSON.stringify(ROOT_STATEMENT)}] }`;

      const meta = await createKey({ Policy: given });
      const out = await kms.send(new GetKeyPolicyCommand({ KeyId: meta.Arn }));

      expect(out.Policy).toBe(given);
      const key = sb.sandbox.state.kms.keys[meta.KeyId!];
      expect(parsedKeyPolicy(key)).toEqual(JSON.parse(given));
      expect(parsedKeyPolicy(key)).toBe(parsedKeyPolicy(key));
    });

    it('resolves a key by key id, key ARN, alias name and alias ARN for DescribeKey', async () => {
      const meta = await createKey();
      const alias = unique('alias/app-');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }));

      const refs = [meta.KeyId!, meta.Arn!, alias, `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`];
      const found = await Promise.all(refs.map((KeyId) => kms.send(new DescribeKeyCommand({ KeyId }))));

      expect(found.map((f) => f.KeyMetadata!.KeyId)).toEqual(refs.map(() => meta.KeyId));
    });

    it('refuses an unknown key id and an unknown alias with NotFoundException in AWS wording', async () => {
      const missing = '11111111-2222-4333-8444-555555555555';

      await expect(kms.send(new DescribeKeyCommand({ KeyId: missing }))).rejects.toMatchObject({
        name: 'NotFoundException',
        message: `Key '${keyArn(missing)}' does not exist`,
      });
      await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' }))).rejects.toMatchObject({
        name: 'NotFoundException',
        message: `Alias arn:aws:kms:${REGION}:${ACCOUNT}:alias/nope is not found.`,
      });
    });

    it('refuses an alias where the operation takes a key id or key ARN only', async () => {
      const meta = await createKey();
      const alias = unique('alias/mgmt-');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }));

      await expect(kms.send(new DisableKeyCommand({ KeyId: alias }))).rejects.toMatchObject({ name: 'NotFoundException', message: `Invalid keyId '${alias}'` });
      await expect(kms.send(new PutKeyPolicyCommand({ KeyId: alias, Policy: policy(ROOT_STATEMENT) }))).rejects.toMatchObject({ name: 'NotFoundException' });
      expect(sb.sandbox.state.kms.keys[meta.KeyId!].KeyState).toBe('Enabled');
    });

    it('lists keys page by page with Limit and Marker', async () => {
      await createKey();
      await createKey();
      const total = Object.keys(sb.sandbox.state.kms.keys).length;

      const first = await kms.send(new ListKeysCommand({ Limit: 1 }));
      const rest = await kms.send(new ListKeysCommand({ Marker: first.NextMarker }));

      expect(first).toMatchObject({ Truncated: true, Keys: [{ KeyId: expect.any(String), KeyArn: expect.stringContaining(':key/') }] });
      expect(rest.Truncated).toBe(false);
      expect(rest.NextMarker).toBeUndefined();
      expect(first.Keys!.length + rest.Keys!.length).toBe(total);
    });

    it('disables and re-enables a key; a disabled key refuses cryptographic operations', async () => {
      const meta = await createKey();

      await kms.send(new DisableKeyCommand({ KeyId: meta.KeyId }));
      const disabled = (await kms.send(new DescribeKeyCommand({ KeyId: meta.KeyId }))).KeyMetadata!;
      const refused = await failure(kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('x') })));

      expect(disabled).toMatchObject({ KeyState: 'Disabled', Enabled: false });
      expect(refused).toMatchObject({ name: 'DisabledException', message: `${meta.Arn} is disabled.` });
      await kms.send(new EnableKeyCommand({ KeyId: meta.Arn }));
      await expect(kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('x') }))).resolves.toMatchObject({ KeyId: meta.Arn });
    });

    it('schedules deletion (30 days by default), refuses use while pending, and cancels back to Disabled', async () => {
      const meta = await createKey();
      const now = sb.sandbox.clock.now();

      const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: meta.KeyId }));
      const refused = await failure(kms.send(new GenerateDataKeyCommand({ KeyId: meta.KeyId, KeySpec: 'AES_256' })));
      const cancelled = await kms.send(new CancelKeyDeletionCommand({ KeyId: meta.KeyId }));
      const after = (await kms.send(new DescribeKeyCommand({ KeyId: meta.KeyId }))).KeyMetadata!;

      expect(scheduled).toMatchObject({ KeyId: meta.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
      expect(Math.abs(scheduled.DeletionDate!.getTime() - (now + 30 * DAY))).toBeLessThan(5000);
      expect(refused).toMatchObject({ name: 'KMSInvalidStateException', message: `${meta.Arn} is pending deletion.` });
      expect(cancelled.KeyId).toBe(meta.Arn);
      expect(after).toMatchObject({ KeyState: 'Disabled', Enabled: false });
      expect(after.DeletionDate).toBeUndefined();
    });

    it('refuses a deletion window outside 7 to 30 days', async () => {
      const meta = await createKey();

      await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: meta.KeyId, PendingWindowInDays: 6 }))).rejects.toMatchObject({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
      });
      expect(sb.sandbox.state.kms.keys[meta.KeyId!].KeyState).toBe('Enabled');
    });

    it('deletes the key and its aliases when the window has passed on the sandbox clock', async () => {
      const meta = await createKey();
      const alias = unique('alias/doomed-');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }));
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: meta.KeyId, PendingWindowInDays: 7 }));

      sb.sandbox.advance(7 * DAY + 1000);

      await expect(kms.send(new DescribeKeyCommand({ KeyId: meta.KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
      expect((await kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName)).not.toContain(alias);
    });
  });

  describe('aliases', () => {
    it('creates, retargets, lists by key and deletes an alias', async () => {
      const [a, b] = [await createKey(), await createKey()];
      const alias = unique('alias/team/app_');

      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: a.Arn }));
      await kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: b.KeyId }));
      const ofA = await kms.send(new ListAliasesCommand({ KeyId: a.KeyId }));
      const ofB = await kms.send(new ListAliasesCommand({ KeyId: b.KeyId }));
      await kms.send(new DeleteAliasCommand({ AliasName: alias }));

      expect(ofA.Aliases).toEqual([]);
      expect(ofB.Aliases).toEqual([
        {
          AliasName: alias,
          AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`,
          TargetKeyId: b.KeyId,
          CreationDate: expect.any(Date),
          LastUpdatedDate: expect.any(Date),
        },
      ]);
      await expect(kms.send(new DeleteAliasCommand({ AliasName: alias }))).rejects.toMatchObject({
        name: 'NotFoundException',
        message: `Alias arn:aws:kms:${REGION}:${ACCOUNT}:${alias} is not found.`,
      });
    });

    it('refuses a duplicate alias, the reserved alias/aws/ prefix and a name without alias/', async () => {
      const meta = await createKey();
      const alias = unique('alias/dup-');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }));

      await expect(kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }))).rejects.toMatchObject({
        name: 'AlreadyExistsException',
        message: `An alias with the name arn:aws:kms:${REGION}:${ACCOUNT}:${alias} already exists`,
      });
      await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: meta.KeyId }))).rejects.toMatchObject({
        name: 'NotAuthorizedException',
        message: 'UnknownError',
      });
      await expect(kms.send(new CreateAliasCommand({ AliasName: 'mine', TargetKeyId: meta.KeyId }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining('Alias must start with the prefix "alias/".'),
      });
    });

    it('needs kms:CreateAlias on the alias ARN in an identity policy as well as on the key', async () => {
      const role = putRole({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:CreateAlias', Resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/*` }],
      });
      const meta = await createKey();
      const alias = unique('alias/iam-');

      const refused = await failure(kmsAs(role).send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId })));

      expect(refused).toMatchObject(
        denied(
          sessionArn(role),
          'kms:CreateAlias',
          `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`,
          'because no identity-based policy allows the kms:CreateAlias action',
        ),
      );
      expect(sb.sandbox.state.kms.aliases[alias]).toBeUndefined();
    });
  });

  describe('cryptographic operations', () => {
    it('encrypts and decrypts without a KeyId, binding the encryption context', async () => {
      const meta = await createKey();
      const ctx = { 'aws:kinesisanalytics:arn': APP_ARN };

      const enc = await kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('state'), EncryptionContext: ctx }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }));

      expect(enc).toMatchObject({ KeyId: meta.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      expect(text(enc.CiphertextBlob)).not.toContain('state');
      expect(dec).toMatchObject({ KeyId: meta.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      expect(text(dec.Plaintext)).toBe('state');
    });

    it('refuses a wrong or missing encryption context and a tampered blob with InvalidCiphertextException', async () => {
      const meta = await createKey();
      const enc = await kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('s'), EncryptionContext: { a: '1' } }));
      const tampered = Uint8Array.from(enc.CiphertextBlob!);
      tampered[tampered.length - 1] ^= 1;

      for (const input of [
        { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '2' } },
        { CiphertextBlob: enc.CiphertextBlob },
        { CiphertextBlob: tampered, EncryptionContext: { a: '1' } },
        { CiphertextBlob: bytes('not a kms ciphertext blob at all, clearly') },
      ]) {
        // AWS sends this error without a message; the SDK then reports 'UnknownError'.
        await expect(kms.send(new DecryptCommand(input))).rejects.toMatchObject({ name: 'InvalidCiphertextException', message: 'UnknownError' });
      }
    });

    it('refuses Decrypt with a KeyId that is not the key of the ciphertext', async () => {
      const [a, b] = [await createKey(), await createKey()];
      const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('s') }));

      await expect(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId }))).rejects.toMatchObject({
        name: 'IncorrectKeyException',
        message: 'The key ID in the request does not identify a CMK that can perform this operation.',
      });
    });

    it('generates data keys with and without plaintext that decrypt to the same key material', async () => {
      const meta = await createKey();
      const ctx = { purpose: 'test' };

      const withPlain = await kms.send(new GenerateDataKeyCommand({ KeyId: meta.KeyId, KeySpec: 'AES_256', EncryptionContext: ctx }));
      const without = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: meta.KeyId, NumberOfBytes: 16, EncryptionContext: ctx }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: withPlain.CiphertextBlob, EncryptionContext: ctx }));
      const dec16 = await kms.send(new DecryptCommand({ CiphertextBlob: without.CiphertextBlob, EncryptionContext: ctx }));

      expect(withPlain.Plaintext).toHaveLength(32);
      expect(Buffer.from(dec.Plaintext!)).toEqual(Buffer.from(withPlain.Plaintext!));
      expect(without).not.toHaveProperty('Plaintext');
      expect(without.KeyId).toBe(meta.Arn);
      expect(dec16.Plaintext).toHaveLength(16);
    });

    it('refuses GenerateDataKey with both or neither of KeySpec and NumberOfBytes', async () => {
      const meta = await createKey();

      for (const input of [{ KeyId: meta.KeyId }, { KeyId: meta.KeyId, KeySpec: 'AES_256' as const, NumberOfBytes: 32 }]) {
        await expect(kms.send(new GenerateDataKeyCommand(input))).rejects.toMatchObject({
          name: 'ValidationException',
          message: 'Please specify either number of bytes or key spec.',
        });
      }
    });
  });

  describe('rotation and tags', () => {
    it('enables rotation (365 days by default), reports it, refuses a period under 90 days, and disables it', async () => {
      const meta = await createKey();

      await kms.send(new EnableKeyRotationCommand({ KeyId: meta.KeyId }));
      const on = await kms.send(new GetKeyRotationStatusCommand({ KeyId: meta.KeyId }));
      const tooShort = await failure(kms.send(new EnableKeyRotationCommand({ KeyId: meta.KeyId, RotationPeriodInDays: 89 })));
      await kms.send(new DisableKeyRotationCommand({ KeyId: meta.KeyId }));
      const off = await kms.send(new GetKeyRotationStatusCommand({ KeyId: meta.KeyId }));

      expect(on).toMatchObject({ KeyId: meta.KeyId, KeyRotationEnabled: true, RotationPeriodInDays: 365, NextRotationDate: expect.any(Date) });
      expect(tooShort).toMatchObject({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90",
      });
      expect(off).toEqual(expect.objectContaining({ KeyRotationEnabled: false }));
      expect(off.RotationPeriodInDays).toBeUndefined();
    });

    it('refuses rotation on an asymmetric key with UnsupportedOperationException', async () => {
      const meta = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });

      await expect(kms.send(new EnableKeyRotationCommand({ KeyId: meta.KeyId }))).rejects.toMatchObject({
        name: 'UnsupportedOperationException',
        message: `${meta.Arn} key spec RSA_2048 is not supported for this operation.`,
      });
      expect(meta.SigningAlgorithms).toContain('RSASSA_PSS_SHA_256');
    });

    it('rotates on demand and automatically, and still decrypts what older key material encrypted', async () => {
      const meta = await createKey();
      const old = await kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('old') }));
      await kms.send(new EnableKeyRotationCommand({ KeyId: meta.KeyId, RotationPeriodInDays: 90 }));

      const onDemand = await kms.send(new RotateKeyOnDemandCommand({ KeyId: meta.KeyId }));
      sb.sandbox.advance(90 * DAY + 1000);
      const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: meta.KeyId }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));

      expect(onDemand.KeyId).toBe(meta.Arn);
      expect(rotations.Rotations!.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'AUTOMATIC']);
      expect(rotations.Rotations!.map((r) => r.KeyMaterialId)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)]);
      expect(text(dec.Plaintext)).toBe('old');
      expect(dec.KeyMaterialId).not.toBe(rotations.Rotations![1].KeyMaterialId);
    });

    it('tags, lists and untags a key, and refuses tag keys beginning with aws:', async () => {
      const meta = await createKey({ Tags: [{ TagKey: 'team', TagValue: 'a' }] });

      await kms.send(
        new TagResourceCommand({
          KeyId: meta.KeyId,
          Tags: [
            { TagKey: 'team', TagValue: 'b' },
            { TagKey: 'env', TagValue: 'dev' },
          ],
        }),
      );
      await kms.send(new UntagResourceCommand({ KeyId: meta.KeyId, TagKeys: ['env'] }));
      const out = await kms.send(new ListResourceTagsCommand({ KeyId: meta.KeyId }));
      const reserved = await failure(kms.send(new TagResourceCommand({ KeyId: meta.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: '1' }] })));

      expect(out).toMatchObject({ Tags: [{ TagKey: 'team', TagValue: 'b' }], Truncated: false });
      expect(reserved).toMatchObject({ name: 'TagException', message: 'Tags beginning with aws: are reserved' });
    });

    it('refuses more than 50 tags, a key given twice and the aws: prefix in any case with TagException, on CreateKey and TagResource', async () => {
      const tags = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ TagKey: `k${from + i}`, TagValue: 'v' }));
      const meta = await createKey({ Tags: tags(40) });
      const keys = Object.keys(sb.sandbox.state.kms.keys).length;

      const tooMany = await failure(kms.send(new CreateKeyCommand({ Tags: tags(51) })));
      const twice = await failure(
        kms.send(
          new CreateKeyCommand({
            Tags: [
              { TagKey: 'a', TagValue: '1' },
              { TagKey: 'a', TagValue: '2' },
            ],
          }),
        ),
      );
      const upper = await failure(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'AWS:x', TagValue: '1' }] })));
      const pastFifty = await failure(kms.send(new TagResourceCommand({ KeyId: meta.KeyId, Tags: tags(11, 100) })));
      const twiceOnTag = await failure(
        kms.send(
          new TagResourceCommand({
            KeyId: meta.KeyId,
            Tags: [
              { TagKey: 'b', TagValue: '1' },
              { TagKey: 'b', TagValue: '2' },
            ],
          }),
        ),
      );
      const replacing = await failure(kms.send(new TagResourceCommand({ KeyId: meta.KeyId, Tags: tags(10, 35) })));

      expect(tooMany).toMatchObject({ name: 'TagException', message: 'Too many tags', $metadata: expect.objectContaining({ httpStatusCode: 400 }) });
      expect(twice).toMatchObject({ name: 'TagException', message: 'Duplicate tag keys' });
      expect(upper).toMatchObject({ name: 'TagException', message: 'Tags beginning with aws: are reserved' });
      expect(pastFifty).toMatchObject({ name: 'TagException', message: 'Too many tags' });
      expect(twiceOnTag).toMatchObject({ name: 'TagException', message: 'Duplicate tag keys' });
      expect(replacing).toBeUndefined();
      expect(Object.keys(sb.sandbox.state.kms.keys)).toHaveLength(keys);
    });
  });

  describe('grants', () => {
    it('creates, lists, retires and revokes grants with 64-hex ids', async () => {
      const meta = await createKey();
      const grantee = putRole();

      const g1 = await kms.send(
        new CreateGrantCommand({ KeyId: meta.KeyId, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { a: '1' } } }),
      );
      const g2 = await kms.send(new CreateGrantCommand({ KeyId: meta.Arn, GranteePrincipal: grantee, Operations: ['Encrypt'], Name: 'second' }));
      const listed = await kms.send(new ListGrantsCommand({ KeyId: meta.KeyId }));
      await kms.send(new RetireGrantCommand({ GrantToken: g1.GrantToken }));
      await kms.send(new RevokeGrantCommand({ KeyId: meta.KeyId, GrantId: g2.GrantId }));
      const after = await kms.send(new ListGrantsCommand({ KeyId: meta.KeyId }));

      expect(g1.GrantId).toMatch(/^[0-9a-f]{64}$/);
      expect(listed.Grants).toEqual([
        expect.objectContaining({
          KeyId: meta.Arn,
          GrantId: g1.GrantId,
          GranteePrincipal: grantee,
          IssuingAccount: ROOT,
          Operations: ['Decrypt'],
          Constraints: { EncryptionContextSubset: { a: '1' } },
        }),
        expect.objectContaining({ GrantId: g2.GrantId, Name: 'second', Operations: ['Encrypt'] }),
      ]);
      expect(after.Grants).toEqual([]);
    });

    it('lets a grantee decrypt under the grant constraint only, with no key policy or IAM access', async () => {
      const meta = await createKey();
      const grantee = putRole();
      const ctx = { 'aws:kinesisanalytics:arn': APP_ARN };
      const right = await kms.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('ok'), EncryptionContext: ctx }));
      const other = await kms.send(
        new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('no'), EncryptionContext: { 'aws:kinesisanalytics:arn': 'other' } }),
      );
      await kms.send(
        new CreateGrantCommand({ KeyId: meta.KeyId, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: ctx } }),
      );
      const asGrantee = kmsAs(grantee);

      const dec = await asGrantee.send(new DecryptCommand({ CiphertextBlob: right.CiphertextBlob, EncryptionContext: ctx }));
      const refused = await failure(
        asGrantee.send(new DecryptCommand({ CiphertextBlob: other.CiphertextBlob, EncryptionContext: { 'aws:kinesisanalytics:arn': 'other' } })),
      );

      expect(text(dec.Plaintext)).toBe('ok');
      expect(refused).toMatchObject(denied(sessionArn(grantee), 'kms:Decrypt', meta.Arn!));
    });
  });

  describe('key policies and authorization', () => {
    it('lets a role named in the key policy use the key with no identity policy', async () => {
      const role = putRole();
      const meta = await createKey({
        Policy: policy(ROOT_STATEMENT, { Effect: 'Allow', Principal: { AWS: role }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' }),
      });
      const asRole = kmsAs(role);

      const enc = await asRole.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('r') }));
      const dec = await asRole.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));

      expect(text(dec.Plaintext)).toBe('r');
      await expect(asRole.send(new DescribeKeyCommand({ KeyId: meta.KeyId }))).rejects.toMatchObject(denied(sessionArn(role), 'kms:DescribeKey', meta.Arn!));
    });

    it('ignores a role identity policy unless the key policy delegates to the account', async () => {
      const role = putRole({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }] });
      const admin = { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:PutKeyPolicy', Resource: '*' };
      const closed = await createKey({ Policy: policy({ ...admin, Action: ['kms:PutKeyPolicy', 'kms:GetKeyPolicy'] }) });
      const delegating = await createKey();
      const asRole = kmsAs(role);

      const refused = await failure(asRole.send(new DescribeKeyCommand({ KeyId: closed.KeyId })));
      const allowed = await asRole.send(new DescribeKeyCommand({ KeyId: delegating.KeyId }));

      expect(refused).toMatchObject(denied(sessionArn(role), 'kms:DescribeKey', closed.Arn!));
      expect(allowed.KeyMetadata!.KeyId).toBe(delegating.KeyId);
    });

    it('lets an explicit deny in the key policy win over an identity-policy allow', async () => {
      const role = putRole({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });
      const meta = await createKey({ Policy: policy(ROOT_STATEMENT, { Effect: 'Deny', Principal: { AWS: role }, Action: 'kms:Decrypt', Resource: '*' }) });
      const asRole = kmsAs(role);
      const enc = await asRole.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: bytes('d') }));

      const refused = await failure(asRole.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })));

      expect(refused).toMatchObject(denied(sessionArn(role), 'kms:Decrypt', meta.Arn!, 'with an explicit deny in a resource-based policy'));
    });

    it('refuses CreateKey to a role whose identity policies do not allow kms:CreateKey', async () => {
      const role = putRole({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }] });
      const before = Object.keys(sb.sandbox.state.kms.keys).length;

      await expect(kmsAs(role).send(new CreateKeyCommand({}))).rejects.toMatchObject(
        denied(sessionArn(role), 'kms:CreateKey', '*', 'because no identity-based policy allows the kms:CreateKey action'),
      );
      expect(Object.keys(sb.sandbox.state.kms.keys)).toHaveLength(before);
    });

    it('refuses a key policy that would lock the caller out, unless the safety check is bypassed', async () => {
      const meta = await createKey();
      const lockout = policy({ Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:Decrypt', Resource: '*' });
      const expected = { name: 'MalformedPolicyDocumentException', message: 'The new key policy will not allow you to update the key policy in the future.' };

      await expect(kms.send(new CreateKeyCommand({ Policy: lockout }))).rejects.toMatchObject(expected);
      await expect(kms.send(new PutKeyPolicyCommand({ KeyId: meta.KeyId, Policy: lockout }))).rejects.toMatchObject(expected);
      await kms.send(new PutKeyPolicyCommand({ KeyId: meta.KeyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));

      expect(sb.sandbox.state.kms.keys[meta.KeyId!].Policy).toBe(lockout);
      await expect(kms.send(new GetKeyPolicyCommand({ KeyId: meta.KeyId }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    });

    it('refuses a key policy naming a role that does not exist, and one that is not JSON', async () => {
      const ghost = `arn:aws:iam::${ACCOUNT}:role/DoesNotExist`;

      await expect(
        kms.send(new CreateKeyCommand({ Policy: policy(ROOT_STATEMENT, { Effect: 'Allow', Principal: { AWS: ghost }, Action: 'kms:*', Resource: '*' }) })),
      ).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message: 'Policy contains a statement with one or more invalid principals.',
      });
      await expect(kms.send(new CreateKeyCommand({ Policy: '{"Version":' }))).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
    });

    it('refuses a key policy naming a role until IAM propagation has passed, then accepts it', async () => {
      sb.sandbox.iamPropagationDelayMs = 10_000;
      const role = putRole();
      const meta = await createKey();
      const named = policy(ROOT_STATEMENT, { Effect: 'Allow', Principal: { AWS: [role] }, Action: 'kms:Decrypt', Resource: '*' });

      const early = await failure(kms.send(new PutKeyPolicyCommand({ KeyId: meta.KeyId, Policy: named })));
      expect(early).toMatchObject({ name: 'MalformedPolicyDocumentException', message: 'Policy contains a statement with one or more invalid principals.' });
      sb.sandbox.advance(10_000);
      await kms.send(new PutKeyPolicyCommand({ KeyId: meta.KeyId, Policy: named }));

      expect((await kms.send(new GetKeyPolicyCommand({ KeyId: meta.KeyId }))).Policy).toBe(named);
    });

    it('allows the right kms:EncryptionContext:aws:kinesisanalytics:arn and denies a wrong one', async () => {
      const role = putRole();
      const meta = await createKey({
        Policy: policy(ROOT_STATEMENT, {
          Effect: 'Allow',
          Principal: { AWS: role },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { [EC_KEY]: APP_ARN } },
        }),
      });
      const asRole = kmsAs(role);

      const ok = await asRole.send(
        new GenerateDataKeyCommand({ KeyId: meta.KeyId, KeySpec: 'AES_256', EncryptionContext: { 'aws:kinesisanalytics:arn': APP_ARN } }),
      );
      const wrong = await failure(
        asRole.send(
          new GenerateDataKeyCommand({ KeyId: meta.KeyId, KeySpec: 'AES_256', EncryptionContext: { 'aws:kinesisanalytics:arn': `${APP_ARN}-other` } }),
        ),
      );
      const none = await failure(asRole.send(new GenerateDataKeyCommand({ KeyId: meta.KeyId, KeySpec: 'AES_256' })));

      expect(ok.KeyId).toBe(meta.Arn);
      expect(wrong).toMatchObject(denied(sessionArn(role), 'kms:GenerateDataKey', meta.Arn!));
      expect(none).toMatchObject({ name: 'AccessDeniedException' });
    });

    it('allows a Decrypt-only EncryptionContextSubset grant under ForAllValues:StringEquals kms:GrantOperations, and denies a wider one', async () => {
      const operator = putRole();
      const grantee = putRole();
      const meta = await createKey({
        Policy: policy(ROOT_STATEMENT, {
          Effect: 'Allow',
          Principal: { AWS: operator },
          Action: 'kms:CreateGrant',
          Resource: '*',
          Condition: {
            StringEquals: { [EC_KEY]: APP_ARN, 'kms:GrantConstraintType': 'EncryptionContextSubset' },
            'ForAllValues:StringEquals': { 'kms:GrantOperations': 'Decrypt' },
          },
        }),
      });
      const asOperator = kmsAs(operator);
      const Constraints = { EncryptionContextSubset: { 'aws:kinesisanalytics:arn': APP_ARN } };

      const ok = await asOperator.send(new CreateGrantCommand({ KeyId: meta.KeyId, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints }));
      const wider = await failure(
        asOperator.send(new CreateGrantCommand({ KeyId: meta.KeyId, GranteePrincipal: grantee, Operations: ['Decrypt', 'Encrypt'], Constraints })),
      );
      const unconstrained = await failure(asOperator.send(new CreateGrantCommand({ KeyId: meta.KeyId, GranteePrincipal: grantee, Operations: ['Decrypt'] })));

      expect(ok.GrantId).toMatch(/^[0-9a-f]{64}$/);
      expect(wider).toMatchObject(denied(sessionArn(operator), 'kms:CreateGrant', meta.Arn!));
      expect(unconstrained).toMatchObject({ name: 'AccessDeniedException' });
      expect(Object.values(sb.sandbox.state.kms.grants).filter((g) => g.KeyId === meta.KeyId)).toHaveLength(1);
    });

    it('runs an operation for another sandbox service as a service principal with its request context', async () => {
      const meta = await createKey({
        Policy: policy(ROOT_STATEMENT, {
          Effect: 'Allow',
          Principal: { Service: 'kinesisanalytics.amazonaws.com' },
          Action: 'kms:DescribeKey',
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceArn': APP_ARN, 'aws:SourceAccount': ACCOUNT } },
        }),
      });

      const out = invokeKms(
        sb.sandbox,
        'kinesisanalytics.amazonaws.com',
        'DescribeKey',
        { KeyId: meta.Arn },
        { 'aws:SourceArn': APP_ARN, 'aws:SourceAccount': ACCOUNT },
      );
      const other = () =>
        invokeKms(
          sb.sandbox,
          'kinesisanalytics.amazonaws.com',
          'DescribeKey',
          { KeyId: meta.Arn },
          { 'aws:SourceArn': `${APP_ARN}2`, 'aws:SourceAccount': ACCOUNT },
        );

      expect(out.KeyMetadata.KeyId).toBe(meta.KeyId);
      expect(other).toThrow(expect.objectContaining(denied('kinesisanalytics.amazonaws.com', 'kms:DescribeKey', meta.Arn!)));
    });

    it('lets a role manage a key only through a key policy that names it, as a key administrator', async () => {
      const admin = putRole();
      const meta = await createKey({ Policy: policy(ROOT_STATEMENT, { Effect: 'Allow', Principal: { AWS: admin }, Action: 'kms:*', Resource: '*' }) });
      const asAdmin = kmsAs(admin);
      const narrower = policy({ Effect: 'Allow', Principal: { AWS: admin }, Action: 'kms:*', Resource: '*' });

      await asAdmin.send(new PutKeyPolicyCommand({ KeyId: meta.KeyId, Policy: narrower }));
      await asAdmin.send(new DisableKeyCommand({ KeyId: meta.KeyId }));

      expect(sb.sandbox.state.kms.keys[meta.KeyId!]).toMatchObject({ Policy: narrower, KeyState: 'Disabled' });
      await expect(kms.send(new EnableKeyCommand({ KeyId: meta.KeyId }))).rejects.toMatchObject(denied(ROOT, 'kms:EnableKey', meta.Arn!));
    });
  });
});
