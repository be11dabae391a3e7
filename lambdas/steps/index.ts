/**
 * Every handler by its ASL Resource placeholder (`${<Name>FunctionArn}`) — the forward steps and their
 * compensations — with the persona each acts as. CDK and the local runner both bind Task states through
 * this one table. A changing step's function serves both its Decide<Step> and its <Step> state.
 */
import type { Persona } from '../lib/personas';
import * as validateInput from './validate-input';
import * as acquireLock from './acquire-lock';
import * as releaseLock from './release-lock';
import * as ensureOperatorRole from './ensure-operator-role';
import * as ensureApplication from './ensure-application';
import * as createKey from './create-key';
import * as grantOperatorKeyAccess from './grant-operator-key-access';
import * as switchApplicationToCmk from './switch-application-to-cmk';
import * as checkUpdate from './check-update';
import * as verifyEncryption from './verify-encryption';
import * as reportPlan from './report-plan';
import * as switchApplicationToAwsOwnedKey from './switch-application-to-aws-owned-key';
import * as removeOperatorKeyAccess from './remove-operator-key-access';
import * as verifyAwsOwnedKey from './verify-aws-owned-key';
import * as listApplicationsToAudit from './list-applications-to-audit';
import * as auditApplication from './audit-application';
import * as reportFindings from './report-findings';
import * as rotateKeyOnDemand from './rotate-key-on-demand';
import * as verifyRotation from './verify-rotation';
import * as setAutomaticRotation from './set-automatic-rotation';
import * as restartApplication from './restart-application';
import * as checkRestart from './check-restart';
import * as selectApplications from './select-applications';
import * as summarizeFleet from './summarize-fleet';
import * as readEndedExecution from './read-ended-execution';
import * as claimLock from './claim-lock';
import * as findOrphans from './find-orphans';
import * as revertApplication from '../compensations/revert-application';
import * as checkRevert from '../compensations/check-revert';
import * as revokeOperatorKeyAccess from '../compensations/revoke-operator-key-access';
import * as retireKey from '../compensations/retire-key';
import * as deleteCreatedApplication from '../compensations/delete-created-application';
import * as restoreOperatorRole from '../compensations/restore-operator-role';
import * as reportRollback from '../compensations/report-rollback';
import * as restoreOperatorKeyAccess from '../compensations/restore-operator-key-access';
import * as restoreAutomaticRotation from '../compensations/restore-automatic-rotation';

export interface StepDefinition {
  /** Module path under lambdas/ (without .ts), for bundling one function per step. */
  entry: string;
  handler: (event: any) => Promise<unknown>;
  /** Who makes its changes (it may read as the orchestrator). */
  persona: Persona | 'none';
}

