/**
 * One look at an application operation (facts §5 "Track async work"), shared by the switch and its revert:
 * no sleeping — a Wait state waits, this reports, a Choice decides. One call per look: the operation's
 * status (or, when the operation id was never learnt, the application's).
 */
import { DescribeApplicationOperationCommand, type KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { ApplicationUpdateFailed } from './errors';
import { describeApplication } from './reads';
import type { Decision } from './changes';
import type { PollResult } from './model';

export const STABLE_STATUSES = ['READY', 'RUNNING'];
export const FIRST_POLL_SECONDS = 5;
/** Polls wait at most this long, so a finished restart is noticed within half a minute. */
export const MAX_POLL_SECONDS = 30;

/** The wait before the next look: doubling from the last one, never more than MAX_POLL_SECONDS. */
export const nextWaitSeconds = (previous: number) => Math.min(Math.max(previous, 1) * 2, MAX_POLL_SECONDS);

export async function pollOperation(
  flink: KinesisAnalyticsV2Client,
  applicationName: string,
  operationId: string | undefined,
  previous: PollResult,
): Promise<PollResult> {
  const next = { attempt: previous.attempt + 1, waitSeconds: nextWaitSeconds(previous.waitSeconds) };
  if (!operationId) {
    const status = (await describeApplication(flink, applicationName))?.ApplicationStatus;
    return { ...next, done: STABLE_STATUSES.includes(status ?? ''), applicationStatus: status };
  }
  const info = (await flink.send(new DescribeApplicationOperationCommand({ ApplicationName: applicationName, OperationId: operationId })))
    .ApplicationOperationInfoDetails;
  const operationStatus = info?.OperationStatus;
  if (operationStatus === 'FAILED' || operationStatus === 'CANCELLED') {
    const why = info?.OperationFailureDetails?.ErrorInfo?.ErrorString ?? 'no error details';
    throw new ApplicationUpdateFailed(`The operation ${operationId} of ${applicationName} ended ${operationStatus}: ${why}`);
  }
  return { ...next, done: operationStatus === 'SUCCESSFUL', operationStatus };
}

/** An UpdateApplication step's result once applied: the operation to follow, and the status the answer showed. */
export function settleUpdate<O extends { poll: PollResult }>(decision: Decision<O>, [answer]: unknown[]): O & { operationId?: string } {
  const out = answer as { OperationId?: string; ApplicationDetail?: { ApplicationStatus?: string } };
  return { ...decision.outcome, operationId: out.OperationId, poll: { ...decision.outcome.poll, applicationStatus: out.ApplicationDetail?.ApplicationStatus } };
}
