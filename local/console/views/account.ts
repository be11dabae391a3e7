/**
 * The account as the workflow leaves it: Managed Flink applications and their snapshots (with the key each is
 * under), KMS keys (state, aliases, rotation, the key policy by statement and principal), IAM roles with their
 * policies and permissions boundary. A call the account refuses the root (a key policy without the root
 * statement) shows its AWS error where the data would be.
 */
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { DescribeApplicationCommand, ListApplicationSnapshotsCommand, ListApplicationsCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import type { View } from '../app';
import { all, config, flink, iam, kms } from '../aws';
import { fmtTime, h, pre, update } from '../dom';

/** A call's result, or its AWS error as text (AccessDenied is information here, not a failure of the page). */
async function attempt<T>(f: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}
const failed = (x: unknown): x is { error: string } => typeof x === 'object' && x !== null && 'error' in x;
const errorText = (x: { error: string }) => h('span', { class: 'error' }, x.error);

async function applications() {
  const names = await all(
    (NextToken) => flink.send(new ListApplicationsCommand({ NextToken })),
    (p) => p.ApplicationSummaries,
  );
  return Promise.all(
    names.map(async (s) => {
      const detail = await attempt(async () => (await flink.send(new DescribeApplicationCommand({ ApplicationName: s.ApplicationName }))).ApplicationDetail!);
      const snapshots = await attempt(
        async () => (await flink.send(new ListApplicationSnapshotsCommand({ ApplicationName: s.ApplicationName }))).SnapshotSummaries ?? [],
      );
      return { summary: s, detail, snapshots };
    }),
  );
}

async function keys() {
  const [list, aliases] = await Promise.all([
    all(
      (Marker) => kms.send(new ListKeysCommand({ Marker })),
      (p) => p.Keys,
    ),
    all(
      (Marker) => kms.send(new ListAliasesCommand({ Marker })),
      (p) => p.Aliases,
    ),
  ]);
  return Promise.all(
    list.map(async (k) => {
      const policy = await attempt(async () => (await kms.send(new GetKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default' }))).Policy!);
      // The workflow's key policies name no root statement, so root may not read their rotation: the policy says so, no need to be refused.
      const rotation =
        failed(policy) || allowsRoot(JSON.parse(policy), 'kms:GetKeyRotationStatus')
          ? await attempt(() => kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId })))
          : { error: 'not readable by the account root (no key policy statement lets it; the key administrator reads it)' };
      return {
        keyId: k.KeyId!,
        keyArn: k.KeyArn!,
        aliases: aliases.filter((a) => a.TargetKeyId === k.KeyId).map((a) => a.AliasName!),
        metadata: await attempt(async () => (await kms.send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!),
        rotation,
        policy,
      };
    }),
  );
}

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(value);

/** Whether a key policy has an Allow statement naming the account root (or everyone) for this action; conditions are not weighed. */
function allowsRoot(doc: any, action: string): boolean {
  const root = [`AWS arn:aws:iam::${config.account}:root`, `AWS ${config.account}`, 'AWS *', '*'];
  return statementsOf(doc).some((s) => s.Effect === 'Allow' && principalsOf(s).some((p) => root.includes(p)) && asList(s.Action).some((a) => glob(a, action)));
}

const decode = (doc?: string) => (doc ? JSON.parse(decodeURIComponent(doc)) : undefined);

/** The account's roles; the policies and boundary of the open ones only (about four calls a role, each poll). */
async function roles(open: Set<string>) {
  const list = await all(
    (Marker) => iam.send(new ListRolesCommand({ Marker })),
    (p) => p.Roles,
  );
  return Promise.all(
    list.map(async (r) => ({ name: r.RoleName!, arn: r.Arn!, path: r.Path, detail: open.has(r.RoleName!) ? await roleDetail(r.RoleName!) : undefined })),
  );
}

async function roleDetail(name: string) {
  const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role!;
  const inlineNames = (await iam.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames ?? [];
  const inline = await Promise.all(
    inlineNames.map(async (n) => ({
      name: n,
      document: decode((await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: n }))).PolicyDocument),
    })),
  );
  const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies ?? [];
  const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
  const boundary = async (arn: string) =>
    attempt(async () => {
      const p = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
      return decode((await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: p.DefaultVersionId }))).PolicyVersion!.Document);
    });
  return {
    trust: decode(role.AssumeRolePolicyDocument),
    inline,
    attached: attached.map((a) => a.PolicyArn!),
    boundary: boundaryArn && { arn: boundaryArn, document: await boundary(boundaryArn) },
  };
}

