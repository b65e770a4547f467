/** Seeded randomness and row selection: the validation split, the probe set, shuffles and gathers. */
import type { Samples } from './types';

import { createRng } from '../../shared/random';

export { createRng };

/** Fisher–Yates shuffle of `indices` in place. */
function shuffleInPlace(indices: Int32Array, rng: () => number): Int32Array {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = indices[i];
    indices[i] = indices[j];
    indices[j] = t;
  }
  return indices;
}

/** A random permutation of `0 … n-1`. */
export function shuffledIndices(n: number, rng: () => number): Int32Array {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  return shuffleInPlace(indices, rng);
}

/** The row indices of each class, in row order. */
function indicesByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0 || c >= numClasses) throw new RangeError(`label ${c} at index ${i} is outside 0..${numClasses - 1}`);
    counts[c]++;
  }
  const byClass = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]][filled[labels[i]]++] = i;
  return byClass;
}

/**
 * Holds out `fraction` of the rows, stratified by class. The total held out is `round(n · fraction)`, shared among
 * classes by largest remainder, so every class's share is within one row of its exact proportion. Both index lists
 * are sorted (row order); which rows go where depends only on `seed`.
 */
export function stratifiedSplit(labels: Int32Array, numClasses: number, fraction: number, seed: number): { trainIdx: Int32Array; valIdx: Int32Array } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  const rng = createRng(seed);
  const byClass = indicesByClass(labels, numClasses);
  const exact = byClass.map((rows) => rows.length * fraction);
  const quota = exact.map(Math.floor);
  let remaining = Math.round(labels.length * fraction) - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((_, c) => c).sort((a, b) => exact[b] - quota[b] - (exact[a] - quota[a]) || a - b);
  for (const c of byRemainder) {
    if (remaining <= 0) break;
    if (quota[c] < byClass[c].length) {
      quota[c]++;
      remaining--;
    }
  }
  const isVal = new Uint8Array(labels.length);
  byClass.forEach((rows, c) => {
    const picked = shuffleInPlace(rows.slice(), rng);
    for (let i = 0; i < quota[c]; i++) isVal[picked[i]] = 1;
  });
  const valCount = quota.reduce((a, b) => a + b, 0);
  const trainIdx = new Int32Array(labels.length - valCount);
  const valIdx = new Int32Array(valCount);
  for (let i = 0, t = 0, v = 0; i < labels.length; i++) {
    if (isVal[i]) valIdx[v++] = i;
    else trainIdx[t++] = i;
  }
  return { trainIdx, valIdx };
}

/**
 * Picks `k` validation rows for the dashboard's soft-label heatmaps: round-robin over the classes (each class's rows
 * in a seeded random order), so every class is represented before any class gets a second row. Returned grouped by
 * class (class 0's picks first), which reads well as heatmap rows; indices are into the validation set.
 */
export function selectProbe(valLabels: Int32Array, numClasses: number, k: number, seed: number): number[] {
  const rng = createRng(seed);
  const queues = indicesByClass(valLabels, numClasses).map((rows) => shuffleInPlace(rows.slice(), rng));
  const take = Math.min(k, valLabels.length);
  const picked: number[][] = queues.map(() => []);
  let count = 0;
  for (let round = 0; count < take; round++) {
    for (let c = 0; c < numClasses && count < take; c++) {
      if (round < queues[c].length) {
        picked[c].push(queues[c][round]);
        count++;
      }
    }
  }
  return picked.flat();
}

/** Copies the rows `idx` of a row-major matrix of `rowSize` values a row into a new one. */
export function gatherRows(flat: Float32Array, idx: ArrayLike<number>, rowSize: number): Float32Array {
  const rows = flat.length / rowSize;
  const out = new Float32Array(idx.length * rowSize);
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (!(i >= 0 && i < rows)) throw new RangeError(`row index ${i} is outside 0..${rows - 1}`);
    out.set(flat.subarray(i * rowSize, (i + 1) * rowSize), j * rowSize);
  }
  return out;
}

/** Copies the rows `idx` of `s` into new arrays; `sampleSize` is the number of values per row. */
export function gatherSamples(s: Samples, idx: ArrayLike<number>, sampleSize: number): Samples {
  const x = gatherRows(s.x.subarray(0, s.count * sampleSize), idx, sampleSize);
  return { x, y: Int32Array.from(idx, (i) => s.y[i]), count: idx.length };
}

/** `data.labeled`: how many training rows keep their label. */
export type LabeledSpec = { perClass: number } | { fraction: number };

/**
 * The rows of `labels` that keep their label under `data.labeled`, sorted, seeded and class-stratified:
 * `perClass` takes N random rows of each class (all of a class that has fewer), `fraction` takes round(n · f) rows
 * shared among the classes by largest remainder, as the validation split does. The other rows become unlabelled.
 */
export function labeledSubset(labels: Int32Array, numClasses: number, spec: LabeledSpec, seed: number): Int32Array {
  // A stream apart from the validation split's, which used `seed` itself on the full training split.
  const subSeed = (seed ^ 0x1abe1) >>> 0;
  if ('fraction' in spec) {
    if (spec.fraction >= 1) return Int32Array.from(labels, (_, i) => i);
    return stratifiedSplit(labels, numClasses, spec.fraction, subSeed).valIdx;
  }
  const rng = createRng(subSeed);
  const keep = new Uint8Array(labels.length);
  for (const rows of indicesByClass(labels, numClasses)) {
    const picked = shuffleInPlace(rows.slice(), rng);
    for (let i = 0; i < Math.min(spec.perClass, picked.length); i++) keep[picked[i]] = 1;
  }
  const out: number[] = [];
  keep.forEach((k, i) => k && out.push(i));
  return Int32Array.from(out);
}
