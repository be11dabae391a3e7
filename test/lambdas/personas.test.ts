/**
 * Assumed-role sessions live at module scope, one per role and execution: every step of a run in a warm
 * container shares it, another run gets its own, and one close to expiring is replaced before it expires.
 */
import { clientsAs, type Actor } from '../../lambdas/lib/personas';
import { contextOf } from '../../lambdas/lib/names';
import { world, type World } from '../workflow/harness';

const actor = (execution: string, step: string): Actor => ({
  step,
  context: contextOf(`arn:aws:states:us-east-1:000000000000:execution:OnboardApplication:${execution}`),
  applicationName: 'orders',
});

describe('persona sessions', () => {
  let w: World;
  const saved = { ...process.env };
  beforeAll(async () => {
    w = await world();
    Object.assign(process.env, w.env);
  });
  afterAll(async () => {
    process.env = { ...saved };
    await w.close();
  });
  const assumed = () => w.sb.sandbox.faults.log.filter((e) => e.operation === 'AssumeRole').length;

  it('assumes the key administrator once for every step of one run, reads and writes alike', async () => {
    w.sb.sandbox.faults.log.length = 0;
    await clientsAs('key-admin', actor('run-1', 'CreateKey'), 'read');
    await clientsAs('key-admin', actor('run-1', 'CreateKey'), 'write');
    await clientsAs('key-admin', actor('run-1', 'RetireKey'), 'write');
    expect(assumed()).toBe(1);
  });

  it('gives another execution a session of its own', async () => {
    w.sb.sandbox.faults.log.length = 0;
    await clientsAs('key-admin', actor('run-2', 'CreateKey'), 'read');
    expect(assumed()).toBe(1);
  });

  it('assumes afresh when the session has less than five minutes left', async () => {
    await clientsAs('key-admin', actor('run-3', 'CreateKey'), 'read');
    w.sb.sandbox.faults.log.length = 0;
    const now = Date.now();
    const later = jest.spyOn(Date, 'now').mockReturnValue(now + 11 * 60 * 1000);
    try {
      await clientsAs('key-admin', actor('run-3', 'GrantOperatorKeyAccess'), 'read');
    } finally {
      later.mockRestore();
    }
    expect(assumed()).toBe(1);
  });
});
