/**
 * The Compression tab: accuracy against size on disk (log axis) and against latency, for the teacher, the scratch
 * student, the KD student and each `compress` stage, with the Pareto frontier (nothing both smaller, or faster, and
 * more accurate) drawn through the points, each point labelled, and the numbers on hover. Below, one row per stage.
 * Each canvas records its points' pixel positions in `data-points`, which is how hover and the browser tests find
 * them.
 */
import { compressionLabel, paretoFrontier } from '../../shared/compression';
import { isCompressionSkipped, type CompressionResult, type ModelReport, type Summary } from '../../shared/records';
import type { ViewContext } from '../context';
import { formatBytes, modelName } from '../../shared/format';
import { append, formatNumber, formatPercent, h, sizeCanvas } from '../dom';
import { SummaryTab } from './summaryTab';
import { canvasFont, type Theme } from '../charts/theme';

interface Point {
  label: string;
  report: ModelReport;
  stage?: CompressionResult;
  color: string;
}

type Axis = 'bytes' | 'latency1' | 'latency256';

const AXES: Record<Axis, { title: string; log: boolean; value(r: ModelReport): number | undefined; format(v: number): string }> = {
  bytes: { title: 'Weights on disk (log scale)', log: true, value: (r) => r.sizeBytes, format: (v) => formatBytes(v) },
  latency1: { title: 'Latency, batch 1 (ms per sample)', log: false, value: (r) => r.latencyMs?.batch1, format: (v) => `${formatNumber(v)} ms` },
  latency256: { title: 'Latency, batch 256 (ms per sample)', log: false, value: (r) => r.latencyMs?.batch256, format: (v) => `${formatNumber(v)} ms` },
};

/** Where a drawn point is, in CSS pixels of its canvas. */
export interface DrawnPoint {
  label: string;
  x: number;
  y: number;
  frontier: boolean;
}

/** Byte ticks at powers of two (1 KiB, 4 KiB, …), every k-th power so that at most about 8 fit. */
const byteTicks = (lo: number, hi: number): number[] => {
  const from = Math.ceil(Math.log2(lo));
  const to = Math.floor(Math.log2(hi));
  const every = Math.max(1, Math.ceil((to - from + 1) / 8));
  const out: number[] = [];
  for (let e = from; e <= to; e++) if (e % every === 0) out.push(2 ** e);
  return out;
};

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
};

function tooltipText(p: Point): string[] {
  const r = p.report;
  const lines = [
    p.label,
    `accuracy ${formatPercent(r.accuracy, 2)} · macro-F1 ${formatPercent(r.macroF1, 2)}`,
    `weights ${formatBytes(r.sizeBytes)}${r.gzipBytes ? ` · gzip ${formatBytes(r.gzipBytes)}` : ''}`,
    `params ${r.params === null ? '—' : r.params.toLocaleString('en-US')}${p.stage ? ` · non-zero ${p.stage.nonZeroParams.toLocaleString('en-US')}` : ''}`,
  ];
  if (r.latencyMs) lines.push(`latency ${formatNumber(r.latencyMs.batch1)} ms (batch 1) · ${formatNumber(r.latencyMs.batch256)} ms (batch 256) per sample`);
  if (r.agreement !== undefined) lines.push(`agreement ${formatPercent(r.agreement, 2)} · KL ${formatNumber(r.klToTeacher)}`);
  if (p.stage) lines.push(`${p.stage.accuracyChangePts >= 0 ? '+' : ''}${p.stage.accuracyChangePts.toFixed(2)} pt vs the KD student`);
  return lines;
}

