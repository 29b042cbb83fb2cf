// Triage: thumbs-down clusters with a growth sparkline, a cluster's samples, daily size, audit trail and, for
// triagers, the actions (assign, label, note, resolve; each sends the version it saw, 409 on a conflicting edit).
import { api, type Cluster } from '../api';
import { sparkline } from '../charts';
import { h, int, link, pct, replace, section, empty, failure, sr, time, type Child } from '../dom';
import { filterForm, heading, type Context } from '../shared';

export async function triage(root: HTMLElement, params: URLSearchParams, ctx: Context): Promise<void> {
  const selected = params.get('cluster');
  const list = h('section', { 'aria-label': 'Clusters' });
  const detail = h('section', { id: 'cluster-detail', 'aria-label': 'Cluster' });
  root.append(
    heading('Triage', h('p', { class: 'sub' }, 'Thumbs-down feedback grouped by model, capability, reason and what the comments say; growth over 24-hour windows.')),
    filterForm('/clusters', params, [
      { name: 'model', label: 'Model', placeholder: 'any' },
      { name: 'capability', label: 'Capability', placeholder: 'any' },
      { name: 'severity', label: 'Severity', options: [['', 'any'], 'S0', 'S1', 'S2', 'S3', ['none', 'unlabelled']] },
      { name: 'state', label: 'State', options: [['', 'any'], 'open', 'resolved'] },
      { name: 'sort', label: 'Sort', options: ['size', 'growth', 'severity', 'recent'] },
    ], ctx),
    h('div', { class: 'master-detail' }, list, detail));

  const query = { model: params.get('model'), capability: params.get('capability'), severity: params.get('severity'), state: params.get('state'), sort: params.get('sort') ?? 'size', limit: 50 };
  const keep = (id: string) => link('/clusters', { ...Object.fromEntries(params.entries()), cluster: id });
  await section(list, 'clusters', async () => {
    const clusters = await api.clusters(query);
    if (clusters.length === 0) return empty('No clusters match these filters.');
    const table = h('table', { id: 'clusters' },
      h('thead', null, h('tr', null, ['Cluster', 'Model · capability', 'Reason', 'Size', 'Daily', '24 h', 'Growth', 'Severity', 'State'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', null, clusters.map(c => h('tr', { 'data-cluster': c.clusterId, class: c.clusterId === selected ? 'selected' : null },
        h('th', { scope: 'row' }, h('a', { href: keep(c.clusterId) }, c.label)),
        h('td', null, `${c.modelId} · ${c.capability}`), h('td', null, c.reason),
        h('td', { class: 'num size' }, h('a', { href: link('/conversations', { cluster: c.clusterId }) }, int(c.size), sr(' items: open the conversations'))),
        h('td', { class: 'spark', 'data-spark': c.clusterId }),
        h('td', { class: 'num' }, `${c.thisWindow} (${c.lastWindow} before)`),
        h('td', { class: 'num' }, [c.growth === null ? '–' : pct(c.growth, 0), c.isNew ? h('span', { class: 'flag' }, ' new') : null, c.isGrowing ? h('span', { class: 'flag' }, ' growing') : null]),
        h('td', null, c.severity ?? '–'), h('td', { class: 'state' }, c.state)))));
    void sparklines(table, clusters);
    return table;
  });

  if (selected) await showCluster(detail, selected, ctx);
  else replace(detail, empty('Choose a cluster to see its samples and history.'));
}

/** Daily sizes for the sparklines, a few requests at a time. */
async function sparklines(table: HTMLElement, clusters: Cluster[]): Promise<void> {
  const queue = clusters.slice(0, 50);
  await Promise.all([0, 1, 2, 3].map(async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const cell = table.querySelector(`[data-spark="${c.clusterId}"]`);
      try {
        const detail = await api.cluster(c.clusterId);
        cell?.append(sparkline(detail.daily.map(d => d.items), `${c.label}: items per day, ${detail.daily.map(d => d.items).join(', ')}`));
      } catch { cell?.append('–'); }
    }
  }));
}

