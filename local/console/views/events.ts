/**
 * Put EventBridge events (PutEvents; the samples of events/ one click away), then see which rules match
 * each one (ListRules + TestEventPattern, as AWS evaluates patterns) and which executions their state
 * machine targets started since (ListTargetsByRule, ListExecutions).
 */
import { ListRulesCommand, ListTargetsByRuleCommand, PutEventsCommand, type PutEventsRequestEntry, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { events as samples } from 'console-samples';
import type { View } from '../app';
import { config, events, sfn } from '../aws';
import { fmtTime, h, pre, pretty, update } from '../dom';
import { executionLink } from './executions';

const REQUEST_BUS = 'msf-cmk-onboarding-requests';

/** A sample as PutEvents entries: entries files are that already; an event goes to the bus its source is for. */
function entriesOf(sample: any): PutEventsRequestEntry[] {
  if (Array.isArray(sample)) return sample;
  return [
    {
      EventBusName: sample.source === 'msf-cmk.onboarding' ? REQUEST_BUS : 'default',
      Source: sample.source,
      DetailType: sample['detail-type'],
      Detail: JSON.stringify(sample.detail),
      ...(sample.resources?.length && { Resources: sample.resources }),
    },
  ];
}

interface Put {
  at: Date;
  entry: PutEventsRequestEntry;
  eventId?: string;
  error?: string;
  rules: { name: string; matched: boolean; targets: string[] }[];
}

/** The event EventBridge would deliver for an entry: what TestEventPattern is asked about. */
const eventOf = (e: PutEventsRequestEntry, id: string, at: Date) => ({
  version: '0',
  id,
  'detail-type': e.DetailType,
  source: e.Source,
  account: config.account,
  time: at.toISOString().replace(/\.\d+Z$/, 'Z'),
  region: config.region,
  resources: e.Resources ?? [],
  detail: JSON.parse(e.Detail ?? '{}'),
});

async function matchRules(entry: PutEventsRequestEntry, id: string, at: Date): Promise<Put['rules']> {
  const bus = entry.EventBusName ?? 'default';
  const rules = (await events.send(new ListRulesCommand({ EventBusName: bus }))).Rules ?? [];
  const event = JSON.stringify(eventOf(entry, id, at));
  return Promise.all(
    rules
      .filter((r) => r.EventPattern)
      .map(async (r) => {
        const { Result } = await events.send(new TestEventPatternCommand({ EventPattern: r.EventPattern, Event: event }));
        const targets = Result ? ((await events.send(new ListTargetsByRuleCommand({ Rule: r.Name, EventBusName: bus }))).Targets ?? []) : [];
        return { name: r.Name!, matched: !!Result, targets: targets.map((t) => t.Arn!).filter((a) => a.includes(':states:')) };
      }),
  );
}

export function eventsView(): View {
  const editor = h('textarea', { id: 'events-editor', rows: 10, spellcheck: 'false' }) as HTMLTextAreaElement;
  const put = h('button', { type: 'button', class: 'primary' }, 'Put events') as HTMLButtonElement;
  const problem = h('p', { class: 'problem', 'aria-live': 'polite' });
  const results = h('div', { id: 'event-results' });
  const puts: Put[] = [];
  const sampleButtons = Object.entries(samples).map(([file, sample]) => {
    const b = h('button', { type: 'button', title: file }, file.replace(/^events\//, '').replace(/\.json$/, ''));
    b.addEventListener('click', () => {
      editor.value = JSON.stringify(entriesOf(sample), null, 2);
      problem.textContent = '';
      editor.focus();
    });
    return b;
  });
  editor.value = JSON.stringify(entriesOf(samples['events/entries/onboard-existing-application.json'] ?? []), null, 2);
  let refresh = async () => {};
  put.addEventListener('click', async () => {
    problem.textContent = '';
    problem.classList.remove('error');
    let entries: PutEventsRequestEntry[];
    try {
      entries = JSON.parse(editor.value);
      if (!Array.isArray(entries)) throw new Error('give a JSON array of PutEvents entries');
    } catch (e) {
      problem.textContent = (e as Error).message;
      problem.classList.add('error');
      return;
    }
    put.disabled = true;
    try {
      const at = new Date();
      const out = await events.send(new PutEventsCommand({ Entries: entries }));
      const done = await Promise.all(
        entries.map(async (entry, i) => {
          const r = out.Entries?.[i] ?? {};
          return {
            at,
            entry,
            eventId: r.EventId,
            error: r.ErrorCode && `${r.ErrorCode}: ${r.ErrorMessage}`,
            rules: await matchRules(entry, r.EventId ?? 'test', at),
          };
        }),
      );
      puts.unshift(...done);
      await refresh();
    } catch (e) {
      problem.textContent = `${(e as Error).name}: ${(e as Error).message}`;
      problem.classList.add('error');
    } finally {
      put.disabled = false;
    }
  });

  const el = h(
    'section',
    {},
    h('h1', {}, 'Events'),
    h('h2', {}, 'Samples (events/)'),
    h('div', { class: 'buttons', role: 'group', 'aria-label': 'sample events' }, sampleButtons),
    h('label', { for: 'events-editor' }, 'PutEvents entries (JSON)'),
    editor,
    problem,
    h('div', { class: 'buttons' }, put),
    h('h2', {}, 'Put in this session'),
    results,
  );

  refresh = async () => {
    // Executions each matched rule's state machine started since the event was put.
    const started = await Promise.all(
      puts.map((p) =>
        Promise.all(
          p.rules
            .filter((r) => r.matched)
            .flatMap((r) => r.targets)
            .map(async (arn) =>
              ((await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 50 }))).executions ?? []).filter(
                (e) => +e.startDate! >= +p.at - 1000,
              ),
            ),
        ).then((x) => x.flat()),
      ),
    );
    update(results, [puts.length, started], () =>
      puts.length
        ? puts.map((p, i) =>
            h(
              'div',
              { class: 'card put' },
              h(
                'p',
                {},
                h('strong', {}, `${p.entry.Source} · ${p.entry.DetailType}`),
                ` on ${p.entry.EventBusName ?? 'default'} at ${fmtTime(p.at)} · `,
                p.error ? h('span', { class: 'error' }, p.error) : `event ${p.eventId}`,
              ),
              pre(pretty(p.entry.Detail)),
              h(
                'ul',
                { class: 'rules' },
                p.rules.length
                  ? p.rules.map((r) =>
                      h('li', { class: r.matched ? 'matched' : 'unmatched' }, `${r.matched ? '✓ matches' : '✗ does not match'} rule ${r.name}`),
                    )
                  : h('li', {}, 'no rules with a pattern on this bus'),
              ),
              p.rules.some((r) => r.matched)
                ? started[i].length
                  ? h('p', {}, 'Started: ', ...started[i].flatMap((e) => [executionLink(e.executionArn!, e.name!), ` (${e.status}) `]))
                  : h('p', { class: 'sub' }, p.error ? 'No execution: the event was not accepted.' : 'No execution yet…')
                : h('p', { class: 'sub' }, 'No rule matched: nothing started.'),
            ),
          )
        : h('p', { class: 'sub' }, 'Nothing put yet.'),
    );
  };
  return { el, refresh: () => refresh() };
}
