/**
 * The backend probe: one training step of the configured student on a tiny random batch, run by the ladder on each
 * backend it tries, so that a backend missing a kernel the model needs is skipped before the run depends on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../../shared/config';
import { peekInputShape } from '../data';
import { kdLoss } from '../kd/losses';
import { loadStudentModel } from '../models/modelFiles';
import { buildPreset } from '../models/presets';

/** Proves the active backend can train the student; a no-op when the input shape is unknown until the data loads. */
export async function probeTraining(config: DistillConfig): Promise<void> {
  let model;
  if ('model' in config.student) model = await loadStudentModel(config.student.model);
  else {
    const inputShape = peekInputShape(config.data);
    if (!inputShape) return;
    model = buildPreset(config.student, inputShape, 3, 0, 'student');
  }
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  const shape = model.inputs[0].shape.slice(1).map((d) => d ?? 1);
  const optimizer = tf.train.adam(1e-3);
  try {
    tf.tidy(() => {
      const x = tf.randomUniform([2, ...shape]);
      const y = tf.tensor1d([0, 1 % classes], 'int32');
      const t = tf.randomNormal([2, classes]) as tf.Tensor2D;
      const loss = () =>
        kdLoss(model.apply(x, { training: true }) as tf.Tensor2D, t, y, { temperature: 2, alpha: 0.5, divergence: config.distillation.divergence }).loss;
      optimizer.minimize(
        loss,
        false,
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
    });
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
