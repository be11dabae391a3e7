/** State machines as deployed (ListStateMachines, DescribeStateMachine), each with its graph and Start execution. */
import { DescribeStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { examples } from 'console-samples';
import { validateInput } from '../../../lambdas/lib/validate';
import type { Operation } from '../../../lambdas/lib/model';
import type { View } from '../app';
import { sfn, shortName, stateMachines } from '../aws';
import { fitButton, fmtTime, h, update } from '../dom';
import { renderGraph } from '../graph';

export function machinesView(): View {
  const list = h('div');
  const el = h('section', {}, h('h1', {}, 'State machines'), list);
  return {
    el,
    refresh: async () => {
      const machines = await stateMachines();
      update(list, machines, () =>
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Deployed as'), h('th', {}, 'Type'), h('th', {}, 'Created'))),
          h(
            'tbody',
            {},
            machines.map((m) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/machine/${encodeURIComponent(m.stateMachineArn!)}`, 'data-key': m.stateMachineArn }, shortName(m.name))),
                h('td', { class: 'mono' }, m.name),
                h('td', {}, m.type),
                h('td', {}, fmtTime(m.creationDate)),
              ),
            ),
          ),
        ),
      );
    },
  };
}

/** The operations whose input is statemachine/input.schema.json, as ValidateInput checks it. */
const OPERATION_OF: Record<string, Operation> = {
  OnboardApplication: 'onboard-application',
  MoveKey: 'move-key',
  RevertToAwsOwnedKey: 'revert-to-aws-owned-key',
  RotateKey: 'rotate-key',
};

/** A first input for machines without examples of their own. */
const DEFAULT_INPUT: Record<string, object> = {
  OnboardFleet: { mode: 'plan' },
  Audit: {},
  Sweep: {},
  Cleanup: { executionArn: '<an ABORTED or TIMED_OUT OnboardApplication execution>' },
};

/** Problems with an input, worded as the ValidateInput step words them (the same code); undefined when it is valid. */
export function inputProblem(text: string, operation: Operation | undefined): string | undefined {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (!operation) return typeof input === 'object' && input && !Array.isArray(input) ? undefined : '(input): must be a JSON object';
  try {
    validateInput(input, operation);
    return undefined;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

export function machineView(arn: string): View {
  const title = h('h1', {}, 'State machine');
  const graph = h('div', { class: 'graph-box', 'data-key': 'graph' });
  const editor = h('textarea', { id: 'input-editor', rows: 12, spellcheck: 'false', 'aria-describedby': 'input-problem' }) as HTMLTextAreaElement;
  const nameInput = h('input', { id: 'execution-name', placeholder: '(generated)', size: 36 }) as HTMLInputElement;
  const problem = h('p', { id: 'input-problem', class: 'problem', 'aria-live': 'polite' });
  const start = h('button', { type: 'button', class: 'primary' }, 'Start execution') as HTMLButtonElement;
  const exampleButtons = h('div', { class: 'buttons', role: 'group', 'aria-label': 'examples' });
  let operation: Operation | undefined;
  let shown = false;

  const check = () => {
    const p = inputProblem(editor.value, operation);
    problem.textContent = p ?? (operation ? `valid ${operation} input (statemachine/input.schema.json)` : 'a JSON object');
    problem.classList.toggle('error', !!p);
    start.disabled = !!p;
  };
  const setInput = (value: object) => {
    editor.value = JSON.stringify(value, null, 2);
    check();
  };
  editor.addEventListener('input', check);
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const name = nameInput.value.trim() || undefined;
      const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: editor.value, name }));
      location.hash = `#/execution/${encodeURIComponent(out.executionArn!)}`;
    } catch (e) {
      problem.textContent = `${(e as Error).name}: ${(e as Error).message}`;
      problem.classList.add('error');
      start.disabled = false;
    }
  });
  const planToggle = h('button', { type: 'button' }, 'Toggle plan mode');
  planToggle.addEventListener('click', () => {
    try {
      const input = JSON.parse(editor.value);
      if (input.mode === 'plan') delete input.mode;
      else input.mode = 'plan';
      setInput(input);
    } catch {
      check();
    }
  });

  const el = h(
    'section',
    {},
    title,
    h(
      'div',
      { class: 'split' },
      h('div', { class: 'pane' }, h('h2', {}, 'Definition ', fitButton(graph)), graph),
      h(
        'form',
        { class: 'pane start', onsubmit: (e: Event) => e.preventDefault() },
        h('h2', {}, 'Start execution'),
        exampleButtons,
        h('label', { for: 'input-editor' }, 'Input (JSON)'),
        editor,
        problem,
        h('label', { for: 'execution-name' }, 'Name'),
        nameInput,
        h('div', { class: 'buttons' }, start, planToggle, h('a', { href: `#/executions?machine=${encodeURIComponent(arn)}` }, 'Its executions')),
      ),
    ),
  );

  return {
    el,
    every: 5,
    refresh: async () => {
      const m = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
      const short = shortName(m.name);
      title.textContent = `${short} `;
      title.append(h('span', { class: 'sub mono' }, m.name));
      operation = OPERATION_OF[short];
      update(graph, m.definition, () => renderGraph(JSON.parse(m.definition!)));
      if (shown) return;
      shown = true;
      // existing-application first: the plainest input.
      const own =
        short === 'OnboardApplication'
          ? Object.entries(examples).sort(([a], [b]) => Number(b.endsWith('/existing-application.json')) - Number(a.endsWith('/existing-application.json')))
          : [];
      for (const [file, input] of own) {
        const b = h('button', { type: 'button' }, file.replace(/^.*\//, ''));
        b.addEventListener('click', () => setInput(input));
        exampleButtons.append(b);
      }
      // What was typed before the definition arrived stays.
      if (editor.value) check();
      else setInput(own[0]?.[1] ?? DEFAULT_INPUT[short] ?? { applicationName: 'clickstream' });
    },
  };
}
