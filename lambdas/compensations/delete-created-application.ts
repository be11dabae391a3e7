/**
 * Undoes EnsureApplication's creation: deletes the application if this execution created it (it was
 * left READY on the AWS owned key, so no data is lost). An application that existed is never deleted.
 */
import { DeleteApplicationCommand, DescribeApplicationCommand, ListTagsForResourceCommand, type ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator } from '../lib/personas';
import { ApplicationBusy, isAwsError } from '../lib/errors';
import { STABLE_STATUSES } from '../lib/poll';
import { createdByThisExecution, type UndoState, type WorkflowState } from '../lib/model';

export async function handler(state: WorkflowState): Promise<NonNullable<UndoState['application']>> {
  // Only an execution that may have created it looks (a missing operator role means it never got that far).
  if (!state.config.createApplication || !state.operator) return { deleted: false };
  const { flink } = await asOperator(state, 'DeleteCreatedApplication');
  let app: ApplicationDetail;
  try {
    app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: state.config.applicationName }))).ApplicationDetail!;
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return { deleted: false };
    throw e;
  }
  const tags = (await flink.send(new ListTagsForResourceCommand({ ResourceARN: app.ApplicationARN }))).Tags;
  if (!createdByThisExecution(tags, state)) return { deleted: false };
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; deletion waits.`);
  await flink.send(new DeleteApplicationCommand({ ApplicationName: app.ApplicationName, CreateTimestamp: app.CreateTimestamp }));
  return { deleted: true };
}
