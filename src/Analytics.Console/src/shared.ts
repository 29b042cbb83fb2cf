// What pages share: the context (who is signed in, navigation), the time window, filter forms.
import { h, link, time, type Child } from './dom';
import type { Envelope, Me } from './api';

export interface Context {
  /** Whose key this is: asked beside the page's requests, so a page waits on it only where its role matters. */
  me: Promise<Me>;
  /** Goes to a console URL (history entry, page drawn again). */
  navigate(url: string): void;
  /** Registers a clean-up for when the page is left (timers). */
  onLeave(cleanup: () => void): void;
}

export type Page = (root: HTMLElement, params: URLSearchParams, ctx: Context) => Promise<void> | void;

export const windows: Record<string, number> = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30, '90d': 24 * 90 };

/** The window of a view: explicit from/to in the URL, else the named window (default 7 days) ending now. */
export function windowOf(params: URLSearchParams, fallback = '7d'): { from: string; to: string; label: string } {
  const from = params.get('from'), to = params.get('to');
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))) {
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), label: 'custom' };
  }
  const name = params.get('window') ?? fallback;
  const hours = windows[name] ?? windows[fallback]!;
  const end = new Date(Math.ceil(Date.now() / 60000) * 60000);
  return { from: new Date(end.getTime() - hours * 3600_000).toISOString(), to: end.toISOString(), label: name in windows ? name : fallback };
}

/** The parameters that carry the window into links to other views. */
export function windowParams(params: URLSearchParams): Record<string, string | null> {
  return { window: params.get('window'), from: params.get('from'), to: params.get('to') };
}

export interface Field {
  name: string;
  label: string;
  options?: (string | [string, string])[];
  placeholder?: string;
  type?: string;
}

/** A filter form: its values come from and go to the query string of the view's URL. */
export function filterForm(path: string, params: URLSearchParams, fields: Field[], ctx: Context, keep: string[] = ['from', 'to']): HTMLFormElement {
  const controls = fields.map(f => {
    const id = `filter-${f.name}`;
    const value = f.name === 'window' && params.get('from') && params.get('to') ? 'custom' : params.get(f.name) ?? '';
    const control = f.options
      ? h('select', { id, name: f.name }, f.options.map(o => {
          const [v, text] = Array.isArray(o) ? o : [o, o];
          return h('option', { value: v, selected: v === value }, text);
        }))
      : h('input', { id, name: f.name, value, placeholder: f.placeholder ?? '', type: f.type ?? 'text' });
    return h('label', { for: id }, h('span', null, f.label), control);
  });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filters' }, controls, h('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const next: Record<string, string | null> = {};
    for (const k of keep) next[k] = params.get(k);
    for (const [k, v] of new FormData(form).entries()) next[k] = String(v);
    if (next['window'] === 'custom') next['window'] = null;
    else if (next['window']) { next['from'] = null; next['to'] = null; }
    ctx.navigate(link(path, next));
  });
  return form;
}

export const windowField: Field = { name: 'window', label: 'Window', options: [['24h', 'last 24 hours'], ['7d', 'last 7 days'], ['30d', 'last 30 days'], ['90d', 'last 90 days'], ['custom', 'from and to in the link']] };

export const sliceFields: Field[] = [
  { name: 'surface', label: 'Surface', placeholder: 'any' },
  { name: 'customInstructions', label: 'Custom instructions', options: [['', 'any'], ['true', 'on'], ['false', 'off']] },
  { name: 'experimentArm', label: 'Experiment arm', placeholder: 'any' },
];

export function heading(title: string, ...rest: Child[]): HTMLElement {
  return h('header', { class: 'page-head' }, h('h1', null, title), rest);
}

/** Dotted numbers (1.4 < 1.10, 7 < 8) compare part by part, other versions ordinally (2026-10 < 2026-11), as the detector does. */
export function compareVersions(a: string, b: string): number {
  const dotted = /^\d+(\.\d+){0,3}$/;
  if (dotted.test(a) && dotted.test(b)) {
    const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Versions of each model in the order the regression detector uses for "the previous version": the hour each was
 * first seen, then the version number (src/Analytics/Alerting/RegressionDetector.cs, PreviousVersion).
 */
export function versionsByModel(models: { modelId: string; version: string; firstSeen: string }[]): Map<string, string[]> {
  const hour = (iso: string) => Math.floor(Date.parse(iso) / 3600_000);
  const sorted = [...models].sort((a, b) => hour(a.firstSeen) - hour(b.firstSeen) || compareVersions(a.version, b.version));
  const byModel = new Map<string, string[]>();
  for (const m of sorted) byModel.set(m.modelId, [...(byModel.get(m.modelId) ?? []), m.version]);
  return new Map([...byModel.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export const capabilityName = (c: string): string => c === '*' ? 'all capabilities' : c;

/** What an answer covers (docs/api.md): the effective window (whole UTC buckets), how fresh the views are. */
export function coverage(envelope: Envelope): Child {
  if (!envelope.from || !envelope.to) return null;
  const lag = envelope.lag ? `${envelope.lag.events.toLocaleString('en-US')} events (${envelope.lag.seconds.toFixed(0)} s) not counted yet` : 'every stored event counted';
  return h('p', { class: 'sub coverage' }, 'Counted: ', time(envelope.from), ' – ', time(envelope.to), ` (whole UTC ${envelope.bucket ?? 'hour'}s) · `,
    envelope.asOf ? ['views as of ', time(envelope.asOf), ' · '] : null, lag);
}
