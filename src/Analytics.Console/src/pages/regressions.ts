// Regressions: alerts by state (active, acknowledged, resolved); an alert's evidence as charts (thumbs-down rate in
// the window against its baseline; the detector's statistic against its threshold at each transition; the cell's
// hourly thumbs-down rate around it), its audit trail, and Acknowledge for triagers.
import { api, type Alert, type AlertDetail } from '../api';
import { intervalPair, timeChart, palette } from '../charts';
import { h, int, link, num, pct, replace, section, empty, failure, sr, time, type Child } from '../dom';
import { heading, type Context } from '../shared';

const states: [string, string][] = [['active', 'Active'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['all', 'All']];

const stateOf = (a: Alert) => a.state === 'active' && a.acknowledgedAt ? 'acknowledged' : a.state;

export async function regressions(root: HTMLElement, params: URLSearchParams, ctx: Context): Promise<void> {
  const state = params.get('state') ?? 'active';
  const selected = params.get('alert');
  const list = h('section', { 'aria-label': 'Alerts' });
  const detail = h('section', { id: 'alert-detail', 'aria-label': 'Alert' });
  root.append(
    heading('Regressions', h('p', { class: 'sub' }, 'Cells whose thumbs-down rate rose above their baseline by the detector\'s rule (docs/alerts.md).')),
    h('nav', { class: 'tabs', 'aria-label': 'Alert state' }, h('ul', null, states.map(([s, label]) =>
      h('li', null, h('a', { href: link('/regressions', { state: s }), 'aria-current': s === state ? 'page' : null }, label))))),
    h('div', { class: 'master-detail' }, list, detail));

  await section(list, 'alerts', async () => {
    for (const m of await api.models()) lastSeen.set(`${m.modelId}@${m.version}`, Date.parse(m.lastSeen));
    const all = await api.alerts({ state: state === 'acknowledged' ? 'active' : state, limit: 200 });
    const shown = all.filter(a => state === 'all' || stateOf(a) === state);
    if (shown.length === 0) return empty(`No ${state === 'all' ? '' : state + ' '}alerts.`);
    return h('table', { id: 'alerts' },
      h('thead', null, h('tr', null, ['Cell', 'State', 'Detected', 'Thumbs-down rate', 'Baseline', 'Ratings'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', null, shown.map(a => h('tr', { 'data-alert': a.alertId, class: a.alertId === selected ? 'selected' : null },
        h('th', { scope: 'row' }, h('a', { href: link('/regressions', { state, alert: a.alertId }) }, `${a.modelId}@${a.modelVersion} · ${a.capability}`)),
        h('td', { class: 'state' }, stateOf(a)),
        h('td', null, time(a.detectedAt)),
        h('td', { class: 'num' }, pct(a.evidence.windowDownRate)),
        h('td', { class: 'num' }, `${pct(a.evidence.baselineDownRate)} (${a.evidence.baselineKind} ${a.evidence.baselineVersion})`),
        h('td', { class: 'num' }, h('a', { href: downLink(a) },
          `${int(a.evidence.windowDown)} / ${int(a.evidence.windowRated)}`, sr(' thumbs-down among ratings: open the conversations')))))));
  });

  if (selected) await showAlert(detail, selected, ctx);
  else replace(detail, empty('Choose an alert to see its evidence.'));
}

/**
 * The stretch of event time an alert is about. The evidence's window is in detector time (the looks between which
 * the statistic built up), which for live traffic is also event time; for traffic replayed or stored late it is not,
 * so the stretch ends at the cell's last response when that is earlier: the last day before that end.
 */
const lastSeen = new Map<string, number>();
function around(a: Alert): { from: string; to: string } {
  const detected = Date.parse(a.resolvedAt ?? a.evidence.windowEnd);
  const end = Math.min(detected, (lastSeen.get(`${a.modelId}@${a.modelVersion}`) ?? detected) + 3600_000);
  const start = Math.min(Date.parse(a.evidence.windowStart), end - 24 * 3600_000);
  return { from: new Date(Math.floor(start / 3600_000) * 3600_000).toISOString(), to: new Date(Math.ceil(end / 3600_000) * 3600_000).toISOString() };
}

const downLink = (a: Alert) => link('/conversations', { model: a.modelId, version: a.modelVersion, capability: a.capability, rating: 'down', ...around(a) });

async function showAlert(el: HTMLElement, id: string, ctx: Context): Promise<void> {
  await section(el, 'the alert', async () => {
    const detail = await api.alert(id);
    return alertView(detail, el, ctx);
  });
}

async function alertView({ alert, history }: AlertDetail, el: HTMLElement, ctx: Context): Promise<Child> {
  const e = alert.evidence;
  const rate = intervalPair([
    { label: `baseline (${e.baselineKind})`, value: e.baselineDownRate, lower: e.baselineLower, upper: e.baselineUpper, kind: 'baseline' },
    { label: 'detection window', value: e.windowDownRate, lower: e.windowLower, upper: e.windowUpper, kind: 'window' },
    ...(alert.resolvedEvidence ? [{ label: 'at resolution', value: alert.resolvedEvidence.windowDownRate, lower: alert.resolvedEvidence.windowLower, upper: alert.resolvedEvidence.windowUpper, kind: 'resolved' }] : []),
  ], 'Thumbs-down rate against its baseline (95% intervals)');
  const transitions = history.map(entry => ({ entry, evidence: (entry.data['evidence'] ?? entry.data['Evidence']) as typeof e | undefined })).filter(t => t.evidence);
  const statistic = h('table', { class: 'statistic' },
    h('caption', null, 'The detector\'s statistic against its threshold at each transition'),
    h('thead', null, h('tr', null, ['Event', 'At', 'Statistic', 'Threshold', 'p-value', 'Dispersion'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', null, transitions.map(({ entry, evidence }) => h('tr', null,
      h('th', { scope: 'row' }, entry.type), h('td', null, time(entry.timestamp)),
      h('td', { class: `num ${evidence!.statistic >= evidence!.threshold ? 'over' : ''}` }, num(evidence!.statistic, 2)),
      h('td', { class: 'num' }, num(evidence!.threshold, 2)), h('td', { class: 'num' }, evidence!.pValue.toExponential(2)),
      h('td', { class: 'num' }, num(evidence!.dispersion, 2))))));
  const hourly = h('div');
  const ack = (await ctx.me).canTriage && alert.state === 'active' && !alert.acknowledgedAt ? acknowledgeForm(alert, el, ctx) : null;
  const view = h('article', { 'data-alert': alert.alertId },
    h('h2', null, `${alert.modelId}@${alert.modelVersion} · ${alert.capability}`),
    h('dl', { class: 'facts' },
      h('dt', null, 'State'), h('dd', { id: 'alert-state' }, stateOf(alert)),
      h('dt', null, 'Detected'), h('dd', null, time(alert.detectedAt)),
      h('dt', null, 'Window'), h('dd', null, time(e.windowStart), ' – ', time(e.windowEnd)),
      h('dt', null, 'Acknowledged'), h('dd', { id: 'alert-acknowledged' }, alert.acknowledgedAt ? [time(alert.acknowledgedAt), ` by ${alert.acknowledgedBy}`, alert.acknowledgementNote ? ` — ${alert.acknowledgementNote}` : ''] : 'no'),
      h('dt', null, 'Resolved'), h('dd', null, time(alert.resolvedAt)),
      h('dt', null, 'Conversations'), h('dd', null, h('a', { href: downLink(alert), id: 'alert-conversations' }, 'the cell\'s thumbs-down around the alert'))),
    ack, rate, statistic, hourly,
    h('h3', null, 'Audit trail'),
    h('ol', { id: 'alert-history' }, history.map(entry => h('li', null, time(entry.timestamp), ` ${entry.type}`, entry.data['actor'] ? ` by ${String(entry.data['actor'])}` : ''))));
  // The cell's hourly thumbs-down rate over the alert's stretch of event time and as long again before it.
  const stretch = around(alert);
  const from = new Date(2 * Date.parse(stretch.from) - Date.parse(stretch.to)).toISOString(), to = stretch.to;
  void section(hourly, 'the hourly rate', async () => {
    const hoursLong = (Date.parse(to) - Date.parse(from)) / 3600_000;
    const points = await api.overTime({ model: alert.modelId, version: alert.modelVersion, capability: alert.capability === '*' ? null : alert.capability, bucket: hoursLong > 24 * 31 ? 'day' : 'hour', from, to });
    if (points.length === 0) return empty('No ratings of this cell around the alert.');
    const xs = points.map(p => Date.parse(p.bucket) / 1000);
    const down = (v: number | null) => v === null ? null : 1 - v;
    return timeChart('Thumbs-down rate of the cell per hour, with the baseline', xs, [
      { label: 'thumbs-down rate', color: palette[4]!, values: points.map(p => down(p.satisfaction.rate)), lower: points.map(p => down(p.satisfaction.upper)), upper: points.map(p => down(p.satisfaction.lower)) },
      { label: 'baseline', color: palette[0]!, dash: [6, 4], values: points.map(() => e.baselineDownRate) },
    ], { percent: true, height: 180, window: { from, to } });
  });
  return view;
}

function acknowledgeForm(alert: Alert, el: HTMLElement, ctx: Context): HTMLElement {
  const note = h('input', { id: 'ack-note', name: 'note', maxlength: 2000 });
  const status = h('p', { role: 'status' });
  const form = h('form', { class: 'action', id: 'acknowledge-form' },
    h('label', { for: 'ack-note' }, 'Note'), note, h('button', { type: 'submit', id: 'acknowledge' }, 'Acknowledge'), status);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    status.textContent = 'Acknowledging…';
    try {
      await api.acknowledge(alert.alertId, note.value.trim() || null);
      await showAlert(el, alert.alertId, ctx);
    } catch (error) {
      replace(status, failure(error));
    }
  });
  return form;
}
