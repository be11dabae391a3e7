/** Resource Groups Tagging API GetResources: what carries which tags, found by tag, authorized as tag:GetResources. */
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

describe('Resource Groups Tagging API (GetResources)', () => {
  let sb: RunningSandbox;
  let tagging: ResourceGroupsTaggingAPIClient;
  const owned = [
    { TagKey: 'owner', TagValue: 'run-1' },
    { TagKey: 'app', TagValue: 'orders' },
  ];
  beforeAll(async () => {
    sb = await testSandbox();
    tagging = new ResourceGroupsTaggingAPIClient({ ...sb.clientConfig(), maxAttempts: 1 });
    const { kms, iam, flink } = clients(sb);
    await kms.send(new CreateKeyCommand({ Tags: owned }));
    const pending = (await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'owner', TagValue: 'run-2' }] }))).KeyMetadata!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 7 }));
    await kms.send(new CreateKeyCommand({}));
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    };
    const role = (await iam.send(new CreateRoleCommand({ RoleName: 'exec', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!;
    await flink.send(
      new CreateApplicationCommand({
        ApplicationName: 'orders',
        RuntimeEnvironment: 'FLINK-1_20',
        ServiceExecutionRole: role.Arn,
        Tags: [{ Key: 'owner', Value: 'run-1' }],
      }),
    );
  });
  afterAll(() => sb.close());

  it('finds resources by every tag filter together, a key pending deletion included, and lists their tags', async () => {
    const run1 = await tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: 'owner', Values: ['run-1'] }] }));
    expect(run1.ResourceTagMappingList!.map((r) => r.ResourceARN!.split(':')[2]).sort()).toEqual(['kinesisanalytics', 'kms']);
    const both = await tagging.send(
      new GetResourcesCommand({ ResourceTypeFilters: ['kms:key'], TagFilters: [{ Key: 'owner', Values: ['run-1'] }, { Key: 'app' }] }),
    );
    expect(both.ResourceTagMappingList).toEqual([
      {
        ResourceARN: expect.stringMatching(/:key\//),
        Tags: [
          { Key: 'owner', Value: 'run-1' },
          { Key: 'app', Value: 'orders' },
        ],
      },
    ]);
    const pending = await tagging.send(new GetResourcesCommand({ ResourceTypeFilters: ['kms'], TagFilters: [{ Key: 'owner', Values: ['run-2'] }] }));
    expect(pending.ResourceTagMappingList).toHaveLength(1);
    expect(pending.PaginationToken).toBe('');
  });

  it('lists only tagged resources, by page', async () => {
    const first = await tagging.send(new GetResourcesCommand({ ResourcesPerPage: 2 }));
    expect(first.ResourceTagMappingList).toHaveLength(2);
    const second = await tagging.send(new GetResourcesCommand({ ResourcesPerPage: 2, PaginationToken: first.PaginationToken }));
    expect(second.ResourceTagMappingList).toHaveLength(1);
    expect(second.PaginationToken).toBe('');
  });

  it('is authorized as tag:GetResources on "*"', async () => {
    const { iam } = clients(sb);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const arn = (await iam.send(new CreateRoleCommand({ RoleName: 'reader', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
    const reader = new ResourceGroupsTaggingAPIClient({
      endpoint: sb.endpoint,
      region: sb.sandbox.region,
      credentials: roleCredentials(sb, arn),
      maxAttempts: 1,
    });
    await expect(reader.send(new GetResourcesCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('tag:GetResources'),
    });
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'tags',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'tag:GetResources', Resource: '*' }] }),
      }),
    );
    expect((await reader.send(new GetResourcesCommand({}))).ResourceTagMappingList).toHaveLength(3);
  });
});
