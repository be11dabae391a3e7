/**
 * The sandbox's request log (GET /_sandbox/log): every AWS call, who made it (the assumed-role session), its
 * outcome and the AWS error message. The functions' sessions carry the execution's name (personas.ts
 * `msf-cmk.<execution>`), and the orchestrator's and its state machine's are during it: both select an
 * execution's calls (a function of a run of another machine at the same time is counted in too).
 */
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import type { View } from '../app';
import { persona, sfn, shortName, stateMachines } from '../aws';
import type { RequestLogEntry } from '../../sandbox/faults';
import { fmtTime, h, update } from '../dom';
import { executions } from './executions';

const MAX_ROWS = 400;

/** Each state machine's role name (its executions' sessions), read once per visit of the view. */
let machineRoles: Promise<Map<string, string>> | undefined;
const rolesOfMachines = () =>
  (machineRoles ??= stateMachines().then(
    async (list) =>
      new Map(
        await Promise.all(
          list.map(async (m) => {
            const { roleArn } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: m.stateMachineArn }));
            return [m.stateMachineArn!, roleArn!.split('/').pop()!] as const;
          }),
        ),
      ),
  ));
const roleOf = (caller: string) => /:assumed-role\/([^/]+)\//.exec(caller)?.[1];

/** The request log, read on from what this view already has (the log only grows, until someone clears it). */
let cached: RequestLogEntry[] = [];
async function readLog(): Promise<RequestLogEntry[]> {
  const res = await fetch(`/_sandbox/log?from=${cached.length}`);
  if (!res.ok) throw new Error(`GET /_sandbox/log: ${res.status}`);
  const fresh = (await res.json()) as RequestLogEntry[];
  if (Number(res.headers.get('x-sandbox-log-length')) < cached.length + fresh.length) {
    // Cleared since: read it again from the start.
    cached = [];
    return readLog();
  }
  cached = cached.concat(fresh);
  return cached;
}

export function callsView(params: URLSearchParams): View {
  // Read again per visit: a deployment since may have added machines.
  machineRoles = undefined;
  const picked = params.get('execution') ?? '';
  const execution = h('select', { id: 'calls-execution' }, h('option', { value: '' }, 'all executions')) as HTMLSelectElement;
  const errorsOnly = h('input', { type: 'checkbox', id: 'calls-errors' }) as HTMLInputElement;
  const hideRoot = h('input', { type: 'checkbox', id: 'calls-root', checked: true }) as HTMLInputElement;
  const summary = h('p', { class: 'sub', 'aria-live': 'polite' });
  const rows = h('div');
  let known = '';
  const el = h(
    'section',
    {},
    h('h1', {}, 'Calls'),
    h(
      'div',
      { class: 'filters' },
      h('label', { for: 'calls-execution' }, 'Execution '),
      execution,
      h('label', {}, errorsOnly, ' errors only'),
      h('label', {}, hideRoot, " hide the account root's calls (this console's own)"),
    ),
    summary,
    rows,
  );
  let refresh = async () => {};
  // A failure here shows at the next poll, in the status line.
  for (const c of [execution, errorsOnly, hideRoot]) c.addEventListener('change', () => refresh().catch(() => {}));
  refresh = async () => {
    const [log, list] = await Promise.all([readLog(), executions()]);
    const options = list.map((e) => [e.executionArn!, `${e.name} (${e.machine}, ${e.status})`]);
    if (JSON.stringify(options) !== known) {
      known = JSON.stringify(options);
      const value = execution.value || picked;
      execution.replaceChildren(h('option', { value: '' }, 'all executions'), ...options.map(([v, t]) => h('option', { value: v }, t)));
      execution.value = value;
    }
    const ex = list.find((e) => e.executionArn === execution.value);
    const from = ex ? +ex.startDate! : 0;
    const to = ex?.stopDate ? +ex.stopDate + 1000 : Number.POSITIVE_INFINITY;
    // Another state machine's role is another execution's, even when it ran at the same time.
    const roles = ex ? await rolesOfMachines() : new Map<string, string>();
    const otherMachines = new Set([...roles].filter(([arn]) => arn !== ex?.stateMachineArn).map(([, role]) => role));
    const shown = log
      .filter((e) => !hideRoot.checked || !e.caller.endsWith(':root'))
      .filter((e) => !errorsOnly.checked || e.outcome !== 'OK')
      .filter((e) => {
        if (!ex) return true;
        // The functions' sessions are named after the execution; its role's and the orchestrator's run during it.
        if (e.caller.includes(ex.name!)) return true;
        const t = Date.parse(e.time);
        return t >= from && t <= to && e.caller.includes(':assumed-role/') && !otherMachines.has(roleOf(e.caller)!);
      })
      .reverse();
    summary.textContent = `${shown.length} of ${log.length} calls${ex ? ` for ${ex.name} (${shortName(ex.machine)})` : ''}${shown.length > MAX_ROWS ? `, newest ${MAX_ROWS} shown` : ''}`;
    const page = shown.slice(0, MAX_ROWS);
    update(rows, page, () =>
      h(
        'table',
        { class: 'calls' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Time', 'Persona (role / session)', 'Service', 'Operation', 'Outcome', 'Message'].map((c) => h('th', {}, c)),
          ),
        ),
        h(
          'tbody',
          {},
          page.map((e) =>
            h(
              'tr',
              { class: e.outcome === 'OK' ? '' : 'failed' },
              h('td', {}, fmtTime(e.time)),
              h('td', { class: 'mono', title: e.caller }, persona(e.caller)),
              h('td', {}, e.service),
              h('td', {}, e.operation),
              h('td', {}, e.outcome),
              h('td', { class: 'detail' }, e.message ?? ''),
            ),
          ),
        ),
      ),
    );
  };
  return { el, refresh: () => refresh() };
}
