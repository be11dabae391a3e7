/**
 * ReportFindings: the audit's output — every application's findings in ASFF, counted by severity. With the
 * deployment's `securityHubFindings`, it also imports them into Security Hub as the orchestrator, in calls of
 * at most 100 (next §2.3); otherwise it is pure and makes no client.
 */
import { BatchImportFindingsCommand, type AwsSecurityFinding, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { AsffFinding } from '../lib/audit';
import { logger } from '../lib/observability';
import { clientsAs } from '../lib/personas';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';
import type { ApplicationAudit } from './audit-application';
import type { AuditPlan } from './list-applications-to-audit';

/** BatchImportFindings takes at most 100 findings a call [BIF]. */
export const FINDINGS_PER_CALL = 100;

export interface SecurityHubImport {
  /** Findings Security Hub accepted (created, updated, or already as recent). */
  imported: number;
  failedCount: number;
  /** Each finding Security Hub refused, with its reason: the audit still reports it in `findings`. */
  failed: { id: string; errorCode: string; errorMessage: string }[];
}

export interface AuditReport {
  operation: 'audit';
  applications: { applicationName: string; encryption: ApplicationAudit['encryption']; snapshotsByKey: Record<string, string[]>; findings: number }[];
  bySeverity: Record<string, number>;
  findings: AsffFinding[];
  /** Only with `securityHubFindings`. */
  securityHub?: SecurityHubImport;
}

/**
 * Imports the findings in calls of at most 100. A call AWS refuses (throttled, denied) throws, and the state
 * machine's Retry repeats the step: findings already imported come back with the same UpdatedAt, which
 * Security Hub does not apply again, so a repeat changes nothing.
 */
export async function importFindings(securityhub: SecurityHubClient, findings: AsffFinding[]): Promise<SecurityHubImport> {
  const result: SecurityHubImport = { imported: 0, failedCount: 0, failed: [] };
  for (let i = 0; i < findings.length; i += FINDINGS_PER_CALL) {
    const batch = findings.slice(i, i + FINDINGS_PER_CALL) as AwsSecurityFinding[];
    const out = await securityhub.send(new BatchImportFindingsCommand({ Findings: batch }));
    result.imported += out.SuccessCount ?? 0;
    for (const f of out.FailedFindings ?? []) result.failed.push({ id: f.Id ?? '', errorCode: f.ErrorCode ?? '', errorMessage: f.ErrorMessage ?? '' });
  }
  result.failedCount = result.failed.length;
  return result;
}

export const handler = task('ReportFindings', 'orchestrator', async (event: { audit: AuditPlan; results: ApplicationAudit[] }): Promise<AuditReport> => {
  const findings = event.results.flatMap((r) => r.findings);
  const bySeverity: Record<string, number> = {};
  for (const f of findings) bySeverity[f.Severity.Label] = (bySeverity[f.Severity.Label] ?? 0) + 1;
  const report: AuditReport = {
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
  if (!deployment().securityHubFindings) return report;
  const actor = { step: 'ReportFindings', context: event.audit.context, applicationName: '*' };
  const securityHub = await importFindings((await clientsAs('orchestrator', actor, 'write')).securityhub, findings);
  // A refused finding is in the output and, so nobody misses it, a WARN line (ids and reasons, no documents).
  if (securityHub.failedCount)
    logger().warn(`ReportFindings: Security Hub refused ${securityHub.failedCount} of ${findings.length} findings`, {
      failedCount: securityHub.failedCount,
      failed: securityHub.failed,
    });
  return { ...report, securityHub };
});
