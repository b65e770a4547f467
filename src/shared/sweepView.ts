/**
 * What the Sweep view computes from a sweep's trials, free of the DOM so that it is tested in plain Node: the bins of
 * each axis (a grid axis's values; a random axis's values, or ranges once there are too many to show one by one),
 * the heatmap of the objective over two chosen axes faceted by the others (mean ± std over the repeats in each
 * cell, and the scratch baselines the cell's trials are compared with), the colour tone of a cell relative to its
 * baseline, and the sorting of the trials table. No node, no vscode, no DOM.
 */
import type { SweepAxis, SweepData, SweepSortKey, SweepTrialRow, SweepTrialStatus } from './sweepProtocol';

/** A random axis with more distinct values than this is shown in ranges of equal width (in log space for logUniform). */
export const MAX_BINS = 8;

export interface AxisBins {
  path: string;
  labels: string[];
  /** The bin of a value, −1 when it falls in none (a value not in the grid). */
  index(value: unknown): number;
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** A value as the view writes it: numbers as they are, strings bare, anything else as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { preset?: unknown }).preset === 'string') {
    // A student or teacher block: its preset and what sets it apart, e.g. `mlp [32]`.
    const { preset, ...rest } = v as Record<string, unknown>;
    const extra = Object.values(rest)
      .map((x) => (Array.isArray(x) ? `[${x.join(', ')}]` : JSON.stringify(x)))
      .join(' ');
    return `${String(preset)}${extra ? ` ${extra}` : ''}`;
  }
  return JSON.stringify(v);
}

/** The bins of an axis, given the values the trials have on it. */
export function axisBins(axis: SweepAxis, observed: readonly unknown[], maxBins = MAX_BINS): AxisBins {
  const distinct: unknown[] = [];
  for (const v of observed) if (!distinct.some((d) => same(d, v))) distinct.push(v);
  if (axis.kind === 'values') {
    const values = [...axis.values, ...distinct.filter((d) => !axis.values.some((v) => same(v, d)))];
    return { path: axis.path, labels: values.map(formatValue), index: (v) => values.findIndex((x) => same(x, v)) };
  }
  const numbers = distinct.filter((d): d is number => typeof d === 'number').sort((a, b) => a - b);
  if (numbers.length <= maxBins) return { path: axis.path, labels: numbers.map(formatValue), index: (v) => numbers.findIndex((x) => x === v) };
  // Ranges of equal width over [min, max], in log space for a log-uniform axis; the last one includes max.
  const t = (v: number) => (axis.log ? Math.log(v) : v);
  const lo = t(axis.min);
  const width = (t(axis.max) - lo) / maxBins;
  const edge = (i: number) => (axis.log ? Math.exp(lo + i * width) : lo + i * width);
  const edgeText = (v: number) => (axis.integer ? String(Math.round(v)) : formatValue(Number(v.toPrecision(3))));
  const labels = Array.from({ length: maxBins }, (_, i) => `${edgeText(edge(i))}–${edgeText(edge(i + 1))}`);
  return {
    path: axis.path,
    labels,
    index: (v) => {
      if (typeof v !== 'number' || !(width > 0)) return typeof v === 'number' ? 0 : -1;
      return Math.min(maxBins - 1, Math.max(0, Math.floor((t(v) - lo) / width)));
    },
  };
}

