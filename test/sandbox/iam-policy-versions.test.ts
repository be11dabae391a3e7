/**
 * IAM managed policy versions: how a shared policy is rewritten in place, with its before-image kept
 * as a version, and how authorization follows the default version.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListPolicyVersionsCommand,
  SetDefaultPolicyVersionCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const allow = (Action: string) => doc({ Effect: 'Allow', Action, Resource: '*' });
const TRUST = doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' });
const decode = (s: string | undefined) => JSON.parse(decodeURIComponent(s!));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('sandbox IAM managed policy versions', () => {
  let sb: RunningSandbox;
  let iam: IAMClient;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;
  const createPolicy = async (document = allow('s3:GetObject')) =>
    (await iam.send(new CreatePolicyCommand({ PolicyName: unique('Shared'), PolicyDocument: document }))).Policy!.Arn!;
  const addVersion = (PolicyArn: string, document: string, SetAsDefault = false) =>
    iam.send(new CreatePolicyVersionCommand({ PolicyArn, PolicyDocument: document, SetAsDefault }));

  beforeAll(async () => {
    sb = await testSandbox({ rates: false });
    iam = clients(sb).iam;
  });
  afterAll(() => sb.close());

  it('creates v2 as the default, keeps v1 as the before-image, and lists both newest first', async () => {
    const arn = await createPolicy(allow('s3:GetObject'));
    sb.sandbox.advance(1000);

    const created = await addVersion(arn, allow('s3:PutObject'), true);
    const listed = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
    const v1 = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    const policy = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));

    expect(created.PolicyVersion).toEqual({ VersionId: 'v2', IsDefaultVersion: true, CreateDate: expect.any(Date) });
    expect(listed.Versions!.map((v) => [v.VersionId, v.IsDefaultVersion, v.Document])).toEqual([
      ['v2', true, undefined],
      ['v1', false, undefined],
    ]);
    expect(decode(v1.PolicyVersion!.Document)).toEqual(JSON.parse(allow('s3:GetObject')));
    expect(v1.PolicyVersion!.IsDefaultVersion).toBe(false);
    expect(policy.Policy).toMatchObject({ DefaultVersionId: 'v2', UpdateDate: created.PolicyVersion!.CreateDate });
    expect(policy.Policy!.UpdateDate!.getTime()).toBeGreaterThan(policy.Policy!.CreateDate!.getTime());
  });

  it('authorizes with the default version only, and follows SetDefaultPolicyVersion back to the before-image', async () => {
    const arn = await createPolicy(allow('kms:ListKeys'));
    const role = unique('Reader');
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    const { kms } = clients(sb, roleCredentials(sb, Role!.Arn!));

    await addVersion(arn, allow('kms:DescribeKey'));
    const stillV1 = await failure(kms.send(new ListKeysCommand({})));
    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
    const onV2 = await failure(kms.send(new ListKeysCommand({})));
    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    const backOnV1 = await failure(kms.send(new ListKeysCommand({})));

    expect(stillV1).toBeUndefined();
    expect(onV2).toMatchObject({ name: 'AccessDeniedException' });
    expect(backOnV1).toBeUndefined();
  });

  it('refuses a sixth version with LimitExceeded, and takes one after a non-default version is deleted, never reusing its id', async () => {
    const arn = await createPolicy();
    for (let i = 2; i <= 5; i++) await addVersion(arn, allow(`s3:Action${i}`));

    const sixth = await failure(addVersion(arn, allow('s3:Action6')));
    await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v5' }));
    const next = await addVersion(arn, allow('s3:Action6'));

    expect(sixth).toMatchObject({
      name: 'LimitExceededException',
      message: 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      $metadata: expect.objectContaining({ httpStatusCode: 409 }),
    });
    expect(next.PolicyVersion!.VersionId).toBe('v6');
  });

  it('refuses to delete the default version with DeleteConflict, and an unknown version with NoSuchEntity', async () => {
    const arn = await createPolicy();
    await addVersion(arn, allow('s3:PutObject'), true);

    const deleteDefault = await failure(iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' })));
    const deleteUnknown = await failure(iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v9' })));
    const setUnknown = await failure(iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v9' })));

    expect(deleteDefault).toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete the default version of a policy.',
      $metadata: expect.objectContaining({ httpStatusCode: 409 }),
    });
    for (const err of [deleteUnknown, setUnknown]) {
      expect(err).toMatchObject({ name: 'NoSuchEntityException', message: `Policy ${arn} version v9 does not exist or is not attachable.` });
    }
  });

  it('refuses DeletePolicy while non-default versions remain, as AWS does, and deletes it once only the default is left', async () => {
    const arn = await createPolicy();
    const role = unique('Holder');
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    await addVersion(arn, allow('s3:PutObject'), true);

    const attached = await failure(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    const versioned = await failure(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    const deleted = await failure(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));

    expect(attached).toMatchObject({ name: 'DeleteConflictException', message: 'Cannot delete a policy attached to entities.' });
    expect(versioned).toMatchObject({
      name: 'DeleteConflictException',
      message:
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    });
    expect(deleted).toBeUndefined();
  });

  it('authorizes each version operation on the policy ARN, naming it as IAM does', async () => {
    const arn = await createPolicy();
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: unique('NoVersions'), AssumeRolePolicyDocument: TRUST }));
    const caller = clients(sb, roleCredentials(sb, Role!.Arn!)).iam;
    const who = `arn:aws:sts::${ACCOUNT}:assumed-role/${Role!.RoleName}/test-session`;

    const err = await failure(caller.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow('s3:*') })));

    expect(err).toMatchObject({
      name: 'AccessDenied',
      message: `User: ${who} is not authorized to perform: iam:CreatePolicyVersion on resource: policy ${arn} because no identity-based policy allows the iam:CreatePolicyVersion action`,
    });
  });
});
