/**
 * Columns of numbers that grow as records arrive, and what makes a million of them cheap to draw: a min/max
 * pyramid (so the min and max of any index range cost O(log n)), debiased EMA smoothing applied incrementally, and
 * a downsampler that turns any x range into at most two points per pixel per line (M4-style min/max), aligned across
 * lines for uPlot. No DOM: unit-testable anywhere.
 */

export type FloatArray = Float32Array | Float64Array;

const CHUNK_SHIFT = 16;
const CHUNK = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK - 1;

/**
 * A column of numbers that only grows, stored in chunks of 65,536 so that appending never copies what is already
 * there (a million-record column that doubled would stall a frame copying it). The first chunk starts small and
 * doubles up to the chunk size, so small columns stay small.
 */
export abstract class Column {
  protected readonly chunks: FloatArray[] = [];
  length = 0;

  protected abstract allocate(n: number): FloatArray;

  /** The value at `i` (< length). Each subclass has its own copy, so every call site sees one array type. */
  abstract at(i: number): number;

  append(values: ArrayLike<number>): void {
    let i = 0;
    while (i < values.length) {
      const index = this.length >>> CHUNK_SHIFT;
      const offset = this.length & CHUNK_MASK;
      if (index === this.chunks.length) this.chunks.push(this.allocate(Math.min(CHUNK, Math.max(256, values.length - i))));
      let chunk = this.chunks[index];
      if (offset === chunk.length) {
        // Only the first chunk is ever short: grow it, at most to the chunk size.
        const grown = this.allocate(Math.min(CHUNK, Math.max(chunk.length * 2, offset + values.length - i)));
        grown.set(chunk);
        this.chunks[index] = chunk = grown;
      }
      const n = Math.min(chunk.length - offset, values.length - i);
      if (ArrayBuffer.isView(values)) chunk.set((values as FloatArray).subarray(i, i + n), offset);
      else for (let k = 0; k < n; k++) chunk[offset + k] = values[i + k];
      i += n;
      this.length += n;
    }
  }

  push(value: number): void {
    this.append([value]);
  }

  get byteLength(): number {
    return this.chunks.reduce((n, c) => n + c.byteLength, 0);
  }
}

export class F32Column extends Column {
  protected override readonly chunks: Float32Array[] = [];
  protected allocate(n: number): Float32Array {
    return new Float32Array(n);
  }
  at(i: number): number {
    return this.chunks[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
  }
}

/** For x values (steps), which outgrow float32's exact integers. */
export class F64Column extends Column {
  protected override readonly chunks: Float64Array[] = [];
  protected allocate(n: number): Float64Array {
    return new Float64Array(n);
  }
  at(i: number): number {
    return this.chunks[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
  }
}

const BASE_SHIFT = 4;
const BASE = 1 << BASE_SHIFT;

/**
 * Min and max of blocks of 16, 32, 64, … values, kept up to date as values are appended. NaN values are ignored;
 * a block with none has min +∞ and max −∞. Memory: about a quarter of a float per value.
 */
export class MinMaxPyramid {
  private mins: Float32Array[] = [];
  private maxs: Float32Array[] = [];
  /** How many source values the pyramid has folded in. */
  private covered = 0;

  get length(): number {
    return this.covered;
  }

  reset(): void {
    this.mins = [];
    this.maxs = [];
    this.covered = 0;
  }

