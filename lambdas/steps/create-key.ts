/**
 * CreateKey (facts §2 step 4), as the key administrator: a symmetric key whose policy names the operator,
 * the key admin, the application and both Managed Flink service principals (facts §3), with an alias and
 * tags. Or adopt the key the input names, after checking that its policy already says what MSF needs.
 * Re-runs find the key by its alias and converge its policy; they never create a second key.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { isDeepStrictEqual } from 'node:util';
import { asKeyAdmin } from '../lib/personas';
import { PreconditionFailed, PrincipalNotYetVisible, ResourceConflict, isAwsError } from '../lib/errors';
import { keyPolicy, MSF_SERVICE_PRINCIPALS } from '../lib/policies';
import { NEW_KEY, cannotReadAs, change, isPlan, readAs, type Planned } from '../lib/plan';
import { MANAGED_BY_TAG, aliasName, creationTags, appArn, keyAdminRoleArn, operatorRoleArn, type KeyResult, type WorkflowState } from '../lib/model';

async function describeKey(kms: KMSClient, keyId: string): Promise<KeyMetadata | undefined> {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
  } catch (e) {
    if (isAwsError(e, 'NotFoundException')) return undefined;
    throw e;
  }
}

/** What MSF will refuse the key for (facts §4, §6): say it now, before the switch. */
function keyProblems(key: KeyMetadata, state: WorkflowState): string[] {
  const problems: string[] = [];
  if (key.KeyState !== 'Enabled') problems.push(`its state is ${key.KeyState}, not Enabled`);
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT' || key.KeyUsage !== 'ENCRYPT_DECRYPT') problems.push(`it is ${key.KeySpec}/${key.KeyUsage}, not SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT`);
  if (key.AWSAccountId !== state.context.account || !key.Arn?.startsWith(`arn:${state.context.partition}:kms:${state.context.region}:`)) {
    problems.push(`it is not in account ${state.context.account} and region ${state.context.region}`);
  }
  return problems;
}

/** An adopted key's policy must already name everything the documented policy names (facts §3). */
function policyProblems(policyText: string, state: WorkflowState): string[] {
  const needed = [operatorRoleArn(state), appArn(state), ...MSF_SERVICE_PRINCIPALS];
  return needed.filter((n) => !policyText.includes(n)).map((n) => `its key policy does not mention ${n}`);
}

/** Adopt the key the input names, after checking that its policy already says what MSF needs. */
async function adoptKey(kms: KMSClient, state: WorkflowState, keyId: string): Promise<KeyResult> {
  let key: KeyMetadata | undefined;
  try {
    key = await describeKey(kms, keyId);
  } catch (e) {
    throw new PreconditionFailed(`The key administrator cannot read key ${keyId}: ${(e as Error).message}`, { cause: e });
  }
  if (!key) throw new PreconditionFailed(`Key ${keyId} does not exist in ${state.context.region}.`);
  const policy = (await kms.send(new GetKeyPolicyCommand({ KeyId: key.Arn!, PolicyName: 'default' }))).Policy ?? '';
  const problems = [...keyProblems(key, state), ...policyProblems(policy, state)];
  if (problems.length) throw new PreconditionFailed(`Key ${key.Arn} cannot be adopted: ${problems.join('; ')}.`);
  return { keyArn: key.Arn!, keyId: key.KeyId!, created: false, adopted: true };
}

/** The policy of the key behind our alias, after refusing a key we did not create or MSF would refuse. */
async function policyOfOurKey(kms: KMSClient, existing: KeyMetadata, alias: string, state: WorkflowState): Promise<unknown> {
  const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: existing.Arn! }))).Tags ?? [];
  if (!tags.some((t) => t.TagKey === MANAGED_BY_TAG.Key && t.TagValue === MANAGED_BY_TAG.Value)) {
    throw new ResourceConflict(`${alias} points to ${existing.Arn}, which this workflow did not create; name it in keyId to adopt it.`);
  }
  const problems = keyProblems(existing, state);
  if (problems.length) throw new PreconditionFailed(`Key ${existing.Arn} behind ${alias} cannot be used: ${problems.join('; ')}.`);
  return JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: existing.Arn!, PolicyName: 'default' }))).Policy ?? '{}');
}

const expectedKeyPolicy = (state: WorkflowState) =>
  keyPolicy({
    scope: state.context,
    applicationArn: appArn(state),
    operatorRoleArn: operatorRoleArn(state),
    keyAdminRoleArn: keyAdminRoleArn(state),
    delegateToAccount: state.config.delegateToAccount,
  });

