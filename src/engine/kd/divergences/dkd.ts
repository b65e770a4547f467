/**
 * Decoupled knowledge distillation (DKD; Zhao, Cui, Song, Qiu and Liang, CVPR 2022), as in the paper's code
 * (mdistiller `dkd_loss`): with b = [p_target, 1 − p_target] the binary split of a softmax at temperature T, and
 * p̂ the softmax over the non-target classes renormalised,
 *
 *   TCKD = KL(b_t ‖ b_s),   NCKD = KL(p̂_t ‖ p̂_s),   kdUnscaled = α·TCKD + β·NCKD,   kd = T²·kdUnscaled,
 *
 * batch means. Per sample, TCKD + (1 − p_t,target)·NCKD = KL(p_t ‖ p_s): DKD re-weights the two parts of the
 * classic KD term, whose NCKD weight shrinks as the teacher grows confident. Composed from stock tfjs ops, in log
 * space throughout: log(1 − p_target) is the log-sum-exp of the non-target classes, never log(1 − exp(…)).
 *
 * DKD is composed-only: the fused step kernels take the divergence, T and α as attributes, and DKD's own two weights
 * and its two extra parts in the stats vector (STAT.tckd, STAT.nckd) would widen every kernel's contract for one
 * divergence. So it runs these ops on every backend (about 40 kernels a step more than the fused path), and
 * kdStepStats falls back to them for it (tested in test/engine/stepStats.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DivergenceKernels } from './types';

export { DKD_DEFAULTS, type DkdWeights } from './types';

/** The target class's logit is pushed this far below the others to leave it out of the non-target softmax. */
const MASK_OFFSET = 1e4;

export interface DkdParts {
  /** Batch mean of TCKD, before T² and before α. */
  tckd: tf.Scalar;
  /** Batch mean of NCKD, before T² and before β. */
  nckd: tf.Scalar;
}

/** Batch means of TCKD and NCKD at temperature T (neither weighted nor scaled by T²). Differentiable in `student`. */
export function dkdParts(student: tf.Tensor2D, teacher: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): DkdParts {
  return tf.tidy(() => {
    const { tckdSum, nckdSum } = dkdSums(student, teacher, labels, temperature);
    const scale = tf.scalar(1 / student.shape[0]);
    return { tckd: tf.mul(tckdSum, scale) as tf.Scalar, nckd: tf.mul(nckdSum, scale) as tf.Scalar };
  });
}

/** TCKD and NCKD summed over the batch's rows. Call inside a tf.tidy. */
function dkdSums(student: tf.Tensor2D, teacher: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): { tckdSum: tf.Scalar; nckdSum: tf.Scalar } {
  const classes = student.shape[1];
  const inv = tf.scalar(1 / temperature);
  const zs = tf.mul(student, inv);
  const zt = tf.mul(teacher, inv);
  const mask = tf.cast(tf.oneHot(labels, classes), 'float32');
  const offset = tf.mul(mask, tf.scalar(-MASK_OFFSET));
  // Each distribution: log of the target's probability, of the rest's, and the non-target log-softmax.
  const split = (z: tf.Tensor2D) => {
    const lse = tf.logSumExp(z, 1);
    const logTarget = tf.sub(tf.sum(tf.mul(z, mask), 1), lse);
    const masked = tf.add(z, offset);
    const logOther = tf.sub(tf.logSumExp(masked, 1), lse);
    return { logTarget, logOther, logNonTarget: tf.logSoftmax(masked) };
  };
  const s = split(zs as tf.Tensor2D);
  const t = split(zt as tf.Tensor2D);
  const tckdRows = tf.add(tf.mul(tf.exp(t.logTarget), tf.sub(t.logTarget, s.logTarget)), tf.mul(tf.exp(t.logOther), tf.sub(t.logOther, s.logOther)));
  // The target's entry has probability exp(−1e4) = 0 in float32 and finite logs, so it adds exactly 0.
  const nckdTerms = tf.mul(tf.exp(t.logNonTarget), tf.sub(t.logNonTarget, s.logNonTarget));
  return { tckdSum: tf.sum(tckdRows) as tf.Scalar, nckdSum: tf.sum(nckdTerms) as tf.Scalar };
}

// `satisfies`, not a type annotation: FusedDivergence (index.ts) reads the literal 'composed-only' off it.
export const dkd = {
  mean: 'rows',
  temperatureSquared: true,
  composed: (x) => {
    const { tckdSum, nckdSum } = dkdSums(x.student, x.teacher, x.labels, x.temperature);
    const scale = tf.scalar(1 / x.student.shape[0]);
    return {
      // One element: α·ΣTCKD + β·ΣNCKD, the sum over rows of the row's term (losses.ts takes the batch mean).
      terms: tf.add(tf.mul(tckdSum, tf.scalar(x.dkd.alpha)), tf.mul(nckdSum, tf.scalar(x.dkd.beta))),
      parts: { tckd: tf.mul(tckdSum, scale) as tf.Scalar, nckd: tf.mul(nckdSum, scale) as tf.Scalar },
    };
  },
  fused: 'composed-only',
} satisfies DivergenceKernels;
