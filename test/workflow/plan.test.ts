import { steps } from '../../lambdas/steps';
import type { PlanReport, PlannedChange } from '../../lambdas/lib/plan';
import type { RequestLogEntry } from '../../local/sandbox/faults';
import { ACCOUNT, newAppInput, world, type World } from './harness';

const ROLE = (name: string) => `arn:aws:iam::${ACCOUNT}:role/msf-cmk/${name}`;
const APP = (name: string) => `arn:aws:kinesisanalytics:us-east-1:${ACCOUNT}:application/${name}`;
const CMK_POLICY = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/msf-cmk/msf-cmk-key-access-${name}-{new-key-id}`;
const ALIAS = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:alias/msf-cmk/${name}`;

/** Reads: Get* (incl. GetCallerIdentity), List*, Describe* and sts:AssumeRole; every other logged call is a write. */
const isRead = (e: RequestLogEntry) => /^(Get|List|Describe)/.test(e.operation) || e.operation === 'AssumeRole';
const writesIn = (log: RequestLogEntry[]) => log.filter((e) => !isRead(e)).map((e) => `${e.service}:${e.operation}`);
/** A real run's changes to the account: its writes, less the lock it holds on its own table while it runs. */
const changesIn = (log: RequestLogEntry[]) => writesIn(log).filter((op) => !op.startsWith('dynamodb:'));
const actionsOf = (changes: PlannedChange[]) => changes.map((c) => c.action);

/** The resources the workflow touches, as the sandbox holds them (to prove a plan changed nothing). */
const snapshot = (w: World) => structuredClone({ iam: w.sb.sandbox.state.iam, kms: w.sb.sandbox.state.kms, flink: w.sb.sandbox.state.kinesisanalytics });

