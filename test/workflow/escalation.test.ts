/**
 * The orchestrator cannot make itself an administrator through the roles it manages, nor take over the
 * key administrator: every role it writes to must carry the managed-roles boundary, that boundary caps
 * what the role can do, and the key administrator the deployment owns is outside its reach but for AssumeRole.
 */
import {
  CreateRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  GetRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { boundaryPolicyArn } from '../../lambdas/lib/policies';
import { newAppInput, world, type World } from './harness';

const A = '000000000000';
const BOUNDARY = boundaryPolicyArn({ account: A, region: 'us-east-1' });
const trust = (arn: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: arn }, Action: 'sts:AssumeRole' }] });
const ADMIN = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });

describe('the orchestrator and the roles it manages', () => {
  let w: World;
  let iam: IAMClient;
  beforeEach(async () => {
    w = await world();
    const creds = { accessKeyId: w.env.AWS_ACCESS_KEY_ID, secretAccessKey: w.env.AWS_SECRET_ACCESS_KEY, sessionToken: w.env.AWS_SESSION_TOKEN };
    iam = new IAMClient({ endpoint: w.sb.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  });
  afterEach(() => w.close());

  it('the workflow creates the operator role with the managed-roles boundary', async () => {
    await w.ensureExecRole('orders');
    expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
    const role = (await iam.send(new GetRoleCommand({ RoleName: 'msf-cmk-operator-orders' }))).Role!;
    expect(role.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY);
  });

  it('may not remove a boundary from a role it manages (that would unbound what it wrote into it)', async () => {
    await w.ensureExecRole('orders');
    expect((await w.machine().run(newAppInput('orders'))).status).toBe('SUCCEEDED');
    await expect(iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'msf-cmk-operator-orders' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it.each([
    ['write a policy into it', () => iam.send(new PutRolePolicyCommand({ RoleName: 'MsfCmkKeyAdmin', PolicyName: 'admin', PolicyDocument: ADMIN }))],
    [
      'change whom it trusts',
      () => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'MsfCmkKeyAdmin', PolicyDocument: trust(`arn:aws:iam::${A}:root`) })),
    ],
  ])('may not %s: the key administrator belongs to the deployment', async (_what, call) => {
    await expect(call()).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses to create a role under its path without the boundary', async () => {
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'Escalate', Path: '/msf-cmk/', AssumeRolePolicyDocument: trust(w.orchestratorArn) })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('iam:CreateRole on resource: arn:aws:iam::000000000000:role/msf-cmk/Escalate'),
    });
  });

  it('a bounded role it gives "*:*" still cannot touch IAM', async () => {
    await iam.send(
      new CreateRoleCommand({ RoleName: 'Escalate', Path: '/msf-cmk/', AssumeRolePolicyDocument: trust(w.orchestratorArn), PermissionsBoundary: BOUNDARY }),
    );
    await iam.send(new PutRolePolicyCommand({ RoleName: 'Escalate', PolicyName: 'admin', PolicyDocument: ADMIN }));
    const sts = new STSClient({ endpoint: w.sb.endpoint, region: 'us-east-1', credentials: await iam.config.credentials(), maxAttempts: 1 });
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${A}:role/msf-cmk/Escalate`, RoleSessionName: 'escalate' }))).Credentials!;
    const escalated = new IAMClient({
      endpoint: w.sb.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken },
    });
    await expect(
      escalated.send(new CreateRoleCommand({ RoleName: 'Backdoor', AssumeRolePolicyDocument: trust(`arn:aws:iam::${A}:root`) })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('because no permissions boundary allows the iam:CreateRole action'),
    });
  });
});
