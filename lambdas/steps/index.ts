/**
 * The step handlers by their ASL Resource placeholder (`${<Name>FunctionArn}`), with the persona each
 * acts as. CDK and the local runner both bind Task states through this one table.
 */
import type { PersonaName } from '../lib/personas';
import * as validateInput from './validate-input';
import * as ensureOperatorRole from './ensure-operator-role';
import * as ensureApplication from './ensure-application';
import * as ensureKeyAdminRole from './ensure-key-admin-role';
import * as createKey from './create-key';
import * as grantOperatorKeyAccess from './grant-operator-key-access';
import * as switchApplicationToCmk from './switch-application-to-cmk';
import * as checkUpdate from './check-update';
import * as verifyEncryption from './verify-encryption';

export interface StepDefinition {
  /** Module path under lambdas/steps, for bundling one function per step. */
  entry: string;
  handler: (event: any) => Promise<unknown>;
  persona: PersonaName;
}

export const steps: Record<string, StepDefinition> = {
  ValidateInput: { entry: 'validate-input', handler: validateInput.handler, persona: 'orchestrator' },
  EnsureOperatorRole: { entry: 'ensure-operator-role', handler: ensureOperatorRole.handler, persona: 'orchestrator' },
  EnsureApplication: { entry: 'ensure-application', handler: ensureApplication.handler, persona: 'operator' },
  EnsureKeyAdminRole: { entry: 'ensure-key-admin-role', handler: ensureKeyAdminRole.handler, persona: 'orchestrator' },
  CreateKey: { entry: 'create-key', handler: createKey.handler, persona: 'key-admin' },
  GrantOperatorKeyAccess: { entry: 'grant-operator-key-access', handler: grantOperatorKeyAccess.handler, persona: 'orchestrator' },
  SwitchApplicationToCmk: { entry: 'switch-application-to-cmk', handler: switchApplicationToCmk.handler, persona: 'operator' },
  CheckUpdate: { entry: 'check-update', handler: checkUpdate.handler, persona: 'operator' },
  VerifyEncryption: { entry: 'verify-encryption', handler: verifyEncryption.handler, persona: 'operator' },
};
