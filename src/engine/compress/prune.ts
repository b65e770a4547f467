/**
 * Magnitude pruning with masks, gradual over KD fine-tuning. The sparsity follows Zhu & Gupta's AGP schedule
 * (2017, "To prune, or not to prune"): s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(nΔt))³, updated every Δt steps over
 * the first ramp steps, then held while the network recovers. After every optimizer step the trainer's `afterStep`
 * hook calls `MagnitudePruner.afterStep`, which re-applies the masks: pruned weights stay exactly zero.
 *
 * Pruned are the kernels (Dense, Conv2D, depthwise): biases and normalization parameters are tiny and sensitive.
 * A resumed fine-tuning needs no mask file: pruned weights are exactly zero, so they are the smallest magnitudes and
 * the masks recomputed from the checkpoint's weights are the same.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LayerSparsity } from '../../shared/records';
import { isKernelName } from './rewrite';

export interface AgpSchedule {
  /** Final sparsity s_f in [0, 1). */
  target: number;
  /** Initial sparsity s_i (0 for a dense model). */
  initial?: number;
  /** Steps n·Δt over which the sparsity rises; from then on it is the target. */
  rampSteps: number;
  /** Δt: the masks change every `frequency` steps. */
  frequency: number;
}

/** AGP sparsity after `step` optimizer steps (0 = before the first). */
export function agpSparsity(step: number, s: AgpSchedule): number {
  const initial = s.initial ?? 0;
  if (s.rampSteps <= 0) return s.target;
  const t = Math.min(s.rampSteps, Math.floor(step / s.frequency) * s.frequency);
  return s.target + (initial - s.target) * (1 - t / s.rampSteps) ** 3;
}

/** The AGP schedule of a fine-tuning of `totalSteps` steps: ramp over its first ¾, masks updated 32 times on it. */
export function agpFor(target: number, totalSteps: number): AgpSchedule {
  const rampSteps = Math.max(1, Math.round(0.75 * totalSteps));
  return { target, rampSteps, frequency: Math.max(1, Math.floor(rampSteps / 32)) };
}

export interface PrunerOptions {
  scope: 'global' | 'layer';
  /** Sparsity to reach after `step` steps. */
  sparsityAt(step: number): number;
}

/** The k-th smallest (1-based) of `values`; −∞ for k = 0. */
function kthSmallest(values: Float32Array, k: number): number {
  if (k <= 0) return -Infinity;
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(k, sorted.length) - 1];
}

export class MagnitudePruner {
  readonly weights: { name: string; variable: tf.Variable }[];
  private masks: tf.Tensor[] = [];
  private sparsity = -1;

  constructor(
    model: tfl.LayersModel,
    private readonly options: PrunerOptions,
  ) {
    this.weights = model.trainableWeights.filter((w) => isKernelName(w.originalName)).map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable }));
  }

  get prunable(): number {
    return this.weights.length;
  }

  /** Masks for `sparsity`, by magnitude: the ⌈s·N⌉ smallest |w| (of all kernels, or of each) are cut. */
  private recompute(sparsity: number): void {
    const abs = this.weights.map((w) => Float32Array.from(w.variable.dataSync(), Math.abs));
    let thresholds: number[];
    if (this.options.scope === 'global') {
      const all = new Float32Array(abs.reduce((n, a) => n + a.length, 0));
      let off = 0;
      for (const a of abs) {
        all.set(a, off);
        off += a.length;
      }
      const t = kthSmallest(all, Math.round(sparsity * all.length));
      thresholds = abs.map(() => t);
    } else {
      thresholds = abs.map((a) => kthSmallest(a, Math.round(sparsity * a.length)));
    }
    tf.dispose(this.masks);
    this.masks = abs.map((a, i) => {
      const m = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) m[j] = a[j] > thresholds[i] ? 1 : 0;
      return tf.tensor(m, this.weights[i].variable.shape);
    });
    this.sparsity = sparsity;
  }

  /** The trainer's hook: after optimizer step `step` (1-based count of steps done), update and re-apply the masks. */
  afterStep(step: number): void {
    const target = this.options.sparsityAt(step);
    if (target !== this.sparsity) this.recompute(target);
    tf.tidy(() => {
      this.weights.forEach((w, i) => w.variable.assign(tf.mul(w.variable, this.masks[i])));
    });
  }

  /** Zeros per kernel, counted on the weights as they are now. */
  report(): LayerSparsity[] {
    return this.weights.map(({ name, variable }) => layerSparsity(name, variable.dataSync() as Float32Array));
  }

  dispose(): void {
    tf.dispose(this.masks);
    this.masks = [];
  }
}

export function layerSparsity(name: string, values: ArrayLike<number>): LayerSparsity {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros++;
  return { weight: name, params: values.length, zeros, sparsity: values.length ? zeros / values.length : 0 };
}
