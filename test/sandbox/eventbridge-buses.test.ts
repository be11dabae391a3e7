/**
 * EventBridge custom event buses on the sandbox: their life cycle, rules on a named bus, and PutEvents
 * authorized against the bus's resource policy by the sandbox's policy evaluator — same account: the
 * caller's IAM policy or the bus policy; another account: the bus policy as well.
 */
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DescribeEventBusCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemovePermissionCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';
import type { Principal } from '../../local/sandbox/sandbox';

const ACCOUNT = '000000000000';
const OTHER = '111122223333';
const BUS_ARN = (name: string) => `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${name}`;
const lambdaTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const entry = (bus: string, source = 'acme.requests') => ({ EventBusName: bus, Source: source, DetailType: 'Something Requested', Detail: '{"n":1}' });

describe('EventBridge custom event buses on the sandbox', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterAll(() => sb.close());

  /** A role session in this account with the given inline policy (none: no identity policy at all). */
  async function session(name: string, statement?: object) {
    const { iam } = clients(sb);
    const role = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
    if (statement)
      await iam.send(
        new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }) }),
      );
    return { role, events: clients(sb, roleCredentials(sb, role)).events };
  }

  /** PutEvents as the root of another account: the sandbox holds one account, so the call is made in process. */
  function putEventsFromAnotherAccount(bus: string) {
    const caller: Principal = { arn: `arn:aws:iam::${OTHER}:root`, account: OTHER, kind: 'root', userId: OTHER };
    const ctx = { sandbox: sb.sandbox, caller, requestId: 'r', service: 'events', operation: 'PutEvents' };
    return async () => sb.sandbox.services.get('events')!.operations.PutEvents({ Entries: [entry(BUS_ARN(bus))] }, ctx);
  }

  it('creates, describes, lists and deletes a bus; the default bus always exists and cannot be deleted', async () => {
    const { events } = clients(sb);
    expect(await events.send(new CreateEventBusCommand({ Name: 'scratch', Description: 'd' }))).toMatchObject({
      EventBusArn: BUS_ARN('scratch'),
      Description: 'd',
    });
    await expect(events.send(new CreateEventBusCommand({ Name: 'scratch' }))).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsException',
      message: 'Event bus scratch already exists.',
    });
    expect(await events.send(new DescribeEventBusCommand({ Name: BUS_ARN('scratch') }))).toMatchObject({
      Name: 'scratch',
      Arn: BUS_ARN('scratch'),
      Description: 'd',
      CreationTime: expect.any(Date),
    });
    expect((await events.send(new ListEventBusesCommand({}))).EventBuses!.map((b) => b.Name)).toEqual(expect.arrayContaining(['default', 'scratch']));
    expect((await events.send(new ListEventBusesCommand({ NamePrefix: 'scr' }))).EventBuses!.map((b) => b.Name)).toEqual(['scratch']);
    await events.send(new DeleteEventBusCommand({ Name: 'scratch' }));
    await events.send(new DeleteEventBusCommand({ Name: 'scratch' }));
    await expect(events.send(new DescribeEventBusCommand({ Name: 'scratch' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Event bus scratch does not exist.',
    });
    await expect(events.send(new DeleteEventBusCommand({ Name: 'default' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Cannot delete event bus default.',
    });
    expect(await events.send(new DescribeEventBusCommand({}))).toMatchObject({ Name: 'default', Arn: BUS_ARN('default') });
  });

  it("keeps rules per bus: a rule on a named bus has the bus in its ARN and sees only that bus's events", async () => {
    const { events } = clients(sb);
    await events.send(new CreateEventBusCommand({ Name: 'orders' }));
    const pattern = JSON.stringify({ source: ['acme.requests'] });
    const { RuleArn } = await events.send(new PutRuleCommand({ Name: 'r', EventBusName: 'orders', EventPattern: pattern }));
    await events.send(new PutRuleCommand({ Name: 'r', EventPattern: pattern }));
    expect(RuleArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:rule/orders/r`);
    expect((await events.send(new ListRulesCommand({ EventBusName: 'orders' }))).Rules!.map((r) => r.Arn)).toEqual([RuleArn]);
    await expect(events.send(new PutRuleCommand({ Name: 'r', EventBusName: 'missing', EventPattern: pattern }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Event bus missing does not exist.',
    });
    // A target the sandbox cannot deliver to records which rule matched.
    for (const bus of ['orders', 'default'])
      await events.send(new PutTargetsCommand({ Rule: 'r', EventBusName: bus, Targets: [{ Id: 'q', Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:q` }] }));
    const failures = sb.sandbox.state.events!.failedInvocations;
    failures.length = 0;

    const out = await events.send(new PutEventsCommand({ Entries: [entry('orders'), entry('missing')] }));

    // As in AWS, an entry for a bus that does not exist is accepted, and reaches nothing.
    expect([out.FailedEntryCount, out.Entries]).toEqual([0, [{ EventId: expect.any(String) }, { EventId: expect.any(String) }]]);
    expect(failures.map((f) => f.RuleArn)).toEqual([RuleArn]);
  });

  it('sets, extends and removes the bus policy with PutPermission and RemovePermission', async () => {
    const { events } = clients(sb);
    await events.send(new CreateEventBusCommand({ Name: 'perm' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Mine', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'events:PutEvents', Resource: BUS_ARN('perm') }],
    };
    await events.send(new PutPermissionCommand({ EventBusName: 'perm', Policy: JSON.stringify(policy) }));
    await events.send(new PutPermissionCommand({ EventBusName: 'perm', Action: 'events:PutEvents', Principal: OTHER, StatementId: 'Partner' }));
    const described = JSON.parse((await events.send(new DescribeEventBusCommand({ Name: 'perm' }))).Policy!);
    expect(described.Statement).toEqual([
      policy.Statement[0],
      { Sid: 'Partner', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: 'events:PutEvents', Resource: BUS_ARN('perm') },
    ]);
    await expect(
      events.send(new PutPermissionCommand({ EventBusName: 'perm', Action: 'events:PutRule', Principal: OTHER, StatementId: 'x' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: "Provided value in parameter 'action' is not supported." });
    await expect(
      events.send(
        new PutPermissionCommand({
          EventBusName: 'perm',
          Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}]}',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(events.send(new RemovePermissionCommand({ EventBusName: 'perm', StatementId: 'Nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Statement with the provided id does not exist.',
    });
    await events.send(new RemovePermissionCommand({ EventBusName: 'perm', StatementId: 'Partner' }));
    expect(JSON.parse((await events.send(new DescribeEventBusCommand({ Name: 'perm' }))).Policy!).Statement.map((s: any) => s.Sid)).toEqual(['Mine']);
    await events.send(new RemovePermissionCommand({ EventBusName: 'perm', RemoveAllPermissions: true }));
    expect((await events.send(new DescribeEventBusCommand({ Name: 'perm' }))).Policy).toBeUndefined();
    await expect(events.send(new RemovePermissionCommand({ EventBusName: 'perm', StatementId: 'Mine' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'EventBus does not have a policy.',
    });
  });

  describe('PutEvents against the bus policy', () => {
    let namedRole: string;
    beforeAll(async () => {
      const { events } = clients(sb);
      namedRole = (await session('Requester')).role;
      await events.send(new CreateEventBusCommand({ Name: 'guarded' }));
      // Only the named role and the partner account; everyone else in this account is refused explicitly.
      await events.send(
        new PutPermissionCommand({
          EventBusName: 'guarded',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'Allowed',
                Effect: 'Allow',
                Principal: { AWS: [namedRole, `arn:aws:iam::${OTHER}:root`] },
                Action: 'events:PutEvents',
                Resource: BUS_ARN('guarded'),
              },
              {
                Sid: 'NobodyElse',
                Effect: 'Deny',
                Principal: '*',
                Action: 'events:PutEvents',
                Resource: BUS_ARN('guarded'),
                Condition: { ArnNotEquals: { 'aws:PrincipalArn': namedRole }, StringNotEquals: { 'aws:PrincipalAccount': OTHER } },
              },
            ],
          }),
        }),
      );
      await events.send(new CreateEventBusCommand({ Name: 'open-to-account' }));
    });

    it('lets a same-account principal the bus policy names put events without any IAM policy of its own', async () => {
      const { events } = clients(sb, roleCredentials(sb, namedRole));
      expect((await events.send(new PutEventsCommand({ Entries: [entry('guarded')] }))).FailedEntryCount).toBe(0);
    });

    it('lets a same-account principal put events by its IAM policy alone when the bus has no policy', async () => {
      const { events } = await session('Writer', { Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS_ARN('open-to-account') });
      expect((await events.send(new PutEventsCommand({ Entries: [entry('open-to-account')] }))).FailedEntryCount).toBe(0);
    });

    it('refuses the whole call for a same-account principal the policy does not name, even with events:PutEvents in its IAM policy', async () => {
      const { events } = await session('Outsider', { Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' });
      const err = await events.send(new PutEventsCommand({ Entries: [entry('open-to-account'), entry('guarded')] })).catch((e) => e);
      expect(err).toMatchObject({
        name: 'AccessDeniedException',
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/Outsider/test-session is not authorized to perform: events:PutEvents on resource: ${BUS_ARN('guarded')} with an explicit deny in a resource-based policy`,
      });
    });

    it('refuses another account unless the bus policy names it', async () => {
      await expect(putEventsFromAnotherAccount('open-to-account')()).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: `User: arn:aws:iam::${OTHER}:root is not authorized to perform: events:PutEvents on resource: ${BUS_ARN('open-to-account')} because no resource-based policy allows the events:PutEvents action`,
      });
      await expect(putEventsFromAnotherAccount('guarded')()).resolves.toMatchObject({ FailedEntryCount: 0 });
    });
  });
});
