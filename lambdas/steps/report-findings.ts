/** ReportFindings: the audit's output — every application's findings in ASFF, counted by severity. Pure. */
import { task } from '../lib/step';
import type { AsffFinding } from '../lib/audit';
import type { ApplicationAudit } from './audit-application';

export interface AuditReport {
  operation: 'audit';
  applications: { applicationName: string; encryption: ApplicationAudit['encryption']; snapshotsByKey: Record<string, string[]>; findings: number }[];
  bySeverity: Record<string, number>;
  findings: AsffFinding[];
}

export const handler = task('ReportFindings', 'none', async (event: { results: ApplicationAudit[] }): Promise<AuditReport> => {
  const findings = event.results.flatMap((r) => r.findings);
  const bySeverity: Record<string, number> = {};
  for (const f of findings) bySeverity[f.Severity.Label] = (bySeverity[f.Severity.Label] ?? 0) + 1;
  return {
    operation: 'audit',
    applications: event.results.map(({ applicationName, encryption, snapshotsByKey, findings: f }) => ({
      applicationName,
      encryption,
      snapshotsByKey,
      findings: f.length,
    })),
    bySeverity,
    findings,
  };
});