async function showCluster(el: HTMLElement, id: string, ctx: Context): Promise<void> {
  await section(el, 'the cluster', async () => {
    const [detail, history, me] = await Promise.all([api.cluster(id), api.clusterHistory(id), ctx.me]);
    const c = detail.cluster;
    const facts = h('dl', { class: 'facts' },
      h('dt', null, 'State'), h('dd', { id: 'detail-state' }, c.state),
      h('dt', null, 'Version'), h('dd', { id: 'detail-version' }, String(c.version)),
      h('dt', null, 'Assignee'), h('dd', { id: 'detail-assignee' }, c.assignee ?? '–'),
      h('dt', null, 'Severity · category'), h('dd', { id: 'detail-label' }, `${c.severity ?? '–'} · ${c.category ?? '–'}`),
      h('dt', null, 'Fix'), h('dd', null, c.fixReference ?? '–'),
      h('dt', null, 'Items'), h('dd', null, h('a', { href: link('/conversations', { cluster: c.clusterId }) }, `${int(c.size)} (open the conversations)`)),
      h('dt', null, 'First · last item'), h('dd', null, time(c.firstItemAt), ' · ', time(c.lastItemAt)));
    return h('article', { 'data-cluster': c.clusterId },
      h('h2', null, c.label),
      h('p', { class: 'sub' }, `${c.modelId} · ${c.capability} · ${c.reason}`),
      facts,
      h('figure', { class: 'daily' }, h('figcaption', null, 'Items per day'), sparkline(detail.daily.map(d => d.items), `items per day: ${detail.daily.map(d => `${d.day} ${d.items}`).join(', ')}`)),
      me.canTriage ? actions(c, el, ctx) : null,
      h('h3', null, 'Samples (most central first, as stored after redaction)'),
      h('ul', { id: 'samples', class: 'samples' }, detail.samples.map(s => h('li', null,
        h('a', { href: `/conversations/${s.conversationId}` }, `${s.modelVersion} · `, time(s.occurredAt)),
        h('q', null, s.comment ?? '(no comment)'),
        s.promptExcerpt ? h('span', { class: 'prompt' }, ` prompt: ${s.promptExcerpt}`) : null))),
      h('h3', null, 'Audit trail'),
      h('ol', { id: 'history' }, [...history].reverse().map(entry => h('li', null, time(entry.at), ` ${entry.event} by ${entry.actor}`,
        Object.entries(entry.details).filter(([, v]) => v).map(([k, v]) => h('span', { class: 'detail' }, ` ${k}: ${v}`))))));
  });
}

function actions(c: Cluster, el: HTMLElement, ctx: Context): Child {
  const status = h('p', { role: 'status', id: 'action-status' });
  const act = (form: HTMLFormElement, action: 'assign' | 'label' | 'notes' | 'resolve', body: () => Record<string, unknown>) => {
    form.addEventListener('submit', async e => {
      e.preventDefault();
      status.textContent = 'Saving…';
      try {
        await api.triage(c.clusterId, action, { ...body(), expectedVersion: c.version });
        await showCluster(el, c.clusterId, ctx);
        const row = document.querySelector(`#clusters tr[data-cluster="${c.clusterId}"] td.state`);
        if (row && action === 'resolve') row.textContent = 'resolved';
      } catch (error) {
        replace(status, failure(error));
      }
    });
    return form;
  };
  const field = (id: string, label: string, control: HTMLElement) => [h('label', { for: id }, label), control];
  const assignee = h('input', { id: 'assignee', required: true, value: c.assignee ?? '' });
  const severity = h('select', { id: 'severity' }, ['S0', 'S1', 'S2', 'S3'].map(s => h('option', { selected: s === c.severity }, s)));
  const category = h('select', { id: 'category' }, ['safety', 'quality', 'other'].map(s => h('option', { selected: s === c.category }, s)));
  const note = h('input', { id: 'note', required: true });
  const fix = h('input', { id: 'fix-reference', required: true });
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Triage actions' },
    act(h('form', { class: 'action' }, field('assignee', 'Assignee', assignee), h('button', { type: 'submit', id: 'assign' }, 'Assign')), 'assign', () => ({ assignee: assignee.value })),
    act(h('form', { class: 'action' }, field('severity', 'Severity', severity), field('category', 'Category', category), h('button', { type: 'submit', id: 'label' }, 'Label')), 'label', () => ({ severity: severity.value, category: category.value })),
    act(h('form', { class: 'action' }, field('note', 'Note', note), h('button', { type: 'submit', id: 'add-note' }, 'Add note')), 'notes', () => ({ note: note.value })),
    c.state === 'resolved' ? null : act(h('form', { class: 'action' }, field('fix-reference', 'Fix reference', fix), h('button', { type: 'submit', id: 'resolve' }, 'Resolve')), 'resolve', () => ({ fixReference: fix.value })),
    status);
}