export interface Stats {
  mean: number;
  std: number;
  n: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Mean and sample standard deviation (n − 1; 0 for one value), as the CLI's table and pointStats compute them. */
export function stats(values: readonly number[]): Stats | undefined {
  if (!values.length) return undefined;
  const m = mean(values);
  return { mean: m, std: values.length < 2 ? 0 : Math.sqrt(values.reduce((a, x) => a + (x - m) ** 2, 0) / (values.length - 1)), n: values.length };
}

export interface HeatmapCell {
  x: number;
  y: number;
  /** The objective over the cell's completed trials (the repeats of its point, or of every point in its bins). */
  value?: Stats;
  /** The scratch baselines its trials are compared with. */
  baseline?: Stats;
  /** value.mean − baseline.mean. */
  delta?: number;
  /** Trial ids of the cell, and how many of them are done or running. */
  trials: string[];
  completed: number;
  running: number;
  failed: number;
  /** The trial to open for this cell: its best completed repeat, else a running one, else the first. */
  open?: string;
}

export interface Facet {
  /** `student = mlp [32] · training.epochs = 2`; empty when no axis is left for facets. */
  label: string;
  values: Record<string, string>;
  /** rows (y bins) × columns (x bins). */
  cells: HeatmapCell[][];
}

export interface Heatmap {
  x: AxisBins;
  /** Undefined: one row. */
  y?: AxisBins;
  facetAxes: string[];
  facets: Facet[];
  /** The objective's range over every cell with a value. */
  range?: { min: number; max: number };
  /** The largest |delta| of any cell; the colour scale's end. */
  maxDelta: number;
  /** The scratch baselines of the trials (all of them): what the legend shows. */
  baseline?: Stats;
  /** How many distinct baseline values there are; > 1 means cells differ in their baseline. */
  baselineCount: number;
}

/** The axes a heatmap shows: the chosen ones when they exist, else the first two (or one). */
export function chooseAxes(axes: readonly SweepAxis[], x?: string, y?: string | null): { x: string; y?: string } {
  const paths = axes.map((a) => a.path);
  const cx = x && paths.includes(x) ? x : paths[0];
  if (y === null) return { x: cx };
  const cy = y && paths.includes(y) && y !== cx ? y : paths.find((p) => p !== cx);
  return { x: cx, y: cy };
}

/** The heatmap of `data`'s objective over axes `x` and `y` (undefined: one row), one facet per combination of the rest. */
export function buildHeatmap(data: Pick<SweepData, 'axes' | 'trials' | 'objective'>, xPath: string, yPath?: string): Heatmap {
  const trials = data.trials.filter((t) => t.kind === 'trial');
  const byId = new Map(data.trials.map((t) => [t.id, t]));
  const bins = new Map(
    data.axes.map((a) => [
      a.path,
      axisBins(
        a,
        trials.map((t) => t.params[a.path]),
      ),
    ]),
  );
  const x = bins.get(xPath);
  if (!x) throw new Error(`The sweep has no axis "${xPath}".`);
  const y = yPath ? bins.get(yPath) : undefined;
  const facetAxes = data.axes.map((a) => a.path).filter((p) => p !== xPath && p !== yPath);
  const better = data.objective.goal === 'max' ? 1 : -1;

  const facetKey = (t: SweepTrialRow) => facetAxes.map((p) => bins.get(p)!.index(t.params[p])).join(',');
  const facets = new Map<string, { values: Record<string, string>; trials: SweepTrialRow[] }>();
  for (const t of trials) {
    const key = facetKey(t);
    let f = facets.get(key);
    if (!f)
      facets.set(
        key,
        (f = {
          values: Object.fromEntries(facetAxes.map((p) => [p, bins.get(p)!.labels[bins.get(p)!.index(t.params[p])] ?? formatValue(t.params[p])])),
          trials: [],
        }),
      );
    f.trials.push(t);
  }
  // Facets in the axes' own order (first facet axis slowest), as the grid enumerates its points.
  const ordered = [...facets.entries()].sort(([a], [b]) => {
    const ia = a.split(',').map(Number);
    const ib = b.split(',').map(Number);
    for (let i = 0; i < ia.length; i++) if (ia[i] !== ib[i]) return ia[i] - ib[i];
    return 0;
  });

  const objectiveOf = (t: SweepTrialRow | undefined) =>
    t?.status === 'completed' && typeof t.objective === 'number' && Number.isFinite(t.objective) ? t.objective : undefined;
  let min = Infinity;
  let max = -Infinity;
  let maxDelta = 0;
  const out: Facet[] = ordered.map(([, f]) => {
    const rows = y ? y.labels.length : 1;
    const cells: HeatmapCell[][] = Array.from({ length: rows }, (_, yi) =>
      Array.from({ length: x.labels.length }, (_, xi): HeatmapCell => ({ x: xi, y: yi, trials: [], completed: 0, running: 0, failed: 0 })),
    );
    const members = new Map<HeatmapCell, SweepTrialRow[]>();
    for (const t of f.trials) {
      const xi = x.index(t.params[xPath]);
      const yi = y ? y.index(t.params[yPath!]) : 0;
      if (xi < 0 || yi < 0) continue;
      const cell = cells[yi][xi];
      members.set(cell, [...(members.get(cell) ?? []), t]);
    }
    for (const [cell, ts] of members) {
      cell.trials = ts.map((t) => t.id);
      cell.completed = ts.filter((t) => t.status === 'completed').length;
      cell.running = ts.filter((t) => t.status === 'running').length;
      cell.failed = ts.filter((t) => t.status === 'failed').length;
      cell.value = stats(ts.map(objectiveOf).filter((v): v is number => v !== undefined));
      // Paired with the repeats that have a value: a cell with one repeat done compares it with that seed's scratch.
      const baselineIds = [
        ...new Set(
          ts
            .filter((t) => objectiveOf(t) !== undefined)
            .map((t) => t.baseline)
            .filter((b): b is string => !!b),
        ),
      ];
      cell.baseline = stats(baselineIds.map((b) => objectiveOf(byId.get(b))).filter((v): v is number => v !== undefined));
      if (cell.value && cell.baseline) {
        cell.delta = cell.value.mean - cell.baseline.mean;
        maxDelta = Math.max(maxDelta, Math.abs(cell.delta));
      }
      if (cell.value) {
        min = Math.min(min, cell.value.mean);
        max = Math.max(max, cell.value.mean);
      }
      const done = ts.filter((t) => objectiveOf(t) !== undefined).sort((a, b) => better * (objectiveOf(b)! - objectiveOf(a)!));
      cell.open = done[0]?.id ?? ts.find((t) => t.status === 'running')?.id ?? ts.find((t) => t.status !== 'pending')?.id;
    }
    return { label: facetAxes.map((p) => `${p} = ${f.values[p]}`).join(' · '), values: f.values, cells };
  });

  const baselineValues = data.trials
    .filter((t) => t.kind === 'baseline')
    .map(objectiveOf)
    .filter((v): v is number => v !== undefined);
  return {
    x,
    y,
    facetAxes,
    facets: out,
    range: min <= max ? { min, max } : undefined,
    maxDelta,
    baseline: stats(baselineValues),
    baselineCount: new Set(baselineValues).size,
  };
}

/**
 * Where a cell sits on the colour scale, −1 to 1, positive = better than its scratch baseline (for the goal), by
 * |Δ| relative to the largest |Δ| of the map. Without a baseline (none finished yet, or `baseline: false`): the
 * objective's position between the worst and best cell, 0 to 1. Undefined: no value yet.
 */
export function cellTone(cell: HeatmapCell, map: Pick<Heatmap, 'range' | 'maxDelta'>, goal: 'max' | 'min'): number | undefined {
  if (!cell.value) return undefined;
  const better = goal === 'max' ? 1 : -1;
  if (cell.delta !== undefined) return map.maxDelta > 0 ? (better * cell.delta) / map.maxDelta : 0;
  const r = map.range;
  if (!r || r.max === r.min) return 1;
  const t = (cell.value.mean - r.min) / (r.max - r.min);
  return goal === 'max' ? t : 1 - t;
}

/** Accuracy-like metrics read as percentages; others as numbers. */
export const isFraction = (metric: string) => /accuracy|macroF1|agreement/.test(metric);

export function formatObjective(v: number | undefined, metric: string, signed = false): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const sign = signed && v > 0 ? '+' : '';
  if (isFraction(metric)) return `${sign}${(v * 100).toFixed(2)}${signed ? ' pt' : '%'}`;
  const a = Math.abs(v);
  return `${sign}${a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString()}`;
}

