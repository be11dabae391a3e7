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
import { PreconditionFailed, isAwsError } from '../lib/errors';
import { operatorCmkPolicy } from '../lib/policies';
import { decodePolicy, getRole } from '../lib/roles';
import { cmkPolicyName, creationTags, type OperatorKeyAccessResult, type WorkflowState } from '../lib/model';

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

export async function attachedPolicyArns(iam: IAMClient, roleName: string): Promise<string[]> {
  const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, MaxItems: 1000 }));
  return (out.AttachedPolicies ?? []).map((p) => p.PolicyArn!);
}

export const cmkPolicyArn = (s: WorkflowState) => `arn:${s.context.partition}:iam::${s.context.account}:policy${s.config.rolePath}${cmkPolicyName(s.config)}`;

export async function handler(state: WorkflowState): Promise<OperatorKeyAccessResult> {
  const { config, context } = state;
  if (!state.key?.keyArn || !state.application?.applicationArn) {
    throw new PreconditionFailed('GrantOperatorKeyAccess needs the key and the application first: the operator policy names both (facts §2 step 5).');
  }
  const { iam } = orchestrator();
  if (!(await getRole(iam, config.operatorRoleName))) {
    throw new PreconditionFailed(`The operator role ${config.operatorRoleName} does not exist; EnsureOperatorRole must run first.`);
  }
  const document = operatorCmkPolicy({
    scope: { partition: context.partition, account: context.account, region: context.region },
    keyArn: state.key.keyArn,
    applicationArn: state.application.applicationArn,
  });
  const policyArn = cmkPolicyArn(state);
  const current = await policyDocument(iam, policyArn);
  let attached = (await attachedPolicyArns(iam, config.operatorRoleName)).includes(policyArn);
  let created = false;
  if (!isDeepStrictEqual(current, document)) {
    if (current !== undefined) {
      // Same name, other key (a different keyId on re-run): replace it rather than widen it.
      if (attached) await iam.send(new DetachRolePolicyCommand({ RoleName: config.operatorRoleName, PolicyArn: policyArn }));
      await iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
      attached = false;
    }
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: cmkPolicyName(config),
        Path: config.rolePath,
        Description: `Operator access to the CMK of Managed Flink application ${config.applicationName}, only through kinesisanalytics`,
        PolicyDocument: JSON.stringify(document),
        Tags: creationTags(state),
      }),
    );
    created = true;
  }
  if (!attached) await iam.send(new AttachRolePolicyCommand({ RoleName: config.operatorRoleName, PolicyArn: policyArn }));
  return { policyArn, created, attachedByThisRun: !attached };
}
