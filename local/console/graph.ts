/**
 * A state machine's graph from its ASL: every state, its Next / Default / Choices / Catch edges, and Map
 * and Parallel states drawn as boxes holding their inner states. dagre lays out each level on its own;
 * a Map or Parallel node is sized to fit its laid-out branches, which are then drawn inside it (dagre's
 * compound graphs do not route edges to a compound node).
 */
import dagre from '@dagrejs/dagre';
import { svg } from './dom';

export type EdgeKind = 'next' | 'default' | 'choice' | 'catch';
export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
}

/** How a state looks in one execution; the graph of a definition alone has none. */
export interface Paint {
  status(state: string): string | undefined;
  /** Edges an execution took, as `from→to`, and those of its rollback path. */
  taken: Set<string>;
  rollback: Set<string>;
  /** States entered on the rollback path. */
  rolledBack?: Set<string>;
  selected?: string;
  onSelect?(state: string): void;
}

interface Box {
  width: number;
  height: number;
  draw(x: number, y: number, paint: Paint): SVGElement;
}

const START = '(start)';
const END = '(end)';
const NODE_H = 34;
const HEADER = 26;
const PAD = 12;
const textWidth = (s: string) => Math.max(90, s.length * 7.2 + 28);

/** The edges leaving one state, as the ASL names them. */
export function edgesOf(name: string, s: any): Edge[] {
  const out: Edge[] = [];
  if (s.Next) out.push({ from: name, to: s.Next, kind: 'next' });
  for (const c of s.Choices ?? []) out.push({ from: name, to: c.Next, kind: 'choice', label: choiceLabel(c) });
  if (s.Default) out.push({ from: name, to: s.Default, kind: 'default', label: 'default' });
  for (const c of s.Catch ?? []) out.push({ from: name, to: c.Next, kind: 'catch', label: `catch ${(c.ErrorEquals ?? []).join(', ')}` });
  if (s.End || s.Type === 'Succeed' || s.Type === 'Fail') out.push({ from: name, to: END, kind: 'next' });
  return out;
}

function choiceLabel(c: any): string {
  if (c.Condition) return String(c.Condition).slice(0, 40);
  const v = c.Variable ?? '';
  const op = Object.keys(c).find((k) => !['Variable', 'Next', 'Comment', 'Assign', 'Output'].includes(k));
  return op ? `${v} ${op}`.trim().slice(0, 40) : 'choice';
}

/** Inner state machines of a Map (ItemProcessor or Iterator) or Parallel (Branches). */
const branchesOf = (s: any): any[] => (s.Type === 'Parallel' ? (s.Branches ?? []) : s.Type === 'Map' ? [s.ItemProcessor ?? s.Iterator].filter(Boolean) : []);

function stateBox(name: string, s: any): Box {
  const branches = branchesOf(s).map((b) => levelBox(b, false));
  if (!branches.length) {
    const width = textWidth(name);
    return {
      width,
      height: NODE_H,
      draw: (x, y, paint) => stateNode(name, s.Type, x, y, width, NODE_H, paint),
    };
  }
  const inner = branches.reduce((w, b) => w + b.width, 0) + PAD * (branches.length + 1);
  const width = Math.max(textWidth(`${name} (${s.Type})`), inner);
  const height = HEADER + PAD + Math.max(...branches.map((b) => b.height)) + PAD;
  return {
    width,
    height,
    draw: (x, y, paint) => {
      const g = stateNode(name, `${s.Type}`, x, y, width, height, paint, true);
      let bx = x - width / 2 + (width - inner) / 2 + PAD;
      for (const b of branches) {
        g.append(b.draw(bx + b.width / 2, y - height / 2 + HEADER + PAD + b.height / 2, paint));
        bx += b.width + PAD;
      }
      return g;
    },
  };
}

function stateNode(name: string, type: string, cx: number, cy: number, w: number, h: number, paint: Paint, container = false): SVGElement {
  const status = paint.status(name);
  const cls = [
    'state',
    `type-${type.toLowerCase()}`,
    status && `status-${status}`,
    container && 'container',
    paint.selected === name && 'selected',
    paint.rolledBack?.has(name) && 'on-rollback',
  ];
  const g = svg('g', {
    class: cls.filter(Boolean).join(' '),
    'data-state': name,
    // Keeps keyboard focus on the node across a refresh (dom.ts update).
    'data-key': `node-${name}`,
    ...(paint.onSelect && { tabindex: '0', role: 'button', 'aria-label': `${name}, ${type}${status ? `, ${status}` : ''}` }),
  });
  if (paint.onSelect) {
    const select = (e: Event) => {
      e.stopPropagation();
      paint.onSelect!(name);
    };
    g.addEventListener('click', select);
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        select(e);
      }
    });
  }
  g.append(svg('rect', { x: cx - w / 2, y: cy - h / 2, width: w, height: h, rx: 6 }));
  const label = svg('text', { x: cx, y: container ? cy - h / 2 + 17 : cy + 4, 'text-anchor': 'middle' });
  label.textContent = container ? `${name} · ${type}` : name;
  g.append(label);
  return g;
}

