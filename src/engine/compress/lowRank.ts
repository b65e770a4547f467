/**
 * Low-rank factorization: a Dense kernel W (m×n) becomes A (m×r) · B (r×n), two Dense layers, with r the smallest
 * rank whose singular values keep the asked share of the energy Σσ². From the eigen-decomposition of the smaller
 * Gram matrix (Jacobi, float64): for n ≤ m, WᵀW = VΛVᵀ, A = W·V_r, B = V_rᵀ; for m < n, WWᵀ = UΛUᵀ, A = U_r,
 * B = U_rᵀ·W. Neither divides by a singular value, so at full rank A·B is W to rounding. A 1×1 convolution is the
 * same matrix over its channels. A layer is factorized only when r·(m + n) < m·n: otherwise it would grow.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LayerRank } from '../../shared/records';
import { isSequential, rewriteSequential, withConfig, type Replacement } from './rewrite';

/** Eigenvalues (descending) and eigenvectors (column j of the row-major n×n `vectors`) of a symmetric matrix. */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-30 * norm || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => Math.max(0, a[i * n + i]));
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) vectors[k * n + j] = v[k * n + order[j]];
  return { values, vectors };
}

export interface Factorization {
  rank: number;
  fullRank: number;
  /** Kept share of Σσ². */
  energy: number;
  /** m×r and r×n, row-major. */
  a: Float32Array;
  b: Float32Array;
}

/** Truncated factorization of the row-major m×n `w` keeping `energy` of Σσ² (or exactly `rank`, when given). */
export function factorize(w: ArrayLike<number>, m: number, n: number, want: { energy: number } | { rank: number }): Factorization {
  const small = Math.min(m, n);
  const gram = new Float64Array(small * small);
  if (n <= m) {
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < m; k++) sum += w[k * n + i] * w[k * n + j];
        gram[i * n + j] = gram[j * n + i] = sum;
      }
  } else {
    for (let i = 0; i < m; i++)
      for (let j = i; j < m; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += w[i * n + k] * w[j * n + k];
        gram[i * m + j] = gram[j * m + i] = sum;
      }
  }
  const { values, vectors } = symmetricEigen(gram, small);
  const total = values.reduce((s, x) => s + x, 0);
  let rank = small;
  let kept = total;
  if ('rank' in want) {
    rank = Math.max(1, Math.min(small, want.rank));
    kept = values.subarray(0, rank).reduce((s, x) => s + x, 0);
  } else if (total > 0) {
    let sum = 0;
    for (let r = 1; r <= small; r++) {
      sum += values[r - 1];
      if (sum >= want.energy * total * (1 - 1e-12)) {
        rank = r;
        kept = sum;
        break;
      }
    }
  }
  const a = new Float32Array(m * rank);
  const b = new Float32Array(rank * n);
  if (n <= m) {
    // A = W·V_r, B = V_rᵀ.
    for (let i = 0; i < m; i++)
      for (let r = 0; r < rank; r++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += w[i * n + k] * vectors[k * n + r];
        a[i * rank + r] = sum;
      }
    for (let r = 0; r < rank; r++) for (let j = 0; j < n; j++) b[r * n + j] = vectors[j * n + r];
  } else {
    // A = U_r, B = U_rᵀ·W.
    for (let i = 0; i < m; i++) for (let r = 0; r < rank; r++) a[i * rank + r] = vectors[i * m + r];
    for (let r = 0; r < rank; r++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < m; k++) sum += vectors[k * m + r] * w[k * n + j];
        b[r * n + j] = sum;
      }
  }
  return { rank, fullRank: small, energy: total > 0 ? kept / total : 1, a, b };
}

const isPointwiseConv = (className: string, config: Record<string, unknown>) =>
  className === 'Conv2D' && JSON.stringify(config.kernel_size) === '[1,1]' && config.data_format !== 'channels_first' && (config.groups ?? 1) === 1;

/**
 * The model with each Dense and 1×1 Conv2D kernel factorized where it saves parameters. `force` factorizes every
 * such layer (for tests at full rank). Undefined `model` when nothing was factorized, with the reason per layer.
 */
export async function lowRankModel(
  model: tfl.LayersModel,
  want: { energy: number } | { rank: number },
  force = false,
): Promise<{ model?: tfl.LayersModel; ranks: LayerRank[]; reason?: string }> {
  if (!isSequential(model)) return { ranks: [], reason: 'Low-rank factorization rewrites Sequential models only; this student is a functional model.' };
  const ranks: LayerRank[] = [];
  const created: tf.Tensor[] = [];
  let factorized = 0;
  try {
    const rewritten = await rewriteSequential(model, (layer, json) => {
      const dense = json.class_name === 'Dense';
      if (!dense && !isPointwiseConv(json.class_name, json.config)) return undefined;
      const [kernel, bias] = layer.getWeights();
      const m = kernel.shape[kernel.shape.length - 2];
      const n = kernel.shape[kernel.shape.length - 1];
      const name = json.config.name as string;
      const f = factorize(kernel.dataSync(), m, n, want);
      const paramsBefore = m * n;
      const paramsAfter = f.rank * (m + n);
      const row: LayerRank = { layer: name, shape: [m, n], rank: f.rank, fullRank: f.fullRank, energy: f.energy, paramsBefore, paramsAfter };
      ranks.push(row);
      if (paramsAfter >= paramsBefore && !force) {
        row.kept = `rank ${f.rank} of ${f.fullRank} would need ${paramsAfter.toLocaleString('en-US')} weights instead of ${paramsBefore.toLocaleString('en-US')}`;
        return undefined;
      }
      factorized++;
      const lead = dense ? [] : [1, 1];
      const ta = tf.tensor(f.a, [...lead, m, f.rank]);
      const tb = tf.tensor(f.b, [...lead, f.rank, n]);
      created.push(ta, tb);
      const first = dense
        ? withConfig(json, { name: `${name}_lr`, units: f.rank, activation: 'linear', use_bias: false })
        : withConfig(json, { name: `${name}_lr`, filters: f.rank, activation: 'linear', use_bias: false });
      const second = dense ? withConfig(json, {}) : withConfig(json, { strides: [1, 1], padding: 'valid', dilation_rate: [1, 1] });
      const out: Replacement = [
        { json: first, weights: [ta] },
        { json: second, weights: bias ? [tb, bias] : [tb] },
      ];
      return out;
    });
    if (factorized === 0) {
      rewritten.dispose();
      const reason = ranks.length
        ? `No layer gets smaller at energy ${'energy' in want ? want.energy : '–'}: ${ranks.map((r) => `${r.layer} ${r.kept}`).join('; ')}.`
        : 'The model has no Dense or 1×1 Conv2D layer to factorize.';
      return { ranks, reason };
    }
    return { model: rewritten, ranks };
  } finally {
    tf.dispose(created);
  }
}
