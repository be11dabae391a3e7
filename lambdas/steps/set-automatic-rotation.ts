/**
 * SetAutomaticRotation (next-capabilities §1.2), as the key administrator: with rotation "automatic",
 * EnableKeyRotation with the period asked for (KMS's default 365 days); with "off", DisableKeyRotation;
 * nothing when the key already rotates that way, or for an on-demand rotation. The before-image is the
 * setting RotateKeyOnDemand found, so a rollback puts the old setting (and period) back.
 *
 * A key whose policy predates this step may not let the key administrator change its rotation: that is
 * refused here, before any write, with the re-run that converges the policy.
 */
import type { Decision } from '../lib/changes';
import { PreconditionFailed } from '../lib/errors';
import { isAllowed } from '../lib/key-policy-check';
import { keyPolicyOf } from '../lib/reads';
import { deployment } from '../lib/settings';
import { decided, stepHandler, type StepDefinition } from '../lib/step';
import type { AutomaticRotation, RotationResult } from '../lib/model';

/** KMS's period when EnableKeyRotation names none. */
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;

export const definition: StepDefinition<{ policy?: unknown }, AutomaticRotation> = {
  name: 'SetAutomaticRotation',
  persona: 'key-admin',
  requires: ['lock', 'rotation'],

  async find(state, read) {
    const { rotation = 'on-demand' } = state.config;
    if (rotation === 'on-demand') return {};
    return { policy: await keyPolicyOf((await read('key-admin')).kms, decided<RotationResult>(state, 'RotateKeyOnDemand').keyId) };
  },

  decide(state, { policy }): Decision<AutomaticRotation> {
    const found = decided<RotationResult>(state, 'RotateKeyOnDemand');
    const { mode, automatic: before } = found;
    if (mode === 'on-demand') return { changes: [], outcome: before };
    const after: AutomaticRotation =
      mode === 'automatic' ? { enabled: true, periodInDays: state.config.rotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS } : { enabled: false };
    if (before.enabled === after.enabled && before.periodInDays === after.periodInDays) return { changes: [], outcome: before };
    const action = after.enabled ? 'kms:EnableKeyRotation' : 'kms:DisableKeyRotation';
    const { keyAdminRoleArn } = deployment();
    const request = { principal: { AWS: keyAdminRoleArn }, action, context: {}, purpose: 'the key administrator sets automatic rotation' };
    if (!isAllowed(policy, request, found.keyArn, state.context)) {
      throw new PreconditionFailed(
        `The policy of ${found.keyArn} does not allow ${action} by ${keyAdminRoleArn} (a key from before rotate-key set automatic rotation): run onboard-application for ${state.config.applicationName} to converge its policy, then rotate-key again.`,
      );
    }
    return {
      outcome: after,
      changes: [
        {
          action,
          resource: found.keyArn,
          persona: 'key-admin',
          request: after.enabled ? { KeyId: found.keyId, RotationPeriodInDays: after.periodInDays } : { KeyId: found.keyId },
          before,
          after,
          detail: after.enabled
            ? `automatic rotation of ${found.keyArn} every ${after.periodInDays} days; a RUNNING application uses each new material only after its next restart`
            : `no more automatic rotation of ${found.keyArn}`,
        },
      ],
    };
  },
};

export const handler = stepHandler(definition);
