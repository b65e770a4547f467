/**
 * The knowledge-distillation loss: loss = α·kd + (1 − α)·CE(y, softmax(z_s)), where kd = T²·D(p_t^T, p_s^T) for the
 * KL-type divergences (Hinton et al. 2015), the plain logit MSE for `mse-logits`, and T²·(α_dkd·TCKD + β·NCKD) for
 * `dkd`. Each divergence's ops are its file in kd/divergences/.
 *
 * This runs on every optimizer step, on the cpu and wasm backends as well as GPU ones, so it uses only ops that
 * every backend has, works in log-space throughout (tf.logSoftmax, never log(softmax)), and keeps the kernel count
 * low: each kernel is a separate dispatch, which is what costs on wasm for small batches.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this loss is differentiated by optimizer.minimize / tf.variableGrads.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Divergence } from '../../shared/divergences';
import { DistillError } from '../../shared/errors';
import { DKD_DEFAULTS, divergenceKernels, type DivergenceParts, type DkdWeights } from './divergences';

// A type alias rather than an interface: aliases get an implicit index signature, so the parts can be returned
// from tf.tidy and passed to tf.dispose as a TensorContainer.
export type KdLossParts = {
  /** α·kd + (1 − α)·ce: what the optimizer minimizes. */
  loss: tf.Scalar;
  /** The distillation term as it enters the loss: T²·D for KL-type divergences, the logit MSE for `mse-logits`. */
  kd: tf.Scalar;
  /** `kd` without the T² factor, so runs at different temperatures can be compared. Equals `kd` for `mse-logits`. */
  kdUnscaled: tf.Scalar;
  /** Cross-entropy with the hard labels at T = 1, batch mean. */
  ce: tf.Scalar;
} & DivergenceParts;

export interface KdLossOptions {
  temperature: number;
  alpha: number;
  divergence: Divergence;
  /** `dkd` only: the weights of TCKD and NCKD (default α 1, β 8). */
  dkd?: DkdWeights;
}

/**
 * The KD loss and its named parts, batch means. Differentiable with respect to `studentLogits`.
 *
 * `teacherLogits` is treated as data: compute it outside the gradient tape (cached logits, or a teacher forward
 * pass run before `minimize`), or pass an explicit `varList`, so that the teacher's weights are never updated.
 *
 * Special cases are exact, not merely close: with α = 0 no KD term is computed (`kd` and `kdUnscaled` are 0) and
 * `loss` is `ce` itself; with α = 1 `loss` is `kd` itself, so the labels cannot reach the gradient.
 * The returned parts may share tensors (e.g. `loss === ce` when α = 0); disposing a tensor twice is harmless.
 */
export function kdLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, opts: KdLossOptions): KdLossParts {
  validateKdInputs(studentLogits, teacherLogits, labels, opts);
  const { temperature, alpha, divergence } = opts;
  const [batchSize, numClasses] = studentLogits.shape;

  return tf.tidy(() => {
    const studentLogProbs = tf.logSoftmax(studentLogits);
    // The wasm OneHot kernel ignores `dtype` and always writes int32 bits (a float32 one-hot comes out as 1e-45),
    // so build an int32 one-hot and cast it, rather than folding −1/B into a float `onValue`.
    const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32');
    const ce = tf.mul(tf.sum(tf.mul(oneHot, studentLogProbs)), tf.scalar(-1 / batchSize)) as tf.Scalar;

    if (alpha === 0) {
      const zero = tf.scalar(0);
      return { loss: ce, kd: zero, kdUnscaled: zero, ce };
    }

    const kernels = divergenceKernels(divergence);
    const soften = (logits: tf.Tensor2D): tf.Tensor2D => (temperature === 1 ? logits : tf.mul(logits, tf.scalar(1 / temperature)));
    let logQ: tf.Tensor2D | undefined = temperature === 1 ? studentLogProbs : undefined;
    let logP: tf.Tensor2D | undefined;
    const {
      terms,
      factor = 1,
      parts,
    } = kernels.composed({
      student: studentLogits,
      teacher: teacherLogits,
      labels,
      temperature,
      dkd: opts.dkd ?? DKD_DEFAULTS,
      logQ: () => (logQ ??= tf.logSoftmax(soften(studentLogits))),
      logP: () => (logP ??= tf.logSoftmax(soften(teacherLogits))),
    });
    const count = kernels.mean === 'elements' ? batchSize * numClasses : batchSize;
    const kdUnscaled = tf.mul(tf.sum(terms), tf.scalar(factor / count)) as tf.Scalar;
    const kd: tf.Scalar = !kernels.temperatureSquared || temperature === 1 ? kdUnscaled : tf.mul(kdUnscaled, tf.scalar(temperature * temperature));

    if (alpha === 1) return { loss: kd, kd, kdUnscaled, ce, ...parts };
    const loss = tf.add(tf.mul(kd, tf.scalar(alpha)), tf.mul(ce, tf.scalar(1 - alpha))) as tf.Scalar;
    return { loss, kd, kdUnscaled, ce, ...parts };
  });
}

export function validateKdInputs(student: tf.Tensor2D, teacher: tf.Tensor2D, labels: tf.Tensor1D, opts: KdLossOptions): void {
  const [batch, classes] = student.shape;
  if (teacher.shape[0] !== batch || teacher.shape[1] !== classes) {
    throw new DistillError(
      'model',
      `The teacher's logits have shape [${teacher.shape.join(', ')}] but the student's have [${student.shape.join(', ')}]. ` +
        'Teacher and student must output one logit per class for the same rows: check that both models end in a ' +
        'dense layer with the dataset\u2019s number of classes, and that precomputed teacher logits match the data.',
    );
  }
  if (labels.shape[0] !== batch) {
    throw new RangeError(`kdLoss: ${labels.shape[0]} labels for a batch of ${batch} logit rows`);
  }
  if (labels.dtype !== 'int32') throw new TypeError(`kdLoss: labels must be int32, got ${labels.dtype}`);
  if (!(opts.temperature > 0) || !Number.isFinite(opts.temperature)) {
    throw new RangeError(`kdLoss: temperature must be a finite number > 0, got ${opts.temperature}`);
  }
  if (!(opts.alpha >= 0 && opts.alpha <= 1)) throw new RangeError(`kdLoss: alpha must be in [0, 1], got ${opts.alpha}`);
}
