/**
 * audit: read-only, one application or the whole account. A clean, onboarded account has no findings; each
 * planted drift — one per check — is reported in ASFF with its severity and the operation that fixes it,
 * and running that operation clears it. The audit writes nothing.
 */
import { CreateApplicationSnapshotCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import type { AsffFinding } from '../../lambdas/lib/audit';
import { operatorOf, world, type World } from './harness';

const APPS = ['reverted', 'disabled', 'deleting', 'asymmetric', 'foreign', 'openpolicy', 'nooperator', 'rotating', 'oldsnapshots', 'unreadable'];

describe('audit', () => {
  let w: World;
  beforeAll(async () => {
    w = await world({ flinkDurations: { start: 0, update: 0, snapshot: 0 } });
    for (const app of APPS) {
      await w.existingApp(app, { running: app === 'oldsnapshots' });
      const { status, error, cause } = await w.machine().run({ applicationName: app });
      expect({ app, status, error, cause }).toEqual({ app, status: 'SUCCEEDED', error: undefined, cause: undefined });
    }
  });
  afterAll(() => w.close());

  const audit = (input: object = {}) => w.operation('audit').run(input);
  const findingsOf = (out: { findings: AsffFinding[] }, app: string) => out.findings.filter((f) => f.ProductFields['msf-cmk/application'] === app);
  const keyOf = (app: string) => {
    const arn = w.sb.sandbox.state.kinesisanalytics.applications[app].Encryption.KeyId!;
    return Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.Arn === arn)!;
  };

  it('finds nothing on a clean, onboarded account, and writes nothing', async () => {
    const before = w.sb.sandbox.snapshot();
    w.sb.sandbox.faults.log.length = 0;
    const result = await audit();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ operation: 'audit', findings: [], bySeverity: {} });
    expect(result.output.applications.map((a: { applicationName: string }) => a.applicationName).sort()).toEqual([...APPS].sort());
    expect(w.sb.sandbox.faults.log.filter((e) => !/^(Describe|Get|List)/.test(e.operation) && e.operation !== 'AssumeRole')).toEqual([]);
    expect(w.sb.sandbox.diff(before)).toEqual([]);
  });

  it('reports each of ten planted drifts, one per check, with its severity and remediation, in ASFF', async () => {
    // Prepare: one drift per application.
    const s = w.sb.sandbox.state;
    s.kinesisanalytics.applications.reverted.Encryption = { KeyType: 'AWS_OWNED_KEY' };
    keyOf('disabled').KeyState = 'Disabled';
    Object.assign(keyOf('deleting'), { KeyState: 'PendingDeletion', DeletionDate: w.sb.sandbox.clock.now() + 7 * 86400000 });
    Object.assign(keyOf('asymmetric'), { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    keyOf('foreign').AWSAccountId = '111111111111';
    const open = keyOf('openpolicy');
    open.Policy = JSON.stringify({
      ...JSON.parse(open.Policy),
      Statement: JSON.parse(open.Policy).Statement.filter((st: { Principal?: { Service?: unknown } }) => !st.Principal?.Service),
    });
    const role = s.iam.roles['msf-cmk-operator-nooperator'];
    for (const n of Object.keys(role.InlinePolicies)) if (n.startsWith('msf-cmk-key-')) delete role.InlinePolicies[n];
    Object.assign(keyOf('rotating'), { RotationEnabled: true, RotationPeriodInDays: 365, NextRotationDate: w.sb.sandbox.clock.now() + 365 * 86400000 });
    await operatorOf(w, 'oldsnapshots').flink.send(new CreateApplicationSnapshotCommand({ ApplicationName: 'oldsnapshots', SnapshotName: 'under-first-key' }));
    w.sb.sandbox.advance(0);
    const first = keyOf('oldsnapshots');
    expect((await w.operation('move-key').run({ applicationName: 'oldsnapshots' })).status).toBe('SUCCEEDED');
    first.KeyState = 'Disabled';
    // A key whose pending window ran out: KMS deleted it, and its alias with it.
    const gone = keyOf('unreadable');
    delete s.kms.keys[gone.KeyId];
    delete s.kms.aliases['alias/msf-cmk/unreadable'];

    // Act
    const result = await audit();

    // Assess
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const expected: Record<string, [string, string, string]> = {
      reverted: ['on-expected-key', 'MEDIUM', 'onboard-application'],
      disabled: ['key-enabled', 'HIGH', 'manual'],
      deleting: ['key-not-pending-deletion', 'CRITICAL', 'manual'],
      asymmetric: ['key-symmetric', 'HIGH', 'move-key'],
      foreign: ['key-in-account', 'HIGH', 'move-key'],
      openpolicy: ['key-policy', 'HIGH', 'onboard-application'],
      nooperator: ['operator-key-policy', 'HIGH', 'onboard-application'],
      rotating: ['rotation', 'LOW', 'rotate-key'],
      oldsnapshots: ['snapshot-keys', 'HIGH', 'manual'],
      unreadable: ['key-readable', 'HIGH', 'manual'],
    };
    const table: string[] = [];
    for (const [app, [check, severity, operation]] of Object.entries(expected)) {
      const found = findingsOf(result.output, app);
      table.push(
        `${app.padEnd(14)} → ${found.map((f) => `${f.GeneratorId.split('/').pop()} ${f.Severity.Label} (${f.ProductFields['msf-cmk/remediation-operation']})`).join(', ')}`,
      );
      expect(found.map((f) => [f.GeneratorId, f.Severity.Label, f.ProductFields['msf-cmk/remediation-operation']])).toContainEqual([
        `msf-cmk-orchestrator/audit/${check}`,
        severity,
        operation,
      ]);
    }
    console.log(`audit of ten planted drifts\n${table.join('\n')}`);
    // A pending deletion is reported as such, not also as "not enabled"; the drift on one app stays on it.
    expect(findingsOf(result.output, 'deleting').map((f) => f.GeneratorId)).not.toContain('msf-cmk-orchestrator/audit/key-enabled');
    expect(findingsOf(result.output, 'rotating')).toHaveLength(1);
    // Every finding carries ASFF's required fields.
    for (const f of result.output.findings as AsffFinding[]) {
      expect(f).toMatchObject({
        SchemaVersion: '2018-10-08',
        AwsAccountId: '000000000000',
        ProductArn: 'arn:aws:securityhub:us-east-1:000000000000:product/000000000000/default',
        Types: [expect.any(String)],
      });
      for (const field of ['Id', 'CreatedAt', 'UpdatedAt', 'Description', 'Title', 'Resources', 'Severity', 'GeneratorId']) expect(f).toHaveProperty(field);
      expect(f.Remediation.Recommendation.Text.length).toBeGreaterThan(10);
    }
  });

  it('audits one application when named, and running the named remediation clears its findings', async () => {
    for (const app of ['openpolicy', 'nooperator', 'reverted']) {
      const before = await audit({ applicationName: app });
      expect(before.output.findings.length).toBeGreaterThan(0);
      expect(before.output.applications).toEqual([expect.objectContaining({ applicationName: app })]);
      expect(before.output.findings[0].ProductFields['msf-cmk/remediation-operation']).toBe('onboard-application');
      const { status, error, cause } = await w.machine().run({ applicationName: app });
      expect({ app, status, error, cause }).toEqual({ app, status: 'SUCCEEDED', error: undefined, cause: undefined });
      expect((await audit({ applicationName: app })).output.findings).toEqual([]);
    }
    // The rotation finding names rotate-key with the configured setting.
    expect((await audit({ applicationName: 'rotating' })).output.findings[0].ProductFields['msf-cmk/remediation-operation']).toBe('rotate-key');
    expect((await w.operation('rotate-key').run({ applicationName: 'rotating', rotation: 'off' })).status).toBe('SUCCEEDED');
    expect((await audit({ applicationName: 'rotating' })).output.findings).toEqual([]);
  });

  it('refuses an input it does not know, by field', async () => {
    const result = await audit({ applicationName: 'orders', keyId: 'alias/x' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringContaining('keyId: is not a field of audit') });
  });
});
