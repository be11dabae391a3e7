/**
 * audit with the deployment's securityHubFindings: the findings of an account with a drift are imported into
 * Security Hub as the account's own product (read back with GetFindings), a repeat updates rather than
 * duplicates, a throttled import is retried by the state machine, and a refused finding is reported, not
 * dropped. Without the setting nothing reaches Security Hub.
 */
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { AsffFinding } from '../../lambdas/lib/audit';
import { importFindings } from '../../lambdas/steps/report-findings';
import { world, type World } from './harness';

const APP = 'drifted';
const GENERATOR = 'msf-cmk-orchestrator/audit/key-enabled';

/** An onboarded application whose key someone disabled: one finding (key-enabled, HIGH). */
async function driftedWorld(securityHubFindings: boolean): Promise<World> {
  const w = await world({ settings: { securityHubFindings } });
  await w.existingApp(APP);
  expect((await w.machine().run({ applicationName: APP })).status).toBe('SUCCEEDED');
  const keyArn = w.sb.sandbox.state.kinesisanalytics.applications[APP].Encryption.KeyId!;
  Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.Arn === keyArn)!.KeyState = 'Disabled';
  return w;
}
const hubOf = (w: World) => new SecurityHubClient({ ...w.sb.clientConfig(), maxAttempts: 1 });
const imported = async (w: World) => (await hubOf(w).send(new GetFindingsCommand({}))).Findings ?? [];

describe('audit into Security Hub', () => {
  describe('with securityHubFindings', () => {
    let w: World;
    beforeAll(async () => {
      w = await driftedWorld(true);
    });
    afterAll(() => w.close());

    it("imports the drift's finding as the account's own product, and a second audit updates it instead of adding one", async () => {
      // Act
      const first = await w.operation('audit').run({});
      const again = await w.operation('audit').run({});
      // Assess
      expect([first.status, first.error, first.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
      const finding = (first.output.findings as AsffFinding[]).find((f) => f.GeneratorId === GENERATOR)!;
      expect(first.output.securityHub).toEqual({ imported: first.output.findings.length, failedCount: 0, failed: [] });
      expect(again.output.securityHub).toMatchObject({ failedCount: 0 });
      const read = await hubOf(w).send(new GetFindingsCommand({ Filters: { GeneratorId: [{ Value: GENERATOR, Comparison: 'EQUALS' }] } }));
      expect(read.Findings).toEqual([
        expect.objectContaining({
          Id: finding.Id,
          ProductArn: 'arn:aws:securityhub:us-east-1:000000000000:product/000000000000/default',
          AwsAccountId: '000000000000',
          Severity: { Label: 'HIGH' },
          RecordState: 'ACTIVE',
          Resources: [expect.objectContaining({ Type: 'AwsKmsKey', Id: finding.Resources[0].Id })],
          UpdatedAt: (again.output.findings as AsffFinding[]).find((f) => f.GeneratorId === GENERATOR)!.UpdatedAt,
        }),
      ]);
      expect((await imported(w)).map((f) => f.Id).sort()).toEqual((again.output.findings as AsffFinding[]).map((f) => f.Id).sort());
      // The import is the orchestrator's, as its own session.
      expect(w.sb.sandbox.faults.log.filter((e) => e.operation === 'BatchImportFindings').map((e) => [e.caller.split('/')[1], e.outcome])).toContainEqual([
        'MsfCmkOrchestrator',
        'OK',
      ]);
    });

    it('succeeds after a throttled import, which the state machine retries', async () => {
      // Prepare
      w.sb.sandbox.state.securityhub = { findings: {} };
      w.sb.sandbox.faults.inject({ service: 'securityhub', operation: 'BatchImportFindings', error: 'TooManyRequestsException', status: 429, times: 1 });
      // Act
      const result = await w.operation('audit').run({});
      // Assess
      expect([result.status, result.output.securityHub?.failedCount]).toEqual(['SUCCEEDED', 0]);
      expect((await imported(w)).map((f) => f.GeneratorId)).toContain(GENERATOR);
    });

    it('reports each finding Security Hub refuses, with its reason, and imports the rest', async () => {
      // Prepare: one of the audit's own findings, and the same under a product this account has not enabled.
      const [mine] = (await w.operation('audit').run({})).output.findings as AsffFinding[];
      const partner = { ...mine, Id: `${mine.Id}/partner`, ProductArn: 'arn:aws:securityhub:us-east-1::product/someone/something' };
      // Act
      const out = await importFindings(hubOf(w), [mine, partner]);
      // Assess
      expect(out).toEqual({
        imported: 1,
        failedCount: 1,
        failed: [{ id: partner.Id, errorCode: 'InvalidAccess', errorMessage: expect.stringContaining('not enabled') }],
      });
    });
  });

  it('without securityHubFindings imports nothing and makes no Security Hub call', async () => {
    const w = await driftedWorld(false);
    try {
      // Act
      const result = await w.operation('audit').run({});
      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect((result.output.findings as AsffFinding[]).map((f) => f.GeneratorId)).toContain(GENERATOR);
      expect(result.output.securityHub).toBeUndefined();
      expect(w.sb.sandbox.faults.log.filter((e) => e.service === 'securityhub')).toEqual([]);
      expect(await imported(w)).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
