/**
 * GrantOperatorKeyAccess (facts §2 step 5), as the orchestrator: the operator's CMK policy for exactly
 * this key and application (facts §4), attached next to its base policy. It names the key ARN and the
 * application ARN, so both must exist first.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListAttachedRolePoliciesCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import { orchestrator } from '../lib/personas';
import { PreconditionFailed, ResourceConflict, isAwsError } from '../lib/errors';
import { operatorCmkPolicy } from '../lib/policies';
import { decodePolicy, getRole } from '../lib/roles';
import { NEW_KEY, change, isPlan, type PlannedChange, type Planned } from '../lib/plan';
import { MANAGED_BY_TAG, cmkPolicyName, creationTags, operatorRoleArn, type OperatorKeyAccessResult, type WorkflowState } from '../lib/model';

async function policyDocument(iam: IAMClient, policyArn: string): Promise<unknown> {
  try {
    const p = (await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy!;
    const v = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: p.DefaultVersionId! }));
    return decodePolicy(v.PolicyVersion?.Document);
  } catch (e) {
    if (isAwsError(e, 'NoSuchEntity')) return undefined;
    throw e;
  }
}

async function managedByUs(iam: IAMClient, policyArn: string): Promise<boolean> {
  const tags = (await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.Tags ?? [];
  return tags.some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
}

export async function attachedPolicyArns(iam: IAMClient, roleName: string): Promise<string[]> {
  const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, MaxItems: 1000 }));
  return (out.AttachedPolicies ?? []).map((p) => p.PolicyArn!);
}

export const cmkPolicyArn = (s: WorkflowState) => `arn:${s.context.partition}:iam::${s.context.account}:policy${s.config.rolePath}${cmkPolicyName(s)}`;

/** What the operator's CMK policy needs, from what exists (`current`, `attached`) and what it should say. */
interface Decision { detach: boolean; deletePolicy: boolean; createPolicy: boolean; attach: boolean }
function decide(current: unknown, attached: boolean, document: unknown): Decision {
  const outdated = !isDeepStrictEqual(current, document);
  // Same name (this application and key), other statements — an older template: replace it, don't widen it.
  const replace = outdated && current !== undefined;
  return { detach: replace && attached, deletePolicy: replace, createPolicy: outdated, attach: replace || !attached };
}

export async function handler(state: WorkflowState): Promise<Planned<OperatorKeyAccessResult>> {
  const { config, context } = state;
  if (!state.key?.keyArn || !state.application?.applicationArn) {
    throw new PreconditionFailed('GrantOperatorKeyAccess needs the key and the application first: the operator policy names both (facts §2 step 5).');
  }
  const { iam } = orchestrator();
  const roleExists = !!(await getRole(iam, config.operatorRoleName));
  // In plan mode the role may exist only in EnsureOperatorRole's plan; then nothing is attached to it yet.
  if (!roleExists && !isPlan(state)) {
    throw new PreconditionFailed(`The operator role ${config.operatorRoleName} does not exist; EnsureOperatorRole must run first.`);
  }
  const document = operatorCmkPolicy({
    scope: context,
    keyArn: state.key.keyArn,
    applicationArn: state.application.applicationArn,
  });
  const policyArn = cmkPolicyArn(state);
  const current = await policyDocument(iam, policyArn);
  const attached = roleExists && (await attachedPolicyArns(iam, config.operatorRoleName)).includes(policyArn);
  const d = decide(current, attached, document);
  if (d.deletePolicy && !(await managedByUs(iam, policyArn))) {
    throw new ResourceConflict(`${policyArn} exists with other statements and was not created by this workflow; refusing to replace it.`);
  }
  const result = { policyArn, created: d.createPolicy, attachedByThisRun: d.attach };
  if (isPlan(state)) return { ...result, created: false, attachedByThisRun: false, planned: planned(state, d) };

  if (d.detach) await iam.send(new DetachRolePolicyCommand({ RoleName: config.operatorRoleName, PolicyArn: policyArn }));
  if (d.deletePolicy) await iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
  if (d.createPolicy) {
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: cmkPolicyName(state),
        Path: config.rolePath,
        Description: `Operator access to the CMK of Managed Flink application ${config.applicationName}, only through kinesisanalytics`,
        PolicyDocument: JSON.stringify(document),
        Tags: creationTags(state),
      }),
    );
  }
  if (d.attach) await iam.send(new AttachRolePolicyCommand({ RoleName: config.operatorRoleName, PolicyArn: policyArn }));
  return result;
}

function planned(state: WorkflowState, d: Decision): PlannedChange[] {
  const policyArn = cmkPolicyArn(state);
  const role = operatorRoleArn(state);
  const key = state.key!.keyArn === NEW_KEY ? `the new key ${state.key!.aliasName ?? ''}`.trim() : state.key!.keyArn;
  return [
    d.detach && change('iam:DetachRolePolicy', role, `detaches ${policyArn}, which names another key`),
    d.deletePolicy && change('iam:DeletePolicy', policyArn, 'replaced: it names another key'),
    d.createPolicy && change('iam:CreatePolicy', policyArn, `use of ${key} only through Managed Flink, for ${state.application!.applicationArn}`),
    d.attach && change('iam:AttachRolePolicy', role, `attaches ${policyArn}`),
  ].filter((c): c is PlannedChange => !!c);
}