/** One level (the machine, or a branch): its states laid out by dagre, with its edges. */
function levelBox(def: any, top: boolean): Box {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 34, edgesep: 12, marginx: 4, marginy: 4 });
  g.setDefaultEdgeLabel(() => ({}));
  const boxes = new Map<string, Box>();
  for (const [name, s] of Object.entries<any>(def.States ?? {})) boxes.set(name, stateBox(name, s));
  if (top) {
    boxes.set(START, marker('start'));
    boxes.set(END, marker('end'));
  }
  for (const [name, b] of boxes) g.setNode(name, { width: b.width, height: b.height });
  const edges: Edge[] = [...(top ? [{ from: START, to: def.StartAt, kind: 'next' as const }] : [])];
  for (const [name, s] of Object.entries<any>(def.States ?? {})) edges.push(...edgesOf(name, s).filter((e) => boxes.has(e.to)));
  // Catch edges stay out of the layout: nearly every state has one into the rollback, and routing them
  // would spread the main path across the page. They are drawn afterwards, as curves on the right.
  edges.forEach((e, i) => {
    if (e.kind === 'catch') return;
    g.setEdge(e.from, e.to, { label: e.label, width: e.label ? Math.min(e.label.length * 6, 160) : 0, height: e.label ? 14 : 0, labelpos: 'c' }, String(i));
  });
  dagre.layout(g);
  const { width: laidOut = 0, height = 0 } = g.graph();
  // Room on the right for the catch curves.
  const width = laidOut + (edges.some((e) => e.kind === 'catch') ? 60 : 0);
  return {
    width,
    height,
    draw: (cx, cy, paint) => {
      const ox = cx - width / 2;
      const oy = cy - height / 2;
      const level = svg('g', { class: 'level' });
      edges.forEach((e, i) => {
        const le = e.kind === 'catch' ? catchRoute(g.node(e.from), g.node(e.to)) : g.edge(e.from, e.to, String(i));
        const pts = (le.points ?? []).map((p: { x: number; y: number }) => `${p.x + ox},${p.y + oy}`).join(' ');
        const key = `${e.from}→${e.to}`;
        const cls = ['edge', `kind-${e.kind}`, paint.taken.has(key) && 'taken', paint.rollback.has(key) && 'rollback'];
        const eg = svg('g', { class: cls.filter(Boolean).join(' ') });
        eg.append(svg('polyline', { points: pts, 'marker-end': 'url(#arrow)' }));
        if (e.label && le.x !== undefined) {
          const t = svg('text', { x: le.x + ox, y: le.y + oy + 4, 'text-anchor': 'middle', class: 'edge-label' });
          t.textContent = e.label;
          eg.append(t);
        }
        level.append(eg);
      });
      for (const [name, b] of boxes) {
        const n = g.node(name);
        level.append(b.draw(n.x + ox, n.y + oy, paint));
      }
      return level;
    },
  };
}

/** A catch edge: out of the source's right side, around to the target's right side, bulging by the distance. */
function catchRoute(from: { x: number; y: number; width: number }, to: { x: number; y: number; width: number }) {
  const x1 = from.x + from.width / 2;
  const x2 = to.x + to.width / 2;
  const bulge = Math.max(x1, x2) + 16 + Math.min(40, Math.abs(to.y - from.y) / 20);
  const points = [
    { x: x1, y: from.y },
    { x: bulge, y: from.y + (to.y - from.y) * 0.1 },
    { x: bulge, y: to.y - (to.y - from.y) * 0.1 },
    { x: x2, y: to.y },
  ];
  return { points, x: undefined as number | undefined, y: 0 };
}

function marker(kind: 'start' | 'end'): Box {
  return {
    width: 56,
    height: 24,
    draw: (x, y) => {
      const g = svg('g', { class: `marker ${kind}` });
      g.append(svg('rect', { x: x - 28, y: y - 12, width: 56, height: 24, rx: 12 }));
      const t = svg('text', { x, y: y + 4, 'text-anchor': 'middle' });
      t.textContent = kind === 'start' ? 'Start' : 'End';
      g.append(t);
      return g;
    },
  };
}

/** The whole definition as an SVG element, painted for an execution (or plain). */
export function renderGraph(definition: any, paint: Paint = { status: () => undefined, taken: new Set(), rollback: new Set() }): SVGSVGElement {
  const box = levelBox(definition, true);
  const root = svg('svg', {
    class: 'graph',
    width: box.width + 16,
    height: box.height + 16,
    viewBox: `0 0 ${box.width + 16} ${box.height + 16}`,
    role: 'group',
    'aria-label': 'state machine graph',
  }) as SVGSVGElement;
  const defs = svg('defs', {});
  const arrow = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: '9',
    refY: '5',
    markerWidth: '8',
    markerHeight: '8',
    markerUnits: 'userSpaceOnUse',
    orient: 'auto',
  });
  arrow.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
  defs.append(arrow);
  root.append(defs, box.draw(box.width / 2 + 8, box.height / 2 + 8, paint));
  return root;
}
