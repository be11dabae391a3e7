/**
 * EnsureApplication (facts §2 step 2): the application exists and runs Flink 1.20 or newer (facts §6). If
 * it is missing and the input says how to create it, the operator creates it with the AWS owned key and
 * leaves it READY, so no data exists at rest before the CMK. The orchestrator reads; the operator acts.
 */
import type { ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { EXISTS, type Decision } from '../lib/changes';
import { ApplicationBusy, ApplicationNotFound, UnsupportedRuntime } from '../lib/errors';
import { appArn, ownerTags } from '../lib/names';
import { describeApplication, encryptionOf } from '../lib/reads';
import { stepHandler, type StepDefinition } from '../lib/step';
import type { ApplicationResult } from '../lib/model';

/** The statuses in which an application takes an update (facts §6). */
export const STABLE_STATUSES = ['READY', 'RUNNING'];

/** FLINK-1_20, FLINK-2_2 … : CMK needs 1.20 or later (facts §6). */
export function supportsCmk(runtime: string | undefined): boolean {
  const m = /^FLINK-(\d+)_(\d+)$/.exec(runtime ?? '');
  return !!m && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 20));
}

export const resultOf = (app: ApplicationDetail, created: boolean): ApplicationResult => ({
  applicationArn: app.ApplicationARN!,
  created,
  status: app.ApplicationStatus!,
  versionId: app.ApplicationVersionId!,
  runtimeEnvironment: app.RuntimeEnvironment!,
  encryption: encryptionOf(app),
});

export const definition: StepDefinition<{ app?: ApplicationDetail }, ApplicationResult> = {
  name: 'EnsureApplication',
  persona: 'operator',
  requires: ['lock', 'operator'],

  async find(state, read) {
    return { app: await describeApplication((await read('orchestrator')).flink, state.config.applicationName) };
  },

  decide(state, { app }): Decision<ApplicationResult> {
    const { applicationName, createApplication: spec } = state.config;
    if (app) {
      if (!supportsCmk(app.RuntimeEnvironment)) {
        throw new UnsupportedRuntime(
          `Application ${applicationName} runs ${app.RuntimeEnvironment}; customer managed keys need FLINK-1_20 or newer. Upgrade the runtime in place first (UpdateApplication with RuntimeEnvironmentUpdate).`,
        );
      }
      if (!STABLE_STATUSES.includes(app.ApplicationStatus!))
        throw new ApplicationBusy(`Application ${applicationName} is ${app.ApplicationStatus}; waiting for READY or RUNNING.`);
      return { changes: [], outcome: resultOf(app, false) };
    }
    if (!spec)
      throw new ApplicationNotFound(
        `Application ${applicationName} does not exist in ${state.context.region}, and the input has no createApplication spec to create it.`,
      );
    const arn = appArn(state.context, applicationName);
    return {
      // A new application is READY at version 1 on the AWS owned key (facts §2 step 2, §5).
      outcome: {
        applicationArn: arn,
        created: true,
        status: 'READY',
        versionId: 1,
        runtimeEnvironment: spec.runtimeEnvironment,
        encryption: { KeyType: 'AWS_OWNED_KEY' },
      },
      changes: [
        {
          action: 'kinesisanalytics:CreateApplication',
          resource: arn,
          persona: 'operator',
          request: {
            ApplicationName: applicationName,
            ApplicationDescription: spec.applicationDescription,
            RuntimeEnvironment: spec.runtimeEnvironment,
            ServiceExecutionRole: spec.serviceExecutionRoleArn,
            // No ApplicationEncryptionConfiguration: the AWS owned key (facts §5 "Create with AOK").
            Tags: ownerTags(state.context, applicationName, state.config.tags),
          },
          after: EXISTS,
          detail: `${spec.runtimeEnvironment} with the AWS owned key, left READY`,
        },
      ],
    };
  },

  settle(_decision, [answer]) {
    return resultOf((answer as { ApplicationDetail: ApplicationDetail }).ApplicationDetail, true);
  },
};

export const handler = stepHandler(definition);
