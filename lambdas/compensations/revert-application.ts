/**
 * Undoes SwitchApplicationToCmk: puts the application back on the encryption it had before this
 * execution (captured by EnsureApplication), while the operator still has rights on the CMK — leaving a
 * CMK needs them (facts §5, §7). Decided from what the application reports, so a switch whose result
 * was lost in a crash is still undone, and one MSF already rolled back is left alone.
 */
import { isDeepStrictEqual } from 'node:util';
import { DescribeApplicationCommand, UpdateApplicationCommand, type ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator } from '../lib/personas';
import { ApplicationBusy, isAwsError } from '../lib/errors';
import { FIRST_POLL_SECONDS, STABLE_STATUSES } from '../lib/poll';
import { encryptionOf } from '../steps/ensure-application';
import type { RevertResult, WorkflowState } from '../lib/model';

const NOTHING: RevertResult = { reverted: false, poll: { done: true, attempt: 0, waitSeconds: 0 } };

export async function handler(state: WorkflowState): Promise<RevertResult> {
  const before = state.application?.encryption;
  const keyArn = state.key?.keyArn;
  if (!before || !keyArn) return NOTHING;
  const { flink } = await asOperator(state, 'RevertApplication');
  let app: ApplicationDetail;
  try {
    app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: state.config.applicationName }))).ApplicationDetail!;
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return NOTHING;
    throw e;
  }
  const now = encryptionOf(app);
  if (now.KeyType !== 'CUSTOMER_MANAGED_KEY' || now.KeyId !== keyArn || isDeepStrictEqual(now, before)) return NOTHING;
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) {
    throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; the revert waits for READY or RUNNING.`);
  }
  const out = await flink.send(
    new UpdateApplicationCommand({
      ApplicationName: state.config.applicationName,
      CurrentApplicationVersionId: app.ApplicationVersionId,
      ApplicationConfigurationUpdate: {
        ApplicationEncryptionConfigurationUpdate:
          before.KeyType === 'AWS_OWNED_KEY' ? { KeyTypeUpdate: 'AWS_OWNED_KEY' } : { KeyTypeUpdate: 'CUSTOMER_MANAGED_KEY', KeyIdUpdate: before.KeyId },
      },
    }),
  );
  return { reverted: true, operationId: out.OperationId, to: before, poll: { done: false, attempt: 0, waitSeconds: FIRST_POLL_SECONDS } };
}
