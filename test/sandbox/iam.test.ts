import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPoliciesCommand,
  type ListPoliciesCommandInput,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const LAMBDA_TRUST = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' });
const READ_ONLY = doc({ Effect: 'Allow', Action: 'kinesisanalytics:DescribeApplication', Resource: '*' });
const decode = (s: string | undefined) => JSON.parse(decodeURIComponent(s!));

describe('sandbox IAM', () => {
  let sb: RunningSandbox;
  let iam: IAMClient;
  let seq = 0;
  /** A name no other test uses, since the tests share one sandbox. */
  const unique = (base: string) => `${base}${++seq}`;
  const createRole = (RoleName: string, extra: { Path?: string; Tags?: Tag[] } = {}) =>
    iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: LAMBDA_TRUST, ...extra }));
  const createPolicy = (PolicyName: string, Path?: string) => iam.send(new CreatePolicyCommand({ PolicyName, Path, PolicyDocument: READ_ONLY }));
  /** An IAM client signed as a session of a new role whose only (inline) policy is `policy`. */
  const sessionWith = async (policy: string) => {
    const { Role } = await createRole(unique('Caller'));
    await iam.send(new PutRolePolicyCommand({ RoleName: Role!.RoleName, PolicyName: 'p', PolicyDocument: policy }));
    return { iam: clients(sb, roleCredentials(sb, Role!.Arn!)).iam, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${Role!.RoleName}/test-session` };
  };

  beforeAll(async () => {
    // These specify behaviour, not request rates (quotas.test.ts), and create resources faster than AWS allows.
    sb = await testSandbox({ rates: false });
    iam = clients(sb).iam;
  });
  afterAll(() => sb.close());

  describe('roles', () => {
    it('creates a role with an AROA id, a path-qualified ARN, the sandbox clock date and a URL-encoded trust policy', async () => {
      sb.sandbox.clock.advance(86_400_000);
      const before = sb.sandbox.clock.now();

      const { Role } = await createRole('Orchestrated', { Path: '/msf-cmk/' });

      expect(Role).toMatchObject({
        RoleName: 'Orchestrated',
        Path: '/msf-cmk/',
        Arn: `arn:aws:iam::${ACCOUNT}:role/msf-cmk/Orchestrated`,
        MaxSessionDuration: 3600,
      });
      expect(Role!.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
      expect(Role!.CreateDate!.getTime()).toBeGreaterThanOrEqual(before - 1000); // the SDK keeps whole seconds
      expect(Role!.CreateDate!.getTime()).toBeGreaterThan(Date.now() + 86_000_000);
      expect(Role!.AssumeRolePolicyDocument).toBe(encodeURIComponent(LAMBDA_TRUST));
      expect(decode(Role!.AssumeRolePolicyDocument)).toEqual(JSON.parse(LAMBDA_TRUST));
    });

    it('gets a role with default path "/", its tags and its decoded trust policy', async () => {
      const name = unique('Plain');
      await createRole(name, { Tags: [{ Key: 'team', Value: 'streaming' }] });

      const { Role } = await iam.send(new GetRoleCommand({ RoleName: name }));

      expect(Role).toMatchObject({ Path: '/', Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, Tags: [{ Key: 'team', Value: 'streaming' }] });
      expect(decode(Role!.AssumeRolePolicyDocument)).toEqual(JSON.parse(LAMBDA_TRUST));
    });

    it('refuses a bad role name, path and session duration with one ValidationError listing each', async () => {
      const act = iam.send(
        new CreateRoleCommand({ RoleName: 'bad name!', Path: '/no-trailing-slash', MaxSessionDuration: 100, AssumeRolePolicyDocument: LAMBDA_TRUST }),
      );

      await expect(act).rejects.toMatchObject({
        name: 'ValidationError',
        message:
          "3 validation errors detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+; " +
          "Value '/no-trailing-slash' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); " +
          "Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
        $metadata: { httpStatusCode: 400 },
      });
    });

    it('refuses a role name longer than 64 characters', async () => {
      const name = 'r'.repeat(65);
      await expect(createRole(name)).rejects.toMatchObject({
        name: 'ValidationError',
        message: `1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64`,
      });
    });

    it('refuses a second role with the same name in any case or path as EntityAlreadyExists', async () => {
      const name = unique('Twin');
      await createRole(name);

      await expect(createRole(name.toUpperCase(), { Path: '/other/' })).rejects.toMatchObject({
        name: 'EntityAlreadyExistsException',
        message: `Role with name ${name.toUpperCase()} already exists.`,
        $metadata: { httpStatusCode: 409 },
      });
    });

    it('answers NoSuchEntity for a role that does not exist', async () => {
      await expect(iam.send(new GetRoleCommand({ RoleName: 'Ghost' }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: 'The role with name Ghost cannot be found.',
        $metadata: { httpStatusCode: 404 },
      });
    });

    it('lists roles under a path prefix, a page at a time', async () => {
      const names = ['A', 'B', 'C'].map((n) => unique(`Listed${n}`));
      for (const n of names) await createRole(n, { Path: '/listing/' });
      await createRole(unique('Elsewhere'), { Path: '/elsewhere/' });

      const first = await iam.send(new ListRolesCommand({ PathPrefix: '/listing/', MaxItems: 2 }));
      const second = await iam.send(new ListRolesCommand({ PathPrefix: '/listing/', MaxItems: 2, Marker: first.Marker }));

      expect(first.Roles!.map((r) => r.RoleName)).toEqual(names.slice(0, 2));
      expect(first.IsTruncated).toBe(true);
      expect(second.Roles!.map((r) => r.RoleName)).toEqual(names.slice(2));
      expect(second.IsTruncated).toBe(false);
      expect(second.Marker).toBeUndefined();
    });

    it('replaces the trust policy with UpdateAssumeRolePolicy', async () => {
      const name = unique('Retrusted');
      await createRole(name);
      const trust = doc({ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' });

      await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trust }));

      const { Role } = await iam.send(new GetRoleCommand({ RoleName: name }));
      expect(decode(Role!.AssumeRolePolicyDocument)).toEqual(JSON.parse(trust));
    });

    it('sees a new role at once, while STS and KMS see it only after the propagation delay', async () => {
      sb.sandbox.iamPropagationDelayMs = 5000;
      try {
        const name = unique('Propagating');
        const { Role } = await createRole(name);

        await expect(iam.send(new GetRoleCommand({ RoleName: name }))).resolves.toBeDefined();
        expect(sb.sandbox.isRoleVisible(Role!.Arn!)).toBe(false);
        sb.sandbox.advance(5000);
        expect(sb.sandbox.isRoleVisible(Role!.Arn!)).toBe(true);
      } finally {
        sb.sandbox.iamPropagationDelayMs = 0;
      }
    });
  });

  describe('policy documents', () => {
    it('refuses a trust policy that is not JSON', async () => {
      await expect(iam.send(new CreateRoleCommand({ RoleName: unique('Bad'), AssumeRolePolicyDocument: '{"Version":' }))).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message: 'This policy contains invalid Json',
        $metadata: { httpStatusCode: 400 },
      });
    });

    it('refuses a trust policy with a Resource and an identity policy with a Principal', async () => {
      const name = unique('Strict');
      const trustWithResource = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole', Resource: '*' });
      const identityWithPrincipal = doc({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: '*' });
      await createRole(name);

      await expect(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trustWithResource }))).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message: 'Has prohibited field Resource',
      });
      await expect(iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: identityWithPrincipal }))).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message: 'Policy document should not specify a principal.',
      });
    });

    it('refuses a trust policy naming a role of this account that does not exist', async () => {
      const missing = `arn:aws:iam::${ACCOUNT}:role/Missing`;
      const trust = doc({ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${ACCOUNT}:root`, missing] }, Action: 'sts:AssumeRole' });

      await expect(iam.send(new CreateRoleCommand({ RoleName: unique('Trusting'), AssumeRolePolicyDocument: trust }))).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message: `Invalid principal in policy: "AWS":"${missing}"`,
      });
    });

    it('accepts a trust policy naming an existing role, the account root, the account id and a service', async () => {
      const { Role: trusted } = await createRole(unique('Trusted'), { Path: '/deep/path/' });
      const trust = doc({
        Effect: 'Allow',
        Principal: { AWS: [trusted!.Arn, `arn:aws:iam::${ACCOUNT}:root`, ACCOUNT], Service: 'lambda.amazonaws.com' },
        Action: 'sts:AssumeRole',
      });

      const { Role } = await iam.send(new CreateRoleCommand({ RoleName: unique('Trusting'), AssumeRolePolicyDocument: trust }));

      expect(decode(Role!.AssumeRolePolicyDocument)).toEqual(JSON.parse(trust));
    });
  });

  describe('inline policies and tags', () => {
    it('puts, gets (URL-encoded), lists and deletes an inline policy', async () => {
      const name = unique('Inline');
      await createRole(name);

      await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'read', PolicyDocument: READ_ONLY }));
      const got = await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: 'read' }));
      const listed = await iam.send(new ListRolePoliciesCommand({ RoleName: name }));
      await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: 'read' }));

      expect(got).toMatchObject({ RoleName: name, PolicyName: 'read', PolicyDocument: encodeURIComponent(READ_ONLY) });
      expect(decode(got.PolicyDocument)).toEqual(JSON.parse(READ_ONLY));
      expect(listed).toMatchObject({ PolicyNames: ['read'], IsTruncated: false });
      await expect(iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: 'read' }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: 'The role policy with name read cannot be found.',
      });
    });

    it('tags, overwrites a tag whose key differs only in case, lists and untags', async () => {
      const name = unique('Tagged');
      await createRole(name, { Tags: [{ Key: 'Owner', Value: 'a' }] });

      await iam.send(
        new TagRoleCommand({
          RoleName: name,
          Tags: [
            { Key: 'owner', Value: 'b' },
            { Key: 'env', Value: 'test' },
          ],
        }),
      );
      const tagged = await iam.send(new ListRoleTagsCommand({ RoleName: name }));
      await iam.send(new UntagRoleCommand({ RoleName: name, TagKeys: ['ENV'] }));
      const untagged = await iam.send(new ListRoleTagsCommand({ RoleName: name }));

      expect(tagged).toMatchObject({
        Tags: [
          { Key: 'owner', Value: 'b' },
          { Key: 'env', Value: 'test' },
        ],
        IsTruncated: false,
      });
      expect(untagged.Tags).toEqual([{ Key: 'owner', Value: 'b' }]);
    });

    it('refuses tags beyond 50 on a role as LimitExceeded', async () => {
      const name = unique('Crowded');
      const tags = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
      await createRole(name, { Tags: tags(0, 30) });

      await expect(iam.send(new TagRoleCommand({ RoleName: name, Tags: tags(30, 21) }))).rejects.toMatchObject({
        name: 'LimitExceededException',
        message: 'Cannot exceed quota for TagsPerRole: 50',
        $metadata: { httpStatusCode: 409 },
      });
      expect((await iam.send(new ListRoleTagsCommand({ RoleName: name }))).Tags).toHaveLength(30);
    });
  });

  describe('managed policies and attachments', () => {
    it('creates a policy with an ANPA id and path-qualified ARN, and returns its document URL-encoded', async () => {
      const name = unique('Managed');

      const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: name, Path: '/msf-cmk/', PolicyDocument: READ_ONLY, Description: 'read' }));
      const got = await iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }));
      const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: 'v1' }));

      expect(Policy).toMatchObject({
        Arn: `arn:aws:iam::${ACCOUNT}:policy/msf-cmk/${name}`,
        Path: '/msf-cmk/',
        DefaultVersionId: 'v1',
        AttachmentCount: 0,
        IsAttachable: true,
      });
      expect(Policy!.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
      expect(got.Policy).toMatchObject({ PolicyName: name, Description: 'read', PolicyId: Policy!.PolicyId });
      expect(version.PolicyVersion).toMatchObject({ VersionId: 'v1', IsDefaultVersion: true, Document: encodeURIComponent(READ_ONLY) });
      expect(decode(version.PolicyVersion!.Document)).toEqual(JSON.parse(READ_ONLY));
    });

    it('refuses a duplicate policy name and answers NoSuchEntity for an unknown policy ARN', async () => {
      const name = unique('Once');
      await createPolicy(name);
      const unknown = `arn:aws:iam::${ACCOUNT}:policy/Nope`;

      await expect(createPolicy(name, '/elsewhere/')).rejects.toMatchObject({
        name: 'EntityAlreadyExistsException',
        message: `A policy called ${name} already exists. Duplicate names are not allowed.`,
      });
      await expect(iam.send(new GetPolicyCommand({ PolicyArn: unknown }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: `Policy ${unknown} was not found.`,
      });
    });

    it('attaches and detaches a policy, keeping AttachmentCount and ListAttachedRolePolicies consistent', async () => {
      const role = unique('Attached');
      await createRole(role);
      const { Policy } = await createPolicy(unique('Attachable'));

      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }));
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn })); // idempotent
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }));
      const counted = await iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }));
      await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }));

      expect(attached.AttachedPolicies).toEqual([{ PolicyName: Policy!.PolicyName, PolicyArn: Policy!.Arn }]);
      expect(counted.Policy!.AttachmentCount).toBe(1);
      expect((await iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }))).Policy!.AttachmentCount).toBe(0);
      await expect(iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: `Policy ${Policy!.Arn} was not found.`,
      });
    });

    it('refuses to attach a policy that does not exist', async () => {
      const role = unique('Hopeful');
      await createRole(role);
      const missing = `arn:aws:iam::${ACCOUNT}:policy/Missing`;

      await expect(iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: missing }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: `Policy ${missing} does not exist or is not attachable.`,
      });
    });

    it('refuses a policy "ARN" that does not parse as an ARN with ValidationError, as IAM does for a bare policy name', async () => {
      const role = unique('Parsed');
      await createRole(role);

      await expect(iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: 'longpolicynamebutnoarn' }))).rejects.toMatchObject({
        name: 'ValidationError',
        message: 'Invalid ARN:  Could not be parsed!',
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
    });

    it('refuses an eleventh managed policy on a role as LimitExceeded', async () => {
      const role = unique('Full');
      await createRole(role);
      for (let i = 0; i < 10; i++) {
        const { Policy } = await createPolicy(unique('Quota'));
        await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }));
      }
      const { Policy: eleventh } = await createPolicy(unique('Quota'));

      await expect(iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: eleventh!.Arn }))).rejects.toMatchObject({
        name: 'LimitExceededException',
        message: 'Cannot exceed quota for PoliciesPerRole: 10',
      });
    });

    it('lists policies by scope, path prefix and attachment', async () => {
      const role = unique('Lister');
      await createRole(role);
      const { Policy: used } = await createPolicy(unique('Used'), '/scoped/');
      const { Policy: unused } = await createPolicy(unique('Unused'), '/scoped/');
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: used!.Arn }));
      const names = async (input: ListPoliciesCommandInput) => (await iam.send(new ListPoliciesCommand(input))).Policies!.map((p) => p.PolicyName);

      expect(await names({ Scope: 'Local', PathPrefix: '/scoped/' })).toEqual([unused!.PolicyName, used!.PolicyName].sort());
      expect(await names({ Scope: 'Local', PathPrefix: '/scoped/', OnlyAttached: true })).toEqual([used!.PolicyName]);
      expect(await names({ Scope: 'AWS', PathPrefix: '/scoped/' })).toEqual([]);
    });

    it('refuses to delete an attached policy, then a role with attached or inline policies, until they are removed', async () => {
      const role = unique('Doomed');
      await createRole(role);
      const { Policy } = await createPolicy(unique('Doomed'));
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }));
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'inline', PolicyDocument: READ_ONLY }));
      const deleteRole = () => iam.send(new DeleteRoleCommand({ RoleName: role }));

      await expect(iam.send(new DeletePolicyCommand({ PolicyArn: Policy!.Arn }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
        message: 'Cannot delete a policy attached to entities.',
        $metadata: { httpStatusCode: 409 },
      });
      await expect(deleteRole()).rejects.toMatchObject({ name: 'DeleteConflictException', message: 'Cannot delete entity, must detach all policies first.' });
      await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: Policy!.Arn }));
      await expect(deleteRole()).rejects.toMatchObject({ name: 'DeleteConflictException', message: 'Cannot delete entity, must delete policies first.' });
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: 'inline' }));
      await deleteRole();
      await iam.send(new DeletePolicyCommand({ PolicyArn: Policy!.Arn }));

      await expect(iam.send(new GetRoleCommand({ RoleName: role }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
      await expect(iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    });
  });

  describe('authorization', () => {
    const roleArn = (pathAndName: string) => `arn:aws:iam::${ACCOUNT}:role${pathAndName}`;

    it('lets a caller allowed only roles under /msf-cmk/ create one there and refuses one elsewhere', async () => {
      const caller = await sessionWith(doc({ Effect: 'Allow', Action: 'iam:CreateRole', Resource: roleArn('/msf-cmk/*') }));
      const inside = unique('Inside');
      const outside = unique('Outside');

      const { Role } = await caller.iam.send(new CreateRoleCommand({ RoleName: inside, Path: '/msf-cmk/', AssumeRolePolicyDocument: LAMBDA_TRUST }));

      expect(Role!.Arn).toBe(roleArn(`/msf-cmk/${inside}`));
      await expect(caller.iam.send(new CreateRoleCommand({ RoleName: outside, AssumeRolePolicyDocument: LAMBDA_TRUST }))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${caller.arn} is not authorized to perform: iam:CreateRole on resource: ${roleArn(`/${outside}`)} because no identity-based policy allows the iam:CreateRole action`,
        $metadata: { httpStatusCode: 403 },
      });
      await expect(iam.send(new GetRoleCommand({ RoleName: outside }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    });

    it('lets an explicit deny on a request tag win over an allow', async () => {
      const caller = await sessionWith(
        doc(
          { Effect: 'Allow', Action: 'iam:CreateRole', Resource: '*' },
          { Effect: 'Deny', Action: 'iam:CreateRole', Resource: '*', Condition: { StringNotEquals: { 'aws:RequestTag/managed-by': 'msf-cmk' } } },
        ),
      );
      const tagged = unique('Tagged');
      const untagged = unique('Untagged');

      await caller.iam.send(
        new CreateRoleCommand({ RoleName: tagged, AssumeRolePolicyDocument: LAMBDA_TRUST, Tags: [{ Key: 'managed-by', Value: 'msf-cmk' }] }),
      );

      await expect(caller.iam.send(new CreateRoleCommand({ RoleName: untagged, AssumeRolePolicyDocument: LAMBDA_TRUST }))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${caller.arn} is not authorized to perform: iam:CreateRole on resource: ${roleArn(`/${untagged}`)} with an explicit deny in an identity-based policy`,
      });
    });

    it("evaluates the role's tags as aws:ResourceTag and the attached policy as iam:PolicyARN", async () => {
      const { Policy: allowed } = await createPolicy(unique('Allowed'));
      const { Policy: other } = await createPolicy(unique('Other'));
      const caller = await sessionWith(
        doc({
          Effect: 'Allow',
          Action: 'iam:AttachRolePolicy',
          Resource: '*',
          Condition: { StringEquals: { 'aws:ResourceTag/managed-by': 'msf-cmk', 'iam:PolicyARN': allowed!.Arn } },
        }),
      );
      const managed = unique('Managed');
      const foreign = unique('Foreign');
      await createRole(managed, { Tags: [{ Key: 'managed-by', Value: 'msf-cmk' }] });
      await createRole(foreign);

      await caller.iam.send(new AttachRolePolicyCommand({ RoleName: managed, PolicyArn: allowed!.Arn }));

      await expect(caller.iam.send(new AttachRolePolicyCommand({ RoleName: managed, PolicyArn: other!.Arn }))).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(caller.iam.send(new AttachRolePolicyCommand({ RoleName: foreign, PolicyArn: allowed!.Arn }))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${caller.arn} is not authorized to perform: iam:AttachRolePolicy on resource: role ${foreign} because no identity-based policy allows the iam:AttachRolePolicy action`,
      });
      expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: managed }))).AttachedPolicies).toEqual([
        { PolicyName: allowed!.PolicyName, PolicyArn: allowed!.Arn },
      ]);
    });

    it("evaluates the role's tags as iam:ResourceTag too", async () => {
      const caller = await sessionWith(
        doc({ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*', Condition: { StringEquals: { 'iam:ResourceTag/managed-by': 'msf-cmk' } } }),
      );
      const managed = unique('Managed');
      const foreign = unique('Foreign');
      await createRole(managed, { Tags: [{ Key: 'managed-by', Value: 'msf-cmk' }] });
      await createRole(foreign, { Tags: [{ Key: 'managed-by', Value: 'someone-else' }] });

      await expect(caller.iam.send(new GetRoleCommand({ RoleName: managed }))).resolves.toMatchObject({ Role: { RoleName: managed } });
      await expect(caller.iam.send(new GetRoleCommand({ RoleName: foreign }))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${caller.arn} is not authorized to perform: iam:GetRole on resource: role ${foreign} because no identity-based policy allows the iam:GetRole action`,
      });
    });

    it('names the resource in AccessDenied as IAM does: the ARN for CreateRole, "policy <name>" for CreatePolicy, "policy <arn>" and "policy path <prefix>"', async () => {
      const caller = await sessionWith(READ_ONLY);
      const arn = (await createPolicy(unique('Named'))).Policy!.Arn!;
      const name = unique('New');
      const because = (action: string) => `because no identity-based policy allows the ${action} action`;

      const errors = await Promise.all(
        [
          caller.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST })),
          caller.iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: READ_ONLY })),
          caller.iam.send(new GetPolicyCommand({ PolicyArn: arn })),
          caller.iam.send(new ListPoliciesCommand({ PathPrefix: '/msf/' })),
        ].map((p) => p.catch((e) => e.message)),
      );

      expect(errors).toEqual([
        `User: ${caller.arn} is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::${ACCOUNT}:role/${name} ${because('iam:CreateRole')}`,
        `User: ${caller.arn} is not authorized to perform: iam:CreatePolicy on resource: policy ${name} ${because('iam:CreatePolicy')}`,
        `User: ${caller.arn} is not authorized to perform: iam:GetPolicy on resource: policy ${arn} ${because('iam:GetPolicy')}`,
        `User: ${caller.arn} is not authorized to perform: iam:ListPolicies on resource: policy path /msf/ ${because('iam:ListPolicies')}`,
      ]);
    });

    it('authorizes ListRoles and ListPolicies on "*" and refuses them to a caller without the actions', async () => {
      const lister = await sessionWith(doc({ Effect: 'Allow', Action: ['iam:ListRoles', 'iam:ListPolicies'], Resource: '*' }));
      const stranger = await sessionWith(READ_ONLY);

      await expect(lister.iam.send(new ListRolesCommand({}))).resolves.toMatchObject({ IsTruncated: expect.any(Boolean) });
      await expect(lister.iam.send(new ListPoliciesCommand({}))).resolves.toMatchObject({ IsTruncated: expect.any(Boolean) });
      await expect(stranger.iam.send(new ListRolesCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${stranger.arn} is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::${ACCOUNT}:role/ because no identity-based policy allows the iam:ListRoles action`,
      });
    });
  });
});
