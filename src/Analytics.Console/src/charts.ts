// Charts: uPlot for time series with interval bands; small hand-made SVG for whiskers and sparklines.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, svg } from './dom';

export interface BandSeries { label: string; values: (number | null)[]; lower?: (number | null)[]; upper?: (number | null)[]; color: string; dash?: number[] }

export const palette = ['#1f5fa8', '#c2410c', '#15803d', '#7c3aed', '#b91c1c', '#0e7490'];

/**
 * A time series chart (x in seconds since the epoch, shown in the viewer's zone) with a shaded interval band per series.
 * The x axis spans the window asked for (`window`, ISO instants) when given, so a window with one bucket of data or with
 * gaps is drawn at its true place instead of stretched to fill the chart.
 */
export function timeChart(title: string, xs: number[], series: BandSeries[],
  options: { percent?: boolean; height?: number; window?: { from: string; to: string } } = {}): HTMLElement {
  const figure = h('figure', { class: 'chart', 'aria-label': title }, h('figcaption', null, title));
  const data: uPlot.AlignedData = [xs];
  const specs: uPlot.Series[] = [{}];
  const bands: uPlot.Band[] = [];
  const fmt = (v: number | null) => v === null || v === undefined ? '–' : options.percent ? (v * 100).toFixed(1) + '%' : v.toFixed(1);
  for (const s of series) {
    const mid = data.length;
    data.push(s.values);
    specs.push({ label: s.label, stroke: s.color, width: 2, dash: s.dash, value: (_u, v) => fmt(v), spanGaps: false });
    if (s.lower && s.upper) {
      data.push(s.upper, s.lower);
      specs.push({ label: `${s.label} upper`, stroke: 'transparent', value: (_u, v) => fmt(v) }, { label: `${s.label} lower`, stroke: 'transparent', value: (_u, v) => fmt(v) });
      bands.push({ series: [mid + 1, mid + 2], fill: s.color + '26' });
    }
  }
  const draw = () => {
    const width = Math.max(320, figure.clientWidth - 8);
    new uPlot({
      width, height: options.height ?? 220, series: specs, bands,
      legend: { live: true },
      scales: {
        ...(options.window ? { x: { time: true, range: (): uPlot.Range.MinMax => [Date.parse(options.window!.from) / 1000, Date.parse(options.window!.to) / 1000] } } : {}),
        y: options.percent ? { range: (_u, min, max) => [Math.max(0, Math.floor((min ?? 0) * 10) / 10), Math.min(1, Math.ceil((max ?? 1) * 10) / 10)] } : {},
      },
      axes: [{}, { values: (_u, ticks) => ticks.map(t => options.percent ? Math.round(t * 100) + '%' : String(t)), size: 56 }],
    }, data, figure);
  };
  // Drawn once the figure is in the document and has a width.
  requestAnimationFrame(draw);
  return figure;
}

/** An interval on a shared scale: a whisker from lower to upper and a dot at the estimate. */
export function whisker(value: number, lower: number, upper: number, min: number, max: number, label: string): SVGSVGElement {
  const width = 220, height = 18;
  const x = (v: number) => 4 + ((v - min) / (max - min || 1)) * (width - 8);
  return svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'whisker' },
    svg('title', null, label),
    svg('line', { x1: x(lower), x2: x(upper), y1: 9, y2: 9, class: 'whisker-line' }),
    svg('line', { x1: x(lower), x2: x(lower), y1: 4, y2: 14, class: 'whisker-line' }),
    svg('line', { x1: x(upper), x2: x(upper), y1: 4, y2: 14, class: 'whisker-line' }),
    svg('circle', { cx: x(value), cy: 9, r: 4, class: 'whisker-dot' }));
}

/** A sparkline of counts. */
export function sparkline(values: number[], label: string): SVGSVGElement {
  const width = 90, height = 22, max = Math.max(1, ...values);
  const step = values.length > 1 ? (width - 4) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(2 + i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'sparkline' },
    svg('title', null, label),
    values.length === 1 ? svg('circle', { cx: 2, cy: height / 2, r: 2 }) : svg('polyline', { points, fill: 'none' }));
}

/** Two intervals against each other (e.g. thumbs-down rate: window vs baseline), with an optional threshold line. */
export function intervalPair(rows: { label: string; value: number; lower: number; upper: number; kind: string }[], title: string, percent = true): HTMLElement {
  const max = Math.max(...rows.map(r => r.upper)) * 1.1 || 1;
  const fmt = (v: number) => percent ? (v * 100).toFixed(1) + '%' : v.toFixed(2);
  const width = 460, row = 34;
  const x = (v: number) => 150 + (v / max) * (width - 170);
  const chart = svg('svg', { width, height: rows.length * row + 10, viewBox: `0 0 ${width} ${rows.length * row + 10}`, role: 'img', 'aria-label': title, class: 'interval-pair' },
    svg('title', null, title),
    rows.map((r, i) => {
      const y = 14 + i * row;
      return svg('g', { class: r.kind },
        svg('text', { x: 0, y: y + 4 }, r.label),
        svg('line', { x1: x(r.lower), x2: x(r.upper), y1: y, y2: y, class: 'whisker-line' }),
        svg('circle', { cx: x(r.value), cy: y, r: 5, class: 'whisker-dot' }),
        svg('text', { x: x(r.upper) + 6, y: y + 4, class: 'value' }, `${fmt(r.value)} [${fmt(r.lower)}–${fmt(r.upper)}]`));
    }));
  return h('figure', { class: 'chart' }, h('figcaption', null, title), chart);
}