const statementsOf = (doc: any): any[] => (Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : []);
const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** Each principal a statement names, as `AWS arn:…` / `Service kinesisanalytics.amazonaws.com` / `*`. */
export function principalsOf(statement: any): string[] {
  const p = statement.Principal ?? statement.NotPrincipal;
  if (p === undefined) return [];
  if (typeof p === 'string') return [p];
  return Object.entries(p).flatMap(([kind, v]) => asList(v).map((x) => `${kind} ${x}`));
}

/** A policy document, statement by statement: who (principals), what (actions), on what, when; then the JSON. */
export function policyView(doc: any, withPrincipals: boolean): HTMLElement {
  const statements = statementsOf(doc);
  return h(
    'div',
    { class: 'policy' },
    h(
      'table',
      { class: 'statements' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Statement'),
          h('th', {}, 'Effect'),
          withPrincipals && h('th', {}, 'Principals'),
          h('th', {}, 'Actions'),
          h('th', {}, 'Resources'),
          h('th', {}, 'Condition'),
        ),
      ),
      h(
        'tbody',
        {},
        statements.map((s, i) =>
          h(
            'tr',
            {},
            h('td', {}, s.Sid ?? `#${i + 1}`),
            h('td', { class: s.Effect === 'Deny' ? 'error' : '' }, s.Effect),
            withPrincipals &&
              h(
                'td',
                { class: 'mono' },
                h(
                  'ul',
                  {},
                  principalsOf(s).map((p) => h('li', {}, p)),
                ),
              ),
            h(
              'td',
              { class: 'mono' },
              h(
                'ul',
                {},
                [...asList(s.Action), ...asList(s.NotAction).map((a) => `not ${a}`)].map((a) => h('li', {}, a)),
              ),
            ),
            h(
              'td',
              { class: 'mono' },
              h(
                'ul',
                {},
                asList(s.Resource).map((r) => h('li', {}, r)),
              ),
            ),
            h('td', { class: 'mono' }, s.Condition ? pre(JSON.stringify(s.Condition, null, 1)) : ''),
          ),
        ),
      ),
    ),
    h('details', {}, h('summary', {}, 'JSON'), pre(JSON.stringify(doc, null, 2))),
  );
}

const table = (head: string[], rows: (Node | string | undefined)[][]) =>
  h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c) => h('td', {}, c ?? '')),
        ),
      ),
    ),
  );

