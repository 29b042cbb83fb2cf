// Overview: model version × capability heatmap (satisfaction with Wilson interval, ratings, rating and regeneration
// rates; marked when the interval lies below the previous version's), and per model the latest version against its
// predecessor.
import { api, type Cell } from '../api';
import { h, int, link, pct, section, empty, sr } from '../dom';
import { coverage, filterForm, heading, sliceFields, versionsByModel, windowField, windowOf, windowParams, capabilityName, type Context } from '../shared';

export const key = (model: string, version: string, capability: string) => `${model}\u0000${version}\u0000${capability}`;

/** Interval strictly below the other's: this upper bound under the other's lower bound. */
export const below = (a: Cell, b: Cell | undefined) =>
  !!b && a.satisfaction.upper !== null && b.satisfaction.lower !== null && a.satisfaction.upper < b.satisfaction.lower;
const above = (a: Cell, b: Cell | undefined) =>
  !!b && a.satisfaction.lower !== null && b.satisfaction.upper !== null && a.satisfaction.lower > b.satisfaction.upper;

export async function overview(root: HTMLElement, params: URLSearchParams, ctx: Context): Promise<void> {
  const win = windowOf(params);
  const slices = { surface: params.get('surface'), customInstructions: params.get('customInstructions'), experimentArm: params.get('experimentArm') };
  const heat = h('section', { 'aria-labelledby': 'heat-title' });
  const families = h('section', { 'aria-labelledby': 'families-title' });
  root.append(
    heading('Overview', h('p', { class: 'sub' }, 'Satisfaction (thumbs up among rated) per model version and capability, with Wilson 95% intervals.')),
    filterForm('/overview', params, [windowField, ...sliceFields], ctx),
    h('h2', { id: 'families-title' }, 'Latest version against its predecessor'), families,
    h('h2', { id: 'heat-title' }, 'Model version × capability'), heat);

  const answer = api.matrixWithEnvelope({ from: win.from, to: win.to, ...slices });
  const data = Promise.all([api.models(), answer.then(a => a.items)]);
  const linkWindow = { ...windowParams(params), ...slices };
  await Promise.all([
    section(heat, 'the matrix', async () => {
      const [models, cells] = await data;
      return cells.length === 0 ? empty('No responses in this window and slice.') : [coverage((await answer).envelope), heatmap(models, cells, win, linkWindow)];
    }),
    section(families, 'model families', async () => {
      const [models, cells] = await data;
      return cells.length === 0 ? empty('No responses in this window and slice.') : latestAgainstPredecessor(models, cells, linkWindow);
    }),
  ]);
}

