/** Executions (ListExecutions) with status filters, and one execution: its graph painted from its history, states, events, Stop. */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { View } from '../app';
import { all, sfn, shortName, stateMachines } from '../aws';
import { fitButton, fmtTime, h, pre, pretty, update } from '../dom';
import { renderGraph } from '../graph';
import { analyse, type StateEntry, statusOfEntry } from '../history';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'];

/** Every execution of every state machine (or of one), newest first. */
export async function executions(machineArn?: string): Promise<(ExecutionListItem & { machine: string })[]> {
  const machines = (await stateMachines()).filter((m) => !machineArn || m.stateMachineArn === machineArn);
  const lists = await Promise.all(
    machines.map(async (m) =>
      (
        await all(
          (nextToken) => sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn, nextToken, maxResults: 100 })),
          (p) => p.executions,
        )
      ).map((e) => ({ ...e, machine: shortName(m.name) })),
    ),
  );
  return lists.flat().sort((a, b) => +b.startDate! - +a.startDate!);
}

const badge = (status = '') => h('span', { class: `badge status-${status.toLowerCase()}` }, status);
const duration = (from?: Date, to?: Date) => (from ? `${(((to ?? new Date()).getTime() - from.getTime()) / 1000).toFixed(1)} s` : '');
export const executionLink = (arn: string, text: string) => h('a', { href: `#/execution/${encodeURIComponent(arn)}`, 'data-key': arn }, text);

export function executionsView(params: URLSearchParams): View {
  const machine = params.get('machine') ?? undefined;
  const status = params.get('status') ?? undefined;
  const filters = h('div', { class: 'buttons', role: 'group', 'aria-label': 'status filter' });
  const table = h('div');
  const hrefWith = (s?: string) => `#/executions?${new URLSearchParams({ ...(machine && { machine }), ...(s && { status: s }) })}`;
  const el = h('section', {}, h('h1', {}, 'Executions'), filters, table);
  return {
    el,
    refresh: async () => {
      const list = await executions(machine);
      const counts = Object.fromEntries(STATUSES.map((s) => [s, list.filter((e) => e.status === s).length]));
      update(filters, counts, () => [
        h('a', { href: hrefWith(), class: 'chip', 'aria-current': !status && 'true', 'data-key': 'all' }, `All ${list.length}`),
        ...STATUSES.map((s) =>
          h('a', { href: hrefWith(s), class: `chip status-${s.toLowerCase()}`, 'aria-current': status === s && 'true', 'data-key': s }, `${s} ${counts[s]}`),
        ),
        machine && h('span', { class: 'sub' }, ` of ${list[0]?.machine ?? 'one state machine'} · `, h('a', { href: '#/executions' }, 'all machines')),
      ]);
      const shown = list.filter((e) => !status || e.status === status);
      update(table, shown, () =>
        shown.length
          ? h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Name', 'State machine', 'Status', 'Started', 'Duration'].map((c) => h('th', {}, c)),
                ),
              ),
              h(
                'tbody',
                {},
                shown.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, executionLink(e.executionArn!, e.name!)),
                    h('td', {}, e.machine),
                    h('td', {}, badge(e.status)),
                    h('td', {}, fmtTime(e.startDate)),
                    h('td', {}, duration(e.startDate, e.stopDate)),
                  ),
                ),
              ),
            )
          : h('p', { class: 'sub' }, 'No executions.'),
      );
    },
  };
}

/** A plan's output (mode "plan"): the change list a real run would make. */
const isPlan = (o: any) => o && o.mode === 'plan' && Array.isArray(o.changes);

function planTable(o: any): HTMLElement {
  return h(
    'div',
    { class: 'plan' },
    h('h2', {}, `Plan: ${o.changes.length} changes${o.applicationName ? ` for ${o.applicationName}` : ''} (nothing was written)`),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Action'), h('th', {}, 'Resource'), h('th', {}, 'What'))),
      h(
        'tbody',
        {},
        o.changes.map((c: any, i: number) =>
          h('tr', {}, h('td', {}, i + 1), h('td', { class: 'mono' }, c.action), h('td', { class: 'mono' }, c.resource), h('td', {}, c.detail)),
        ),
      ),
    ),
  );
}

