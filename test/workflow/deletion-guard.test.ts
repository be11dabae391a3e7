/**
 * The deletion guard (keyDeletionGuard): the key policy denies DisableKey and ScheduleKeyDeletion to every
 * principal while the key carries msf-cmk:in-use=true, so deleting a key an application needs takes two
 * deliberate acts. Proven by KMS's own policy evaluation in the sandbox, not by reading the document.
 */
import { DisableKeyCommand, KMSClient, ScheduleKeyDeletionCommand, UntagResourceCommand } from '@aws-sdk/client-kms';
import { IN_USE_KEY } from '../../lambdas/lib/names';
import { issueSession } from '../../local/sandbox/services/sts';
import { KEY_ADMIN_ARN, world, type World } from './harness';

describe('deletion guard', () => {
  let w: World;
  afterEach(() => w?.close());

  const keyAdmin = () => {
    const s = issueSession(w.sb.sandbox, KEY_ADMIN_ARN, 'deliberate');
    return new KMSClient({
      ...w.sb.clientConfig(),
      credentials: { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken },
    });
  };
  const onlyKey = () => {
    const keys = Object.values(w.sb.sandbox.state.kms.keys);
    expect(keys).toHaveLength(1);
    return keys[0];
  };
  const inUse = (key: { Tags: { TagKey: string; TagValue: string }[] }) => key.Tags.find((t) => t.TagKey === IN_USE_KEY)?.TagValue;

  it('refuses DisableKey and ScheduleKeyDeletion of an in-use key to the key administrator; removing the tag first lets it through', async () => {
    // Prepare
    w = await world({ settings: { keyDeletionGuard: true } });
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const key = onlyKey();
    expect(inUse(key)).toBe('true');
    const kms = keyAdmin();

    // Act, Assess: an explicit deny beats the key administrator's allow.
    await expect(kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('explicit deny'),
    });
    expect(onlyKey().KeyState).toBe('Enabled');
    // The deliberate two-step act.
    await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: [IN_USE_KEY] }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    expect(onlyKey().KeyState).toBe('PendingDeletion');
  });

  it('is off by default: the key is tagged in use, and the key administrator may schedule its deletion in one call', async () => {
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    expect(inUse(onlyKey())).toBe('true');
    await keyAdmin().send(new ScheduleKeyDeletionCommand({ KeyId: onlyKey().KeyId, PendingWindowInDays: 7 }));
    expect(onlyKey().KeyState).toBe('PendingDeletion');
  });

  it('a rollback still retires the key it created: it removes the in-use tag, then schedules the deletion', async () => {
    // Prepare: the switch fails for good, after the key exists.
    w = await world({ settings: { keyDeletionGuard: true } });
    await w.existingApp('orders');
    w.sb.sandbox.faults.inject({ service: 'kinesisanalytics', operation: 'UpdateApplication', error: 'ValidationException', status: 400, times: 1 });

    // Act
    const result = await w.machine().run({ applicationName: 'orders' });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationException' });
    expect(result.cause).toContain('Rolled back.');
    expect(onlyKey().KeyState).toBe('PendingDeletion');
    expect(inUse(onlyKey())).toBeUndefined();
  });

  it('a re-run with the guard newly on converges a key that lacks it: the deny statement and the in-use tag, as its plan said', async () => {
    // Prepare: onboarded without the guard, and a key from before the in-use tag.
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    await keyAdmin().send(new UntagResourceCommand({ KeyId: onlyKey().KeyId, TagKeys: [IN_USE_KEY] }));
    const guarded = { ...w.env, MSF_CMK_KEY_DELETION_GUARD: 'true' };
    const before = w.sb.sandbox.snapshot();

    // Act
    const plan = await w.machine({ env: guarded }).run({ applicationName: 'orders', mode: 'plan' });
    const run = await w.machine({ env: guarded }).run({ applicationName: 'orders' });

    // Assess: the plan names exactly the two writes; the deny now holds.
    expect(plan.status).toBe('SUCCEEDED');
    expect(plan.output.changes.map((c: { action: string }) => c.action)).toEqual(['kms:PutKeyPolicy', 'kms:TagResource']);
    expect(run.status).toBe('SUCCEEDED');
    expect(w.sb.sandbox.diff(before).map((c) => c.path)).toEqual(expect.arrayContaining([`kms.keys.${onlyKey().KeyId}`]));
    expect(inUse(onlyKey())).toBe('true');
    await expect(keyAdmin().send(new DisableKeyCommand({ KeyId: onlyKey().KeyId }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
