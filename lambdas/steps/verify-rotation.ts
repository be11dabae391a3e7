/**
 * VerifyRotation: the key, read back by the key administrator, has the new on-demand rotation; returns the
 * report with the rotation dates. Managed Flink uses new material only after a restart (next-capabilities
 * §1.2), so a RUNNING application is reported as needing one: this operation does not restart it.
 */
import { GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import { PreconditionFailed, VerificationFailed } from '../lib/errors';
import { clientsAs } from '../lib/personas';
import { keyRotations } from '../lib/reads';
import { actorOf, task } from '../lib/step';
import { ON_DEMAND_ROTATION_CAP } from './rotate-key-on-demand';
import { ledgerChanges, type WorkflowState } from '../lib/model';

export interface RotationReport {
  operation: 'rotate-key';
  applicationName: string;
  keyArn: string;
  rotations: { date: string; type: string }[];
  onDemandRemaining: number;
  automaticRotation: { enabled: boolean; periodInDays?: number; nextRotationDate?: string };
  /** True for a RUNNING application: it keeps using the previous material until it restarts. */
  restartNeeded: boolean;
  changes: number;
}

export const handler = task('VerifyRotation', 'key-admin', async (state: WorkflowState): Promise<RotationReport> => {
  const { rotation } = state;
  if (!rotation) throw new PreconditionFailed('VerifyRotation runs only after RotateKeyOnDemand.');
  const { kms } = await clientsAs('key-admin', actorOf(state, 'VerifyRotation'), 'read');
  const rotations = await keyRotations(kms, rotation.keyId);
  const onDemand = rotations.filter((r) => r.RotationType === 'ON_DEMAND').length;
  if (onDemand <= rotation.onDemandBefore) throw new VerificationFailed(`${rotation.keyArn} shows ${onDemand} on-demand rotations, as before the rotation.`);
  const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: rotation.keyId }));
  return {
    operation: 'rotate-key',
    applicationName: state.config.applicationName,
    keyArn: rotation.keyArn,
    rotations: rotations.map((r) => ({ date: new Date(r.RotationDate!).toISOString(), type: r.RotationType! })),
    onDemandRemaining: ON_DEMAND_ROTATION_CAP - onDemand,
    automaticRotation: {
      enabled: !!status.KeyRotationEnabled,
      periodInDays: status.RotationPeriodInDays,
      nextRotationDate: status.NextRotationDate && new Date(status.NextRotationDate).toISOString(),
    },
    restartNeeded: rotation.applicationStatus === 'RUNNING',
    changes: ledgerChanges(state).length,
  };
});
