import {
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRolePermissionsBoundaryCommand,
  GetPolicyCommand,
  GetRoleCommand,
  type IAMClient,
  ListRolesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ListApplicationsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const LAMBDA_TRUST = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' });
const ALL = doc({ Effect: 'Allow', Action: '*', Resource: '*' });
const FLINK_ONLY = doc({ Effect: 'Allow', Action: 'kinesisanalytics:*', Resource: '*' });
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const sessionArn = (name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/test-session`;

describe('sandbox IAM permissions boundaries', () => {
  let sb: RunningSandbox;
  let iam: IAMClient;
  let seq = 0;
  /** A name no other test uses, since the tests share one sandbox. */
  const unique = (base: string) => `${base}${++seq}`;
  const createPolicy = async (document: string) =>
    (await iam.send(new CreatePolicyCommand({ PolicyName: unique('Boundary'), PolicyDocument: document }))).Policy!.Arn!;
  const createRole = (RoleName: string, PermissionsBoundary?: string) =>
    iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: LAMBDA_TRUST, PermissionsBoundary }));
  /** SDK clients signed as a session of a new role with inline `policy` and, optionally, a boundary. */
  const sessionWith = async (policy: string, boundary?: string) => {
    const name = unique('Caller');
    await createRole(name, boundary);
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: policy }));
    return { ...clients(sb, roleCredentials(sb, roleArn(name))), name };
  };
  const denied = (who: string, action: string, resource: string, why: string) => ({
    name: 'AccessDenied',
    message: `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
    $metadata: { httpStatusCode: 403 },
  });

  beforeAll(async () => {
    // These specify behaviour, not request rates (quotas.test.ts), and create resources faster than AWS allows.
    sb = await testSandbox({ rates: false });
    iam = clients(sb).iam;
  });
  afterAll(() => sb.close());

  describe('the boundary on the role', () => {
    it('creates a role with a boundary that CreateRole and GetRole return, and the policy counts the use', async () => {
      const boundary = await createPolicy(FLINK_ONLY);
      const name = unique('Bounded');

      const created = await createRole(name, boundary);
      const got = await iam.send(new GetRoleCommand({ RoleName: name }));

      const expected = { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: boundary };
      expect(created.Role!.PermissionsBoundary).toEqual(expected);
      expect(got.Role!.PermissionsBoundary).toEqual(expected);
      expect((await iam.send(new GetPolicyCommand({ PolicyArn: boundary }))).Policy!.PermissionsBoundaryUsageCount).toBe(1);
    });

    it('leaves the boundary out of ListRoles, as IAM does', async () => {
      const boundary = await createPolicy(FLINK_ONLY);
      const name = unique('Listed');
      await iam.send(new CreateRoleCommand({ RoleName: name, Path: `/${name}/`, AssumeRolePolicyDocument: LAMBDA_TRUST, PermissionsBoundary: boundary }));

      const { Roles } = await iam.send(new ListRolesCommand({ PathPrefix: `/${name}/` }));

      expect(Roles!.map((r) => r.RoleName)).toEqual([name]);
      expect(Roles![0].PermissionsBoundary).toBeUndefined();
    });

    it('refuses a boundary policy that does not exist as NoSuchEntity and creates no role', async () => {
      const missing = `arn:aws:iam::${ACCOUNT}:policy/NoSuchBoundary`;
      const name = unique('Unbounded');

      await expect(createRole(name, missing)).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: `Scope ARN: ${missing} does not exist or is not attachable.`,
        $metadata: { httpStatusCode: 404 },
      });
      await expect(iam.send(new GetRoleCommand({ RoleName: name }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    });

    it('refuses a boundary that is not a policy ARN as InvalidInput', async () => {
      const wrong = `arn:aws:iam::${ACCOUNT}:role/NotAPolicy`;

      await expect(createRole(unique('Odd'), wrong)).rejects.toMatchObject({ name: 'InvalidInputException', message: `ARN ${wrong} is not valid.` });
    });

    it('sets, replaces and removes a boundary with PutRolePermissionsBoundary and DeleteRolePermissionsBoundary', async () => {
      const [first, second] = [await createPolicy(FLINK_ONLY), await createPolicy(ALL)];
      const name = unique('Rebounded');
      await createRole(name);
      const boundaryOf = async () => (await iam.send(new GetRoleCommand({ RoleName: name }))).Role!.PermissionsBoundary;

      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: first }));
      const afterPut = await boundaryOf();
      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: second }));
      const afterReplace = await boundaryOf();
      await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: name }));

      expect(afterPut).toEqual({ PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: first });
      expect(afterReplace).toEqual({ PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: second });
      expect(await boundaryOf()).toBeUndefined();
    });

    it('refuses PutRolePermissionsBoundary with a missing policy and keeps the role unbounded', async () => {
      const missing = `arn:aws:iam::${ACCOUNT}:policy/GoneBoundary`;
      const name = unique('Kept');
      await createRole(name);

      await expect(iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: missing }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        message: `Scope ARN: ${missing} does not exist or is not attachable.`,
      });
      expect((await iam.send(new GetRoleCommand({ RoleName: name }))).Role!.PermissionsBoundary).toBeUndefined();
    });

    it("refuses to delete a policy that is some role's boundary as DeleteConflict", async () => {
      const boundary = await createPolicy(FLINK_ONLY);
      await createRole(unique('Holder'), boundary);

      await expect(iam.send(new DeletePolicyCommand({ PolicyArn: boundary }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
        message: 'Cannot delete a policy attached to entities.',
        $metadata: { httpStatusCode: 409 },
      });
    });
  });

  describe('effective permissions of a bounded role', () => {
    it('refuses an action its inline *:* allows but its boundary does not, naming the boundary', async () => {
      const caller = await sessionWith(ALL, await createPolicy(FLINK_ONLY));
      const target = unique('Escalated');

      const act = caller.iam.send(new CreateRoleCommand({ RoleName: target, AssumeRolePolicyDocument: LAMBDA_TRUST }));

      await expect(act).rejects.toMatchObject(
        denied(sessionArn(caller.name), 'iam:CreateRole', roleArn(target), 'because no permissions boundary allows the iam:CreateRole action'),
      );
    });

    it('allows an action both its inline policy and its boundary allow', async () => {
      const caller = await sessionWith(ALL, await createPolicy(FLINK_ONLY));

      const out = await caller.flink.send(new ListApplicationsCommand({}));

      expect(out.ApplicationSummaries).toEqual([]);
    });

    it('refuses an action its boundary allows but no identity policy does, naming the identity policy', async () => {
      const caller = await sessionWith(doc({ Effect: 'Allow', Action: 'kinesisanalytics:DescribeApplication', Resource: '*' }), await createPolicy(ALL));
      const target = unique('NotGranted');

      const act = caller.iam.send(new CreateRoleCommand({ RoleName: target, AssumeRolePolicyDocument: LAMBDA_TRUST }));

      await expect(act).rejects.toMatchObject(
        denied(sessionArn(caller.name), 'iam:CreateRole', roleArn(target), 'because no identity-based policy allows the iam:CreateRole action'),
      );
    });

    it('reports an explicit deny in the boundary as such', async () => {
      const boundary = await createPolicy(doc({ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'iam:CreateRole', Resource: '*' }));
      const caller = await sessionWith(ALL, boundary);
      const target = unique('DeniedByBoundary');

      const act = caller.iam.send(new CreateRoleCommand({ RoleName: target, AssumeRolePolicyDocument: LAMBDA_TRUST }));

      await expect(act).rejects.toMatchObject(
        denied(sessionArn(caller.name), 'iam:CreateRole', roleArn(target), 'with an explicit deny in a permissions boundary'),
      );
    });

    it('takes effect and lapses with Put/DeleteRolePermissionsBoundary on the next request', async () => {
      const caller = await sessionWith(ALL);
      const boundary = await createPolicy(FLINK_ONLY);
      const [first, second] = [unique('Later'), unique('Later')];
      const tryCreate = (RoleName: string) => caller.iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: LAMBDA_TRUST }));

      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: caller.name, PermissionsBoundary: boundary }));
      await expect(tryCreate(first)).rejects.toMatchObject(
        denied(sessionArn(caller.name), 'iam:CreateRole', roleArn(first), 'because no permissions boundary allows the iam:CreateRole action'),
      );
      await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: caller.name }));

      await expect(tryCreate(second)).resolves.toMatchObject({ Role: { RoleName: second } });
    });
  });

  describe('the iam:PermissionsBoundary condition key', () => {
    /** The usual delegation guard: `actions` only while `iam:PermissionsBoundary` is `boundary`. */
    const onlyWith = (boundary: string, ...actions: string[]) =>
      doc({ Effect: 'Allow', Action: actions, Resource: '*', Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } } });

    it('lets a creator limited to boundary X create a role with boundary X', async () => {
      const x = await createPolicy(FLINK_ONLY);
      const creator = await sessionWith(onlyWith(x, 'iam:CreateRole'));
      const name = unique('Delegated');

      const { Role } = await creator.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST, PermissionsBoundary: x }));

      expect(Role!.PermissionsBoundary).toEqual({ PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: x });
    });

    it('refuses that creator a role without a boundary', async () => {
      const creator = await sessionWith(onlyWith(await createPolicy(FLINK_ONLY), 'iam:CreateRole'));
      const name = unique('NoBoundary');

      const act = creator.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST }));

      await expect(act).rejects.toMatchObject(
        denied(sessionArn(creator.name), 'iam:CreateRole', roleArn(name), 'because no identity-based policy allows the iam:CreateRole action'),
      );
    });

    it('refuses that creator a role with another boundary', async () => {
      const [x, y] = [await createPolicy(FLINK_ONLY), await createPolicy(ALL)];
      const creator = await sessionWith(onlyWith(x, 'iam:CreateRole'));
      const name = unique('OtherBoundary');

      const act = creator.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST, PermissionsBoundary: y }));

      await expect(act).rejects.toMatchObject(
        denied(sessionArn(creator.name), 'iam:CreateRole', roleArn(name), 'because no identity-based policy allows the iam:CreateRole action'),
      );
    });

    it('allows PutRolePolicy under that condition only on a role whose current boundary is X', async () => {
      const [x, y] = [await createPolicy(FLINK_ONLY), await createPolicy(ALL)];
      const editor = await sessionWith(onlyWith(x, 'iam:PutRolePolicy'));
      const [withX, withY, without] = [unique('WithX'), unique('WithY'), unique('Without')];
      await createRole(withX, x);
      await createRole(withY, y);
      await createRole(without);
      const put = (RoleName: string) => editor.iam.send(new PutRolePolicyCommand({ RoleName, PolicyName: 'p', PolicyDocument: ALL }));
      const why = 'because no identity-based policy allows the iam:PutRolePolicy action';

      await expect(put(withX)).resolves.toBeDefined();
      await expect(put(withY)).rejects.toMatchObject(denied(sessionArn(editor.name), 'iam:PutRolePolicy', `role ${withY}`, why));
      await expect(put(without)).rejects.toMatchObject(denied(sessionArn(editor.name), 'iam:PutRolePolicy', `role ${without}`, why));
    });

    it('authorizes PutRolePermissionsBoundary on the requested boundary, not the current one', async () => {
      const [x, y] = [await createPolicy(FLINK_ONLY), await createPolicy(ALL)];
      const setter = await sessionWith(onlyWith(x, 'iam:PutRolePermissionsBoundary'));
      const name = unique('Reset');
      await createRole(name, y);
      const put = (PermissionsBoundary: string) => setter.iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary }));

      await expect(put(y)).rejects.toMatchObject(
        denied(
          sessionArn(setter.name),
          'iam:PutRolePermissionsBoundary',
          `role ${name}`,
          'because no identity-based policy allows the iam:PutRolePermissionsBoundary action',
        ),
      );
      await expect(put(x)).resolves.toBeDefined();
    });

    it('authorizes DeleteRolePermissionsBoundary on the current boundary', async () => {
      const [x, y] = [await createPolicy(FLINK_ONLY), await createPolicy(ALL)];
      const remover = await sessionWith(onlyWith(x, 'iam:DeleteRolePermissionsBoundary'));
      const [withX, withY] = [unique('DropX'), unique('DropY')];
      await createRole(withX, x);
      await createRole(withY, y);
      const drop = (RoleName: string) => remover.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName }));

      await expect(drop(withY)).rejects.toMatchObject(
        denied(
          sessionArn(remover.name),
          'iam:DeleteRolePermissionsBoundary',
          `role ${withY}`,
          'because no identity-based policy allows the iam:DeleteRolePermissionsBoundary action',
        ),
      );
      await expect(drop(withX)).resolves.toBeDefined();
    });
  });
});
