// A few DOM helpers: elements without innerHTML (text from the API is never parsed as HTML), formatting, time.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function apply(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'class') el.setAttribute('class', String(value));
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : (x * 100).toFixed(digits) + '%';

export const int = (x: number | null | undefined): string =>
  x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US');

export const num = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);

/** A time in the viewer's zone, the UTC instant on hover (title) and in datetime. */
export function time(iso: string | null | undefined): Child {
  if (!iso) return '–';
  const at = new Date(iso);
  return h('time', { datetime: at.toISOString(), title: 'UTC ' + at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') }, localTime(at));
}

export function localTime(at: Date): string {
  return at.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A URL of the console with the given query parameters (empty values left out). */
export function link(path: string, params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Text for screen readers only (the visible text stays the start of the accessible name). */
export function sr(text: string): HTMLElement {
  return h('span', { class: 'sr' }, text);
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'state loading', role: 'status', 'aria-busy': 'true' }, `Loading ${what}…`);
}

export function empty(text: string): HTMLElement {
  return h('p', { class: 'state empty', role: 'status' }, text);
}

export function failure(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('div', { class: 'state error', role: 'alert' }, h('strong', null, 'Could not load: '), message);
}

/** Runs load() into the element: a loading state first, then the result, or the error state. */
export async function section(el: Element, what: string, load: () => Promise<Child>): Promise<void> {
  replace(el, loading(what));
  try {
    replace(el, await load());
  } catch (error) {
    replace(el, failure(error));
  }
}
