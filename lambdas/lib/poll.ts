/**
 * One look at an application operation (facts §5 "Track async work"), shared by the forward update and
 * its revert: no sleeping — a Wait state waits, this reports, a Choice decides.
 */
import { DescribeApplicationCommand, DescribeApplicationOperationCommand, type KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { ApplicationUpdateFailed } from './errors';
import type { PollResult } from './model';

export const STABLE_STATUSES = ['READY', 'RUNNING'];
export const FIRST_POLL_SECONDS = 5;
export const MAX_POLL_SECONDS = 60;

export async function pollOperation(flink: KinesisAnalyticsV2Client, applicationName: string, operationId: string | undefined, previous: PollResult): Promise<PollResult> {
  let operationStatus: string | undefined;
  if (operationId) {
    const op = await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: applicationName, OperationId: operationId }));
    const info = op.ApplicationOperationInfoDetails;
    operationStatus = info?.OperationStatus;
    if (operationStatus === 'FAILED' || operationStatus === 'CANCELLED') {
      const why = info?.OperationFailureDetails?.ErrorInfo?.ErrorString ?? 'no error details';
      throw new ApplicationUpdateFailed(`The update ${operationId} of ${applicationName} ended ${operationStatus}: ${why}`);
    }
  }
  const app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: applicationName }))).ApplicationDetail!;
  const done = (operationStatus === undefined || operationStatus === 'SUCCESSFUL') && STABLE_STATUSES.includes(app.ApplicationStatus!);
  return {
    done,
    attempt: previous.attempt + 1,
    waitSeconds: Math.min(Math.max(previous.waitSeconds, 1) * 2, MAX_POLL_SECONDS),
    operationStatus,
    applicationStatus: app.ApplicationStatus,
  };
}
