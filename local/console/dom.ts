/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** A few DOM helpers: elements from tags, attributes and children, and updates that keep focus and open details. */

type Child = Node | string | number | false | null | undefined;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== false && c !== null && c !== undefined) el.append(typeof c === 'object' ? c : String(c));
  return el;
}

export function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const rendered = new WeakMap<Element, string>();

/**
 * Replaces a region's content when its data changed (polling re-renders unchanged data not at all), keeping
 * the focused element and open <details> by their data-key, so a refresh does not move the keyboard user.
 */
export function update(region: Element, data: unknown, render: () => Child | Child[]): void {
  const json = JSON.stringify(data) ?? '';
  if (rendered.get(region) === json) return;
  rendered.set(region, json);
  const focused = region.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.key : undefined;
  const open = new Set([...region.querySelectorAll<HTMLDetailsElement>('details[open][data-key]')].map((d) => d.dataset.key));
  const scroll = [...region.querySelectorAll<HTMLElement>('[data-key]')].filter((e) => e.scrollTop).map((e) => [e.dataset.key, e.scrollTop] as const);
  region.replaceChildren(
    ...[render()]
      .flat()
      .filter((c): c is Node | string => c !== false && c !== null && c !== undefined)
      .map((c) => (typeof c === 'object' ? c : String(c))),
  );
  for (const d of region.querySelectorAll<HTMLDetailsElement>('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
  for (const [key, top] of scroll) {
    const e = region.querySelector<HTMLElement>(`[data-key="${CSS.escape(key!)}"]`);
    if (e) e.scrollTop = top;
  }
  if (focused) region.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

export const fmtTime = (d: Date | string | number | undefined) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 23) : '');
export const pretty = (json: string | undefined) => {
  if (json === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
};
export const pre = (text: string, cls = '') => h('pre', { class: `json ${cls}` }, text);

/** A button that fits a graph to its box's width, or back to full size (a large machine's overview). */
export function fitButton(box: HTMLElement): HTMLButtonElement {
  const b = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Fit to width') as HTMLButtonElement;
  b.addEventListener('click', () => b.setAttribute('aria-pressed', String(box.classList.toggle('fit'))));
  return b;
}