export const formatStats = (s: Stats | undefined, metric: string): string =>
  !s ? '—' : `${formatObjective(s.mean, metric)} ± ${isFraction(metric) ? (s.std * 100).toFixed(2) : formatObjective(s.std, metric)} (n = ${s.n})`;

/** Status order in the table: what needs attention first when sorted ascending. */
const STATUS_ORDER: Record<SweepTrialStatus, number> = { running: 0, failed: 1, interrupted: 2, stopped: 3, pending: 4, completed: 5 };

/** A trial's Δ against its scratch baseline, when both are done. */
export function trialDelta(t: SweepTrialRow, byId: ReadonlyMap<string, SweepTrialRow>): number | undefined {
  const b = t.baseline ? byId.get(t.baseline) : undefined;
  return t.objective !== undefined && b?.objective !== undefined && t.status === 'completed' && b.status === 'completed'
    ? t.objective - b.objective
    : undefined;
}

/**
 * The trials sorted by a column. Rows without a value in that column come last in either direction; ties keep the
 * trial ids' order (baselines `b…` before points `p…`).
 */
export function sortTrials(trials: readonly SweepTrialRow[], key: SweepSortKey, descending: boolean): SweepTrialRow[] {
  const byId = new Map(trials.map((t) => [t.id, t]));
  const value = (t: SweepTrialRow): number | string | undefined => {
    switch (key) {
      case 'id':
        return t.id;
      case 'status':
        return STATUS_ORDER[t.status];
      case 'seed':
        return t.seed;
      case 'objective':
        return t.status === 'completed' ? t.objective : undefined;
      case 'delta':
        return trialDelta(t, byId);
      case 'seconds':
        return t.seconds;
      default: {
        const v = t.params[key.slice('axis:'.length)];
        return v === undefined ? undefined : typeof v === 'number' ? v : formatValue(v);
      }
    }
  };
  const dir = descending ? -1 : 1;
  return [...trials].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === undefined || vb === undefined) return (va === undefined ? 1 : 0) - (vb === undefined ? 1 : 0) || a.id.localeCompare(b.id);
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true });
    return dir * c || a.id.localeCompare(b.id);
  });
}

/** Trials done (completed or failed), running, and in all: the header's and the Runs view's progress. */
export function sweepCounts(trials: readonly Pick<SweepTrialRow, 'status'>[]): { done: number; running: number; failed: number; total: number } {
  return {
    done: trials.filter((t) => t.status === 'completed' || t.status === 'failed').length,
    running: trials.filter((t) => t.status === 'running').length,
    failed: trials.filter((t) => t.status === 'failed').length,
    total: trials.length,
  };
}
