/**
 * CreateKey (facts §2 step 4), as the key administrator: a symmetric key whose policy names the operator,
 * the key admin, the application and both Managed Flink service principals (facts §3), tagged with its
 * owner at creation (so a crash before its alias exists cannot hide it), then its alias. Or adopt the key
 * the input names, after checking that its policy allows what MSF will ask of it. A re-run finds the key
 * by its alias and converges the workflow's statements of its policy; it never creates a second key,
 * except to replace one that a rollback has scheduled for deletion — or, in move-key, to replace the key the
 * application is on (facts §5 "CMK#1 → CMK#2"): a new key takes the alias, the old one is left as it is.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { isDeepStrictEqual } from 'node:util';
import { EXISTS, NEW_KEY, type Change, type Decision } from '../lib/changes';
import { PreconditionFailed, ResourceConflict, isAwsError } from '../lib/errors';
import { refusedRequests } from '../lib/key-policy-check';
import { IN_USE_KEY, IN_USE_VALUE, aliasArn, aliasName, appArn, isManagedFor, operatorRoleArn, ownerTags } from '../lib/names';
import { KEY_POLICY_SIDS, keyPolicy, type PolicyDocument, type Statement } from '../lib/policies';
import { describeKey, keyPolicyOf, keyTags } from '../lib/reads';
import { deployment } from '../lib/settings';
import { decided, stepHandler, type StepDefinition } from '../lib/step';
import type { ApplicationResult, KeyResult, WorkflowState } from '../lib/model';

interface Found {
  key?: KeyMetadata;
  policy?: unknown;
  tags?: { TagKey?: string; TagValue?: string }[];
}

export const expectedKeyPolicy = (state: WorkflowState, keyAdminRoleArn = deployment().keyAdminRoleArn): PolicyDocument =>
  keyPolicy({
    scope: state.context,
    applicationArn: appArn(state.context, state.config.applicationName),
    operatorRoleArn: operatorRoleArn(state.context, deployment(), state.config.applicationName),
    keyAdminRoleArn,
    delegateToAccount: deployment().delegateToAccount,
    deletionGuard: deployment().keyDeletionGuard,
  });

/** The policy with the workflow's statements as they should be, and everyone else's kept, in place. */
function convergedPolicy(state: WorkflowState, current: unknown): PolicyDocument {
  const wanted = expectedKeyPolicy(state);
  const others = ((current as PolicyDocument | undefined)?.Statement ?? []).filter((s: Statement) => !KEY_POLICY_SIDS.has(s.Sid));
  return { ...wanted, Statement: [...wanted.Statement, ...others] };
}

/** What MSF will refuse the key for (facts §1, §6, §7), said now rather than after writes. */
function keyProblems(key: KeyMetadata, state: WorkflowState): string[] {
  const problems: string[] = [];
  if (key.KeyState !== 'Enabled') problems.push(`its state is ${key.KeyState}, not Enabled`);
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT' || key.KeyUsage !== 'ENCRYPT_DECRYPT')
    problems.push(`it is ${key.KeySpec}/${key.KeyUsage}, not SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT`);
  if (key.KeyManager !== 'CUSTOMER') problems.push('it is not a customer managed key');
  if (key.AWSAccountId !== state.context.account || !key.Arn?.startsWith(`arn:${state.context.partition}:kms:${state.context.region}:`)) {
    problems.push(`it is not in account ${state.context.account} and Region ${state.context.region}`);
  }
  return problems;
}

/** Why an adopted key cannot serve the application: its state, and each request its policy refuses, with the statement to add. */
export function adoptionProblems(state: WorkflowState, key: KeyMetadata, policy: unknown): string[] {
  const application = appArn(state.context, state.config.applicationName);
  const refused = refusedRequests(policy, key.Arn!, {
    scope: state.context,
    applicationArn: application,
    operatorRoleArn: operatorRoleArn(state.context, deployment(), state.config.applicationName),
  });
  if (!refused.length) return keyProblems(key, state);
  // The documented statements that allow what is refused: what the key administrator should add.
  const documented = expectedKeyPolicy(state).Statement.filter(
    (s) =>
      s.Principal &&
      refused.some((r) => {
        const who = 'AWS' in r.principal ? r.principal.AWS : r.principal.Service;
        return [s.Principal!.AWS, s.Principal!.Service].flat().includes(who) && [s.Action].flat().includes(r.action);
      }),
  );
  return [
    ...keyProblems(key, state),
    `its key policy does not allow: ${refused.map((r) => `${r.action} by ${'AWS' in r.principal ? r.principal.AWS : r.principal.Service} (${r.purpose})`).join('; ')}. Add these statements (facts §3) to it: ${JSON.stringify(documented)}`,
  ];
}

/** The CMK a move leaves (move-key starts from a CMK: onboarding is the way off the AWS owned key). */
function movingFrom(state: WorkflowState): string {
  const app = decided<ApplicationResult>(state, 'EnsureApplication');
  if (app.encryption.KeyType !== 'CUSTOMER_MANAGED_KEY') {
    throw new PreconditionFailed(
      `Application ${state.config.applicationName} is on the AWS owned key; move-key moves it from one customer managed key to another: onboard it instead.`,
    );
  }
  return app.encryption.KeyId!;
}

