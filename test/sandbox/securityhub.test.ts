/**
 * Security Hub through the unmodified SDK client: BatchImportFindings and GetFindings authorized by the
 * evaluator, its limits (100 findings a call, 240 KB a finding, 10 TPS with bursts of 30), the upsert by
 * ProductArn and Id, and what becomes a FailedFinding rather than a refused call.
 */
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { BatchImportFindingsCommand, GetFindingsCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const PRODUCT = `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const finding = (id: string, over: Partial<AwsSecurityFinding> = {}): AwsSecurityFinding => ({
  SchemaVersion: '2018-10-08',
  Id: id,
  ProductArn: PRODUCT,
  GeneratorId: 'test/check',
  AwsAccountId: ACCOUNT,
  Types: ['Software and Configuration Checks/AWS Security Best Practices'],
  CreatedAt: '2026-01-01T00:00:00.000Z',
  UpdatedAt: '2026-01-01T00:00:00.000Z',
  Severity: { Label: 'HIGH' },
  Title: `Finding ${id}`,
  Description: 'A test finding',
  Resources: [{ Type: 'Other', Id: `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/${id}` }],
  ...over,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { name: string; message: string; $metadata: { httpStatusCode?: number } }) => ({
      name: e.name,
      message: e.message,
      status: e.$metadata.httpStatusCode,
    }),
  );

describe('sandbox Security Hub', () => {
  let sb: RunningSandbox;
  let hub: SecurityHubClient;
  const as = (credentials: ReturnType<typeof roleCredentials>) => new SecurityHubClient({ endpoint: sb.endpoint, region: REGION, credentials, maxAttempts: 1 });
  const findings = async (filters: object = {}) => (await hub.send(new GetFindingsCommand({ Filters: filters }))).Findings?.map((f) => f.Id).sort() ?? [];

  beforeAll(async () => {
    sb = await testSandbox({ rates: false });
    hub = as(sb.clientConfig().credentials);
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    sb.sandbox.state.securityhub = { findings: {} };
  });

  it('imports findings into the account default product and reads them back by filter', async () => {
    // Act
    const out = await hub.send(new BatchImportFindingsCommand({ Findings: [finding('a'), finding('b', { GeneratorId: 'test/other' })] }));
    // Assess
    expect(out).toMatchObject({ FailedCount: 0, SuccessCount: 2, FailedFindings: [] });
    expect(await findings()).toEqual(['a', 'b']);
    expect(await findings({ GeneratorId: [{ Value: 'test/other', Comparison: 'EQUALS' }] })).toEqual(['b']);
    expect(await findings({ Id: [{ Value: 'a', Comparison: 'EQUALS' }], RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }] })).toEqual(['a']);
    expect(await findings({ ProductArn: [{ Value: PRODUCT, Comparison: 'NOT_EQUALS' }] })).toEqual([]);
    const [a] = (await hub.send(new GetFindingsCommand({ Filters: { Id: [{ Value: 'a', Comparison: 'EQUALS' }] } }))).Findings!;
    expect(a).toMatchObject({ Title: 'Finding a', Severity: { Label: 'HIGH' }, RecordState: 'ACTIVE', Workflow: { Status: 'NEW' }, Region: REGION });
  });

  it('pages GetFindings with MaxResults and NextToken, and refuses a filter it does not evaluate by name', async () => {
    await hub.send(new BatchImportFindingsCommand({ Findings: ['p1', 'p2', 'p3'].map((id) => finding(id)) }));
    const first = await hub.send(new GetFindingsCommand({ MaxResults: 2 }));
    const second = await hub.send(new GetFindingsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    expect([first.Findings!.length, second.Findings!.length, second.NextToken]).toEqual([2, 1, undefined]);
    expect(await failure(hub.send(new GetFindingsCommand({ Filters: { Keyword: [{ Value: 'x' }] } })))).toMatchObject({
      name: 'InvalidInputException',
      message: expect.stringContaining('Keyword'),
      status: 400,
    });
  });

  it('updates a finding imported again with a later UpdatedAt, keeps it with an equal or earlier one, and keeps the customer workflow', async () => {
    // Prepare
    await hub.send(new BatchImportFindingsCommand({ Findings: [finding('u', { UpdatedAt: '2026-01-02T00:00:00.000Z' })] }));
    const key = `${PRODUCT} u`;
    sb.sandbox.state.securityhub!.findings[key].Workflow = { Status: 'NOTIFIED' };
    const title = async () => (await hub.send(new GetFindingsCommand({ Filters: { Id: [{ Value: 'u', Comparison: 'EQUALS' }] } }))).Findings!;
    // Act: the same UpdatedAt, then an earlier one, then a later one.
    const same = await hub.send(new BatchImportFindingsCommand({ Findings: [finding('u', { Title: 'same', UpdatedAt: '2026-01-02T00:00:00.000Z' })] }));
    await hub.send(new BatchImportFindingsCommand({ Findings: [finding('u', { Title: 'older', UpdatedAt: '2026-01-01T00:00:00.000Z' })] }));
    const afterIgnored = await title();
    await hub.send(new BatchImportFindingsCommand({ Findings: [finding('u', { Title: 'newer', UpdatedAt: '2026-01-03T00:00:00.000Z' })] }));
    // Assess
    expect(same).toMatchObject({ SuccessCount: 1, FailedCount: 0 });
    expect(afterIgnored.map((f) => f.Title)).toEqual(['Finding u']);
    expect((await title()).map((f) => [f.Title, f.Workflow?.Status])).toEqual([['newer', 'NOTIFIED']]);
  });

  it('returns a finding that breaks ASFF or the size limit, or names a product not enabled, as a FailedFinding and imports the rest', async () => {
    // Prepare
    const { Title: _t, ...untitled } = finding('untitled');
    const big = finding('big', { Description: 'x'.repeat(241 * 1024) });
    const partner = finding('partner', { ProductArn: `arn:aws:securityhub:${REGION}::product/someone/something` });
    // Act
    const out = await hub.send(new BatchImportFindingsCommand({ Findings: [untitled as AwsSecurityFinding, big, partner, finding('ok')] }));
    // Assess
    expect(out.SuccessCount).toBe(1);
    expect(out.FailedCount).toBe(3);
    expect(out.FailedFindings).toEqual([
      { Id: 'untitled', ErrorCode: 'InvalidInput', ErrorMessage: expect.stringContaining("required property 'Title'") },
      { Id: 'big', ErrorCode: 'InvalidInput', ErrorMessage: expect.stringContaining('larger than') },
      { Id: 'partner', ErrorCode: 'InvalidAccess', ErrorMessage: expect.stringContaining('not enabled') },
    ]);
    expect(await findings()).toEqual(['ok']);
  });

  it('refuses more than 100 findings in a call, and a finding of another account as the whole call, importing nothing', async () => {
    const many = Array.from({ length: 101 }, (_, i) => finding(`m${i}`));
    expect(await failure(hub.send(new BatchImportFindingsCommand({ Findings: many })))).toEqual({
      name: 'InvalidInputException',
      message: "Invalid parameter 'Findings'. Size '101' is greater than maximum value: 100.",
      status: 400,
    });
    const foreign = finding('foreign', { AwsAccountId: '111122223333' });
    expect(await failure(hub.send(new BatchImportFindingsCommand({ Findings: [finding('mine'), foreign] })))).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('product/111122223333/default'),
      status: 403,
    });
    expect(await findings()).toEqual([]);
  });

  it('authorizes BatchImportFindings on the product ARN and GetFindings on the hub, by the caller’s policies', async () => {
    // Prepare: a role allowed to import into its account's default product only.
    const { iam } = clients(sb);
    await iam.send(new CreateRoleCommand({ RoleName: 'importer', AssumeRolePolicyDocument: TRUST }));
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'importer',
        PolicyName: 'import',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'securityhub:BatchImportFindings', Resource: PRODUCT }],
        }),
      }),
    );
    await iam.send(new CreateRoleCommand({ RoleName: 'nobody', AssumeRolePolicyDocument: TRUST }));
    const importer = as(roleCredentials(sb, `arn:aws:iam::${ACCOUNT}:role/importer`));
    const nobody = as(roleCredentials(sb, `arn:aws:iam::${ACCOUNT}:role/nobody`));
    // Act
    const imported = await importer.send(new BatchImportFindingsCommand({ Findings: [finding('by-role')] }));
    const readByImporter = await failure(importer.send(new GetFindingsCommand({})));
    const byNobody = await failure(nobody.send(new BatchImportFindingsCommand({ Findings: [finding('by-nobody')] })));
    // Assess
    expect(imported.SuccessCount).toBe(1);
    expect(readByImporter).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('securityhub:GetFindings on resource: arn:aws:securityhub:us-east-1:000000000000:hub/default'),
      status: 403,
    });
    expect(byNobody).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`securityhub:BatchImportFindings on resource: ${PRODUCT}`),
      status: 403,
    });
    expect(await findings()).toEqual(['by-role']);
  });

  it('throttles BatchImportFindings at 10 per second after a burst of 30, with TooManyRequestsException 429', async () => {
    // Prepare: the default rates, on a clock that moves only when told.
    const rated = await testSandbox();
    rated.sandbox.clock.freeze();
    const client = new SecurityHubClient({ ...rated.clientConfig(), maxAttempts: 1 });
    const send = () => client.send(new BatchImportFindingsCommand({ Findings: [] }));
    try {
      // Act
      for (let i = 0; i < 30; i++) await send();
      const throttled = await failure(send());
      rated.sandbox.advance(100); // one token back at 10 per second
      const after = await failure(send());
      const again = await failure(send());
      // Assess
      expect(throttled).toEqual({ name: 'TooManyRequestsException', message: 'Too Many Requests', status: 429 });
      expect(after).toBeUndefined();
      expect(again).toMatchObject({ name: 'TooManyRequestsException' });
      // GetFindings has no published rate: not throttled.
      for (let i = 0; i < 40; i++) await client.send(new GetFindingsCommand({}));
    } finally {
      await rated.close();
    }
  });
});
