/**
 * What one divergence brings to the engine: the composed tfjs ops (the reference, and the path on backends without
 * fused kernels) and the row math of the fused step kernels, in JavaScript (cpu, wasm) and WGSL (webgpu). Each
 * divergence is one file beside this one; index.ts lists them, keyed by the names in src/shared/divergences.ts.
 *
 * A row of the fused kernels is one example: its student logits z_s and teacher logits z_t over `classes` classes,
 * and the softmax statistics the kernel computed once (RowStats). The divergence gives that row's term, summed over
 * classes, and the term's derivative with respect to each z_s[c]; the kernel takes the batch mean (over rows, or
 * over rows × classes for `mean: 'elements'`), scales by T² where `temperatureSquared`, and combines with the CE.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DkdWeights } from '../../../shared/divergences';

export { DKD_DEFAULTS, type DkdWeights } from '../../../shared/divergences';

/** One row's softmax statistics: the maxima and log-normalisers of z_s (at T = 1 and at T) and of z_t (at T). */
export interface RowStats {
  studentMax: number;
  teacherMax: number;
  /** log Σ exp(z_s − max), at T = 1. */
  studentLse1: number;
  /** log Σ exp((z_s − max)/T). */
  studentLseT: number;
  /** log Σ exp((z_t − max)/T). */
  teacherLseT: number;
  argmax: number;
}

/** One row as the JavaScript kernels see it: views of the batch's logits, and where the row starts in them. */
export interface Row {
  /** Student logits, row-major, the whole batch. */
  s: ArrayLike<number>;
  /** Teacher logits, same layout. */
  t: ArrayLike<number>;
  /** Index of the row's first logit in `s` and `t`. */
  off: number;
  classes: number;
  /** 1 / T. */
  invT: number;
  /** The row's label. */
  label: number;
  stats: RowStats;
}

/** log q_c = log softmax(z_s / T)_c. */
export const logQ = (row: Row, c: number): number => (row.s[row.off + c] - row.stats.studentMax) * row.invT - row.stats.studentLseT;
/** log p_c = log softmax(z_t / T)_c. */
export const logP = (row: Row, c: number): number => (row.t[row.off + c] - row.stats.teacherMax) * row.invT - row.stats.teacherLseT;

export interface JsDivergence<Prepared = unknown> {
  /** The row's term, summed over classes. */
  term(row: Row): number;
  /** Row constants the gradient needs (computed once per row, before `gradient` for each class). */
  prepare?(row: Row): Prepared;
  /** d term / d z_s[c], with the chain rule through z_s / T included. */
  gradient(row: Row, c: number, prepared: Prepared): number;
}

/**
 * The same row math in WGSL, as function bodies (the kernel wraps each in a function of its own, named after the
 * divergence's code). In scope: the `student`, `teacher` and `labels` buffers, RowStats `r`, `logQAt(i, invT, r)` and
 * `logPAt(i, invT, r)`, where `i = off + c` indexes the batch.
 */
export interface WgslDivergence {
  /** Top-level helper functions; prefix their names with the divergence's, they share one shader. */
  helpers?: string;
  /** Body of `fn(off : i32, classes : i32, invT : f32, label : i32, r : RowStats) -> f32`: the row's term. */
  term: string;
  /** Body of `fn(off : i32, classes : i32, invT : f32, label : i32, r : RowStats) -> vec4<f32>`: row constants. */
  prepare?: string;
  /**
   * Body of `fn(i : i32, c : i32, invT : f32, label : i32, r : RowStats, prepared : vec4<f32>) -> f32`:
   * d term / d z_s[i].
   */
  gradient: string;
}

/** What the composed path hands a divergence: the batch and, computed on first use, the log-softmaxes at T. */
export interface ComposedInputs {
  student: tf.Tensor2D;
  teacher: tf.Tensor2D;
  labels: tf.Tensor1D;
  temperature: number;
  /** `dkd`'s weights (the defaults when the config names none). */
  dkd: DkdWeights;
  /** log softmax(z_s / T). */
  logQ(): tf.Tensor2D;
  /** log softmax(z_t / T). */
  logP(): tf.Tensor2D;
}

/**
 * Named parts of a divergence beyond its total, batch means before T² and before their weights, reported in the
 * step records. Only `dkd` has any: its target-class and non-target-class terms.
 */
// A type alias, so that KdLossParts (which extends it) keeps an implicit index signature for tf.tidy.
export type DivergenceParts = {
  tckd?: tf.Scalar;
  nckd?: tf.Scalar;
};

/** The fused step kernels' row math, in both languages. */
export interface FusedKernels {
  js: JsDivergence;
  wgsl: WgslDivergence;
}

export interface DivergenceKernels {
  /** What the batch mean divides by: the rows, or rows × classes (an elementwise mean such as MSE). */
  mean: 'rows' | 'elements';
  /** Whether the term enters the loss times T² (Hinton's gradient-scale correction). */
  temperatureSquared: boolean;
  /**
   * From tfjs ops: a tensor whose elements sum to Σ over rows of the row's term, and a factor applied with the
   * batch mean (so that e.g. JS's ½ costs no extra kernel). Runs inside a tf.tidy.
   */
  composed(inputs: ComposedInputs): { terms: tf.Tensor; factor?: number; parts?: DivergenceParts };
  /**
   * The fused kernels' row math, or `'composed-only'`: a deliberate choice that this divergence always runs the
   * composed ops (on every backend, at some ~40 kernels a step more), e.g. because its terms need per-row weights
   * the fused kernels' attributes do not carry. Writing neither is a compile error.
   */
  fused: FusedKernels | 'composed-only';
}
