/**
 * EnsureOperatorRole (facts §2 step 1): the application's lifecycle operator exists first, with its base
 * policy only — no KMS rights, since the key does not exist yet and no least-privilege statement could
 * name it. One operator role per application (under the deployment's rolePath, trusted by exactly the
 * orchestrator, capped by the managed-roles boundary), so no two applications share a principal and no
 * run's rollback can reach another application's operator. Or, with the setting sharedOperatorRoleArn, the
 * deployment's shared operator: someone else's existing role, which this step only checks (it exists, trusts
 * the orchestrator, holds the stack's policy) and never writes to.
 */
import { operatorBasePolicy, roleTrustPolicy, type PolicyDocument } from '../lib/policies';
import { EXISTS, type Change, type Decision } from '../lib/changes';
import { PreconditionFailed, ResourceConflict } from '../lib/errors';
import {
  BASE_POLICY_NAME,
  SHARED_OPERATOR_POLICY_NAME,
  MANAGED_BY_KEY,
  MANAGED_BY_VALUE,
  appArn,
  isManagedFor,
  operatorRoleArn,
  operatorRoleName,
  ownerTags,
} from '../lib/names';
import { attachedPolicyNames, sharedOperator } from '../lib/operator';
import { decodePolicy, getRole, getRolePolicy } from '../lib/reads';
import { deployment } from '../lib/settings';
import { stepHandler, type StepDefinition } from '../lib/step';
import type { Role } from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import type { OperatorResult, WorkflowState } from '../lib/model';

interface Found {
  role?: Role;
  basePolicy?: unknown;
  /** A shared operator's attached managed policies. */
  attached?: string[];
}

/** AWS principals a trust policy names (a string or a list). */
const trustedArns = (doc: any): string[] => (doc?.Statement ?? []).flatMap((s: any) => [s.Principal?.AWS ?? []].flat());

export const basePolicyOf = (state: WorkflowState): PolicyDocument =>
  operatorBasePolicy({
    scope: state.context,
    applicationArn: appArn(state.context, state.config.applicationName),
    createWithExecutionRoleArn: state.config.createApplication?.serviceExecutionRoleArn,
    // The operator may create only applications that carry our tag, which EnsureApplication sets.
    createRequestTag: { Key: MANAGED_BY_KEY, Value: MANAGED_BY_VALUE },
  });

