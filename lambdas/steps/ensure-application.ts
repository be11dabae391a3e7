/**
 * EnsureApplication (facts §2 step 2), as the operator: the application exists and runs Flink 1.20 or
 * newer (facts §6). If it is missing and the input says how to create it, the operator creates it with
 * the AWS owned key and leaves it READY, so no data exists at rest before the CMK.
 */
import {
  CreateApplicationCommand,
  DescribeApplicationCommand,
  type ApplicationDetail,
  type KinesisAnalyticsV2Client,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { asOperator } from '../lib/personas';
import { ApplicationBusy, ApplicationNotFound, UnsupportedRuntime, isAwsError } from '../lib/errors';
import { STABLE_STATUSES } from '../lib/poll';
import { cannotReadAs, change, isPlan, readAs, type Planned } from '../lib/plan';
import { appArn, creationTags, type ApplicationResult, type EncryptionConfig, type WorkflowState } from '../lib/model';

/** FLINK-1_20, FLINK-2_2 … → [1, 20], [2, 2]; CMK needs ≥ 1.20 (facts §6). */
export function supportsCmk(runtime: string | undefined): boolean {
  const m = /^FLINK-(\d+)_(\d+)$/.exec(runtime ?? '');
  return !!m && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 20));
}


export function encryptionOf(app: ApplicationDetail): EncryptionConfig {
  const d = app.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
  return d?.KeyType === 'CUSTOMER_MANAGED_KEY' ? { KeyType: 'CUSTOMER_MANAGED_KEY', KeyId: d.KeyId } : { KeyType: 'AWS_OWNED_KEY' };
}

async function describeApplication(flink: KinesisAnalyticsV2Client, name: string): Promise<ApplicationDetail | undefined> {
  try {
    return (await flink.send(new DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail;
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return undefined;
    throw e;
  }
}

/** An application the switch can take: Flink 1.20+ (facts §6), and not in the middle of another change. */
function assertUsable(app: ApplicationDetail): void {
  if (!supportsCmk(app.RuntimeEnvironment)) {
    throw new UnsupportedRuntime(
      `Application ${app.ApplicationName} runs ${app.RuntimeEnvironment}; customer managed keys need FLINK-1_20 or newer. Upgrade the runtime in place first (UpdateApplication with RuntimeEnvironmentUpdate).`,
    );
  }
  if (!STABLE_STATUSES.includes(app.ApplicationStatus!)) {
    throw new ApplicationBusy(`Application ${app.ApplicationName} is ${app.ApplicationStatus}; waiting for READY or RUNNING.`);
  }
}

const notFound = (state: WorkflowState) =>
  new ApplicationNotFound(
    `Application ${state.config.applicationName} does not exist in ${state.context.region}, and the input has no createApplication spec to create it.`,
  );

const resultOf = (app: ApplicationDetail, created: boolean): ApplicationResult => ({
  applicationArn: app.ApplicationARN!,
  created,
  status: app.ApplicationStatus!,
  versionId: app.ApplicationVersionId!,
  runtimeEnvironment: app.RuntimeEnvironment!,
  encryption: encryptionOf(app),
});

export async function handler(state: WorkflowState): Promise<Planned<ApplicationResult>> {
  const { config } = state;
  if (isPlan(state)) return plan(state);
  const { flink } = await asOperator(state, 'EnsureApplication');
  let app = await describeApplication(flink, config.applicationName);
  let created = false;
  if (!app) {
    const spec = config.createApplication;
    if (!spec) throw notFound(state);
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
  assertUsable(app);
  return resultOf(app, created);
}

/**
 * Plan mode: read the application as the operator when it can (readAs); otherwise only the input says
 * what happens, so a creation is planned "if it does not exist" and the status is UNKNOWN.
 */
async function plan(state: WorkflowState): Promise<Planned<ApplicationResult>> {
  const { config } = state;
  const reader = await readAs(state, 'operator', 'EnsureApplication');
  const app = reader && (await describeApplication(reader.flink, config.applicationName));
  if (app) {
    assertUsable(app);
    return { ...resultOf(app, false), planned: [] };
  }
  const spec = config.createApplication;
  if (!spec) {
    if (reader) throw notFound(state);
    return { applicationArn: appArn(state), created: false, status: 'UNKNOWN', versionId: 0, runtimeEnvironment: 'UNKNOWN', encryption: { KeyType: 'AWS_OWNED_KEY' }, planned: [] };
  }
  const what = `${spec.runtimeEnvironment} with the AWS owned key, left READY`;
  return {
    applicationArn: appArn(state),
    created: false,
    // A new application is left READY (facts §2 step 2), at version 1 as in the facts §5 "AOK → CMK" example.
    status: reader ? 'READY' : 'UNKNOWN',
    versionId: reader ? 1 : 0,
    runtimeEnvironment: spec.runtimeEnvironment,
    encryption: { KeyType: 'AWS_OWNED_KEY' },
    planned: [change('kinesisanalytics:CreateApplication', appArn(state), reader ? what : `${what}, if it does not exist (${cannotReadAs('operator')})`)],
  };
}
