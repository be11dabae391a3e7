/**
 * EnsureApplication (facts §2 step 2), as the operator: the application exists and runs Flink 1.20 or
 * newer (facts §6). If it is missing and the input says how to create it, the operator creates it with
 * the AWS owned key and leaves it READY, so no data exists at rest before the CMK.
 */
import {
  CreateApplicationCommand,
  DescribeApplicationCommand,
  type ApplicationDetail,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator } from '../lib/personas';
import { ApplicationBusy, ApplicationNotFound, UnsupportedRuntime, isAwsError } from '../lib/errors';
import { STABLE_STATUSES } from '../lib/poll';
import { creationTags, type ApplicationResult, type EncryptionConfig, type WorkflowState } from '../lib/model';

/** FLINK-1_20, FLINK-2_2 … → [1, 20], [2, 2]; CMK needs ≥ 1.20 (facts §6). */
export function supportsCmk(runtime: string | undefined): boolean {
  const m = /^FLINK-(\d+)_(\d+)$/.exec(runtime ?? '');
  return !!m && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 20));
}


export function encryptionOf(app: ApplicationDetail): EncryptionConfig {
  const d = app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
  return d?.KeyType === 'CUSTOMER_MANAGED_KEY' ? { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: d.KeyId } : { KeyType: 'AWS_OWNED_KEY' };
}

export async function handler(state: WorkflowState): Promise<ApplicationResult> {
  const { config } = state;
  const { flink } = await asOperator(state, 'EnsureApplication');
  let app: ApplicationDetail | undefined;
  let created = false;
  try {
    app = (await flink.send(new DescribeApplicationCommand({ ApplicationName: config.applicationName }))).ApplicationDetail;
  } catch (e) {
    if (!isAwsError(e, 'ResourceNotFoundException')) throw e;
  }
  if (!app) {
    const spec = config.createApplication;
    if (!spec) {
      throw new ApplicationNotFound(
        `Application ${config.applicationName} does not exist in ${state.context.region}, and the input has no createApplication spec to create it.`,
      );
    }
    app = (
      await flink.send(
        new CreateApplicationCommand({
          ApplicationName: config.applicationName,
          ApplicationDescription: spec.applicationDescription,
          RuntimeEnvironment: spec.runtimeEnvironment as never,
          ServiceExecutionRole: spec.serviceExecutionRoleArn,
          // No ApplicationEncryptionConfiguration: the AWS owned key (facts §5 "Create with AOK").
          Tags: creationTags(state),
        }),
      )
    ).ApplicationDetail!;
    created = true;
  }
  if (!supportsCmk(app.RuntimeEnvironment)) {
    throw new UnsupportedRuntime(
      `Application ${app.ApplicationName} runs ${app.RuntimeEnvironment}; customer managed keys need FLINK-1_20 or newer. Upgrade the runtime in place first (UpdateApplication with RuntimeEnvironmentUpdate).`,
    );
  }
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) {
    throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; waiting for READY or RUNNING.`);
  }
  return {
    applicationArn: app.ApplicationARN!,
    created,
    status: app.ApplicationStatus!,
    versionId: app.ApplicationVersionId!,
    runtimeEnvironment: app.RuntimeEnvironment!,
    encryption: encryptionOf(app),
  };
}
