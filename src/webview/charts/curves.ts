/**
 * Line charts on uPlot over live columns. uPlot never sees the raw columns: each redraw downsamples the visible
 * x range to two points per pixel per line (see columns.ts), so a million steps cost what a thousand do, and new
 * records only extend the pyramids. Charts in a group share the x range: zoom (drag, wheel) and pan (shift-drag
 * or middle-drag) in one moves them all; double-click returns to following the data.
 */
import uPlot from 'uplot';
import { downsample, type AlignedData, type LineData } from './columns';
import { h } from '../dom';
import type { Theme } from './theme';

export interface CurveLine {
  label: string;
  line: LineData & { sync(): void };
  color: string;
  dash?: number[];
  /** `y2`: the right-hand axis, for a second quantity with other units. */
  scale?: 'y' | 'y2';
}

export interface CurveChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  /** A fixed range for the right-hand axis, for a quantity with known bounds (α is a weight in [0, 1]). */
  y2Range?: [number, number];
  /** Start the left axis at zero (a quantity whose size matters, such as T), rather than fitting it to the data. */
  yFromZero?: boolean;
  /** Whether a log y scale makes sense (positive quantities such as losses). */
  logAllowed?: boolean;
  /** Values are fractions, read out as percentages. */
  percent?: boolean;
  /** Mark every point: few points (per-epoch values). */
  points?: boolean;
  height?: number;
}

const formatValue = (v: number | null | undefined, percent?: boolean): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (percent) return `${(v * 100).toFixed(2)}%`;
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
};

/** Charts that share an x range and a cursor. */
export class ChartGroup {
  /** The x range shown; undefined follows all the data (and grows as it arrives). */
  private range: [number, number] | undefined;
  private readonly charts = new Set<CurveChart>();
  private frame = 0;
  readonly syncKey: string;
  /** Called after every redraw of the group (zoom, pan, new data). */
  onRefresh: (() => void) | undefined;
  private static count = 0;

  constructor(name: string) {
    this.syncKey = `${name}-${ChartGroup.count++}`;
  }

  add(chart: CurveChart): void {
    this.charts.add(chart);
  }

  remove(chart: CurveChart): void {
    this.charts.delete(chart);
  }

  get following(): boolean {
    return this.range === undefined;
  }

  /** The x extent of all the group's data. */
  extent(): [number, number] | undefined {
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of this.charts) {
      for (const l of c.lines) {
        const n = l.line.length;
        if (!n) continue;
        lo = Math.min(lo, l.line.x.at(0));
        hi = Math.max(hi, l.line.x.at(n - 1));
      }
    }
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** The range to draw now. */
  current(): [number, number] | undefined {
    const all = this.extent();
    if (!all) return undefined;
    if (!this.range) return all[0] === all[1] ? [all[0] - 0.5, all[1] + 0.5] : all;
    return this.range;
  }

  /** Show [min, max]; a range covering all the data goes back to following it. */
  setRange(min: number, max: number): void {
    const all = this.extent();
    if (!all || !(max > min)) return;
    const span = max - min;
    const fullSpan = all[1] - all[0];
    if (span >= fullSpan) this.range = undefined;
    else {
      // Keep the window inside the data, so panning stops at the ends.
      const lo = Math.min(Math.max(min, all[0]), all[1] - span);
      this.range = [lo, lo + span];
    }
    this.refreshNow();
  }

  follow(): void {
    this.range = undefined;
    this.refreshNow();
  }

  /** Redraw on the next animation frame; many deltas in one frame cost one redraw. */
  scheduleRefresh(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.refreshNow();
    });
  }

  refreshNow(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    for (const c of this.charts) for (const l of c.lines) l.line.sync();
    const range = this.current();
    for (const c of this.charts) c.draw(range);
    this.onRefresh?.();
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    for (const c of [...this.charts]) c.destroy();
  }
}

export class CurveChart {
  readonly root: HTMLElement;
  private readonly plot: uPlot;
  /** Set while we move uPlot's scales ourselves, so the setScale hook knows it was not the user. */
  private drawing = false;
  private lastData: AlignedData | undefined;

  constructor(
    readonly spec: CurveChartSpec,
    readonly lines: readonly CurveLine[],
    private readonly theme: Theme,
    private readonly group: ChartGroup,
    width: number,
    logScale: boolean,
  ) {
    const log = logScale && !!spec.logAllowed;
    this.root = h('figure.chart', { 'data-chart': spec.id, 'aria-label': `${spec.title}: ${spec.yLabel} by ${spec.xLabel}` }, h('figcaption', {}, spec.title));
    const host = h('div.chart-plot');
    this.root.append(host);
    this.plot = new uPlot(this.options(width, log), [[], ...lines.map(() => [])], host);
    group.add(this);
    this.bindZoomAndPan();
  }

