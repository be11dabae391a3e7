/**
 * What a new user runs: `npm start` as it is (day one, then day two), with an input file (a plan, the
 * adopt-existing-key example), with `--verbose`, and `cli start --endpoint` with no AWS environment at all.
 */
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demo } from '../../local/demo';
import type { OnboardingReport } from '../../lambdas/steps/verify-encryption';
import { startExecution } from '../../local/start';
import { startSandbox } from '../../local/sandbox/server';

const example = (name: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'statemachine', 'examples', name), 'utf8'));

/** What `run` prints through console.log and to stdout, and its result. */
async function printed<T>(run: () => Promise<T>): Promise<{ result: T; out: string }> {
  const chunks: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void chunks.push(`${args.join(' ')}\n`));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    return { result: await run(), out: chunks.join('') };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

describe('npm start with an input (on the CDK app deployed into the embedded sandbox)', () => {
  it('prints the change list of a "mode": "plan" input, adopts the key the adopt-existing-key example names, and with --verbose prints the step log lines', async () => {
    const inputs = [{ ...example('existing-application.json'), mode: 'plan' }, example('adopt-existing-key.json')];
    const { result, out } = await printed(() => demo({ fast: true, verbose: true, inputs }));
    expect(out).not.toContain('Cannot read properties');
    expect(out).not.toMatch(/Failed|FAILED/);
    expect(result.exitCode).toBe(0);
    // Day two is the demo account's, not an input's.
    expect(result.dayTwo).toBeUndefined();
    expect(out).not.toContain('Day two');
    expect(out).toMatch(/Plan for clickstream: 6 changes, nothing written/);
    expect(out).toMatch(/ 1\. iam:CreateRole arn:aws:iam::000000000000:role\/msf-cmk\/msf-cmk-operator-clickstream/);
    expect(out).toMatch(/ 6\. kinesisanalytics:UpdateApplication .*application\/clickstream/);
    expect(out).toMatch(/key arn:aws:kms:\S+ \(adopted, Enabled\)/);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.state)).toEqual(
      expect.arrayContaining(['ValidateInput', 'DecideCreateKey', 'SwitchApplicationToCmk', 'CheckUpdate', 'VerifyEncryption']),
    );
    for (const l of lines)
      expect(l).toMatchObject({
        execution: expect.stringContaining(':execution:'),
        application: 'clickstream',
        persona: expect.any(String),
        outcome: 'succeeded',
        durationMs: expect.any(Number),
      });
  }, 120_000);
});

describe('npm start as it is: day one, then day two', () => {
  it("onboards both applications, then audits the account, rotates the RUNNING one's key and moves it to a new key, and reads that back; no log line without --verbose", async () => {
    const { result, out } = await printed(() => demo({ fast: true }));
    expect(out).not.toMatch(/Failed|FAILED|Cannot read properties/);
    expect(result.exitCode).toBe(0);
    expect(out.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    const dayOne = result.onboarded.find((r) => r.applicationName === 'clickstream') as OnboardingReport;
    const { audit, rotation, move, readBack } = result.dayTwo!;

    // The whole account: what the demo onboarded is clean; the two applications it left on the AWS owned key are not.
    expect(audit!.applications.map((a) => a.applicationName).sort()).toEqual(['clickstream', 'legacy', 'orders', 'payments']);
    expect(
      audit!.findings.map((f) => [f.ProductFields['msf-cmk/application'], f.GeneratorId, f.ProductFields['msf-cmk/remediation-operation']]).sort(),
    ).toEqual([
      ['legacy', 'msf-cmk-orchestrator/audit/on-expected-key', 'onboard-application'],
      ['orders', 'msf-cmk-orchestrator/audit/on-expected-key', 'onboard-application'],
    ]);
    expect(out).toContain('Audit of 4 applications: 2 findings (LOW 2)');

    // The rotation is of the key onboarding made, and the application is RUNNING: it is restarted to use the new material.
    expect(rotation).toMatchObject({
      keyArn: dayOne.key.keyArn,
      restart: { restarted: true, applicationStatus: 'RUNNING' },
      restartNeeded: false,
      onDemandRemaining: 24,
    });
    expect(readBack.rotations).toEqual(rotation!.rotations);
    expect(readBack.rotations.map((r) => r.type)).toEqual(['ON_DEMAND']);
    expect(out).toContain(`Rotated ${dayOne.key.keyArn} (clickstream's key) on demand; 24 on-demand rotations left`);
    expect(out).toContain(`clickstream restarted from the snapshot Managed Flink took first: RUNNING at version ${rotation!.restart.versionId}`);

    // The move: a new key, which DescribeApplication reports; the old one kept, Enabled, for the snapshots taken under it.
    expect(move!.key.keyArn).not.toBe(dayOne.key.keyArn);
    expect(move!.key.created).toBe(true);
    expect(readBack.application).toEqual({ status: 'RUNNING', keyType: 'CUSTOMER_MANAGED_KEY', keyId: move!.key.keyArn });
    expect(move!.previousKey).toMatchObject({ keyArn: dayOne.key.keyArn, keyState: 'Enabled', retirable: false });
    // Two snapshots are under it: the rotation's restart took one, the move's restart the other.
    expect(move!.previousKey!.referencedBy).toEqual([expect.stringMatching(/^snapshot /), expect.stringMatching(/^snapshot /)]);
    expect(readBack.previousKeyState).toBe('Enabled');
    expect(out).toContain(`clickstream now on CUSTOMER_MANAGED_KEY ${move!.key.keyArn}`);
    expect(out).toContain(`previous key ${dayOne.key.keyArn} kept, Enabled: needed by ${move!.previousKey!.referencedBy[0]}`);
    // Day two comes after day one's report, and ends with its own read-back.
    expect(out.indexOf('Report')).toBeLessThan(out.indexOf('Day two'));
    expect(out.indexOf('▶ MoveKey')).toBeLessThan(out.indexOf('Day two, read back'));
  }, 120_000);
});

describe('cli start --endpoint', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reaches the sandbox with no AWS_REGION and no credentials in the environment, as npm start --endpoint does', async () => {
    const sb = await startSandbox({ port: 0 });
    try {
      // No Region, no credentials, no shared config: what a fresh shell has.
      const home = mkdtempSync(join(tmpdir(), 'msf-cmk-home-'));
      writeFileSync(join(home, 'config'), '');
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, {
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:Missing';
      await expect(
        startExecution({ endpoint: sb.endpoint, stateMachineArn: arn, input: { applicationName: 'orders' } }, () => undefined),
      ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    } finally {
      await sb.close();
    }
  });
});