/** Draws one scatter; returns its points' positions (also stored on the canvas as data-points). */
function drawScatter(canvas: HTMLCanvasElement, theme: Theme, points: Point[], axis: Axis, width: number, height: number): DrawnPoint[] {
  const ctx = sizeCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const a = AXES[axis];
  const shown = points.filter((p) => {
    const v = a.value(p.report);
    return v !== undefined && Number.isFinite(v) && (!a.log || v > 0);
  });
  const left = 56;
  const right = 16;
  const top = 28;
  const bottom = 44;
  const plotW = Math.max(10, width - left - right);
  const plotH = Math.max(10, height - top - bottom);
  const xs = shown.map((p) => a.value(p.report)!);
  const ys = shown.map((p) => p.report.accuracy);
  let [xLo, xHi] = [Math.min(...xs), Math.max(...xs)];
  let [yLo, yHi] = [Math.min(...ys), Math.max(...ys)];
  if (a.log) [xLo, xHi] = [xLo / 1.6, xHi * 1.6];
  else {
    const pad = (xHi - xLo || xHi || 1) * 0.12;
    [xLo, xHi] = [Math.max(0, xLo - pad), xHi + pad];
  }
  const yPad = Math.max(0.005, (yHi - yLo) * 0.15);
  [yLo, yHi] = [Math.max(0, yLo - yPad), Math.min(1, yHi + yPad)];
  const fx = (v: number) => left + (a.log ? (Math.log10(v) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo)) : (v - xLo) / (xHi - xLo || 1)) * plotW;
  const fy = (v: number) => top + (1 - (v - yLo) / (yHi - yLo || 1)) * plotH;

  ctx.font = canvasFont(theme, 0.95, '600');
  ctx.fillStyle = theme.foreground;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.fillText(`Test accuracy vs ${a.title.toLowerCase()}`, left, 12);
  ctx.font = canvasFont(theme, 0.8);
  // Grid and ticks.
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  for (const t of a.log ? byteTicks(xLo, xHi) : niceTicks(xLo, xHi)) {
    const x = Math.round(fx(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + plotH);
    ctx.stroke();
    ctx.fillText(a.format(t), x, top + plotH + 12);
  }
  ctx.textAlign = 'right';
  for (const t of niceTicks(yLo, yHi, 4)) {
    const y = Math.round(fy(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + plotW, y);
    ctx.stroke();
    ctx.fillText(`${(t * 100).toFixed(1)}%`, left - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.fillText(a.title, left + plotW / 2, height - 10);

  // The frontier: a step line through the Pareto points, in cost order.
  const frontier = new Set(paretoFrontier(shown.map((_p, i) => ({ cost: xs[i], value: ys[i] }))));
  const ordered = [...frontier].sort((i, j) => xs[i] - xs[j]);
  if (ordered.length > 1) {
    ctx.strokeStyle = theme.accent;
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ordered.forEach((i, k) => {
      const x = fx(xs[i]);
      const y = fy(ys[i]);
      if (k === 0) ctx.moveTo(x, y);
      else {
        ctx.lineTo(x, fy(ys[ordered[k - 1]]));
        ctx.lineTo(x, y);
      }
    });
    ctx.stroke();
    ctx.setLineDash([]);
  }
  // Points first, then labels placed where they overlap no earlier label (nearest free slot above or below).
  const drawn: DrawnPoint[] = [];
  ctx.font = canvasFont(theme, 0.8);
  shown.forEach((p, i) => {
    const x = fx(xs[i]);
    const y = fy(ys[i]);
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.arc(x, y, frontier.has(i) ? 5 : 4, 0, 2 * Math.PI);
    ctx.fill();
    if (frontier.has(i)) {
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1;
      ctx.stroke();
    }
    drawn.push({ label: p.label, x, y, frontier: frontier.has(i) });
  });
  const lineHeight = Math.round(theme.fontSize * 0.8) + 3;
  const placed: Box[] = drawn.map((d) => ({ x0: d.x - 5, y0: d.y - 5, x1: d.x + 5, y1: d.y + 5 }));
  const offsets = [-9, 11, -9 - lineHeight, 11 + lineHeight, -9 - 2 * lineHeight, 11 + 2 * lineHeight, -9 - 3 * lineHeight, 11 + 3 * lineHeight];
  ctx.fillStyle = theme.foreground;
  for (const d of drawn) {
    const w = ctx.measureText(d.label).width;
    const rightSide = d.x < left + plotW * 0.6;
    const x0 = rightSide ? d.x + 8 : d.x - 8 - w;
    const boxAt = (dy: number): Box => ({ x0, y0: d.y + dy - lineHeight / 2, x1: x0 + w, y1: d.y + dy + lineHeight / 2 });
    const fits = (b: Box) => b.y0 >= top - lineHeight && b.y1 <= top + plotH;
    const dy = offsets.find((o) => fits(boxAt(o)) && !placed.some((b) => overlaps(b, boxAt(o)))) ?? offsets[0];
    placed.push(boxAt(dy));
    ctx.textAlign = 'left';
    ctx.fillText(d.label, x0, d.y + dy);
    if (Math.abs(dy) > 11) {
      // A leader line from a label moved away to its point.
      ctx.strokeStyle = theme.muted;
      ctx.beginPath();
      ctx.moveTo(d.x, d.y);
      ctx.lineTo(rightSide ? x0 : x0 + w, d.y + dy);
      ctx.stroke();
    }
  }
  canvas.dataset.points = JSON.stringify(drawn);
  canvas.dataset.axis = axis;
  return drawn;
}

export class CompressionTab extends SummaryTab {
  private latencyAxis: Axis = 'latency1';

  constructor(ctx: ViewContext, width: number) {
    super(ctx, width, 'section.tab-compression', 'The compression chart appears when the run completes and writes summary.json.');
    this.render();
  }

  private points(summary: Summary): Point[] {
    const palette = this.ctx.theme().palette;
    const out: Point[] = [{ label: modelName('teacher', { capital: true }), report: summary.teacher, color: palette[2] ?? palette[0] }];
    if (summary.baseline) out.push({ label: modelName('baseline', { capital: true }), report: summary.baseline, color: palette[1] });
    out.push({ label: modelName('kd', { capital: true }), report: summary.student, color: palette[0] });
    (summary.compression ?? []).forEach((c, i) => {
      if (!isCompressionSkipped(c)) out.push({ label: compressionLabel(c), report: c, stage: c, color: palette[(3 + i) % palette.length] });
    });
    return out;
  }

  protected draw(summary: Summary): void {
    const theme = this.ctx.theme();
    const points = this.points(summary);
    const chartWidth = Math.max(320, Math.min(760, this.width - 16));
    const tooltip = h('div.tooltip', { hidden: true, role: 'tooltip' });
    const figure = (id: string, axis: Axis) => {
      const canvas = h('canvas', { id, role: 'img', 'aria-label': `Test accuracy against ${AXES[axis].title}, with the Pareto frontier` });
      drawScatter(canvas, theme, points, axis, chartWidth, 300);
      this.hover(canvas, points, tooltip);
      return canvas;
    };
    const latencySelect = h(
      'select#compression-latency-batch',
      { 'aria-label': 'Latency batch size' },
      h('option', { value: 'latency1' }, 'batch 1'),
      h('option', { value: 'latency256' }, 'batch 256'),
    );
    latencySelect.value = this.latencyAxis;
    const hasLatency = points.some((p) => p.report.latencyMs);
    const latencyCanvas = hasLatency ? figure('compression-latency', this.latencyAxis) : undefined;
    latencySelect.addEventListener('change', () => {
      this.latencyAxis = latencySelect.value as Axis;
      if (latencyCanvas) drawScatter(latencyCanvas, this.ctx.theme(), points, this.latencyAxis, chartWidth, 300);
    });
    const stages = summary.compression ?? [];
    append(
      this.element,
      h('h2', {}, 'Compression'),
      stages.length
        ? null
        : h(
            'p.hint',
            {},
            'This run has no compress stages. Add a "compress" block to the config (prune, lowRank, quantize) to see the compressed students here.',
          ),
      h('div.compression-chart', {}, figure('compression-bytes', 'bytes'), tooltip),
      hasLatency
        ? h('div.compression-chart', {}, h('label', {}, 'Latency at ', latencySelect), latencyCanvas!)
        : h('p.hint', {}, 'No latency figures: evaluation.latency is off for this run.'),
      h(
        'p.hint',
        {},
        'Dashed: the Pareto frontier (no other model is both smaller, or faster, and more accurate). Outlined points lie on it. Hover a point for its numbers.',
      ),
      stages.length ? this.stageTable(summary) : null,
    );
  }

  private stageTable(summary: Summary): HTMLTableElement {
    const teacherBytes = summary.teacher.sizeBytes;
    const rows = (summary.compression ?? []).map((c) =>
      isCompressionSkipped(c)
        ? h('tr.skipped', {}, h('th', { scope: 'row' }, c.stage), h('td.note', { colspan: 7 }, `skipped: ${c.skipped}`))
        : h(
            'tr',
            {},
            h('th', { scope: 'row', title: c.notes.join(' ') }, compressionLabel(c)),
            h('td', {}, c.input === 'student' ? modelName('kd', { capital: true }) : c.input),
            h('td', {}, formatPercent(c.accuracy, 2)),
            h('td', {}, `${c.accuracyChangePts >= 0 ? '+' : ''}${c.accuracyChangePts.toFixed(2)} pt`),
            h('td', {}, formatBytes(c.sizeBytes)),
            h('td', {}, formatBytes(c.gzipBytes)),
            h('td', {}, teacherBytes && c.sizeBytes ? `${(teacherBytes / c.sizeBytes).toFixed(1)}×` : '—'),
            h('td', {}, `${c.nonZeroParams.toLocaleString('en-US')} / ${c.params?.toLocaleString('en-US') ?? '—'}`),
          ),
    );
    const head = ['Stage', 'Input', 'Accuracy', 'vs KD', 'Weights', 'gzip', '÷ teacher', 'Non-zero / params'];
    return h('table.compression', {}, h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows));
  }

  private hover(canvas: HTMLCanvasElement, points: Point[], tooltip: HTMLElement): void {
    const byLabel = new Map(points.map((p) => [p.label, p]));
    canvas.addEventListener('mousemove', (e) => {
      const drawn = JSON.parse(canvas.dataset.points ?? '[]') as DrawnPoint[];
      const rect = canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      let best: DrawnPoint | undefined;
      let bestD = 10;
      for (const p of drawn) {
        const d = Math.hypot(p.x - x, p.y - y);
        if (d < bestD) [best, bestD] = [p, d];
      }
      const point = best && byLabel.get(best.label);
      if (!point || !best) {
        tooltip.hidden = true;
        return;
      }
      const host = canvas.parentElement!;
      tooltip.replaceChildren(...tooltipText(point).map((line, i) => h(i === 0 ? 'strong' : 'div', {}, line)));
      if (tooltip.parentElement !== host) host.append(tooltip);
      tooltip.style.left = `${canvas.offsetLeft + best.x + 12}px`;
      tooltip.style.top = `${canvas.offsetTop + best.y + 12}px`;
      tooltip.dataset.label = best.label;
      tooltip.hidden = false;
    });
    canvas.addEventListener('mouseleave', () => {
      tooltip.hidden = true;
    });
  }
}