export const definition: StepDefinition<Found, OperatorResult> = {
  name: 'EnsureOperatorRole',
  persona: 'orchestrator',
  requires: ['lock'],

  async find(state, read) {
    const { iam } = await read('orchestrator');
    const role = await getRole(iam, operatorRoleName(deployment(), state.config.applicationName));
    if (sharedOperator()) return { role, attached: role && (await attachedPolicyNames(iam, role.RoleName!)) };
    return { role, basePolicy: role && (await getRolePolicy(iam, role.RoleName!, BASE_POLICY_NAME)) };
  },

  decide(state, { role, basePolicy, attached }): Decision<OperatorResult> {
    const d = deployment();
    if (d.sharedOperatorRoleArn) return { outcome: checkedSharedOperator(d.sharedOperatorRoleArn, d.orchestratorRoleArn, role, attached), changes: [] };
    const { applicationName } = state.config;
    const roleName = operatorRoleName(d, applicationName);
    const arn = operatorRoleArn(state.context, d, applicationName);
    const wanted = basePolicyOf(state);
    const putBase = (before: unknown): Change => ({
      action: 'iam:PutRolePolicy',
      resource: arn,
      persona: 'orchestrator',
      request: { RoleName: roleName, PolicyName: BASE_POLICY_NAME, PolicyDocument: JSON.stringify(wanted) },
      before,
      after: wanted,
      detail: `${before === undefined ? 'adds' : 'updates'} inline policy ${BASE_POLICY_NAME}: kinesisanalytics:* on ${appArn(state.context, applicationName)}, no KMS rights`,
    });
    if (!role) {
      const trust = roleTrustPolicy({ trustedPrincipalArns: [d.orchestratorRoleArn] });
      return {
        outcome: { roleArn: arn, roleName, created: true },
        changes: [
          {
            action: 'iam:CreateRole',
            resource: arn,
            persona: 'orchestrator',
            request: {
              RoleName: roleName,
              Path: d.rolePath,
              Description: `Managed Flink application lifecycle operator of ${applicationName} (CMK onboarding)`,
              AssumeRolePolicyDocument: JSON.stringify(trust),
              PermissionsBoundary: d.permissionsBoundaryArn,
              Tags: ownerTags(state.context, applicationName, state.config.tags),
            },
            after: EXISTS,
            detail: `operator role of ${applicationName}, trusted by the orchestrator only, bounded by ${d.permissionsBoundaryArn}`,
          },
          putBase(undefined),
        ],
      };
    }
    if (role.Path !== d.rolePath || !isManagedFor(role.Tags, state.context, applicationName)) {
      throw new ResourceConflict(
        `Role ${role.Arn} exists but is not this workflow's operator role for ${applicationName} (path ${d.rolePath}, tags ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE} and the application's ARN); refusing to take it over.`,
      );
    }
    const changes: Change[] = [];
    // A role from before boundaries were required gets one first: the orchestrator writes only to bounded roles.
    const boundary = role.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundary !== d.permissionsBoundaryArn) {
      changes.push({
        action: 'iam:PutRolePermissionsBoundary',
        resource: arn,
        persona: 'orchestrator',
        request: { RoleName: roleName, PermissionsBoundary: d.permissionsBoundaryArn },
        before: boundary,
        after: d.permissionsBoundaryArn,
        detail: `sets the permissions boundary ${d.permissionsBoundaryArn}`,
        kept: 'a permissions boundary only narrows the role, and the orchestrator may not remove boundaries (that would be its escalation path)',
      });
    }
    // Adding, not replacing: another deployment's orchestrator (or a laptop run) keeps its trust.
    const trust = decodePolicy(role.AssumeRolePolicyDocument);
    const have = trustedArns(trust);
    if (!have.includes(d.orchestratorRoleArn)) {
      const merged = roleTrustPolicy({ trustedPrincipalArns: [...new Set([...have, d.orchestratorRoleArn])] });
      changes.push({
        action: 'iam:UpdateAssumeRolePolicy',
        resource: arn,
        persona: 'orchestrator',
        request: { RoleName: roleName, PolicyDocument: JSON.stringify(merged) },
        before: trust,
        after: merged,
        detail: `adds ${d.orchestratorRoleArn} to the trusted principals`,
      });
    }
    if (!isDeepStrictEqual(basePolicy, wanted)) changes.push(putBase(basePolicy));
    return { outcome: { roleArn: arn, roleName, created: false }, changes };
  },
};

/** A shared operator as the workflow needs it, or why not, with what to fix: nothing is written to it. */
function checkedSharedOperator(arn: string, orchestratorRoleArn: string, role: Role | undefined, attached: string[] = []): OperatorResult {
  const setting = `(setting sharedOperatorRoleArn)`;
  if (role?.Arn !== arn)
    throw new PreconditionFailed(
      `The shared operator role ${arn} ${setting} does not exist with that path (the orchestrator may read only that ARN); create it, or deploy with the role's own ARN.`,
    );
  if (!trustedArns(decodePolicy(role.AssumeRolePolicyDocument)).includes(orchestratorRoleArn)) {
    const statement = roleTrustPolicy({ trustedPrincipalArns: [orchestratorRoleArn] }).Statement[0];
    throw new PreconditionFailed(
      `The shared operator role ${arn} ${setting} does not trust the orchestrator ${orchestratorRoleArn}; add this statement to its trust policy: ${JSON.stringify(statement)}`,
    );
  }
  if (!attached.includes(SHARED_OPERATOR_POLICY_NAME))
    throw new PreconditionFailed(
      `The shared operator role ${arn} ${setting} lacks the managed policy ${SHARED_OPERATOR_POLICY_NAME}, which the stack attaches when deployed with the setting; deploy it.`,
    );
  return { roleArn: arn, roleName: role.RoleName!, created: false };
}

export const handler = stepHandler(definition);
