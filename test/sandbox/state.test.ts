import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, GetRoleCommand, ListRolesCommand, type Role } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { clients, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('sandbox state: snapshot, diff, restore', () => {
  let sb: RunningSandbox;
  let seq = 0;
  const unique = (base: string) => `${base}${++seq}`;
  const createRole = async (RoleName: string) =>
    (await clients(sb).iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: LAMBDA_TRUST }))).Role!;

  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterAll(() => sb.close());

  it('reports no change when only read-only calls were made', async () => {
    const before = sb.sandbox.snapshot();

    await clients(sb).sts.send(new GetCallerIdentityCommand({}));
    await clients(sb).iam.send(new ListRolesCommand({}));

    expect(sb.sandbox.diff(before)).toEqual([]);
  });

  it('reports exactly the role that was created', async () => {
    const before = sb.sandbox.snapshot();
    const name = unique('Created');

    const role = await createRole(name);

    expect(sb.sandbox.diff(before)).toEqual([
      { path: `iam.roles.${name}`, before: undefined, after: expect.objectContaining({ RoleName: name, RoleId: role.RoleId, Arn: role.Arn }) },
    ]);
  });

  it('leaves STS sessions out of the diff: assuming a role changes no account resource', async () => {
    const role = await createRole(unique('Assumed'));
    const before = sb.sandbox.snapshot();

    const session = roleCredentials(sb, role.Arn!);

    expect(Object.keys(sb.sandbox.state.sts.sessions)).toContain(session.accessKeyId);
    expect(Object.keys(before.sts.sessions)).not.toContain(session.accessKeyId);
    expect(sb.sandbox.diff(before)).toEqual([]);
  });

  it('undoes every change with restore(), and a snapshot is a copy the sandbox does not share', async () => {
    const { iam } = clients(sb);
    const before = sb.sandbox.snapshot();
    const name = unique('Undone');
    await createRole(name);

    sb.sandbox.restore(before);

    expect(sb.sandbox.diff(before)).toEqual([]);
    const roles = Object.keys(before.iam.roles);
    expect(roles.length).toBeGreaterThan(0);
    before.iam.roles = {};
    expect(Object.keys(sb.sandbox.state.iam.roles)).toEqual(roles);
    await expect(iam.send(new GetRoleCommand({ RoleName: name }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      message: `The role with name ${name} cannot be found.`,
    });
  });
});

describe('sandbox state: persistence to a state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the account after a mutating call only, and a new sandbox on the same file sees it', async () => {
    const stateFile = join(dir, 'account.json');
    const first = await testSandbox({ stateFile });
    let created: Role;
    try {
      await clients(first).sts.send(new GetCallerIdentityCommand({}));
      expect(existsSync(stateFile)).toBe(false);

      created = (await clients(first).iam.send(new CreateRoleCommand({ RoleName: 'Persisted', AssumeRolePolicyDocument: LAMBDA_TRUST }))).Role!;

      expect(JSON.parse(readFileSync(stateFile, 'utf8')).iam.roles.Persisted).toMatchObject({ RoleId: created.RoleId, Arn: created.Arn });
    } finally {
      await first.close();
    }

    const second = await testSandbox({ stateFile });
    try {
      await expect(clients(second).iam.send(new GetRoleCommand({ RoleName: 'Persisted' }))).resolves.toMatchObject({
        Role: { RoleId: created.RoleId, Arn: created.Arn },
      });
    } finally {
      await second.close();
    }
  });

  it('rewrites the state file when the state is put back through the control endpoint', async () => {
    const stateFile = join(dir, 'account.json');
    const sb = await testSandbox({ stateFile });
    try {
      const saved = sb.sandbox.snapshot();
      await clients(sb).iam.send(new CreateRoleCommand({ RoleName: 'Rolled', AssumeRolePolicyDocument: LAMBDA_TRUST }));
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).iam.roles).toHaveProperty('Rolled');

      const res = await fetch(`${sb.endpoint}/_sandbox/state`, { method: 'PUT', body: JSON.stringify(saved) });

      expect(res.status).toBe(200);
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).iam.roles).toEqual({});
    } finally {
      await sb.close();
    }
  });
});
