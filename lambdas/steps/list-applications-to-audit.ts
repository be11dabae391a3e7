/**
 * ListApplicationsToAudit: the audit's input — one application, or every application of the account and
 * Region — and what it expects (rotation as configured). Reads only, as the orchestrator.
 */
import { ListApplicationsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import type { Expectations } from '../lib/audit';
import { InvalidInput } from '../lib/errors';
import { contextOf, type Context } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { describeApplication } from '../lib/reads';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';

export interface AuditPlan {
  context: Context;
  applications: string[];
  expectations: Expectations;
}

const NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** `{"applicationName"?: string, "rotation"?: "off" | "automatic"}`: anything else is refused by name. */
export function auditInput(input: unknown): { applicationName?: string; expectations: Expectations } {
  const i = (input ?? {}) as Record<string, unknown>;
  const problems = Object.keys(i)
    .filter((k) => !['applicationName', 'rotation'].includes(k))
    .map((k) => `${k}: is not a field of audit`);
  if (i.applicationName !== undefined && (typeof i.applicationName !== 'string' || !NAME.test(i.applicationName)))
    problems.push('applicationName: must be a Managed Flink application name');
  if (i.rotation !== undefined && i.rotation !== 'off' && i.rotation !== 'automatic') problems.push('rotation: must be "off" or "automatic"');
  if (problems.length) throw new InvalidInput(problems.join('; '));
  return { applicationName: i.applicationName as string | undefined, expectations: { rotation: (i.rotation as Expectations['rotation']) ?? 'off' } };
}

export const handler = task('ListApplicationsToAudit', 'orchestrator', async (event: { input: unknown; execution: { Id: string } }): Promise<AuditPlan> => {
  const { applicationName, expectations } = auditInput(event.input);
  deployment();
  const context = contextOf(event.execution.Id);
  const { flink } = await clientsAs('orchestrator', { step: 'ListApplicationsToAudit', context, applicationName: applicationName ?? '*' }, 'read');
  if (applicationName) {
    if (!(await describeApplication(flink, applicationName))) throw new InvalidInput(`applicationName: ${applicationName} does not exist in ${context.region}`);
    return { context, applications: [applicationName], expectations };
  }
  const applications: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await flink.send(new ListApplicationsCommand({ Limit: 50, NextToken }));
    applications.push(...(page.ApplicationSummaries ?? []).map((a) => a.ApplicationName!));
    NextToken = page.NextToken;
  } while (NextToken);
  return { context, applications, expectations };
});
