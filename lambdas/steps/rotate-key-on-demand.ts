/**
 * RotateKeyOnDemand (next-capabilities §1.2), as the key administrator: new key material for the
 * application's key, same key ARN, so no policy changes. Refused before any write when KMS would refuse it:
 * a key not enabled or not symmetric, the lifetime cap of on-demand rotations reached, or an automatic
 * rotation due within 20 minutes (ConflictException). Rotated material cannot be taken back, so a rollback
 * keeps it (the previous material still decrypts what it encrypted).
 *
 * It finds, for the whole rotation, the application and its key as they are: with rotation "automatic" or
 * "off" it decides no change of its own, and SetAutomaticRotation and RestartApplication decide from it.
 */
import { GetKeyRotationStatusCommand, type GetKeyRotationStatusResponse, type KeyMetadata } from '@aws-sdk/client-kms';
import type { ApplicationDetail } from '@aws-sdk/client-kinesis-analytics-v2';
import { rotationImage, type Decision } from '../lib/changes';
import { ApplicationNotFound, PreconditionFailed } from '../lib/errors';
import { describeApplication, describeKey, encryptionOf, onDemandRotations } from '../lib/reads';
import { stepHandler, type StepDefinition } from '../lib/step';
import type { RotationResult } from '../lib/model';

/** KMS's lifetime cap of on-demand rotations per key (not adjustable). */
export const ON_DEMAND_ROTATION_CAP = 25;
/** KMS refuses an on-demand rotation while an automatic one is due within this long. */
export const AUTOMATIC_ROTATION_CONFLICT_MS = 20 * 60 * 1000;

interface Found {
  app?: ApplicationDetail;
  key?: KeyMetadata;
  onDemand?: number;
  status?: GetKeyRotationStatusResponse;
}

export const definition: StepDefinition<Found, RotationResult> = {
  name: 'RotateKeyOnDemand',
  persona: 'key-admin',
  requires: ['lock'],

  async find(state, read) {
    const app = await describeApplication((await read('orchestrator')).flink, state.config.applicationName);
    const keyId = app && encryptionOf(app).KeyId;
    if (!keyId) return { app };
    const { kms } = await read('key-admin');
    const key = await describeKey(kms, keyId);
    if (key?.KeySpec !== 'SYMMETRIC_DEFAULT' || key.KeyState !== 'Enabled') return { app, key };
    return { app, key, onDemand: await onDemandRotations(kms, key.KeyId!), status: await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })) };
  },

  decide(state, { app, key, onDemand, status }): Decision<RotationResult> {
    const { applicationName, rotation: mode = 'on-demand' } = state.config;
    if (!app) throw new ApplicationNotFound(`Application ${applicationName} does not exist in ${state.context.region}.`);
    if (encryptionOf(app).KeyType !== 'CUSTOMER_MANAGED_KEY')
      throw new PreconditionFailed(`Application ${applicationName} is on the AWS owned key, which AWS rotates; there is no key of ours to rotate.`);
    if (!key) throw new PreconditionFailed(`The key administrator cannot read ${encryptionOf(app).KeyId}; run audit for ${applicationName}.`);
    if (key.KeyState !== 'Enabled') throw new PreconditionFailed(`Key ${key.Arn} is ${key.KeyState}; only an enabled key rotates (run audit).`);
    if (key.KeySpec !== 'SYMMETRIC_DEFAULT') throw new PreconditionFailed(`Key ${key.Arn} is ${key.KeySpec}; only symmetric encryption keys rotate.`);
    const outcome: RotationResult = {
      mode,
      keyArn: key.Arn!,
      keyId: key.KeyId!,
      onDemandBefore: onDemand!,
      automatic: rotationImage(status!),
      applicationArn: app.ApplicationARN!,
      applicationStatus: app.ApplicationStatus!,
      encryption: encryptionOf(app),
      versionId: app.ApplicationVersionId!,
      snapshotsEnabled: app.ApplicationConfigurationDescription?.ApplicationSnapshotConfigurationDescription?.SnapshotsEnabled !== false,
    };
    if (mode !== 'on-demand') return { outcome, changes: [] };
    if (onDemand! >= ON_DEMAND_ROTATION_CAP)
      throw new PreconditionFailed(
        `Key ${key.Arn} has had ${onDemand} on-demand rotations, KMS's lifetime cap; move the application to a new key instead (move-key).`,
      );
    const due = status?.NextRotationDate ? new Date(status.NextRotationDate).getTime() : undefined;
    if (status?.KeyRotationEnabled && due !== undefined && due - Date.now() < AUTOMATIC_ROTATION_CONFLICT_MS) {
      throw new PreconditionFailed(
        `An automatic rotation of ${key.Arn} is due at ${new Date(due).toISOString()}; KMS refuses an on-demand one within 20 minutes of it.`,
      );
    }
    const uses =
      app.ApplicationStatus !== 'RUNNING'
        ? 'the application uses it from its next start'
        : state.config.restart === false
          ? 'the RUNNING application uses it from its next restart (restart: false)'
          : 'RestartApplication restarts the RUNNING application so it uses it';
    return {
      outcome,
      changes: [
        {
          action: 'kms:RotateKeyOnDemand',
          resource: key.Arn!,
          persona: 'key-admin',
          request: { KeyId: key.KeyId },
          before: onDemand,
          after: onDemand! + 1,
          detail: `new key material for ${key.Arn} (on-demand rotation ${onDemand! + 1} of ${ON_DEMAND_ROTATION_CAP}); ${uses}`,
          kept: 'rotated key material cannot be taken back; the previous material still decrypts what it encrypted',
        },
      ],
    };
  },
};

export const handler = stepHandler(definition);
