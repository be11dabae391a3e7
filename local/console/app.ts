/**
 * The local console: state machines, executions, the account, the request log and events, read and written
 * through the AWS APIs (aws.ts). One view at a time, chosen by the URL's hash; the view polls every 1.5 s and
 * re-renders only what changed (dom.ts `update`), so focus and open details survive a refresh.
 */
import { connect } from './aws';
import { h } from './dom';
import { accountView } from './views/account';
import { callsView } from './views/calls';
import { eventsView } from './views/events';
import { executionsView, executionView } from './views/executions';
import { machinesView, machineView } from './views/machines';

export interface View {
  el: HTMLElement;
  refresh(): Promise<void>;
  /** Seconds between refreshes, when not the default 1.5. */
  every?: number;
}

const POLL_MS = 1500;
const NAV: [string, string][] = [
  ['#/machines', 'State machines'],
  ['#/executions', 'Executions'],
  ['#/account', 'Account'],
  ['#/calls', 'Calls'],
  ['#/events', 'Events'],
];

/** The view for a hash: `#/<view>/<argument>?<query>`. */
function viewFor(hash: string): View {
  const [route, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [name, ...rest] = route.split('/');
  const arg = decodeURIComponent(rest.join('/'));
  const params = new URLSearchParams(query);
  switch (name) {
    case 'machine':
      return machineView(arg);
    case 'executions':
      return executionsView(params);
    case 'execution':
      return executionView(arg);
    case 'account':
      return accountView();
    case 'calls':
      return callsView(params);
    case 'events':
      return eventsView();
    default:
      return machinesView();
  }
}

let current: { view: View; hash: string } | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
const main = document.getElementById('main')!;
const status = document.getElementById('status')!;

async function tick(): Promise<void> {
  clearTimeout(timer);
  const view = current?.view;
  if (!view) return;
  try {
    await view.refresh();
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.classList.remove('error');
    status.removeAttribute('role');
  } catch (e) {
    status.textContent = `${(e as Error).name}: ${(e as Error).message}`;
    status.classList.add('error');
    // Announced when it goes wrong, not at every poll.
    status.setAttribute('role', 'alert');
  }
  if (current?.view === view) timer = setTimeout(tick, (view.every ?? POLL_MS / 1000) * 1000);
}

function route(): void {
  const hash = location.hash || '#/machines';
  // A filter change within a view keeps the view (and its editors) when it says so.
  if (current?.hash === hash) return;
  current = { view: viewFor(hash), hash };
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    const active = hash.startsWith(a.getAttribute('href')!.replace(/s$/, ''));
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren(current.view.el);
  main.focus({ preventScroll: true });
  void tick();
}

async function boot(): Promise<void> {
  document.getElementById('nav')!.replaceChildren(...NAV.map(([href, label]) => h('a', { href }, label)));
  try {
    await connect();
  } catch (e) {
    main.replaceChildren(h('p', { class: 'error' }, `The console could not read its configuration: ${(e as Error).message}`));
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}

void boot();