  private options(width: number, log: boolean): uPlot.Options {
    const t = this.theme;
    const font = `${Math.round(t.fontSize * 0.85)}px ${t.fontFamily}`;
    const labelFont = `${Math.round(t.fontSize * 0.9)}px ${t.fontFamily}`;
    // uPlot merges these over its defaults key by key, so an explicit `undefined` would erase a default.
    const axis = (label: string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
      label,
      stroke: t.foreground,
      font,
      labelFont,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1 },
      ...extra,
    });
    const percent: Partial<uPlot.Axis> = this.spec.percent ? { values: (_u, splits) => splits.map((v) => `${Math.round(v * 1000) / 10}%`) } : {};
    const yScale: uPlot.Scale = log
      ? { distr: 3, log: 10 }
      : this.spec.yFromZero
        ? { distr: 1, range: (_u, min, max) => (max === null || !Number.isFinite(max) ? [0, 1] : uPlot.rangeNum(Math.min(0, min ?? 0), max, 0.2, true)) }
        : { distr: 1 };
    const scales: uPlot.Scales = { x: { time: false }, y: yScale };
    // Steps and epochs are counts: ticks on whole numbers only.
    const integerTicks: Partial<uPlot.Axis> = {
      incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6],
      values: (_u, splits) => splits.map((v) => v.toLocaleString('en-US')),
    };
    const axes = [axis(this.spec.xLabel, integerTicks), axis(this.spec.yLabel, { ...percent, ...this.axisColor('y') })];
    if (this.spec.y2Label) {
      // Each scale fits its own data, so two flat lines (a constant T and a constant α) would land on the same
      // pixels: α gets the range it is defined on instead.
      const range = this.spec.y2Range;
      scales.y2 = range ? { distr: 1, auto: false, range: () => [range[0], range[1]] } : { distr: 1 };
      axes.push(axis(this.spec.y2Label, { side: 1, scale: 'y2', grid: { show: false }, ...this.axisColor('y2') }));
    }
    return {
      width,
      height: this.spec.height ?? 200,
      scales,
      axes,
      series: [
        { label: this.spec.xLabel, value: (_u, v) => formatValue(v) },
        ...this.lines.map((l): uPlot.Series => ({
          label: l.label,
          stroke: l.color,
          width: 1.5,
          ...(l.dash ? { dash: l.dash } : {}),
          scale: l.scale ?? 'y',
          spanGaps: true,
          points: { show: !!this.spec.points, size: 5, fill: l.color },
          value: (_u, v) => formatValue(v, this.spec.percent),
        })),
      ],
      legend: { live: true },
      cursor: {
        sync: { key: this.group.syncKey },
        drag: { x: true, y: false, setScale: true },
        points: { size: 6 },
        bind: {
          // Shift-drag or middle-drag pans instead of starting a zoom selection.
          mousedown: (_u, _target, handler) => (e) => {
            if (e.shiftKey || e.button === 1) {
              this.startPan(e);
              return null;
            }
            return handler(e);
          },
          // Double-click shows all the data again, for the whole group.
          dblclick: () => () => {
            this.group.follow();
            return null;
          },
        },
      },
      hooks: {
        setScale: [
          (u, key) => {
            if (key !== 'x' || this.drawing) return;
            const { min, max } = u.scales.x;
            // Out of uPlot's own scale update: re-rendering the group from inside its hook would re-enter it.
            if (min !== undefined && max !== undefined && min !== null && max !== null) queueMicrotask(() => this.group.setRange(min, max));
          },
        ],
      },
    };
  }

  /** With two y axes, each axis takes the colour of its lines (when they share one), so a line reads against its scale. */
  private axisColor(scale: 'y' | 'y2'): Partial<uPlot.Axis> {
    if (!this.spec.y2Label) return {};
    const colors = new Set(this.lines.filter((l) => (l.scale ?? 'y') === scale).map((l) => l.color));
    if (colors.size !== 1) return {};
    const [color] = colors;
    return { stroke: color, ticks: { stroke: color, width: 1 } };
  }

  /** Redraw for the x range: downsample to the plot's pixel width, then let uPlot fit y to what is visible. */
  draw(range: [number, number] | undefined): void {
    const u = this.plot;
    const log = Number(u.scales.y.distr) === 3;
    const pixels = Math.max(16, Math.floor(u.bbox.width / (window.devicePixelRatio || 1)) || u.width);
    const data = range
      ? downsample(
          this.lines.map((l) => l.line),
          range[0],
          range[1],
          pixels,
          log,
        )
      : { x: [], ys: this.lines.map(() => []), mode: 'exact' as const };
    this.lastData = data;
    this.drawing = true;
    try {
      u.batch(() => {
        u.setData([data.x, ...data.ys], !range);
        if (range) u.setScale('x', { min: range[0], max: range[1] });
      });
    } finally {
      this.drawing = false;
    }
  }

  /** Points handed to uPlot in the last draw (for the read-out of how much was downsampled). */
  get drawnPoints(): number {
    return this.lastData ? this.lastData.x.length * this.lines.length : 0;
  }

  get mode(): AlignedData['mode'] | undefined {
    return this.lastData?.mode;
  }

  private bindZoomAndPan(): void {
    const over = this.plot.over;
    over.addEventListener(
      'wheel',
      (e) => {
        const range = this.group.current();
        if (!range || e.ctrlKey) return;
        e.preventDefault();
        const at = this.plot.posToVal(e.offsetX, 'x');
        const factor = e.deltaY < 0 ? 0.8 : 1.25;
        this.group.setRange(at - (at - range[0]) * factor, at + (range[1] - at) * factor);
      },
      { passive: false },
    );
  }

  private startPan(down: MouseEvent): void {
    const start = this.group.current();
    if (!start) return;
    down.preventDefault();
    const perPixel = (start[1] - start[0]) / Math.max(1, this.plot.over.clientWidth);
    const move = (e: MouseEvent) => {
      const shift = (e.clientX - down.clientX) * perPixel;
      this.group.setRange(start[0] - shift, start[1] - shift);
    };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }

  resize(width: number): void {
    this.plot.setSize({ width, height: this.spec.height ?? 200 });
  }

  destroy(): void {
    this.group.remove(this);
    this.plot.destroy();
    this.root.remove();
  }
}
