/**
 * CheckUpdate: one look at the key-changing update (facts §5 "Track async work"). No sleeping here —
 * the Wait state waits, this step reports, a Choice decides; the interval doubles up to a minute.
 */
import { DescribeApplicationCommand, DescribeApplicationOperationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator } from '../lib/personas';
import { ApplicationUpdateFailed, PreconditionFailed } from '../lib/errors';
import { STABLE_STATUSES } from './ensure-application';
import type { PollResult, WorkflowState } from '../lib/model';

export const MAX_POLL_SECONDS = 60;

export async function handler(state: WorkflowState): Promise<PollResult> {
  const sw = state.switch;
  if (!sw) throw new PreconditionFailed('CheckUpdate runs only after SwitchApplicationToCmk.');
  const { flink } = await asOperator(state, 'CheckUpdate');
  const attempt = sw.poll.attempt + 1;
  const waitSeconds = Math.min(sw.poll.waitSeconds * 2, MAX_POLL_SECONDS);
  let operationStatus: string | undefined;
  if (sw.operationId) {
    const op = await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: state.config.applicationName, OperationId: sw.operationId }));
    const info = op.ApplicationOperationInfoDetails;
    operationStatus = info?.OperationStatus;
    if (operationStatus === 'FAILED' || operationStatus === 'CANCELLED') {
      const why = info?.OperationFailureDetails?.ErrorInfo?.ErrorString ?? 'no error details';
      throw new ApplicationUpdateFailed(`The update ${sw.operationId} of ${state.config.applicationName} ended ${operationStatus}: ${why}`);
    }
  }
  const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: state.config.applicationName }))).ApplicationDetail!;
  const done = (operationStatus === undefined || operationStatus === 'SUCCESSFUL') && STABLE_STATUSES.includes(app.ApplicationStatus!);
  return { done, attempt, waitSeconds, operationStatus, applicationStatus: app.ApplicationStatus };
}
