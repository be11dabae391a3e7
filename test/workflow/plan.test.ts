/**
 * Plan mode ("mode": "plan") is the decide phase alone: the same Decide states, with clients that refuse
 * every write, end with the ledger as the change list. Parity: what a plan lists is exactly what the real
 * run then writes — on a fresh account, and on partly onboarded and drifted ones.
 */
import type { PlanReport, PlannedChange } from '../../lambdas/steps/report-plan';
import type { RequestLogEntry } from '../../local/sandbox/faults';
import { ACCOUNT, appArn, newAppInput, operatorArn, world, type World, accountChanges } from './harness';

const ALIAS = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:alias/msf-cmk/${name}`;

/** Writes: every call but reads and AssumeRole. */
const isRead = (e: RequestLogEntry) => /^(Get|List|Describe)/.test(e.operation) || e.operation === 'AssumeRole';
const writesIn = (log: RequestLogEntry[]) => log.filter((e) => !isRead(e)).map((e) => `${e.service}:${e.operation}`);
/** A real run's changes to the account: its writes, less its own lock. */
const changesIn = (log: RequestLogEntry[]) => writesIn(log).filter((op) => !op.startsWith('dynamodb:'));
const actionsOf = (changes: PlannedChange[]) => changes.map((c) => c.action);

describe('plan mode: the decisions alone, read-only by construction, and exactly what the real run then does', () => {
  let w: World;
  afterEach(() => w?.close());

  async function run(input: object) {
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run(input);
    return { result, log: [...w.sb.sandbox.faults.log] };
  }

  /** Plan, then the real run on the same account: the plan's actions are the run's writes, one for one. */
  async function expectParity(input: object): Promise<PlannedChange[]> {
    const before = w.sb.sandbox.snapshot();
    const plan = await run({ ...input, mode: 'plan' });
    expect(plan.result.status).toBe('SUCCEEDED');
    expect(writesIn(plan.log)).toEqual([]);
    expect(accountChanges(w, before)).toEqual([]);
    const real = await run(input);
    expect(real.result.status).toBe('SUCCEEDED');
    const changes = (plan.result.output as PlanReport).changes;
    expect(changesIn(real.log)).toEqual(actionsOf(changes));
    return changes;
  }

  it('on a fresh account lists every change in the documented order, unconditionally, and writes nothing', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    const changes = await expectParity(newAppInput('orders'));
    expect(changes).toEqual([
      { action: 'iam:CreateRole', resource: operatorArn('orders'), detail: expect.stringContaining('operator role of orders') },
      { action: 'iam:PutRolePolicy', resource: operatorArn('orders'), detail: expect.stringContaining('adds inline policy msf-cmk-base') },
      { action: 'kinesisanalytics:CreateApplication', resource: appArn('orders'), detail: 'FLINK-1_20 with the AWS owned key, left READY' },
      { action: 'kms:CreateKey', resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/(new key)`, detail: expect.stringContaining(appArn('orders')) },
      { action: 'kms:CreateAlias', resource: ALIAS('orders'), detail: 'alias/msf-cmk/orders for the new key' },
      {
        action: 'iam:PutRolePolicy',
        resource: operatorArn('orders'),
        detail: expect.stringContaining('adds inline policy msf-cmk-key-(new key): use of the new key alias/msf-cmk/orders'),
      },
      {
        action: 'kinesisanalytics:UpdateApplication',
        resource: appArn('orders'),
        detail: expect.stringMatching(/^to CUSTOMER_MANAGED_KEY the new key alias\/msf-cmk\/orders; the application is READY/),
      },
    ]);
  });

  it('lists no changes for a fully onboarded application, and the real re-run writes nothing', async () => {
    w = await world();
    await w.ensureExecRole('orders');
    expect((await run(newAppInput('orders'))).result.status).toBe('SUCCEEDED');
    expect(await expectParity(newAppInput('orders'))).toEqual([]);
  });

  it('for a RUNNING application, notes that the switch snapshots and restarts it, and the run does exactly that', async () => {
    w = await world({ flinkDurations: { start: 50, update: 50 } });
    await w.existingApp('clickstream', { running: true });
    w.sb.sandbox.faults.log.length = 0;
    const plan = await run({ applicationName: 'clickstream', mode: 'plan' });
    expect(plan.result.output.changes.at(-1)).toEqual({
      action: 'kinesisanalytics:UpdateApplication',
      resource: appArn('clickstream'),
      detail:
        'to CUSTOMER_MANAGED_KEY the new key alias/msf-cmk/clickstream; the application is RUNNING: Managed Flink snapshots it under its current key and restarts it on the CMK',
    });
    expect((await w.describe('clickstream')).ApplicationStatus).toBe('RUNNING');
    const real = await w.machine({ waitMs: 60 }).run({ applicationName: 'clickstream' });
    expect(real.status).toBe('SUCCEEDED');
  });

  it('ends with the error the real run would end with when a check fails (FLINK-1_18), having written nothing', async () => {
    w = await world();
    await w.existingApp('legacy', { runtime: 'FLINK-1_18' });
    const before = w.sb.sandbox.snapshot();
    const plan = await run({ applicationName: 'legacy', mode: 'plan' });
    expect(plan.result).toMatchObject({
      status: 'FAILED',
      error: 'UnsupportedRuntime',
      cause: expect.stringMatching(/^DecideEnsureApplication failed with UnsupportedRuntime: .*FLINK-1_18.*Nothing was changed\.$/),
    });
    expect(writesIn(plan.log)).toEqual([]);
    expect(accountChanges(w, before)).toEqual([]);
  });

  describe('on partly onboarded and drifted accounts', () => {
    /** Onboards, then changes the account with `drift`; the plan must list exactly what the re-run does. */
    async function driftThenParity(drift: () => void): Promise<PlannedChange[]> {
      w = await world();
      await w.existingApp('ledger');
      expect((await run({ applicationName: 'ledger' })).result.status).toBe('SUCCEEDED');
      drift();
      return expectParity({ applicationName: 'ledger' });
    }
    const state = () => w.sb.sandbox.state;

    it('an operator role without its permissions boundary: sets it (and a rollback would keep it: it only narrows)', async () => {
      const changes = await driftThenParity(() => delete state().iam.roles['msf-cmk-operator-ledger'].PermissionsBoundaryArn);
      expect(changes).toEqual([
        { action: 'iam:PutRolePermissionsBoundary', resource: operatorArn('ledger'), detail: expect.stringContaining('msf-cmk-managed-roles-boundary') },
      ]);
    });

    it('an outdated operator CMK policy: rewrites it', async () => {
      const changes = await driftThenParity(() => {
        const role = state().iam.roles['msf-cmk-operator-ledger'];
        const name = Object.keys(role.InlinePolicies).find((n) => n.startsWith('msf-cmk-key-'))!;
        (role.InlinePolicies[name] as any).Statement.pop();
      });
      expect(changes).toEqual([
        { action: 'iam:PutRolePolicy', resource: operatorArn('ledger'), detail: expect.stringMatching(/^updates inline policy msf-cmk-key-/) },
      ]);
    });

    it('a key without its alias (a crash before CreateAlias, in an older version): a new key and alias, the old key left to its owner', async () => {
      const changes = await driftThenParity(() => delete state().kms.aliases['alias/msf-cmk/ledger']);
      expect(actionsOf(changes)).toEqual(['kms:CreateKey', 'kms:CreateAlias', 'iam:PutRolePolicy', 'kinesisanalytics:UpdateApplication']);
    });

    it('a key policy whose workflow statements were edited: converges them, and keeps a statement someone else added', async () => {
      const changes = await driftThenParity(() => {
        const key = Object.values(state().kms.keys)[0];
        const policy = JSON.parse(key.Policy);
        policy.Statement = policy.Statement.filter((s: any) => s.Sid !== 'AllowAccountToRecoverKeyAdministration');
        policy.Statement.push({
          Sid: 'AuditorMayDescribe',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:DescribeKey',
          Resource: '*',
        });
        key.Policy = JSON.stringify(policy);
      });
      expect(actionsOf(changes)).toEqual(['kms:PutKeyPolicy']);
      const policy = JSON.parse(Object.values(state().kms.keys)[0].Policy);
      expect(policy.Statement.map((s: any) => s.Sid)).toEqual(expect.arrayContaining(['AllowAccountToRecoverKeyAdministration', 'AuditorMayDescribe']));
    });

    it('an operator role whose trust lost the orchestrator: adds it back (as the orchestrator, which may still write to it)', async () => {
      const changes = await driftThenParity(() => {
        state().iam.roles['msf-cmk-operator-ledger'].AssumeRolePolicyDocument = {
          Version: '2012-10-17',
          Statement: [{ Sid: 'TrustedCallers', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }],
        };
      });
      expect(changes).toEqual([
        { action: 'iam:UpdateAssumeRolePolicy', resource: operatorArn('ledger'), detail: expect.stringContaining('MsfCmkOrchestrator') },
      ]);
    });

    it('a partly onboarded application (its rollback stopped after the switch failed): plans and then makes only the rest', async () => {
      w = await world();
      await w.existingApp('ledger');
      // An earlier run made the operator, key and grant; its switch failed and its rollback stopped at the grant.
      w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', status: 400, times: 1 });
      w.sb.sandbox.faults.inject({ service: 'iam', operation: 'DeleteRolePolicy', error: 'ValidationException', status: 400 });
      expect((await run({ applicationName: 'ledger' })).result.error).toBe('RollbackIncomplete');
      w.sb.sandbox.faults.clear();
      const changes = await expectParity({ applicationName: 'ledger' });
      expect(actionsOf(changes)).toEqual(['kinesisanalytics:UpdateApplication']);
    });
  });
});
