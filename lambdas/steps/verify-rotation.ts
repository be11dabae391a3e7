/**
 * VerifyRotation: the key, read back by the key administrator, has the new on-demand rotation (or the
 * automatic rotation setting asked for), and a restarted application, read back by the orchestrator, is
 * RUNNING on a newer version; returns the report with the rotation dates. Managed Flink uses new material
 * only after a restart (next-capabilities §1.2): `restartNeeded` says when the application still needs one.
 */
import { GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import { isDeepStrictEqual } from 'node:util';
import { rotationImage } from '../lib/changes';
import { PreconditionFailed, VerificationFailed } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { describeApplication, keyRotations } from '../lib/reads';
import { actorOf, task } from '../lib/step';
import { ON_DEMAND_ROTATION_CAP } from './rotate-key-on-demand';
import { ledgerChanges, type RotationMode, type WorkflowState } from '../lib/model';

export interface RotationReport {
  operation: 'rotate-key';
  applicationName: string;
  rotation: RotationMode;
  keyArn: string;
  rotations: { date: string; type: string }[];
  onDemandRemaining: number;
  automaticRotation: { enabled: boolean; periodInDays?: number; nextRotationDate?: string };
  /** The restart after an on-demand rotation of a RUNNING application, as read back. */
  restart: { restarted: boolean; applicationStatus?: string; versionId?: number };
  /** A RUNNING application not restarted since an on-demand rotation keeps using the previous material. */
  restartNeeded: boolean;
  changes: number;
}

export const handler = task('VerifyRotation', 'key-admin', async (state: WorkflowState): Promise<RotationReport> => {
  const { rotation } = state;
  if (!rotation) throw new PreconditionFailed('VerifyRotation runs only after RotateKeyOnDemand.');
  const actor = actorOf(state, 'VerifyRotation');
  const { kms } = await clientsAs('key-admin', actor, 'read');
  const rotations = await keyRotations(kms, rotation.keyId);
  const onDemand = rotations.filter((r) => r.RotationType === 'ON_DEMAND').length;
  if (rotation.mode === 'on-demand' && onDemand <= rotation.onDemandBefore)
    throw new VerificationFailed(`${rotation.keyArn} shows ${onDemand} on-demand rotations, as before the rotation.`);
  const answer = await kms.send(new GetKeyRotationStatusCommand({ KeyId: rotation.keyId }));
  const status = rotationImage(answer);
  if (state.automaticRotation && !isDeepStrictEqual(status, state.automaticRotation))
    throw new VerificationFailed(`${rotation.keyArn} shows automatic rotation ${JSON.stringify(status)}, not ${JSON.stringify(state.automaticRotation)}.`);
  let restart: RotationReport['restart'] = { restarted: false };
  if (state.restart?.restarted) {
    const app = await describeApplication((await clientsAs('orchestrator', actor, 'read')).flink, state.config.applicationName);
    restart = { restarted: true, applicationStatus: app?.ApplicationStatus, versionId: app?.ApplicationVersionId };
    if (app?.ApplicationStatus !== 'RUNNING' || !(app.ApplicationVersionId! > rotation.versionId))
      throw new VerificationFailed(
        `${state.config.applicationName} is ${app?.ApplicationStatus ?? 'gone'} at version ${app?.ApplicationVersionId} after its restart; it was RUNNING at version ${rotation.versionId}.`,
      );
  }
  const next = answer.NextRotationDate;
  return {
    operation: 'rotate-key',
    applicationName: state.config.applicationName,
    rotation: rotation.mode,
    keyArn: rotation.keyArn,
    rotations: rotations.map((r) => ({ date: new Date(r.RotationDate!).toISOString(), type: r.RotationType! })),
    onDemandRemaining: ON_DEMAND_ROTATION_CAP - onDemand,
    automaticRotation: { ...status, ...(next && { nextRotationDate: new Date(next).toISOString() }) },
    restart,
    restartNeeded: rotation.mode === 'on-demand' && rotation.applicationStatus === 'RUNNING' && !restart.restarted,
    changes: ledgerChanges(state).length,
  };
});