/** An error and its cause; a Lambda function's cause is its JSON error, whose message leads and whose trace folds away. */
function errorBox(error = 'Error', cause?: string): HTMLElement {
  let parsed: any;
  try {
    parsed = cause ? JSON.parse(cause) : undefined;
  } catch {}
  const message = typeof parsed?.errorMessage === 'string' ? parsed.errorMessage : cause;
  return h(
    'div',
    { class: 'error-box' },
    h('strong', {}, error),
    h('p', { class: 'error-message' }, message ?? ''),
    parsed?.trace && h('details', {}, h('summary', {}, 'Stack trace'), pre(pretty(cause))),
  );
}

function entryPanel(x: StateEntry, executionStatus: string, i: number, n: number): HTMLElement {
  const status = statusOfEntry(x, executionStatus);
  const retries = Math.max(0, x.scheduled - 1);
  const error = status !== 'succeeded' && status !== 'running' ? x.attempts.at(-1) : undefined;
  return h(
    'div',
    { class: 'entry' },
    h(
      'p',
      {},
      n > 1 && h('strong', {}, `Entry ${i + 1} of ${n} · `),
      badge(status.toUpperCase()),
      ` ${x.type} · entered ${fmtTime(x.entered)}${x.exited ? ` · ${duration(x.entered, x.exited)}` : ''}`,
      retries > 0 && h('span', { class: 'retries' }, ` · ${retries} ${retries === 1 ? 'retry' : 'retries'}`),
    ),
    error && errorBox(error.error, error.cause),
    retries > 0 &&
      h(
        'details',
        { 'data-key': `retries-${x.enteredId}` },
        h('summary', {}, `Retried attempts (${x.attempts.length} failed)`),
        h(
          'ol',
          {},
          x.attempts.map((a) => h('li', {}, h('strong', {}, a.error ?? ''), ' ', a.cause ?? '')),
        ),
      ),
    h('details', { 'data-key': `input-${x.enteredId}` }, h('summary', {}, 'Input'), pre(pretty(x.input))),
    x.output !== undefined && h('details', { 'data-key': `output-${x.enteredId}`, class: 'state-output' }, h('summary', {}, 'Output'), pre(pretty(x.output))),
  );
}

const detailsOf = (e: HistoryEvent): any => Object.entries(e).find(([k, v]) => k.endsWith('EventDetails') && v)?.[1] ?? {};

