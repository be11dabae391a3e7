import { CreateRoleCommand, type IAMClient, ListRolesCommand, PutRolePolicyCommand, type Role } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { clients, roleCredentials, testSandbox, type Credentials } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const LAMBDA_TRUST = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' });
const trusting = (principal: string) => doc({ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' });
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const EXPIRED = 'The security token included in the request is expired';

describe('sandbox STS', () => {
  let sb: RunningSandbox;
  let iam: IAMClient;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;

  /** A role created through IAM as root, with an optional inline identity policy. */
  const createRole = async (name: string, trust: string, policy?: string, MaxSessionDuration?: number): Promise<Role> => {
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust, MaxSessionDuration }));
    if (policy) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: policy }));
    return Role!;
  };

  /** A workload's session of a new role (Lambda assumed it), and an STS client signed with it. */
  const caller = async (policy?: string) => {
    const role = await createRole(unique('Caller'), LAMBDA_TRUST, policy);
    const credentials = roleCredentials(sb, role.Arn!);
    return { role, credentials, sts: clients(sb, credentials).sts, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/test-session` };
  };

  const assume = (sts: STSClient, RoleArn: string, extra: { RoleSessionName?: string; DurationSeconds?: number } = {}) =>
    sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'deploy', ...extra }));

  const notAuthorized = (who: string, roleArn: string) => ({
    name: 'AccessDenied',
    message: `User: ${who} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    $metadata: expect.objectContaining({ httpStatusCode: 403 }),
  });

  beforeAll(async () => {
    // These specify behaviour, not request rates (quotas.test.ts), and create roles faster than AWS allows.
    sb = await testSandbox({ rates: false });
    iam = clients(sb).iam;
  });
  afterAll(() => sb.close());

  describe('GetCallerIdentity', () => {
    it('answers for the account root with the account id as UserId', async () => {
      const out = await clients(sb).sts.send(new GetCallerIdentityCommand({}));

      expect(out).toMatchObject({ Account: ACCOUNT, Arn: ROOT, UserId: ACCOUNT });
    });

    it('answers for an assumed-role session with the assumed-role ARN and <RoleId>:<session> as UserId', async () => {
      const { role, sts } = await caller();
      const target = await createRole(unique('Target'), trusting(role.Arn!));
      const { Credentials } = await assume(sts, target.Arn!, { RoleSessionName: 'ops@example.com' });

      const out = await clients(sb, {
        accessKeyId: Credentials!.AccessKeyId!,
        secretAccessKey: Credentials!.SecretAccessKey!,
        sessionToken: Credentials!.SessionToken,
      }).sts.send(new GetCallerIdentityCommand({}));

      expect(out).toMatchObject({
        Account: ACCOUNT,
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${target.RoleName}/ops@example.com`,
        UserId: `${target.RoleId}:ops@example.com`,
      });
    });
  });

  describe('AssumeRole authorization', () => {
    it('lets a role session assume a role whose trust policy names its role, with no identity policy', async () => {
      const { role, sts } = await caller();
      const target = await createRole(unique('Target'), trusting(role.Arn!));
      const before = sb.sandbox.clock.now();

      const out = await assume(sts, target.Arn!);

      expect(out.AssumedRoleUser).toEqual({ AssumedRoleId: `${target.RoleId}:deploy`, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${target.RoleName}/deploy` });
      expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(out.Credentials!.Expiration).toBeInstanceOf(Date);
      const expiration = out.Credentials!.Expiration!.getTime();
      expect(expiration).toBe(sb.sandbox.state.sts.sessions[out.Credentials!.AccessKeyId!].Expiration);
      expect(expiration - before).toBeGreaterThanOrEqual(3600_000);
      expect(expiration - before).toBeLessThan(3605_000);
    });

    it("refuses a trust policy naming the account root unless the caller's identity policy allows sts:AssumeRole", async () => {
      const target = await createRole(unique('Target'), trusting(ROOT));
      const withoutPolicy = await caller();
      const withPolicy = await caller(doc({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: target.Arn }));

      await expect(assume(withoutPolicy.sts, target.Arn!)).rejects.toMatchObject(notAuthorized(withoutPolicy.arn, target.Arn!));
      await expect(assume(withPolicy.sts, target.Arn!)).resolves.toMatchObject({ AssumedRoleUser: { AssumedRoleId: `${target.RoleId}:deploy` } });
    });

    it('refuses a caller that the trust policy does not name, even with an identity policy allowing it', async () => {
      const other = await caller();
      const target = await createRole(unique('Target'), trusting(other.role.Arn!));
      const stranger = await caller(doc({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }));

      await expect(assume(stranger.sts, target.Arn!)).rejects.toMatchObject(notAuthorized(stranger.arn, target.Arn!));
    });

    it('refuses the account root with "Roles may not be assumed by root accounts."', async () => {
      const target = await createRole(unique('Target'), trusting(ROOT));

      await expect(assume(clients(sb).sts, target.Arn!)).rejects.toMatchObject({
        name: 'AccessDenied',
        message: 'Roles may not be assumed by root accounts.',
        $metadata: expect.objectContaining({ httpStatusCode: 403 }),
      });
    });

    it('answers a missing role and one still propagating with the same AccessDenied, and the latter succeeds once propagated', async () => {
      const { role, sts, arn } = await caller();
      const missing = `arn:aws:iam::${ACCOUNT}:role/${unique('Missing')}`;
      sb.sandbox.iamPropagationDelayMs = 10_000;
      let target: Role;
      try {
        target = await createRole(unique('Fresh'), trusting(role.Arn!));
      } finally {
        sb.sandbox.iamPropagationDelayMs = 0;
      }

      await expect(assume(sts, missing)).rejects.toMatchObject(notAuthorized(arn, missing));
      await expect(assume(sts, target.Arn!)).rejects.toMatchObject(notAuthorized(arn, target.Arn!));
      sb.sandbox.advance(10_000);
      await expect(assume(sts, target.Arn!)).resolves.toMatchObject({ AssumedRoleUser: { AssumedRoleId: `${target.RoleId}:deploy` } });
    });

    it("lets an explicit deny in the caller's identity policy win over a trust policy naming its role", async () => {
      const { role, sts, arn } = await caller(doc({ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }));
      const target = await createRole(unique('Target'), trusting(role.Arn!));

      await expect(assume(sts, target.Arn!)).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${arn} is not authorized to perform: sts:AssumeRole on resource: ${target.Arn} with an explicit deny in an identity-based policy`,
      });
    });
  });

  describe('AssumeRole input', () => {
    let sts: STSClient;
    let target: Role;
    beforeAll(async () => {
      const c = await caller();
      sts = c.sts;
      target = await createRole(unique('Long'), trusting(c.role.Arn!), undefined, 43200);
    });

    it('refuses a RoleArn that is not an ARN with ValidationError "<arn> is invalid", before authorization', async () => {
      for (const arn of ['nothing-valid-in-here', 'arn:aws:iam::000000000000:', 'arn::iam::000000000000:role/x']) {
        await expect(assume(sts, arn)).rejects.toMatchObject({
          name: 'ValidationError',
          message: `${arn} is invalid`,
          $metadata: expect.objectContaining({ httpStatusCode: 400 }),
        });
      }
      await expect(clients(sb).sts.send(new AssumeRoleCommand({ RoleArn: 'nothing-valid-in-here', RoleSessionName: 'root' }))).rejects.toMatchObject({
        name: 'ValidationError',
      });
    });

    it("refuses DurationSeconds below 900 and above 43200 in AWS's validation wording", async () => {
      await expect(assume(sts, target.Arn!, { DurationSeconds: 899 })).rejects.toMatchObject({
        name: 'ValidationError',
        message:
          "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
      await expect(assume(sts, target.Arn!, { DurationSeconds: 43201 })).rejects.toMatchObject({
        name: 'ValidationError',
        message:
          "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
      });
    });

    it("limits a role session (role chaining) to one hour even when the role's MaxSessionDuration is 12 hours", async () => {
      const before = sb.sandbox.clock.now();

      await expect(assume(sts, target.Arn!, { DurationSeconds: 3601 })).rejects.toMatchObject({
        name: 'ValidationError',
        message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      });
      const { Credentials } = await assume(sts, target.Arn!, { DurationSeconds: 900 });

      expect(Credentials!.Expiration!.getTime() - before).toBeGreaterThanOrEqual(900_000);
      expect(Credentials!.Expiration!.getTime() - before).toBeLessThan(905_000);
    });

    it('refuses a RoleSessionName that is too short, too long or has other characters, listing every violation', async () => {
      const long = 'x'.repeat(65);

      await expect(assume(sts, target.Arn!, { RoleSessionName: 'a' })).rejects.toMatchObject({
        name: 'ValidationError',
        message: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
      });
      await expect(assume(sts, target.Arn!, { RoleSessionName: long })).rejects.toMatchObject({
        message: `1 validation error detected: Value '${long}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64`,
      });
      await expect(assume(sts, target.Arn!, { RoleSessionName: 'bad name!', DurationSeconds: 60 })).rejects.toMatchObject({
        name: 'ValidationError',
        message:
          "2 validation errors detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; " +
          "Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
      });
    });
  });

  describe('authentication of role sessions', () => {
    const assumed = async (DurationSeconds = 900): Promise<Credentials> => {
      const { role, sts } = await caller();
      const target = await createRole(unique('Target'), trusting(role.Arn!));
      const { Credentials: c } = await assume(sts, target.Arn!, { DurationSeconds });
      return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken };
    };

    it('refuses a session past its Expiration with ExpiredToken (Query) and ExpiredTokenException (JSON)', async () => {
      const session = clients(sb, await assumed(900));
      await expect(session.sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: ACCOUNT });

      sb.sandbox.advance(900_000);

      await expect(session.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'ExpiredToken',
        message: EXPIRED,
        $metadata: expect.objectContaining({ httpStatusCode: 403 }),
      });
      await expect(session.kms.send(new ListKeysCommand({}))).rejects.toMatchObject({
        name: 'ExpiredTokenException',
        message: EXPIRED,
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
    });

    it('refuses a session token that does not belong to the access key as InvalidClientTokenId', async () => {
      const good = await assumed();
      const other = await assumed();

      await expect(clients(sb, { ...good, sessionToken: other.sessionToken }).sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
        message: INVALID_TOKEN,
        $metadata: expect.objectContaining({ httpStatusCode: 403 }),
      });
      await expect(clients(sb, { ...good, sessionToken: undefined }).iam.send(new ListRolesCommand({}))).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
        message: INVALID_TOKEN,
      });
    });

    it('refuses a session request signed with the wrong secret as SignatureDoesNotMatch', async () => {
      const good = await assumed();

      await expect(clients(sb, { ...good, secretAccessKey: 'not-the-secret' }).iam.send(new ListRolesCommand({}))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        $metadata: expect.objectContaining({ httpStatusCode: 403 }),
      });
    });

    it('refuses a request without an Authorization header as MissingAuthenticationToken', async () => {
      const { sts } = clients(sb);
      // Drop the header after the SDK has signed the request, so it goes out unsigned.
      sts.middlewareStack.addRelativeTo(
        (next: any) => (args: any) => {
          delete args.request.headers.authorization;
          return next(args);
        },
        { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'dropAuthorization' },
      );

      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'MissingAuthenticationToken',
        message: 'Request is missing Authentication Token',
        $metadata: expect.objectContaining({ httpStatusCode: 403 }),
      });
    });
  });
  describe('session policies (AssumeRole Policy)', () => {
    it('limits the session to what both its role and its session policy allow, and says a session policy denied it', async () => {
      const { arn, sts } = await caller();
      const target = await createRole(
        unique('Target'),
        trusting(arn),
        doc({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }, { Effect: 'Allow', Action: 'iam:ListRoles', Resource: '*' }),
      );
      const only = doc({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' });
      const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: target.Arn, RoleSessionName: 'cut', Policy: only }));
      const session = clients(sb, { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken });
      await expect(session.kms.send(new ListKeysCommand({}))).resolves.toBeDefined();
      await expect(session.iam.send(new ListRolesCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: expect.stringMatching(
          /is not authorized to perform: iam:ListRoles on resource: .* because no session policy allows the iam:ListRoles action$/,
        ),
      });
    });

    it('refuses a session policy that is not JSON (MalformedPolicyDocument) or longer than 2,048 characters (ValidationError)', async () => {
      const { arn, sts } = await caller();
      const target = await createRole(unique('Target'), trusting(arn));
      await expect(sts.send(new AssumeRoleCommand({ RoleArn: target.Arn, RoleSessionName: 'bad', Policy: '{nope' }))).rejects.toMatchObject({
        // The wire code is MalformedPolicyDocument; the SDK names its modelled exception so.
        name: 'MalformedPolicyDocumentException',
      });
      const long = doc({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${'a'.repeat(2048)}` });
      await expect(sts.send(new AssumeRoleCommand({ RoleArn: target.Arn, RoleSessionName: 'long', Policy: long }))).rejects.toMatchObject({
        name: 'ValidationError',
      });
    });
  });
});
