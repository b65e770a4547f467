/**
 * KD on a transfer set with unlabelled rows (`data.unlabeled`, `data.labeled`): the cross-entropy term is masked out
 * for rows without a label, so α is effectively 1 there. Per row r of a batch of B rows,
 *
 *   loss_r = α·kd_r + (1 − α)·ce_r   (labelled),      loss_r = kd_r   (unlabelled),
 *
 * and the step's loss is their batch mean. The batch is ordered labelled rows first, and the two groups go through
 * the ordinary step-stats kernels (fused where the backend has them), then are combined by their row counts. A batch
 * with no unlabelled rows is exactly the ordinary step.
 *
 * The stats vector keeps its layout: loss, kd and kdUnscaled are means over all B rows; ce and accuracy are means
 * over the batch's labelled rows (0 when it has none: the record's `labeled` count says so).
 */
import * as tf from '@tensorflow/tfjs-core';
import { kdStepStats, STAT } from './stepStats';
import type { KdLossOptions } from './losses';

/** The batch's rows, labelled ones first (each group in batch order), and how many are labelled. */
export function labeledFirst(batchIdx: ArrayLike<number>, unlabeled: Uint8Array): { order: Int32Array; labeled: number } {
  const order = new Int32Array(batchIdx.length);
  let front = 0;
  let back = batchIdx.length;
  for (let i = 0; i < batchIdx.length; i++) if (!unlabeled[batchIdx[i]]) order[front++] = batchIdx[i];
  for (let i = batchIdx.length - 1; i >= 0; i--) if (unlabeled[batchIdx[i]]) order[--back] = batchIdx[i];
  return { order, labeled: front };
}

/**
 * The step's stats vector for a batch whose first `labeled` rows have labels (`labels` holds those rows' labels
 * only). Differentiable with respect to `studentLogits`.
 */
export function transferStepStats(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D | undefined,
  labeled: number,
  opts: KdLossOptions,
): tf.Tensor1D {
  const [rows, classes] = studentLogits.shape;
  const unlabeledRows = rows - labeled;
  if (unlabeledRows === 0) return kdStepStats(studentLogits, teacherLogits, labels!, opts);
  return tf.tidy(() => {
    const part = (from: number, n: number, t: tf.Tensor2D) => tf.slice(t, [from, 0], [n, classes]);
    const teacherPart = part(labeled, unlabeledRows, teacherLogits);
    // At α = 1 no CE term reaches the loss, so labels matter only to DKD, which splits by a target class: there the
    // teacher's top-1 stands in for the missing label. Elsewhere zeros keep the kernels' label reads in range.
    const targets =
      opts.divergence === 'dkd' ? (tf.cast(tf.argMax(teacherPart, 1), 'int32') as tf.Tensor1D) : (tf.zeros([unlabeledRows], 'int32') as tf.Tensor1D);
    const distilled = kdStepStats(part(labeled, unlabeledRows, studentLogits), teacherPart, targets, { ...opts, alpha: 1 });
    // loss, kd, kdUnscaled (and DKD's parts) are row means over the whole batch; ce and accuracy come from the
    // labelled rows only.
    const weights = (rowShare: number, labelledOnly: number) =>
      tf.tensor1d(Array.from({ length: distilled.shape[0] }, (_, i) => (i === STAT.ce || i === STAT.accuracy ? labelledOnly : rowShare)));
    let stats = tf.mul(distilled, weights(unlabeledRows / rows, 0));
    if (labeled > 0) {
      const supervised = kdStepStats(part(0, labeled, studentLogits), part(0, labeled, teacherLogits), labels!, opts);
      stats = tf.add(stats, tf.mul(supervised, weights(labeled / rows, 1)));
    }
    return stats as tf.Tensor1D;
  });
}