function heatmap(models: { modelId: string; version: string; firstSeen: string }[], cells: Cell[], win: { from: string; to: string },
  linkWindow: Record<string, string | null>): HTMLElement {
  const byKey = new Map(cells.map(c => [key(c.modelId, c.version, c.capability), c]));
  const capabilities = ['*', ...[...new Set(cells.map(c => c.capability).filter(c => c !== '*'))].sort()];
  const versions = versionsByModel(models);
  const rows: HTMLElement[] = [];
  for (const [model, list] of versions) {
    list.forEach((version, i) => {
      if (!capabilities.some(c => byKey.has(key(model, version, c)))) return;
      const previous = i > 0 ? list[i - 1] : undefined;
      rows.push(h('tr', null,
        h('th', { scope: 'row' }, h('a', { href: link('/model', { model, version, compare: previous, ...linkWindow }) }, `${model}@${version}`)),
        capabilities.map(capability => {
          const cell = byKey.get(key(model, version, capability));
          if (!cell) return h('td', { class: 'heat none' }, '–');
          const prev = previous ? byKey.get(key(model, previous, capability)) : undefined;
          const worse = below(cell, prev);
          const rate = cell.satisfaction.rate;
          const shade = rate === null ? 'none' : `s${Math.min(9, Math.floor(rate * 10))}`;
          const regen = cell.responses > 0 ? cell.regenerations / cell.responses : null;
          const label = `${model}@${version}, ${capabilityName(capability)}: satisfaction ${pct(rate)} (95% ${pct(cell.satisfaction.lower)}–${pct(cell.satisfaction.upper)}) from ${int(cell.rated)} ratings` +
            (worse ? `; below ${model}@${previous}` : '');
          return h('td', { class: `heat ${shade}${worse ? ' worse' : ''}`, 'data-model': model, 'data-version': version, 'data-capability': capability },
            h('a', { class: 'sat', href: link('/model', { model, version, capability, compare: previous, ...linkWindow }), title: label },
              worse ? h('span', { class: 'mark', 'aria-hidden': 'true' }, '▼ ') : null, pct(rate), sr(` satisfaction of ${model}@${version} on ${capabilityName(capability)}${worse ? ', below the previous version' : ''}`)),
            h('span', { class: 'ci' }, `${pct(cell.satisfaction.lower, 0)}–${pct(cell.satisfaction.upper, 0)}`),
            h('a', { class: 'count', href: link('/conversations', { model, version, capability, rating: 'rated', from: win.from, to: win.to, ...sliceOnly(linkWindow) }) },
              `n=${int(cell.rated)}`, sr(' ratings: open the conversations')),
            h('span', { class: 'rates', title: 'rating rate (rated among responses) · regeneration rate' }, `rated ${pct(cell.ratingRate.rate, 0)} · regen ${pct(regen, 0)}`));
        })));
    });
  }
  return h('div', { class: 'scroll' },
    h('table', { class: 'heatmap', id: 'heatmap' },
      h('caption', null, 'Each cell: satisfaction, its 95% interval, the number of ratings (opens the conversations), rating rate and regeneration rate. ▼ marks an interval below the previous version\'s on the same capability.'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Model version'), capabilities.map(c => h('th', { scope: 'col' }, capabilityName(c))))),
      h('tbody', null, rows)));
}

const sliceOnly = (p: Record<string, string | null>) => ({ surface: p['surface'], customInstructions: p['customInstructions'], experimentArm: p['experimentArm'] });

function latestAgainstPredecessor(models: { modelId: string; version: string; firstSeen: string }[], cells: Cell[], linkWindow: Record<string, string | null>): HTMLElement {
  const byKey = new Map(cells.map(c => [key(c.modelId, c.version, c.capability), c]));
  const rows: HTMLElement[] = [];
  for (const [model, all] of versionsByModel(models)) {
    const list = all.filter(v => byKey.has(key(model, v, '*')));
    const latest = list[list.length - 1];
    if (!latest) continue;
    const previous = list.length > 1 ? list[list.length - 2] : undefined;
    const a = byKey.get(key(model, latest, '*'))!;
    const b = previous ? byKey.get(key(model, previous, '*')) : undefined;
    const worseOn = previous ? cells.filter(c => c.modelId === model && c.version === latest && c.capability !== '*' && below(c, byKey.get(key(model, previous, c.capability)))).map(c => c.capability) : [];
    const verdict = !b ? 'no predecessor' : below(a, b) ? 'worse' : above(a, b) ? 'better' : 'no clear change';
    rows.push(h('tr', { 'data-model': model },
      h('th', { scope: 'row' }, model),
      h('td', null, h('a', { href: link('/model', { model, version: latest, compare: previous, ...linkWindow }) }, latest)),
      h('td', { class: 'num' }, `${pct(a.satisfaction.rate)} (${pct(a.satisfaction.lower, 0)}–${pct(a.satisfaction.upper, 0)})`),
      h('td', null, previous ?? '–'),
      h('td', { class: 'num' }, b ? `${pct(b.satisfaction.rate)} (${pct(b.satisfaction.lower, 0)}–${pct(b.satisfaction.upper, 0)})` : '–'),
      h('td', { class: 'num' }, b && a.satisfaction.rate !== null && b.satisfaction.rate !== null ? `${((a.satisfaction.rate - b.satisfaction.rate) * 100).toFixed(1)} pt` : '–'),
      h('td', { class: `verdict ${verdict.replace(/ /g, '-')}` }, verdict),
      h('td', { class: 'worse-on' }, worseOn.length ? worseOn.join(', ') : '–')));
  }
  return h('table', { id: 'families' },
    h('thead', null, h('tr', null, ['Model', 'Latest', 'Satisfaction (95%)', 'Predecessor', 'Satisfaction (95%)', 'Change', 'Overall', 'Worse on'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', null, rows));
}
