// Model version: satisfaction and rating rate over time with interval bands, top thumbs-down reasons with counts and
// their change against the window before, latency per capability, and a second version side by side.
import { api, type Cell, type Point, type ReasonCount } from '../api';
import { timeChart, palette } from '../charts';
import { h, int, link, num, pct, section, empty, sr, type Child } from '../dom';
import { filterForm, heading, versionsByModel, windowField, windowOf, capabilityName, type Context } from '../shared';

export async function modelVersion(root: HTMLElement, params: URLSearchParams, ctx: Context): Promise<void> {
  const models = api.models().catch(() => []);
  // A link that names the model and version (every link from the overview does) starts the page's requests at once,
  // beside /api/models, which then only fills the form's choices; otherwise the newest version of the first model is
  // picked from /api/models first.
  const picked = params.get('model') && params.get('version') ? null : versionsByModel(await models);
  const model = params.get('model') ?? [...(picked?.keys() ?? [])][0] ?? '';
  const version = params.get('version') ?? (picked?.get(model) ?? []).at(-1) ?? '';
  const compare = params.get('compare') ?? '';
  const capability = params.get('capability') ?? '*';
  const win = windowOf(params);
  const hours = (Date.parse(win.to) - Date.parse(win.from)) / 3600_000;
  const bucket = params.get('bucket') ?? (hours > 24 * 31 ? 'day' : hours > 24 * 3 ? 'day' : 'hour');
  const shown = [version, ...(compare && compare !== version ? [compare] : [])];
  const window = { from: win.from, to: win.to };
  const series = model ? Promise.all(shown.map(v => api.overTime({ model, version: v, capability: capability === '*' ? null : capability, bucket, ...window }))) : null;
  const matrix = model ? api.matrix({ model, ...window }) : null;
  const reasons = model ? shown.map(v => reasonCounts(model, v, capability, win)) : [];
  // Settled here, so that a request the page never reaches (no model) cannot reject unobserved.
  for (const request of [series, matrix, ...reasons]) request?.catch(() => undefined);

  const versions = picked ?? versionsByModel(await models);
  const list = versions.get(model) ?? [];
  root.append(heading(model ? `${model}@${version}` : 'Model version', compare ? h('p', { class: 'sub' }, `side by side with ${model}@${compare}`) : null));
  if (!model || !series || !matrix) {
    root.append(empty('No models have been seen yet.'));
    return;
  }
  const modelOptions = [...versions.keys()];
  root.append(filterForm('/model', params, [
    { name: 'model', label: 'Model', options: modelOptions },
    { name: 'version', label: 'Version', options: list },
    { name: 'compare', label: 'Compare with', options: [['', 'none'], ...list.map(v => [v, v] as [string, string])] },
    { name: 'capability', label: 'Capability', placeholder: '* (all)' },
    { name: 'bucket', label: 'Bucket', options: [['hour', 'hour'], ['day', 'day']] },
    windowField,
  ], ctx));

  const columns = h('div', { class: shown.length > 1 ? 'columns two' : 'columns' });
  root.append(columns);
  const charts = h('section', { class: 'wide', 'aria-label': 'Over time' });
  columns.before(charts);

  await Promise.all([
    section(charts, 'the series', async () => overTime(await series, shown, model, capability, bucket, win)),
    ...shown.map(async (v, i) => {
      const column = h('section', { class: 'column', 'aria-label': `${model}@${v}` }, h('h2', null, `${model}@${v}`));
      const reasonsBox = h('div'), latency = h('div');
      column.append(h('h3', null, `Top thumbs-down reasons, ${capabilityName(capability)}`), reasonsBox, h('h3', null, 'Per capability: satisfaction and latency'), latency);
      columns.append(column);
      column.classList.add(`version-${i}`);
      await Promise.all([
        section(reasonsBox, 'reasons', async () => reasonsTable(await reasons[i]!, model, v, capability, win)),
        section(latency, 'latency', async () => capabilityTable((await matrix).filter(c => c.version === v), model, v, win)),
      ]);
    }),
  ]);
}