  /** Fold in `values[covered .. length)`; earlier values must not have changed. */
  update(values: Column, length: number): void {
    if (length <= this.covered) return;
    const from = this.covered;
    this.covered = length;
    for (let level = 0; BASE << level <= length; level++) {
      const shift = BASE_SHIFT + level;
      const blocks = Math.ceil(length / (1 << shift));
      const isNew = level >= this.mins.length;
      if (isNew) {
        this.mins.push(new Float32Array(Math.max(blocks, 64)));
        this.maxs.push(new Float32Array(Math.max(blocks, 64)));
      } else if (blocks > this.mins[level].length) {
        this.mins[level] = grow(this.mins[level], blocks);
        this.maxs[level] = grow(this.maxs[level], blocks);
      }
      const mins = this.mins[level];
      const maxs = this.maxs[level];
      const firstBlock = isNew ? 0 : from >> shift;
      for (let j = firstBlock; j < blocks; j++) {
        let mn = Infinity;
        let mx = -Infinity;
        if (level === 0) {
          const end = Math.min(length, (j + 1) << shift);
          for (let i = j << shift; i < end; i++) {
            const v = values.at(i);
            if (v < mn) mn = v;
            if (v > mx) mx = v;
          }
        } else {
          const childMins = this.mins[level - 1];
          const childMaxs = this.maxs[level - 1];
          const childBlocks = Math.ceil(length / (1 << (shift - 1)));
          for (let c = 2 * j; c < Math.min(2 * j + 2, childBlocks); c++) {
            if (childMins[c] < mn) mn = childMins[c];
            if (childMaxs[c] > mx) mx = childMaxs[c];
          }
        }
        mins[j] = mn;
        maxs[j] = mx;
      }
    }
  }

  /** Min and max of `values[lo .. hi)` (hi ≤ length), ignoring NaN, into `out`. */
  range(values: Column, lo: number, hi: number, out: MinMax): MinMax {
    let mn = Infinity;
    let mx = -Infinity;
    let i = lo;
    const levels = this.mins.length;
    while (i < hi) {
      if ((i & (BASE - 1)) !== 0 || i + BASE > hi || levels === 0) {
        const v = values.at(i);
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        i++;
        continue;
      }
      let level = 0;
      while (level + 1 < levels && (i & ((BASE << (level + 1)) - 1)) === 0 && i + (BASE << (level + 1)) <= hi) level++;
      const j = i >> (BASE_SHIFT + level);
      if (this.mins[level][j] < mn) mn = this.mins[level][j];
      if (this.maxs[level][j] > mx) mx = this.maxs[level][j];
      i += BASE << level;
    }
    out.min = mn;
    out.max = mx;
    return out;
  }

  get byteLength(): number {
    return this.mins.reduce((n, a) => n + a.byteLength, 0) * 2;
  }
}

export interface MinMax {
  min: number;
  max: number;
}

function grow(a: Float32Array, atLeast: number): Float32Array {
  const out = new Float32Array(Math.max(atLeast, a.length * 2));
  out.set(a);
  return out;
}

/**
 * TensorBoard's smoothing: an exponential moving average debiased by 1 − wⁿ, so the first points are not pulled
 * towards zero. NaN values pass through and do not move the average.
 */
export class EmaSmoother {
  private last = 0;
  /** weight^n after n values: the bias to divide out. */
  private power = 1;

  constructor(readonly weight: number) {}

  next(v: number): number {
    if (!Number.isFinite(v)) return v;
    this.power *= this.weight;
    this.last = this.last * this.weight + (1 - this.weight) * v;
    return this.last / (1 - this.power);
  }
}

/** A line to plot: increasing x, and y. */
export interface LineData {
  readonly x: Column;
  readonly y: Column;
  readonly length: number;
  readonly pyramid: MinMaxPyramid;
}

/**
 * A line over live columns (x and a raw metric), optionally smoothed, with its pyramid. Call `sync()` before
 * reading it: it folds in whatever was appended to the columns since, in time proportional to that.
 */
export class PlotLine implements LineData {
  readonly pyramid = new MinMaxPyramid();
  private smoothed: Column | undefined;
  private smoother: EmaSmoother | undefined;

  constructor(
    readonly x: Column,
    private readonly raw: Column,
    private weight = 0,
  ) {
    this.setSmoothing(weight);
  }

  setSmoothing(weight: number): void {
    this.weight = weight;
    this.smoothed = weight > 0 ? new F32Column() : undefined;
    this.smoother = weight > 0 ? new EmaSmoother(weight) : undefined;
    this.pyramid.reset();
    this.sync();
  }

  get smoothing(): number {
    return this.weight;
  }

  sync(): void {
    const n = Math.min(this.x.length, this.raw.length);
    if (this.smoothed && this.smoother && this.smoothed.length < n) {
      const from = this.smoothed.length;
      const batch = new Float32Array(n - from);
      for (let i = from; i < n; i++) batch[i - from] = this.smoother.next(this.raw.at(i));
      this.smoothed.append(batch);
    }
    this.pyramid.update(this.y, n);
  }

