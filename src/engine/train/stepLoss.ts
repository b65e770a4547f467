/**
 * What one training step computes on a batch (or, with engine.threads > 1, on one thread's shard of it): the stats
 * vector [loss, kd, kdUnscaled, ce, accuracy], whose first entry the optimizer minimizes. The single-thread step
 * and every training thread call this one function, so both train on the same loss.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { kdStepStats, type FusedDivergence } from '../kd/stepStats';

export interface TrainingData {
  x: tf.Tensor;
  y: tf.Tensor1D;
  /** Teacher logits aligned with `x`; absent for CE-only training (a preset teacher). */
  teacherLogits?: tf.Tensor2D;
  count: number;
  /**
   * 1 for each row without a label (a transfer set): it is learnt from the teacher only, its CE term masked out.
   * Its entry in `y` is ignored. Needs `teacherLogits`. Such data trains on one thread (see `singleThreadReason`).
   */
  unlabeled?: Uint8Array;
}

/** The loss settings of one step (the schedule's temperature and α at that step). */
export interface StepSettings {
  temperature: number;
  alpha: number;
  /** DKD (composed only, a longer stats vector) trains on one thread, so never reaches a training thread. */
  divergence: FusedDivergence;
}

export function batchStepStats(model: tfl.LayersModel, xb: tf.Tensor, yb: tf.Tensor1D, tb: tf.Tensor2D | undefined, s: StepSettings): tf.Tensor1D {
  const logits = model.apply(xb, { training: true }) as tf.Tensor2D;
  return kdStepStats(logits, tb, yb, s);
}
