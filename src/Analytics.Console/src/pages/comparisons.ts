// Comparisons: Bradley–Terry leaderboard with bootstrap whiskers and ranks, and the head-to-head win-share matrix,
// each figure with the number of comparisons behind it (which opens them).
import { api, type HeadToHead } from '../api';
import { whisker } from '../charts';
import { h, int, link, num, pct, section, empty, sr } from '../dom';
import { coverage, filterForm, heading, windowField, windowOf, type Context } from '../shared';

export async function comparisons(root: HTMLElement, params: URLSearchParams, ctx: Context): Promise<void> {
  const win = windowOf(params, '30d');
  const capability = params.get('capability') || null;
  const board = h('section', { 'aria-labelledby': 'board-title' });
  const matrix = h('section', { 'aria-labelledby': 'h2h-title' });
  root.append(
    heading('Comparisons', h('p', { class: 'sub' }, 'Side-by-side preferences: Bradley–Terry ratings (ties and both-bad as half wins) with bootstrap 95% intervals and Arena ranks.')),
    filterForm('/comparisons', params, [{ name: 'capability', label: 'Capability', placeholder: 'all' }, { ...windowField, options: [['30d', 'last 30 days'], ['7d', 'last 7 days'], ['24h', 'last 24 hours'], ['90d', 'last 90 days']] }], ctx),
    h('h2', { id: 'board-title' }, 'Leaderboard'), board,
    h('h2', { id: 'h2h-title' }, 'Head to head: share of the row model\'s wins against the column model'), matrix);

  const query = { capability, from: win.from, to: win.to };
  const leaderboard = api.leaderboard(query);
  await Promise.all([
    section(board, 'the leaderboard', async () => {
      const { models, anchor, envelope } = await leaderboard;
      if (models.length === 0) return empty('No comparisons in this window.');
      const min = Math.min(...models.map(m => m.lower)), max = Math.max(...models.map(m => m.upper));
      const toLeader = (m: typeof models[number]) => m.toLeader ? `${num(m.toLeader.difference, 0)} (${num(m.toLeader.lower, 0)} to ${num(m.toLeader.upper, 0)})` : '–';
      return [coverage(envelope), anchor ? h('p', { class: 'sub' }, `Ratings on the Elo scale with ${anchor} held at 1000; intervals are differences to it. "To the leader" does not depend on that choice; ranks count the models better with 95% confidence.`) : null,
        h('table', { id: 'leaderboard' },
        h('thead', null, h('tr', null, ['Rank', 'Model', 'Rating', '95% interval', '', 'To the leader (95%)', 'Comparisons'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, models.map(m => h('tr', { 'data-model': m.model },
          h('td', { class: 'num rank' }, String(m.rank)),
          h('th', { scope: 'row' }, m.model),
          h('td', { class: 'num rating' }, num(m.rating, 0)),
          h('td', { class: 'num' }, `${num(m.lower, 0)}–${num(m.upper, 0)}`),
          h('td', null, whisker(m.rating, m.lower, m.upper, min, max, `${m.model}: ${num(m.rating, 0)}, 95% ${num(m.lower, 0)} to ${num(m.upper, 0)}`)),
          h('td', { class: 'num' }, toLeader(m)),
          h('td', { class: 'num comparisons' }, int(m.comparisons))))))];
    }),
    section(matrix, 'the head-to-head matrix', async () => {
      const [pairs, { models }] = await Promise.all([api.headToHead(query), leaderboard]);
      if (pairs.length === 0) return empty('No comparisons in this window.');
      return headToHead(pairs, models.map(m => m.model), capability, win);
    }),
  ]);
}

function headToHead(pairs: HeadToHead[], order: string[], capability: string | null, win: { from: string; to: string }): HTMLElement {
  const names = [...new Set([...order, ...pairs.flatMap(p => [p.modelA, p.modelB])])];
  const find = (row: string, col: string) => {
    const p = pairs.find(x => x.modelA === row && x.modelB === col);
    if (p) return { share: p.aWinShare.rate, lower: p.aWinShare.lower, upper: p.aWinShare.upper, n: p.aWinShare.trials, wins: p.aWins, losses: p.bWins, ties: p.ties + p.bothBad };
    const q = pairs.find(x => x.modelA === col && x.modelB === row);
    if (!q) return null;
    const flip = (v: number | null) => v === null ? null : 1 - v;
    return { share: flip(q.aWinShare.rate), lower: flip(q.aWinShare.upper), upper: flip(q.aWinShare.lower), n: q.aWinShare.trials, wins: q.bWins, losses: q.aWins, ties: q.ties + q.bothBad };
  };
  return h('div', { class: 'scroll' }, h('table', { class: 'h2h', id: 'head-to-head' },
    h('caption', null, 'Each cell: the row model\'s win share (ties and both-bad as half) with its Wilson 95% interval and the number of comparisons, which opens them.'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Row vs column'), names.map(n => h('th', { scope: 'col' }, n)))),
    h('tbody', null, names.map(row => h('tr', null, h('th', { scope: 'row' }, row), names.map(col => {
      if (row === col) return h('td', { class: 'self' }, '');
      const cell = find(row, col);
      if (!cell) return h('td', { class: 'none' }, '–');
      const shade = cell.share === null ? 'none' : `w${Math.min(9, Math.floor(cell.share * 10))}`;
      const label = `${row} against ${col}: wins ${pct(cell.share)} of ${cell.n} comparisons (${cell.wins} won, ${cell.losses} lost, ${cell.ties} tied or both bad)`;
      return h('td', { class: `h2h-cell ${shade}`, 'data-row': row, 'data-col': col },
        h('span', { class: 'share', title: label }, pct(cell.share, 0)),
        h('span', { class: 'ci' }, `${pct(cell.lower, 0)}–${pct(cell.upper, 0)}`),
        h('a', { class: 'count', href: link('/conversations', { pair: row, versus: col, capability, from: win.from, to: win.to }), title: label }, `n=${int(cell.n)}`, sr(' comparisons: open them')));
    }))))));
}