function eventTable(events: HistoryEvent[]): HTMLElement {
  return h(
    'div',
    { class: 'scroll', 'data-key': 'events', tabindex: '0', role: 'region', 'aria-label': 'history events' },
    h(
      'table',
      { class: 'events' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['ID', 'Time', 'Type', 'State', 'Detail'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        events.map((e) => {
          const d = detailsOf(e);
          const detail = d.error ? `${d.error}: ${d.cause ?? ''}` : (d.resource ?? '');
          return h(
            'tr',
            { class: /Failed|Aborted|TimedOut/.test(e.type ?? '') ? 'failed' : '' },
            h('td', {}, e.id),
            h('td', {}, fmtTime(e.timestamp)),
            h('td', {}, e.type),
            h('td', {}, d.name ?? ''),
            h('td', { class: 'detail' }, String(detail).slice(0, 300)),
          );
        }),
      ),
    ),
  );
}

/** A Map state's inner states have one entry per iteration: the panel shows the last ones. */
const MAX_ENTRIES = 10;

const LEGEND: [string, string][] = [
  ['running', 'in progress'],
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['caught', 'failed, caught'],
  ['aborted', 'cancelled / aborted'],
];

export function executionView(arn: string): View {
  const header = h('div');
  const graph = h('div', { class: 'graph-box', 'data-key': 'graph' });
  const panel = h('div', { class: 'pane state-panel', 'aria-live': 'polite' });
  const result = h('div');
  const eventsBox = h('div');
  const definitions = new Map<string, any>();
  let selected: string | undefined;
  let chosen = false;
  let scrolledTo: string | undefined;
  let rerender = () => {};
  const select = (name: string) => {
    selected = name;
    chosen = true;
    rerender();
  };
  const legend = h(
    'p',
    { class: 'legend' },
    LEGEND.map(([s, label]) => h('span', { class: `badge status-${s}` }, label)),
    h('span', { class: 'rollback-key' }, 'rollback path'),
  );
  const el = h(
    'section',
    {},
    header,
    result,
    h('div', { class: 'split' }, h('div', { class: 'pane' }, h('h2', {}, 'Graph ', fitButton(graph)), legend, graph), panel),
    h('h2', {}, 'Events'),
    eventsBox,
  );

  return {
    el,
    refresh: async () => {
      const ex = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      const events = await all(
        (nextToken) => sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken, maxResults: 1000 })),
        (p) => p.events,
      );
      if (!definitions.has(ex.stateMachineArn!))
        definitions.set(
          ex.stateMachineArn!,
          JSON.parse((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: ex.stateMachineArn }))).definition!),
        );
      const definition = definitions.get(ex.stateMachineArn!);
      const a = analyse(events, ex.status!);
      // Until the user picks one, the state to look at is the one that failed.
      const failing = [...a.entries].reverse().find((x) => ['failed', 'caught', 'aborted'].includes(statusOfEntry(x, ex.status!)) && x.type !== 'Fail');
      if (!chosen) selected = failing?.name;
      const caught = a.entries.find((x) => x.caught);

      update(header, [ex.status, ex.stopDate, ex.error], () => {
        const stop = h('button', { type: 'button', class: 'danger' }, 'Stop execution');
        stop.addEventListener('click', async () => {
          stop.setAttribute('disabled', '');
          try {
            await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'StoppedFromConsole', cause: 'Stopped from the local console' }));
          } catch (e) {
            stop.after(h('span', { class: 'error' }, ` ${(e as Error).name}: ${(e as Error).message}`));
            stop.removeAttribute('disabled');
          }
        });
        return [
          h('h1', {}, `${ex.name} `, badge(ex.status)),
          h(
            'p',
            { class: 'sub' },
            h('a', { href: `#/machine/${encodeURIComponent(ex.stateMachineArn!)}` }, shortName(ex.stateMachineArn!.split(':').pop())),
            ` · started ${fmtTime(ex.startDate)}${ex.stopDate ? ` · ended ${fmtTime(ex.stopDate)} · ${duration(ex.startDate, ex.stopDate)}` : ''} · `,
            h('a', { href: `#/calls?execution=${encodeURIComponent(arn)}` }, 'its AWS calls'),
          ),
          ex.status === 'RUNNING' && stop,
          ex.error && errorBox(ex.error, ex.cause),
        ];
      });

      const output = ex.output ? JSON.parse(ex.output) : undefined;
      update(result, [ex.output, caught?.name, a.rollback.size], () => [
        caught &&
          h(
            'p',
            { class: 'rollback-note' },
            `Rollback path taken: ${caught.name} failed with ${caught.attempts.at(-1)?.error}, its Catch went on to ${[...new Set(a.entries.filter((x) => x.rollback).map((x) => x.name))].join(' → ')}.`,
          ),
        isPlan(output) && planTable(output),
        output !== undefined &&
          !isPlan(output) &&
          h('details', { 'data-key': 'execution-output' }, h('summary', {}, 'Execution output'), pre(JSON.stringify(output, null, 2))),
      ]);

      rerender = () => {
        const rolledBack = new Set(a.entries.filter((x) => x.rollback).map((x) => x.name));
        const paint = { status: a.status, taken: a.taken, rollback: a.rollback, rolledBack, selected, onSelect: select };
        update(graph, [events.length, ex.status, selected], () => renderGraph(definition, paint));
        // Bring the selected state into view once per selection: a failure is usually far down the graph.
        if (selected && selected !== scrolledTo) {
          scrolledTo = selected;
          const node = graph.querySelector<SVGGraphicsElement>(`[data-state="${CSS.escape(selected)}"]`);
          if (node) graph.scrollTop = node.getBBox().y - graph.clientHeight / 3;
        }
        const entries = selected ? (a.byState.get(selected) ?? []) : [];
        update(panel, [selected, events.length, ex.status], () => [
          h('h2', {}, selected ? `State ${selected}` : 'State'),
          !selected && h('p', { class: 'sub' }, 'Pick a state in the graph (click, or Tab to it and press Enter), or in the list below.'),
          selected && !entries.length && h('p', { class: 'sub' }, 'Not entered in this execution.'),
          entries.length > MAX_ENTRIES && h('p', { class: 'sub' }, `The last ${MAX_ENTRIES} of ${entries.length} entries:`),
          ...entries.slice(-MAX_ENTRIES).map((x, i, shown) => entryPanel(x, ex.status!, entries.length - shown.length + i, entries.length)),
          h('h3', {}, 'States entered'),
          h(
            'ul',
            { class: 'state-list' },
            [...a.byState.keys()].map((name) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: `link status-${a.status(name)}`,
                    'data-key': `state-${name}`,
                    'aria-pressed': String(name === selected),
                    onclick: () => select(name),
                  },
                  name,
                ),
              ),
            ),
          ),
        ]);
      };
      rerender();
      update(eventsBox, events.length, () => eventTable(events));
    },
  };
}
