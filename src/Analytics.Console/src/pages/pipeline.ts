// Pipeline: the figures the workers and RabbitMQ export (read through GET /api/pipeline): ingest rate (from two reads),
// refusals by reason, lag and dead letters per projection, queue depths including the error queue.
import { api, type Pipeline } from '../api';
import { h, int, num, replace, failure, loading, time } from '../dom';
import { heading, type Context } from '../shared';

export async function pipeline(root: HTMLElement, _params: URLSearchParams, ctx: Context): Promise<void> {
  const body = h('section', { 'aria-label': 'Pipeline figures' });
  root.append(heading('Pipeline', h('p', { class: 'sub' }, 'Read every 5 seconds from the workers\' and RabbitMQ\'s Prometheus endpoints.')), body);
  replace(body, loading('the pipeline figures'));
  let previous: Pipeline | null = null;
  const refresh = async () => {
    try {
      const now = await api.pipeline();
      replace(body, view(now, previous));
      previous = now;
    } catch (error) {
      replace(body, failure(error));
    }
  };
  await refresh();
  const timer = setInterval(() => void refresh(), 5000);
  ctx.onLeave(() => clearInterval(timer));
}

function view(p: Pipeline, before: Pipeline | null) {
  const seconds = before ? (Date.parse(p.readAt) - Date.parse(before.readAt)) / 1000 : 0;
  const rate = before && seconds > 0 ? Math.max(0, (p.eventsStored - before.eventsStored) / seconds) : null;
  const errorQueue = p.queueDepths.filter(q => q.label.endsWith('_error')).reduce((s, q) => s + q.value, 0);
  const deadLetters = p.projections.reduce((s, x) => s + x.deadLetters, 0);
  const tile = (id: string, label: string, value: string, warn = false) =>
    h('div', { class: `tile${warn ? ' warn' : ''}`, id }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, value));
  return [
    h('div', { class: 'tiles' },
      tile('ingest-rate', 'Ingest rate', rate === null ? 'measuring…' : `${num(rate, 1)} events/s`),
      tile('events-stored', 'Events stored (since the worker started)', int(p.eventsStored)),
      tile('events-duplicate', 'Duplicates skipped', int(p.eventsDuplicate)),
      tile('refused-total', 'Refused', int(p.refusedByReason.reduce((s, r) => s + r.value, 0)), p.refusedByReason.length > 0),
      tile('dead-letters', 'Dead letters', int(deadLetters), deadLetters > 0),
      tile('error-queue', 'Error queue depth', int(errorQueue), errorQueue > 0)),
    h('p', { class: 'sub' }, 'Read at ', time(p.readAt)),
    h('div', { class: 'columns two' },
      h('section', null, h('h2', null, 'Refusals by reason'), p.refusedByReason.length === 0 ? h('p', { class: 'state empty' }, 'No refusals.') :
        h('table', { id: 'refusals' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Events'))),
          h('tbody', null, p.refusedByReason.map(r => h('tr', null, h('th', { scope: 'row' }, r.label), h('td', { class: 'num' }, int(r.value))))))),
      h('section', null, h('h2', null, 'Queues'), p.queueDepths.length === 0 ? h('p', { class: 'state empty' }, 'No queue figures (RabbitMQ\'s metrics endpoint not configured or not answering).') :
        h('table', { id: 'queues' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Queue'), h('th', { scope: 'col' }, 'Messages'))),
          h('tbody', null, p.queueDepths.map(q => h('tr', null, h('th', { scope: 'row' }, q.label), h('td', { class: 'num' }, int(q.value)))))))),
    h('h2', null, 'Projections'),
    p.projections.length === 0 ? h('p', { class: 'state empty' }, 'No projection figures (is the projection worker running?).') :
      h('table', { id: 'projections' }, h('thead', null, h('tr', null, ['Projection', 'Lag (events)', 'Lag (seconds)', 'Dead letters'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, p.projections.map(x => h('tr', null, h('th', { scope: 'row' }, x.projection), h('td', { class: 'num' }, int(x.lagEvents)),
          h('td', { class: 'num' }, num(x.lagSeconds, 1)), h('td', { class: `num${x.deadLetters > 0 ? ' warn' : ''}` }, int(x.deadLetters)))))),
    h('h2', null, 'Sources'),
    h('ul', { id: 'sources' }, p.sources.map(s => h('li', { class: s.up ? 'up' : 'down' }, `${s.up ? 'answering' : 'not answering'}: ${s.url}${s.error ? ` (${s.error})` : ''}`))),
  ];
}
