/**
 * Built-in architectures. Each is built for the data's input shape and class count, with seeded initializers so
 * that the same seed gives the same initial weights. Every model outputs logits (no softmax): KD needs them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CNN_WIDTHS, DEFAULT_MLP_HIDDEN, type ModelPreset } from '../../shared/config';
import { DistillError } from '../../shared/errors';

export interface PresetSpec {
  preset: ModelPreset;
  hidden?: number[];
  dropout?: number;
}

export function buildPreset(spec: PresetSpec, inputShape: number[], numClasses: number, seed: number, role: 'teacher' | 'student'): tfl.LayersModel {
  let layerSeed = seed * 7919;
  // Stable layer names (`student_conv1`, `teacher_dense1`, …): distillation.features names them.
  const init = () => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed++ }),
    biasInitializer: 'zeros' as const,
  });
  const model = tfl.sequential({ name: `${role}_${spec.preset.replace(/-/g, '_')}` });
  const dropout = () => {
    if (spec.dropout) model.add(tfl.layers.dropout({ rate: spec.dropout, seed: layerSeed++, name: `${role}_dropout` }));
  };

  if (spec.preset === 'mlp') {
    const hidden = spec.hidden ?? DEFAULT_MLP_HIDDEN;
    // Flatten needs rank ≥ 3 with the batch axis; flat features go straight into the first dense layer.
    if (inputShape.length > 1) model.add(tfl.layers.flatten({ inputShape, name: `${role}_flatten` }));
    hidden.forEach((units, i) =>
      model.add(
        tfl.layers.dense({
          units,
          activation: 'relu',
          ...(i === 0 && inputShape.length === 1 ? { inputShape } : {}),
          ...init(),
          name: `${role}_dense${i + 1}`,
        }),
      ),
    );
    dropout();
  } else {
    if (inputShape.length !== 3) {
      throw new DistillError(
        'config',
        `${role}.preset "${spec.preset}" needs image input [height, width, channels], but the data's input shape is [${inputShape.join(', ')}]. ` +
          `Set data.inputShape (e.g. [28, 28, 1]) or use the "mlp" preset.`,
        { path: [role, 'preset'] },
      );
    }
    if (spec.hidden) {
      throw new DistillError('config', `${role}.hidden applies to the "mlp" preset only; remove it for "${spec.preset}".`, { path: [role, 'hidden'] });
    }
    const { filters, dense } = CNN_WIDTHS[spec.preset];
    model.add(tfl.layers.conv2d({ inputShape, filters: filters[0], kernelSize: 3, padding: 'same', activation: 'relu', ...init(), name: `${role}_conv1` }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: `${role}_pool1` }));
    model.add(tfl.layers.conv2d({ filters: filters[1], kernelSize: 3, padding: 'same', activation: 'relu', ...init(), name: `${role}_conv2` }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: `${role}_pool2` }));
    model.add(tfl.layers.flatten({ name: `${role}_flatten` }));
    model.add(tfl.layers.dense({ units: dense, activation: 'relu', ...init(), name: `${role}_dense1` }));
    dropout();
  }
  model.add(tfl.layers.dense({ units: numClasses, ...init(), name: `${role}_logits` }));
  return model;
}

/** Weight bytes as stored (float32 unless a weight says otherwise). */
export function weightBytes(model: tfl.LayersModel): number {
  return model.weights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1), 0);
}