  get y(): Column {
    return this.smoothed ?? this.raw;
  }

  get length(): number {
    return this.pyramid.length;
  }
}

/** First index ≥ `from` with `x[i] ≥ value` in an increasing column (or `length`): gallops, then bisects. */
export function lowerBound(x: Column, length: number, value: number, from = 0): number {
  let lo = from;
  let hi = from;
  let step = 1;
  while (hi < length && x.at(hi) < value) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = Math.min(hi, length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x.at(mid) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with `x[i] > value` in an increasing column (or `length`). */
export function upperBound(x: Column, length: number, value: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x.at(mid) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** uPlot's aligned data: one x array and one y array per line, `null` where a line has no point. */
export interface AlignedData {
  x: number[];
  ys: (number | null)[][];
  /** `exact`: every point in range; `minmax`: two points per bucket per line. */
  mode: 'exact' | 'minmax';
}

/**
 * The lines over [xMin, xMax] at `buckets` horizontal resolution. When all lines together have at most two points
 * per bucket, every point is kept (with one point beyond each edge so lines reach the frame); otherwise each bucket
 * keeps each line's min and max, in the order the line visits them. `positiveOnly` drops values ≤ 0 (log scale).
 * Cost: O(buckets · lines · log n), whatever the number of points.
 */
export function downsample(lines: readonly LineData[], xMin: number, xMax: number, buckets: number, positiveOnly = false): AlignedData {
  const keep = (v: number) => Number.isFinite(v) && (!positiveOnly || v > 0);
  const ranges = lines.map((l) => {
    const lo = Math.max(0, lowerBound(l.x, l.length, xMin) - 1);
    const hi = Math.min(l.length, upperBound(l.x, l.length, xMax) + 1);
    return [lo, hi] as const;
  });
  const visible = ranges.reduce((n, [lo, hi]) => n + (hi - lo), 0);
  buckets = Math.max(1, Math.floor(buckets));

  if (visible <= 2 * buckets || !(xMax > xMin)) {
    const xs: number[] = [];
    lines.forEach((l, k) => {
      for (let i = ranges[k][0]; i < ranges[k][1]; i++) xs.push(l.x.at(i));
    });
    xs.sort((a, b) => a - b);
    const x = xs.filter((v, i) => i === 0 || v !== xs[i - 1]);
    const ys = lines.map((l, k) => {
      const y: (number | null)[] = new Array(x.length).fill(null);
      let j = 0;
      for (let i = ranges[k][0]; i < ranges[k][1]; i++) {
        while (x[j] < l.x.at(i)) j++;
        const v = l.y.at(i);
        y[j] = keep(v) ? v : null;
      }
      return y;
    });
    return { x, ys, mode: 'exact' };
  }

  const width = (xMax - xMin) / buckets;
  const x: number[] = new Array(2 * buckets);
  for (let b = 0; b < buckets; b++) {
    x[2 * b] = xMin + (b + 0.25) * width;
    x[2 * b + 1] = xMin + (b + 0.75) * width;
  }
  const mm: MinMax = { min: 0, max: 0 };
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array(2 * buckets).fill(null);
    let lo = lowerBound(l.x, l.length, xMin);
    for (let b = 0; b < buckets; b++) {
      const hi = b === buckets - 1 ? upperBound(l.x, l.length, xMax) : lowerBound(l.x, l.length, xMin + (b + 1) * width, lo);
      if (hi > lo) {
        l.pyramid.range(l.y, lo, hi, mm);
        let min = mm.min;
        const max = mm.max;
        if (positiveOnly && min <= 0) min = max;
        if (keep(min) && keep(max)) {
          // Falling within the bucket: visit the max first, so the line does not zigzag back up.
          const falling = l.y.at(lo) > l.y.at(hi - 1);
          y[2 * b] = falling ? max : min;
          y[2 * b + 1] = falling ? min : max;
        }
      }
      lo = hi;
    }
    return y;
  });
  return { x, ys, mode: 'minmax' };
}