export function accountView(): View {
  const apps = h('div');
  const snaps = h('div');
  const keyBox = h('div');
  const roleBox = h('div');
  const el = h(
    'section',
    {},
    h('h1', {}, 'Account'),
    h('h2', { id: 'applications' }, 'Applications'),
    apps,
    h('h2', { id: 'keys' }, 'KMS keys'),
    keyBox,
    h('h2', { id: 'snapshots' }, 'Snapshots'),
    snaps,
    h('h2', { id: 'roles' }, 'IAM roles'),
    roleBox,
  );
  // Which roles are open, so their details are read; 'toggle' does not bubble, so it is caught on the way down.
  const openRoles = new Set<string>();
  roleBox.addEventListener(
    'toggle',
    (e) => {
      const d = e.target as HTMLDetailsElement;
      const name = d.dataset.role;
      if (!name || d.open === openRoles.has(name)) return;
      if (d.open) openRoles.add(name);
      else openRoles.delete(name);
      // A failure shows at the next poll, in the status line.
      refresh().catch(() => {});
    },
    true,
  );
  const refresh = async () => {
    const [a, k, r] = await Promise.all([applications(), keys(), roles(openRoles)]);
    const keyName = (id?: string) => (id ? (k.find((x) => x.keyArn === id || x.keyId === id || x.aliases.includes(id))?.aliases[0] ?? id) : '');
    update(apps, a, () =>
      table(
        ['Application', 'Status', 'Version', 'Runtime', 'Key type', 'Key'],
        a.map(({ summary, detail }) => {
          const enc = failed(detail) ? undefined : detail.ApplicationConfigurationDescription?.ApplicationEncryptionConfigurationDescription;
          return [
            summary.ApplicationName,
            summary.ApplicationStatus,
            String(summary.ApplicationVersionId),
            summary.RuntimeEnvironment,
            failed(detail) ? errorText(detail) : (enc?.KeyType ?? 'AWS_OWNED_KEY'),
            h('span', { class: 'mono', title: enc?.KeyId ?? '' }, keyName(enc?.KeyId)),
          ];
        }),
      ),
    );
    update(snaps, a, () =>
      table(
        ['Application', 'Snapshot', 'Status', 'Created', 'Under key'],
        a.flatMap(({ summary, snapshots }) =>
          failed(snapshots)
            ? [[summary.ApplicationName, errorText(snapshots)]]
            : snapshots.map((s) => {
                const e = s.ApplicationEncryptionConfigurationDescription;
                return [
                  summary.ApplicationName,
                  s.SnapshotName,
                  s.SnapshotStatus,
                  fmtTime(s.SnapshotCreationTimestamp),
                  h('span', { class: 'mono', title: e?.KeyId ?? '' }, `${e?.KeyType ?? 'AWS_OWNED_KEY'} ${keyName(e?.KeyId)}`),
                ];
              }),
        ),
      ),
    );
    update(keyBox, k, () =>
      k.map((key) => {
        const m = failed(key.metadata) ? undefined : key.metadata;
        const rot = failed(key.rotation)
          ? key.rotation.error
          : key.rotation.KeyRotationEnabled
            ? `automatic, every ${key.rotation.RotationPeriodInDays} days`
            : 'off';
        return h(
          'details',
          { class: 'card key', 'data-key': `key-${key.keyId}` },
          h(
            'summary',
            { 'data-key': `key-summary-${key.keyId}` },
            h('strong', {}, key.aliases.join(', ') || '(no alias)'),
            ' ',
            h('span', { class: 'mono' }, key.keyId),
            ' · ',
            m ? `${m.KeyState} · ${m.KeyManager}` : errorText(key.metadata as { error: string }),
            ` · rotation ${rot}`,
          ),
          m && h('p', { class: 'sub' }, `${m.Description || 'no description'} · created ${fmtTime(m.CreationDate)} · ${m.KeySpec}`),
          h('h3', {}, 'Key policy'),
          failed(key.policy) ? errorText(key.policy) : policyView(JSON.parse(key.policy), true),
        );
      }),
    );
    update(roleBox, r, () =>
      r.map((role) => {
        const d = role.detail;
        return h(
          'details',
          { class: 'card role', 'data-key': `role-${role.name}`, 'data-role': role.name },
          h(
            'summary',
            { 'data-key': `role-summary-${role.name}` },
            h('strong', {}, role.name),
            ` ${role.path}`,
            d && ` · ${d.inline.length} inline, ${d.attached.length} attached${d.boundary ? ` · boundary ${d.boundary.arn.split('/').pop()}` : ''}`,
          ),
          h('p', { class: 'mono sub' }, role.arn),
          !d && h('p', { class: 'sub' }, 'Loading…'),
          d && [
            h('h3', {}, 'Trust policy'),
            policyView(d.trust, true),
            ...d.inline.flatMap((p) => [h('h3', {}, `Inline policy ${p.name}`), policyView(p.document, false)]),
            d.attached.length > 0 && h('h3', {}, 'Attached'),
            d.attached.length > 0 &&
              h(
                'ul',
                { class: 'mono' },
                d.attached.map((p) => h('li', {}, p)),
              ),
            d.boundary && h('h3', {}, `Permissions boundary ${d.boundary.arn}`),
            d.boundary && (failed(d.boundary.document) ? errorText(d.boundary.document) : policyView(d.boundary.document, false)),
          ],
        );
      }),
    );
  };
  return { el, every: 3, refresh };
}
