/**
 * Feature scaling. Statistics come from the training rows only and are applied to train and test alike, so the test
 * set never leaks into training. The loops index typed arrays directly: they run over tens of millions of values.
 */
import type { NormalizationMethod, Normalization } from './types';

/**
 * Per-feature `shift` and `scale` such that `(x - shift) * scale` is the normalized value. A feature that is constant
 * in the training rows gets scale 1, so it becomes 0 rather than NaN.
 */
export function computeNormalization(method: NormalizationMethod, train: Float32Array, features: number): Normalization {
  const shift = new Float64Array(features);
  const scale = new Float64Array(features).fill(1);
  const rows = features === 0 ? 0 : train.length / features;
  if (method === 'scale255') scale.fill(1 / 255);
  else if (method === 'minmax' && rows > 0) {
    const max = new Float64Array(features).fill(-Infinity);
    shift.fill(Infinity);
    for (let r = 0, o = 0; r < rows; r++, o += features) {
      for (let f = 0; f < features; f++) {
        const v = train[o + f];
        if (v < shift[f]) shift[f] = v;
        if (v > max[f]) max[f] = v;
      }
    }
    for (let f = 0; f < features; f++) {
      const range = max[f] - shift[f];
      scale[f] = range > 0 ? 1 / range : 1;
    }
  } else if (method === 'standard' && rows > 0) {
    for (let r = 0, o = 0; r < rows; r++, o += features) for (let f = 0; f < features; f++) shift[f] += train[o + f];
    for (let f = 0; f < features; f++) shift[f] /= rows;
    // Two passes (mean, then squared deviations) to avoid the cancellation of E[x²] − E[x]².
    const sumSq = new Float64Array(features);
    for (let r = 0, o = 0; r < rows; r++, o += features) {
      for (let f = 0; f < features; f++) {
        const d = train[o + f] - shift[f];
        sumSq[f] += d * d;
      }
    }
    for (let f = 0; f < features; f++) {
      const std = Math.sqrt(sumSq[f] / rows);
      // Rounding leaves a constant feature with a std of ~1e-17 relative to its mean; treat that as constant.
      scale[f] = std > 1e-7 * Math.max(1, Math.abs(shift[f])) ? 1 / std : 1;
    }
  }
  return { method, shift, scale };
}

/** Normalizes `x` (row-major, `features` per row) in place. */
export function applyNormalization(x: Float32Array, norm: Normalization): void {
  if (norm.method === 'none') return;
  const { shift, scale } = norm;
  const features = shift.length;
  if (norm.method === 'scale255') {
    for (let i = 0; i < x.length; i++) x[i] /= 255;
    return;
  }
  for (let o = 0; o < x.length; o += features) {
    for (let f = 0; f < features; f++) x[o + f] = (x[o + f] - shift[f]) * scale[f];
  }
}