export async function handler(state: WorkflowState): Promise<Planned<KeyResult>> {
  const { config } = state;
  if (!state.operator?.roleArn || !state.application?.applicationArn) {
    throw new PreconditionFailed('CreateKey needs the operator role and the application first: the key policy names both (facts §2 step 4).');
  }
  if (isPlan(state)) return plan(state);
  const keyAdmin = await asKeyAdmin(state, 'CreateKey');
  const { kms } = keyAdmin;
  if (config.keyId) return adoptKey(kms, state, config.keyId);

  const alias = aliasName(config);
  const policy = expectedKeyPolicy(state);
  try {
    const existing = await describeKey(kms, alias);
    if (existing) {
      if (!isDeepStrictEqual(await policyOfOurKey(kms, existing, alias, state), policy)) {
        await kms.send(new PutKeyPolicyCommand({ KeyId: existing.Arn!, PolicyName: 'default', Policy: JSON.stringify(policy) }));
      }
      return { keyArn: existing.Arn!, keyId: existing.KeyId!, aliasName: alias, created: false, adopted: false };
    }
    const created = await kms.send(
      new CreateKeyCommand({
        Description: `Managed Flink application ${config.applicationName}: running and durable application state`,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Policy: JSON.stringify(policy),
        Tags: [...creationTags(state), { Key: 'application-arn', Value: appArn(state) }].map((t) => ({ TagKey: t.Key, TagValue: t.Value })),
      }),
    );
    const key = created.KeyMetadata!;
    // The alias is how a retry finds the key; a state-machine retry after a failed CreateAlias would make
    // a second key. So CreateAlias gets the SDK's own retries, a lost response is recognised, and only
    // a real failure retires the key (pending deletion) before the retry starts clean. Should this
    // function die right here, RetireKey finds the key by this execution's tag.
    try {
      await keyAdmin.retrying(3).kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId! }));
    } catch (e) {
      if ((await describeKey(kms, alias).catch(() => undefined))?.KeyId !== key.KeyId) {
        await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn!, PendingWindowInDays: config.pendingWindowDays })).catch(() => undefined);
        throw e;
      }
    }
    return { keyArn: key.Arn!, keyId: key.KeyId!, aliasName: alias, created: true, adopted: false };
  } catch (e) {
    // KMS checks that every principal in the policy exists; a role created seconds ago may not be
    // visible yet (facts §2 step 4), so this one is retried by the state machine.
    if (isAwsError(e, 'MalformedPolicyDocumentException') && /invalid principals/i.test((e as Error).message)) {
      throw new PrincipalNotYetVisible(`KMS does not see a principal of the key policy yet: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Plan mode: the same checks as the key administrator when it can read (readAs). A key that does not
 * exist yet has no ARN (KMS picks it), so later steps name it NEW_KEY and its alias.
 */
async function plan(state: WorkflowState): Promise<Planned<KeyResult>> {
  const { config, context } = state;
  const reader = await readAs(state, 'key-admin', 'CreateKey');
  if (config.keyId) {
    if (reader) return { ...(await adoptKey(reader.kms, state, config.keyId)), planned: [] };
    // Adopting changes nothing; only its checks wait for the key administrator.
    return { keyArn: config.keyId, keyId: config.keyId, created: false, adopted: true, planned: [] };
  }
  const alias = aliasName(config);
  const existing = reader && (await describeKey(reader.kms, alias));
  if (existing) {
    const outdated = !isDeepStrictEqual(await policyOfOurKey(reader.kms, existing, alias, state), expectedKeyPolicy(state));
    return {
      keyArn: existing.Arn!,
      keyId: existing.KeyId!,
      aliasName: alias,
      created: false,
      adopted: false,
      planned: outdated ? [change('kms:PutKeyPolicy', existing.Arn!, 'converges the key policy to the documented one')] : [],
    };
  }
  const ifMissing = reader ? '' : `, if ${alias} does not exist (${cannotReadAs('key-admin')})`;
  return {
    keyArn: NEW_KEY,
    keyId: NEW_KEY,
    aliasName: alias,
    created: false,
    adopted: false,
    planned: [
      change('kms:CreateKey', NEW_KEY, `symmetric encryption key whose policy names the operator, the key administrator, ${appArn(state)} and both Managed Flink service principals${ifMissing}`),
      change('kms:CreateAlias', `arn:${context.partition}:kms:${context.region}:${context.account}:${alias}`, `${alias} for the new key${ifMissing}`),
    ],
  };
}
