// Drill-down: the paged list of recent conversations behind a count, and one conversation as a timeline of its
// recorded events (turns, models, capabilities, ratings with flips and withdrawals, comparisons, regenerations,
// comments as stored after redaction).
import { api, type StoredEvent, type Turn } from '../api';
import { h, link, section, empty, time, type Child } from '../dom';
import { heading, type Context } from '../shared';

const filterNames = ['model', 'version', 'capability', 'rating', 'reason', 'regenerated', 'surface', 'customInstructions', 'experimentArm', 'pair', 'versus', 'cluster', 'from', 'to'];

export async function conversationList(root: HTMLElement, params: URLSearchParams, _ctx: Context): Promise<void> {
  const filters = Object.fromEntries(filterNames.map(n => [n, params.get(n)]).filter(([, v]) => v)) as Record<string, string>;
  const described = Object.entries(filters).map(([k, v]) => `${k} ${k === 'from' || k === 'to' ? new Date(v).toLocaleString() : v}`).join(' · ');
  const body = h('section', { 'aria-label': 'Conversations' });
  root.append(heading('Conversations', h('p', { class: 'sub', id: 'drill-filters' }, described || 'All responses of the last 30 days, newest first. Open a count on another page to narrow the list.')), body);
  await section(body, 'conversations', async () => {
    const page = await api.conversations({ ...filters, cursor: params.get('cursor'), limit: 50 });
    if (page.items.length === 0) return empty('No conversations behind this count.');
    return [
      h('table', { id: 'conversations' },
        h('thead', null, h('tr', null, ['When', 'Conversation', 'Model', 'Capabilities', 'Rating', 'Reasons', 'Comment or outcome'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, page.items.map(i => h('tr', { 'data-conversation': i.conversationId },
          h('td', null, time(i.occurredAt)),
          h('th', { scope: 'row' }, h('a', { href: `/conversations/${i.conversationId}` }, i.conversationId.slice(0, 8))),
          h('td', null, i.model), h('td', null, i.capabilities.join(', ')), h('td', { class: 'rating' }, i.rating ?? '–'),
          h('td', null, i.reasons.join(', ') || '–'), h('td', { class: 'comment' }, i.detail && i.comment ? `${i.detail}; ${i.comment}` : i.detail ?? i.comment ?? ''))))),
      h('nav', { class: 'pager', 'aria-label': 'Pages' },
        params.get('cursor') ? h('a', { href: link('/conversations', filters) }, 'Newest') : null,
        page.next ? h('a', { href: link('/conversations', { ...filters, cursor: page.next }), rel: 'next', id: 'older' }, 'Older') : h('span', null, 'No older conversations')),
    ];
  });
}

const ratings = ['up', 'down', 'none'];
const preferences = ['a', 'b', 'tie', 'both_bad'];
const named = (v: unknown, names: string[]) => typeof v === 'number' ? names[v] ?? String(v) : String(v ?? '').toLowerCase();
const asList = (v: unknown) => Array.isArray(v) ? v.map(String) : [];

export async function conversation(root: HTMLElement, _params: URLSearchParams, _ctx: Context, id: string): Promise<void> {
  const body = h('section', { 'aria-label': 'Timeline' });
  root.append(heading(`Conversation ${id.slice(0, 8)}`, h('p', { class: 'sub' }, id)), body);
  await section(body, 'the conversation', async () => {
    const [view, events] = await Promise.all([api.conversation(id).catch(() => null), api.conversationEvents(id)]);
    const turns = new Map<string, Turn>((view?.turns ?? []).map(t => [t.turnId, t]));
    const lastRating = new Map<string, string>();
    const items: Child[] = events.map(e => entry(e, turns, lastRating));
    return [
      view ? h('dl', { class: 'facts' },
        h('dt', null, 'Started'), h('dd', null, time(view.startedAt)),
        h('dt', null, 'Surface · locale'), h('dd', null, `${view.surface ?? '–'} · ${view.locale ?? '–'}`),
        h('dt', null, 'Custom instructions'), h('dd', null, view.customInstructions === null ? '–' : view.customInstructions ? 'on' : 'off'),
        h('dt', null, 'Experiment'), h('dd', null, view.experimentId ? `${view.experimentId} · ${view.experimentArm}` : '–')) : null,
      h('ol', { class: 'timeline', id: 'timeline' }, items),
    ];
  });
}

function entry(e: StoredEvent, turns: Map<string, Turn>, lastRating: Map<string, string>): HTMLElement {
  const d = e.data as Record<string, unknown>;
  const type = e.type.replace(/_/g, '').toLowerCase(); // conversation_started_recorded or ConversationStartedRecorded
  const at = (d['occurredAt'] as string) ?? e.storedAt;
  const model = d['model'] as { id?: string; version?: string } | undefined;
  const modelName = model ? `${model.id}@${model.version}` : '';
  let kind = e.type, what: Child = '';
  if (type.startsWith('conversationstarted')) {
    kind = 'started';
    what = `Conversation started on ${String(d['surface'] ?? '')} (${String(d['locale'] ?? '')})`;
  } else if (type.startsWith('responsegenerated')) {
    const turn = turns.get(String(d['turnId']));
    kind = d['regeneratedFrom'] ? 'regeneration' : 'response';
    what = [h('strong', null, `${d['regeneratedFrom'] ? 'Regenerated response' : 'Response'} ${Number(d['turnIndex']) + 1} by ${modelName}`),
      ` · ${asList(d['capabilities']).join(', ') || 'chat'} · ${d['latencyMs']} ms`,
      d['promptExcerpt'] ? h('p', { class: 'excerpt' }, h('span', { class: 'who' }, 'Prompt: '), String(d['promptExcerpt'])) : null,
      d['responseExcerpt'] ? h('p', { class: 'excerpt' }, h('span', { class: 'who' }, 'Response: '), String(d['responseExcerpt'])) : null,
      turn?.rating ? h('p', { class: 'current' }, `Current rating: ${turn.rating.rating}`) : null];
  } else if (type.startsWith('responserated')) {
    const turnId = String(d['turnId']);
    const rating = named(d['rating'], ratings);
    const before = lastRating.get(turnId);
    lastRating.set(turnId, rating);
    kind = rating === 'none' ? 'withdrawal' : before && before !== rating && before !== 'none' ? 'flip' : 'rating';
    const label = rating === 'none' ? 'Rating withdrawn' : before && before !== rating && before !== 'none' ? `Rating flipped ${before} → ${rating}` : `Rated ${rating}`;
    what = [h('strong', null, label), ` · ${modelName}`,
      asList(d['reasons']).length ? ` · ${asList(d['reasons']).map(r => named(r, [])).join(', ')}` : '',
      d['comment'] ? h('p', { class: 'excerpt' }, h('q', null, String(d['comment']))) : null];
  } else if (type.startsWith('responsescompared')) {
    kind = 'comparison';
    const candidates = (d['candidates'] as { model?: { id?: string; version?: string } }[] | undefined) ?? [];
    const names = candidates.map(c => `${c.model?.id}@${c.model?.version}`);
    const preferred = named(d['preferred'], preferences);
    const winner = preferred === 'a' ? names[0] : preferred === 'b' ? names[1] : preferred.replace('_', ' ');
    what = [h('strong', null, `Compared ${names.join(' vs ')}`), ` · preferred: ${winner}`, d['comment'] ? h('p', { class: 'excerpt' }, h('q', null, String(d['comment']))) : null];
  }
  return h('li', { class: `event ${kind}`, 'data-type': e.type }, h('span', { class: 'when' }, time(at)), h('span', { class: 'kind' }, kind), h('div', { class: 'what' }, what));
}
