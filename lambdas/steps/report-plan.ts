/**
 * ReportPlan (plan mode): what a real run would change — the ledger the Decide states recorded, every
 * change with its action, resource and what it does, in the order apply would make them. Pure.
 */
import { task } from '../lib/step';
import { ledgerChanges, type WorkflowState } from '../lib/model';

export interface PlannedChange {
  action: string;
  resource: string;
  detail: string;
}

export interface PlanReport {
  mode: 'plan';
  applicationName: string;
  changes: PlannedChange[];
}

export const handler = task('ReportPlan', 'none', async (state: WorkflowState): Promise<PlanReport> => {
  return {
    mode: 'plan',
    applicationName: state.config.applicationName,
    changes: ledgerChanges(state).map(({ action, resource, detail }) => ({ action, resource, detail })),
  };
});