export const steps: Record<string, StepDefinition> = {
  ValidateInput: { entry: 'steps/validate-input', handler: validateInput.handler, persona: validateInput.handler.persona },
  AcquireLock: { entry: 'steps/acquire-lock', handler: acquireLock.handler, persona: acquireLock.handler.persona },
  EnsureOperatorRole: { entry: 'steps/ensure-operator-role', handler: ensureOperatorRole.handler, persona: ensureOperatorRole.handler.persona },
  EnsureApplication: { entry: 'steps/ensure-application', handler: ensureApplication.handler, persona: ensureApplication.handler.persona },
  CreateKey: { entry: 'steps/create-key', handler: createKey.handler, persona: createKey.handler.persona },
  GrantOperatorKeyAccess: {
    entry: 'steps/grant-operator-key-access',
    handler: grantOperatorKeyAccess.handler,
    persona: grantOperatorKeyAccess.handler.persona,
  },
  SwitchApplicationToCmk: {
    entry: 'steps/switch-application-to-cmk',
    handler: switchApplicationToCmk.handler,
    persona: switchApplicationToCmk.handler.persona,
  },
  FindOrphans: { entry: 'steps/find-orphans', handler: findOrphans.handler, persona: findOrphans.handler.persona },
  ReadEndedExecution: { entry: 'steps/read-ended-execution', handler: readEndedExecution.handler, persona: readEndedExecution.handler.persona },
  ClaimLock: { entry: 'steps/claim-lock', handler: claimLock.handler, persona: claimLock.handler.persona },
  CheckUpdate: { entry: 'steps/check-update', handler: checkUpdate.handler, persona: checkUpdate.handler.persona },
  VerifyEncryption: { entry: 'steps/verify-encryption', handler: verifyEncryption.handler, persona: verifyEncryption.handler.persona },
  ReleaseLock: { entry: 'steps/release-lock', handler: releaseLock.handler, persona: releaseLock.handler.persona },
  ReportPlan: { entry: 'steps/report-plan', handler: reportPlan.handler, persona: reportPlan.handler.persona },
  // revert-to-aws-owned-key (its lock, poll, plan and rollback states are the ones above and below).
  SwitchApplicationToAwsOwnedKey: {
    entry: 'steps/switch-application-to-aws-owned-key',
    handler: switchApplicationToAwsOwnedKey.handler,
    persona: switchApplicationToAwsOwnedKey.handler.persona,
  },
  RemoveOperatorKeyAccess: {
    entry: 'steps/remove-operator-key-access',
    handler: removeOperatorKeyAccess.handler,
    persona: removeOperatorKeyAccess.handler.persona,
  },
  VerifyAwsOwnedKey: { entry: 'steps/verify-aws-owned-key', handler: verifyAwsOwnedKey.handler, persona: verifyAwsOwnedKey.handler.persona },
  // rotate-key.
  RotateKeyOnDemand: { entry: 'steps/rotate-key-on-demand', handler: rotateKeyOnDemand.handler, persona: rotateKeyOnDemand.handler.persona },
  SetAutomaticRotation: {
    entry: 'steps/set-automatic-rotation',
    handler: setAutomaticRotation.handler,
    persona: setAutomaticRotation.handler.persona,
  },
  RestartApplication: { entry: 'steps/restart-application', handler: restartApplication.handler, persona: restartApplication.handler.persona },
  CheckRestart: { entry: 'steps/check-restart', handler: checkRestart.handler, persona: checkRestart.handler.persona },
  SelectApplications: { entry: 'steps/select-applications', handler: selectApplications.handler, persona: selectApplications.handler.persona },
  SummarizeFleet: { entry: 'steps/summarize-fleet', handler: summarizeFleet.handler, persona: summarizeFleet.handler.persona },
  VerifyRotation: { entry: 'steps/verify-rotation', handler: verifyRotation.handler, persona: verifyRotation.handler.persona },
  // audit: reads only (the key administrator reads KMS).
  ListApplicationsToAudit: {
    entry: 'steps/list-applications-to-audit',
    handler: listApplicationsToAudit.handler,
    persona: listApplicationsToAudit.handler.persona,
  },
  AuditApplication: { entry: 'steps/audit-application', handler: auditApplication.handler, persona: auditApplication.handler.persona },
  ReportFindings: { entry: 'steps/report-findings', handler: reportFindings.handler, persona: reportFindings.handler.persona },
  // Compensations, newest first (DESIGN.md §7).
  RevertApplication: { entry: 'compensations/revert-application', handler: revertApplication.handler, persona: revertApplication.handler.persona },
  CheckRevert: { entry: 'compensations/check-revert', handler: checkRevert.handler, persona: checkRevert.handler.persona },
  RevokeOperatorKeyAccess: {
    entry: 'compensations/revoke-operator-key-access',
    handler: revokeOperatorKeyAccess.handler,
    persona: revokeOperatorKeyAccess.handler.persona,
  },
  RetireKey: { entry: 'compensations/retire-key', handler: retireKey.handler, persona: retireKey.handler.persona },
  DeleteCreatedApplication: {
    entry: 'compensations/delete-created-application',
    handler: deleteCreatedApplication.handler,
    persona: deleteCreatedApplication.handler.persona,
  },
  RestoreOperatorRole: { entry: 'compensations/restore-operator-role', handler: restoreOperatorRole.handler, persona: restoreOperatorRole.handler.persona },
  RestoreOperatorKeyAccess: {
    entry: 'compensations/restore-operator-key-access',
    handler: restoreOperatorKeyAccess.handler,
    persona: restoreOperatorKeyAccess.handler.persona,
  },
  RestoreAutomaticRotation: {
    entry: 'compensations/restore-automatic-rotation',
    handler: restoreAutomaticRotation.handler,
    persona: restoreAutomaticRotation.handler.persona,
  },
  ReportRollback: { entry: 'compensations/report-rollback', handler: reportRollback.handler, persona: reportRollback.handler.persona },
};