describe('plan mode ("mode": "plan") walks the same steps read-only and lists the changes a real run would make', () => {
  let w: World;
  afterEach(() => w?.close());

  /** The state an earlier run left after step 1: the operator role with this application's base policy. */
  async function earlierRunMadeOperatorRole(applicationName: string) {
    Object.assign(process.env, w.env);
    const earlier = await steps.ValidateInput.handler({ input: { applicationName }, execution: { Id: 'earlier', Name: 'earlier' } });
    await steps.EnsureOperatorRole.handler(earlier);
  }

  /** Runs the workflow with the request log cleared first; returns the result and the calls it made. */
  async function run(input: object) {
    w.sb.sandbox.faults.log.length = 0;
    const result = await w.machine().run(input);
    return { result, log: [...w.sb.sandbox.faults.log] };
  }

  it('on a fresh account lists every change in the documented order, conditional where it cannot read yet, and makes no write call', async () => {
    // Prepare
    w = await world();
    await w.ensureExecRole('orders');
    const before = snapshot(w);

    // Act
    const { result, log } = await run({ ...newAppInput('orders'), mode: 'plan' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as PlanReport;
    expect(report).toEqual({
      mode: 'plan',
      applicationName: 'orders',
      changes: [
        { action: 'iam:CreateRole', resource: ROLE('MsfCmkOperator'), detail: expect.any(String) },
        { action: 'iam:PutRolePolicy', resource: ROLE('MsfCmkOperator'), detail: 'adds inline policy msf-cmk-base-orders' },
        { action: 'kinesisanalytics:CreateApplication', resource: APP('orders'), detail: expect.stringContaining('if it does not exist (cannot read it as the operator') },
        { action: 'iam:CreateRole', resource: ROLE('MsfCmkKeyAdmin'), detail: expect.any(String) },
        { action: 'iam:PutRolePolicy', resource: ROLE('MsfCmkKeyAdmin'), detail: 'adds inline policy msf-cmk-key-administration' },
        { action: 'kms:CreateKey', resource: '(new key)', detail: expect.stringContaining(APP('orders')) },
        { action: 'kms:CreateAlias', resource: ALIAS('orders'), detail: expect.stringContaining('cannot read it as the key administrator') },
        { action: 'iam:CreatePolicy', resource: CMK_POLICY('orders'), detail: expect.stringContaining('alias/msf-cmk/orders') },
        { action: 'iam:AttachRolePolicy', resource: ROLE('MsfCmkOperator'), detail: `attaches ${CMK_POLICY('orders')}` },
        { action: 'kinesisanalytics:UpdateApplication', resource: APP('orders'), detail: expect.stringMatching(/^to CUSTOMER_MANAGED_KEY the new key alias\/msf-cmk\/orders; if the application is RUNNING/) },
      ],
    });
    expect(log.length).toBeGreaterThan(0);
    expect(writesIn(log)).toEqual([]);
    expect(snapshot(w)).toEqual(before);
  });

  it('plans exactly the writes the real run then makes on the same account', async () => {
    // Prepare
    w = await world();
    await w.ensureExecRole('orders');
    const plan = await run({ ...newAppInput('orders'), mode: 'plan' });

    // Act
    const real = await run(newAppInput('orders'));

    // Assess
    expect(real.result.status).toBe('SUCCEEDED');
    expect(new Set(changesIn(real.log))).toEqual(new Set(actionsOf(plan.result.output.changes)));
    // One write per planned change: the two roles' CreateRole and PutRolePolicy, and one of each other call.
    expect(changesIn(real.log).sort()).toEqual(actionsOf(plan.result.output.changes).sort());
  });

  it('lists no changes for a fully onboarded application, and the real re-run indeed writes nothing', async () => {
    // Prepare
    w = await world();
    await w.ensureExecRole('orders');
    expect((await run(newAppInput('orders'))).result.status).toBe('SUCCEEDED');
    const before = snapshot(w);

    // Act
    const plan = await run({ ...newAppInput('orders'), mode: 'plan' });

    // Assess: read as the personas (they exist now), found everything in place, touched nothing.
    expect(plan.result).toMatchObject({ status: 'SUCCEEDED', output: { mode: 'plan', applicationName: 'orders', changes: [] } });
    expect(plan.log.filter((e) => e.operation === 'AssumeRole').length).toBeGreaterThan(0);
    expect(plan.log.map((e) => `${e.service}:${e.operation}`)).toEqual(expect.arrayContaining(['kinesisanalytics:DescribeApplication', 'kms:DescribeKey', 'kms:GetKeyPolicy']));
    expect(writesIn(plan.log)).toEqual([]);
    expect(snapshot(w)).toEqual(before);
    const rerun = await run(newAppInput('orders'));
    expect(rerun.result.status).toBe('SUCCEEDED');
    expect(changesIn(rerun.log)).toEqual([]);
  });

  it('ends with the error the real run would end with when a check fails (FLINK-1_18), and its rollback writes nothing either', async () => {
    // Prepare: the operator can read the application (an earlier run made the role and its base policy).
    w = await world();
    await w.existingApp('legacy', { runtime: 'FLINK-1_18' });
    await earlierRunMadeOperatorRole('legacy');
    const before = snapshot(w);

    // Act
    const plan = await run({ applicationName: 'legacy', mode: 'plan' });

    // Assess
    expect(plan.result).toMatchObject({ status: 'FAILED', error: 'UnsupportedRuntime', cause: expect.stringContaining('FLINK-1_18') });
    expect(plan.result.events.find((e) => e.type === 'StateFailed')).toMatchObject({ state: { name: 'EnsureApplication' } });
    expect(writesIn(plan.log)).toEqual([]);
    expect(snapshot(w)).toEqual(before);
  });

  it('for an existing RUNNING application, reads it as the operator and notes that the switch snapshots and restarts it', async () => {
    // Prepare: the application runs, and an earlier run got as far as the operator role and its base policy.
    w = await world({ flinkDurations: { start: 50, update: 50 } });
    await w.existingApp('clickstream', { running: true });
    await earlierRunMadeOperatorRole('clickstream');
    const before = await w.describe('clickstream');

    // Act
    const plan = await run({ applicationName: 'clickstream', mode: 'plan' });

    // Assess
    expect(plan.result.status).toBe('SUCCEEDED');
    expect(plan.result.output.changes).toEqual([
      { action: 'iam:CreateRole', resource: ROLE('MsfCmkKeyAdmin'), detail: expect.any(String) },
      { action: 'iam:PutRolePolicy', resource: ROLE('MsfCmkKeyAdmin'), detail: 'adds inline policy msf-cmk-key-administration' },
      { action: 'kms:CreateKey', resource: '(new key)', detail: expect.any(String) },
      { action: 'kms:CreateAlias', resource: ALIAS('clickstream'), detail: expect.any(String) },
      { action: 'iam:CreatePolicy', resource: CMK_POLICY('clickstream'), detail: expect.any(String) },
      { action: 'iam:AttachRolePolicy', resource: ROLE('MsfCmkOperator'), detail: `attaches ${CMK_POLICY('clickstream')}` },
      {
        action: 'kinesisanalytics:UpdateApplication',
        resource: APP('clickstream'),
        detail: 'to CUSTOMER_MANAGED_KEY the new key alias/msf-cmk/clickstream; the application is RUNNING: Managed Flink snapshots it under its current key and restarts it on the CMK',
      },
    ]);
    expect(writesIn(plan.log)).toEqual([]);
    const after = await w.describe('clickstream');
    expect({ status: after.ApplicationStatus, version: after.ApplicationVersionId }).toEqual({ status: 'RUNNING', version: before.ApplicationVersionId });

    // The real run then makes those changes, restarting the application on the CMK.
    w.sb.sandbox.faults.log.length = 0;
    const real = await w.machine({ waitMs: 60 }).run({ applicationName: 'clickstream' });
    expect(real.status).toBe('SUCCEEDED');
    expect(changesIn(w.sb.sandbox.faults.log).sort()).toEqual(actionsOf(plan.result.output.changes).sort());
    expect((await w.describe('clickstream')).ApplicationVersionId).toBe(before.ApplicationVersionId! + 1);
  });
});
