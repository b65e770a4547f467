/**
 * Feature (hint) distillation losses, on tensors, differentiable with respect to the student's features and the
 * adapter's weights (`distillation.features`; the trainer's wiring is train/features.ts).
 *
 * - `mse` (FitNets, Romero et al. 2015): a learned adapter maps the student's features to the teacher's channels, a
 *   1×1 convolution on 4-D NHWC maps (a matrix product over the channel axis at every position: exactly a 1×1
 *   conv) and a dense layer on 2-D features; the loss is the mean over every element of (adapter(s) − t)², as
 *   torchdistill's FitNets (nn.MSELoss) computes it.
 * - `attention` (Zagoruyko & Komodakis, ICLR 2017): Q(A) = vec(mean over channels of A²) (p = 2), L2-normalised per
 *   sample; the loss is the mean over the batch and the map's positions of (Q_s − Q_t)². That is the reference
 *   code's `at_loss(x, y) = (at(x) − at(y)).pow(2).mean()` with `at(x) = F.normalize(x.pow(2).mean(1).view(B, −1))`,
 *   not the paper's printed ‖Q_s − Q_t‖₂ (unsquared, summed): we follow the code, whose β = 1000 (weighed β/2) the
 *   default weight is tuned for. No adapter: the channel counts may differ, the spatial sizes must match.
 */
import * as tf from '@tensorflow/tfjs-core';

/** An adapter: kernel [Cs, Ct] and bias [Ct], applied over the last (channel) axis. */
export interface Adapter {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** The adapter on a [B, Cs] or [B, H, W, Cs] feature: the same shape with Ct channels. */
export function applyAdapter(features: tf.Tensor, adapter: Adapter): tf.Tensor {
  return tf.tidy(() => {
    const shape = features.shape;
    const cs = shape[shape.length - 1];
    const flat = tf.reshape(features, [-1, cs]) as tf.Tensor2D;
    const mapped = tf.add(tf.matMul(flat, adapter.kernel), adapter.bias);
    return tf.reshape(mapped, [...shape.slice(0, -1), adapter.kernel.shape[1]]);
  });
}

/** FitNets' hint loss: mean over every element of (adapter(s) − t)². */
export function mseFeatureLoss(student: tf.Tensor, teacher: tf.Tensor, adapter: Adapter): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(applyAdapter(student, adapter), teacher)) as tf.Scalar);
}

/**
 * F.normalize's floor on the norm: a map of all zeros (a dead ReLU block) stays 0 instead of 0/0. Taken on the
 * squared norm (1e-24 = (1e-12)²), so the square root's gradient stays finite there and is zero.
 */
const NORM_FLOOR_SQUARED = 1e-24;

/** Q(A) for a [B, H, W, C] map: [B, H·W], each row of unit L2 norm. */
export function attentionMap(features: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const [b] = features.shape;
    const q = tf.reshape(tf.mean(tf.square(features), -1), [b, -1]);
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(q), 1, true), NORM_FLOOR_SQUARED));
    return tf.div(q, norm) as tf.Tensor2D;
  });
}

/** The reference code's at_loss: mean over the batch and positions of (Q_s − Q_t)². */
export function attentionLoss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(attentionMap(student), attentionMap(teacher))) as tf.Scalar);
}
