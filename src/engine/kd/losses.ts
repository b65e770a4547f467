/**
 * The knowledge-distillation loss: loss = α·kd + (1 − α)·CE(y, softmax(z_s)), where kd = T²·D(p_t^T, p_s^T) for the
 * KL-type divergences (Hinton et al. 2015) and the plain logit MSE for `mse-logits`.
 *
 * This runs on every optimizer step, on the cpu and wasm backends as well as GPU ones, so it uses only ops that
 * every backend has, works in log-space throughout (tf.logSoftmax, never log(softmax)), and keeps the kernel count
 * low: each kernel is a separate dispatch, which is what costs on wasm for small batches.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this loss is differentiated by optimizer.minimize / tf.variableGrads.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Divergence } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { DKD_DEFAULTS, dkdParts, type DkdWeights } from './dkd';

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
  /** `dkd` only: the target-class and non-target-class parts, before T² and before their weights. */
  tckd?: tf.Scalar;
  nckd?: tf.Scalar;
};

export interface KdLossOptions {
  temperature: number;
  alpha: number;
  divergence: Divergence;
  /** `dkd` only: the weights of TCKD and NCKD (default α 1, β 8). */
  dkd?: DkdWeights;
}

const LOG_2 = Math.log(2);

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
export function kdLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
  opts: KdLossOptions,
): KdLossParts {
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

    let dkd: ReturnType<typeof dkdParts> | undefined;
    let kdUnscaled: tf.Scalar;
    if (divergence === 'dkd') {
      dkd = dkdParts(studentLogits, teacherLogits, labels, temperature);
      const weights = opts.dkd ?? DKD_DEFAULTS;
      kdUnscaled = tf.add(tf.mul(dkd.tckd, tf.scalar(weights.alpha)), tf.mul(dkd.nckd, tf.scalar(weights.beta))) as tf.Scalar;
    } else {
      kdUnscaled = divergence === 'mse-logits'
        ? (tf.mean(tf.squaredDifference(studentLogits, teacherLogits)) as tf.Scalar)
        : softDivergence(divergence, studentLogits, teacherLogits, temperature, temperature === 1 ? studentLogProbs : undefined);
    }
    const kd: tf.Scalar =
      divergence === 'mse-logits' || temperature === 1 ? kdUnscaled : tf.mul(kdUnscaled, tf.scalar(temperature * temperature));

    if (alpha === 1) return { loss: kd, kd, kdUnscaled, ce, ...dkd };
    const loss = tf.add(tf.mul(kd, tf.scalar(alpha)), tf.mul(ce, tf.scalar(1 - alpha))) as tf.Scalar;
    return { loss, kd, kdUnscaled, ce, ...dkd };
  });
}

/**
 * Batch mean over rows of D(p_t^T, p_s^T), summed over classes, without the T² factor. `studentLogProbsAtT` may be
 * passed in when it has already been computed (T = 1), to save a log-softmax.
 */
function softDivergence(
  divergence: Exclude<Divergence, 'mse-logits' | 'dkd'>,
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
  studentLogProbsAtT: tf.Tensor2D | undefined,
): tf.Scalar {
  const batchSize = studentLogits.shape[0];
  const soften = (logits: tf.Tensor2D) => (temperature === 1 ? logits : tf.mul(logits, tf.scalar(1 / temperature)));
  const logQ = studentLogProbsAtT ?? tf.logSoftmax(soften(studentLogits));
  const logP = tf.logSoftmax(soften(teacherLogits));

  let perElement: tf.Tensor;
  let scale = 1 / batchSize;
  switch (divergence) {
    case 'forward-kl': // Σ p·(log p − log q)
      perElement = tf.mul(tf.exp(logP), tf.sub(logP, logQ));
      break;
    case 'reverse-kl': // Σ q·(log q − log p)
      perElement = tf.mul(tf.exp(logQ), tf.sub(logQ, logP));
      break;
    case 'js': {
      // With m = (p + q)/2 and log m = log ½ + logaddexp(log p, log q) = −log 2 + log p + softplus(d), d = log q − log p:
      //   log p − log m = log 2 − softplus(d) =: u,   log q − log m = d + u,
      //   JS = ½·Σ [p·u + q·(d + u)] = ½·Σ [(p + q)·u + q·d].
      // softplus is overflow-safe on every backend, and all terms stay finite for finite log-probabilities.
      const d = tf.sub(logQ, logP);
      const u = tf.sub(tf.scalar(LOG_2), tf.softplus(d));
      const q = tf.exp(logQ);
      perElement = tf.add(tf.mul(tf.add(tf.exp(logP), q), u), tf.mul(q, d));
      scale = 0.5 / batchSize;
      break;
    }
  }
  return tf.mul(tf.sum(perElement), tf.scalar(scale)) as tf.Scalar;
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