export const definition: StepDefinition<Found, KeyResult> = {
  name: 'CreateKey',
  persona: 'key-admin',
  // Its policy names the operator role and the application, which KMS requires to exist (facts §2 step 4).
  requires: ['lock', 'operator', 'application'],

  async find(state, read) {
    const { kms } = await read('key-admin');
    const ref = state.config.keyId ?? aliasName(deployment(), state.config.applicationName);
    let key: KeyMetadata | undefined;
    try {
      key = await describeKey(kms, ref);
    } catch (e) {
      if (!isAwsError(e, 'AccessDeniedException')) throw e;
      throw new PreconditionFailed(
        `The key administrator ${deployment().keyAdminRoleArn} may not read ${ref}: its key policy must name that role (or delegate to the account). ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (!key) return {};
    return { key, policy: await keyPolicyOf(kms, key.KeyId!), tags: state.config.keyId ? undefined : await keyTags(kms, key.KeyId!) };
  },

  decide(state, { key, policy, tags }): Decision<KeyResult> {
    const { config, context } = state;
    const d = deployment();
    const moving = config.operation === 'move-key' ? movingFrom(state) : undefined;
    if (config.keyId) {
      if (!key) throw new PreconditionFailed(`Key ${config.keyId} does not exist in ${context.region}.`);
      const problems = adoptionProblems(state, key, policy);
      if (moving === key.Arn) problems.push('the application is on it already: a move needs another key');
      if (problems.length) throw new PreconditionFailed(`Key ${key.Arn} cannot be adopted: ${problems.join('; ')}.`);
      return { changes: [], outcome: { keyArn: key.Arn!, keyId: key.KeyId!, keyState: key.KeyState!, created: false, adopted: true } };
    }
    const alias = aliasName(d, config.applicationName);
    const newKey = (aliasChange: Change): Decision<KeyResult> => {
      const keyArn = `arn:${context.partition}:kms:${context.region}:${context.account}:key/${NEW_KEY}`;
      return {
        outcome: { keyArn, keyId: NEW_KEY, aliasName: alias, keyState: 'Enabled', created: true, adopted: false },
        changes: [
          {
            action: 'kms:CreateKey',
            resource: keyArn,
            persona: 'key-admin',
            request: {
              Description: `Managed Flink application ${config.applicationName}: running and durable application state`,
              KeySpec: 'SYMMETRIC_DEFAULT',
              KeyUsage: 'ENCRYPT_DECRYPT',
              Policy: JSON.stringify(expectedKeyPolicy(state)),
              // The owner tags make the key findable before its alias exists; the in-use tag arms the deletion guard.
              Tags: [...ownerTags(context, config.applicationName, config.tags), { Key: IN_USE_KEY, Value: IN_USE_VALUE }].map((t) => ({
                TagKey: t.Key,
                TagValue: t.Value,
              })),
            },
            after: EXISTS,
            detail: `symmetric encryption key whose policy names the operator, the key administrator, ${appArn(context, config.applicationName)} and both Managed Flink service principals`,
          },
          aliasChange,
        ],
      };
    };
    if (!key) {
      return newKey({
        action: 'kms:CreateAlias',
        resource: aliasArn(context, alias),
        persona: 'key-admin',
        request: { AliasName: alias, TargetKeyId: NEW_KEY },
        after: NEW_KEY,
        detail: `${alias} for the new key`,
      });
    }
    if (!isManagedFor(tags, context, config.applicationName)) {
      throw new ResourceConflict(
        `${alias} points to ${key.Arn}, which this workflow did not create for ${config.applicationName}; name it in keyId to adopt it.`,
      );
    }
    // A key a rollback retired, or the key a move leaves: a new one, and the alias moves to it (the old key is left as it is).
    if (key.KeyState === 'PendingDeletion' || moving) {
      return newKey({
        action: 'kms:UpdateAlias',
        resource: aliasArn(context, alias),
        persona: 'key-admin',
        request: { AliasName: alias, TargetKeyId: NEW_KEY },
        before: key.KeyId,
        after: NEW_KEY,
        detail: `moves ${alias} from ${key.Arn} (${key.KeyState === 'PendingDeletion' ? 'pending deletion' : 'kept, unchanged'}) to the new key`,
      });
    }
    const problems = keyProblems(key, state);
    if (problems.length) throw new PreconditionFailed(`Key ${key.Arn} behind ${alias} cannot be used: ${problems.join('; ')}.`);
    const converged = convergedPolicy(state, policy);
    const changes: Change[] = [];
    if (!isDeepStrictEqual(policy, converged)) {
      changes.push({
        action: 'kms:PutKeyPolicy',
        resource: key.Arn!,
        persona: 'key-admin',
        request: { KeyId: key.KeyId, PolicyName: 'default', Policy: JSON.stringify(converged) },
        before: policy,
        after: converged,
        detail: "converges the workflow's statements of the key policy to the documented ones (other statements kept)",
      });
    }
    // A key made before the in-use tag existed gets it, so the deletion guard covers it too; a value someone set is theirs.
    if (!tags?.some((t) => t.TagKey === IN_USE_KEY)) {
      changes.push({
        action: 'kms:TagResource',
        resource: key.Arn!,
        persona: 'key-admin',
        request: { KeyId: key.KeyId, Tags: [{ TagKey: IN_USE_KEY, TagValue: IN_USE_VALUE }] },
        after: IN_USE_VALUE,
        detail: `tags ${key.Arn} ${IN_USE_KEY}=${IN_USE_VALUE}: an application depends on it`,
      });
    }
    return { changes, outcome: { keyArn: key.Arn!, keyId: key.KeyId!, aliasName: alias, keyState: key.KeyState!, created: false, adopted: false } };
  },

  settle(decision, answers) {
    const created = (answers[0] as { KeyMetadata?: KeyMetadata } | undefined)?.KeyMetadata;
    return created ? { ...decision.outcome, keyArn: created.Arn!, keyId: created.KeyId!, keyState: created.KeyState! } : decision.outcome;
  },
};

export const handler = stepHandler(definition);