function overTime(all: Point[][], versions: string[], model: string, capability: string, bucket: string, win: { from: string; to: string }): Child {
  if (all.every(points => points.length === 0)) return empty(`No responses of ${model} on ${capabilityName(capability)} in this window.`);
  const xs = [...new Set(all.flatMap(points => points.map(p => Date.parse(p.bucket) / 1000)))].sort((a, b) => a - b);
  const at = (points: Point[], f: (p: Point) => number | null) => {
    const byX = new Map(points.map(p => [Date.parse(p.bucket) / 1000, p]));
    return xs.map(x => { const p = byX.get(x); return p ? f(p) : null; });
  };
  const sat = versions.map((v, i) => ({ label: `${model}@${v}`, color: palette[i]!, dash: i ? [6, 4] : undefined,
    values: at(all[i]!, p => p.satisfaction.rate), lower: at(all[i]!, p => p.satisfaction.lower), upper: at(all[i]!, p => p.satisfaction.upper) }));
  const rate = versions.map((v, i) => ({ label: `${model}@${v}`, color: palette[i]!, dash: i ? [6, 4] : undefined,
    values: at(all[i]!, p => p.ratingRate.rate), lower: at(all[i]!, p => p.ratingRate.lower), upper: at(all[i]!, p => p.ratingRate.upper) }));
  const totals = versions.map((v, i) => `${model}@${v}: ${int(all[i]!.reduce((s, p) => s + p.rated, 0))} ratings of ${int(all[i]!.reduce((s, p) => s + p.responses, 0))} responses`);
  return h('div', { class: 'charts' },
    h('p', { class: 'sub', id: 'series-totals' }, totals.join(' · '), ` (per ${bucket}, ${capabilityName(capability)}; bands: Wilson 95%)`),
    h('div', { class: 'chart-row' },
      timeChart(`Satisfaction per ${bucket}`, xs, sat, { percent: true, window: win }),
      timeChart(`Rating rate per ${bucket}`, xs, rate, { percent: true, window: win })));
}

/** The version's thumbs-down reasons in the window and in the window of the same length before it. */
function reasonCounts(model: string, version: string, capability: string, win: { from: string; to: string }): Promise<[ReasonCount[], ReasonCount[]]> {
  const length = Date.parse(win.to) - Date.parse(win.from);
  const before = { from: new Date(Date.parse(win.from) - length).toISOString(), to: win.from };
  const cap = capability === '*' ? null : capability;
  return Promise.all([
    api.reasons({ model, version, capability: cap, from: win.from, to: win.to }),
    api.reasons({ model, version, capability: cap, ...before }),
  ]);
}

function reasonsTable([now, then]: [ReasonCount[], ReasonCount[]], model: string, version: string, capability: string, win: { from: string; to: string }): Child {
  if (now.length === 0) return empty('No thumbs-down reasons in this window.');
  const previous = new Map(then.map(r => [r.reason, r.count]));
  return h('table', { class: 'reasons' },
    h('thead', null, h('tr', null, ['Reason', 'Count', 'Window before', 'Change'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', null, now.slice(0, 10).map(r => {
      const old = previous.get(r.reason) ?? 0;
      const change = r.count - old;
      return h('tr', null, h('th', { scope: 'row' }, r.reason),
        h('td', { class: 'num' }, h('a', { href: link('/conversations', { model, version, capability, rating: 'down', reason: r.reason, from: win.from, to: win.to }) },
          int(r.count), sr(' thumbs-down: open the conversations'))),
        h('td', { class: 'num' }, int(old)),
        h('td', { class: `num ${change > 0 ? 'up' : change < 0 ? 'down' : ''}` }, change > 0 ? `+${int(change)}` : int(change)));
    })));
}

function capabilityTable(cells: Cell[], model: string, version: string, win: { from: string; to: string }): Child {
  if (cells.length === 0) return empty('No responses in this window.');
  return h('table', { class: 'capabilities' },
    h('thead', null, h('tr', null, ['Capability', 'Satisfaction (95%)', 'Ratings', 'Rating rate', 'Regenerations', 'Mean latency'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', null, cells.map(c => h('tr', { 'data-capability': c.capability },
      h('th', { scope: 'row' }, capabilityName(c.capability)),
      h('td', { class: 'num' }, `${pct(c.satisfaction.rate)} (${pct(c.satisfaction.lower, 0)}–${pct(c.satisfaction.upper, 0)})`),
      h('td', { class: 'num' }, h('a', { href: link('/conversations', { model, version, capability: c.capability, rating: 'rated', from: win.from, to: win.to }) }, int(c.rated))),
      h('td', { class: 'num' }, pct(c.ratingRate.rate)),
      h('td', { class: 'num' }, h('a', { href: link('/conversations', { model, version, capability: c.capability, regenerated: true, from: win.from, to: win.to }) }, int(c.regenerations))),
      h('td', { class: 'num latency' }, c.meanLatencyMs === null ? '–' : `${num(c.meanLatencyMs, 0)} ms`)))));
}
