/**
 * Feature (hint) distillation in training (`distillation.features`): the student's named layers become extra
 * outputs of a second model over the same layers (so the same weights), the teacher's named layers are computed per
 * batch (never cached: feature maps of every training row would not fit in memory), and each pair adds
 * weight × its loss (kd/features.ts) to the step's loss. The `mse` pairs' adapters are variables trained by the
 * student's optimizer; they are saved in the student's checkpoints, never in the saved student.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FEATURE_DEFAULT_WEIGHT, type DistillConfig, type FeaturePairConfig } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { createRng } from '../../shared/random';
import { attentionLoss, mseFeatureLoss, type Adapter } from '../kd/features';
import type { Teacher, TeacherFeatures } from '../teachers';
import { unknownLayerMessage } from '../teachers/types';

const featurePath = (i: number, field?: string) => ['distillation', 'features', String(i), ...(field ? [field] : [])];

/**
 * Refuses, before any work, a teacher that has no intermediate outputs. Called with the config; the layer names are
 * checked when the models are open (FeatureDistiller.create).
 */
export function checkFeatureTeacher(config: Pick<DistillConfig, 'teacher' | 'distillation'>): void {
  const pairs = config.distillation.features;
  if (!pairs?.length) return;
  const list = Array.isArray(config.teacher) ? config.teacher : [config.teacher];
  pairs.forEach((p, i) => {
    const index = p.teacherIndex ?? 0;
    if (index >= list.length) {
      const what = Array.isArray(config.teacher) ? `the list has ${list.length} teachers (0 to ${list.length - 1})` : 'there is a single teacher (index 0)';
      throw new DistillError('config', `distillation.features[${i}].teacherIndex is ${index}, but ${what}. Name a teacher of the list.`, {
        path: featurePath(i, 'teacherIndex'),
      });
    }
    if ('logits' in list[index]) {
      const which = Array.isArray(config.teacher) ? `teacher[${index}]` : 'teacher';
      throw new DistillError(
        'config',
        `distillation.features[${i}] needs a model teacher whose layers can be run (a TensorFlow.js or ONNX model file, or a preset), but ${which}.logits gives precomputed logits only. ${Array.isArray(config.teacher) ? 'Set the pair\u2019s teacherIndex to a model teacher' : 'Set teacher.model'}, or remove distillation.features.`,
        { path: featurePath(i) },
      );
    }
  });
}

const perSample = (t: tf.Tensor | tfl.SymbolicTensor) =>
  `[${t.shape
    .slice(1)
    .map((d) => d ?? '?')
    .join(', ')}]`;

export class FeatureDistiller {
  private constructor(
    /** The student with its feature layers as outputs 1…n after the logits. */
    readonly studentModel: tfl.LayersModel,
    private readonly teacher: TeacherFeatures,
    readonly pairs: FeaturePairConfig[],
    readonly weights: number[],
    /** Per pair: its adapter (`mse`), or none (`attention`). */
    private readonly adapters: ({ kernel: tf.Variable; bias: tf.Variable } | undefined)[],
  ) {}

  /**
   * Opens the pairs on the student and the teacher, checking names, ranks and sizes on one row of `sample` (a
   * [1, ...inputShape] batch) so that every mismatch is one error naming the pair, before any step.
   */
  static async create(pairs: FeaturePairConfig[], student: tfl.LayersModel, teachers: Teacher[], sample: tf.Tensor, seed: number): Promise<FeatureDistiller> {
    const available = student.layers.map((l) => l.name);
    const outputs = pairs.map((p, i) => {
      if (!available.includes(p.student))
        throw new DistillError('config', unknownLayerMessage('student', i, p.student, available, 'model'), { path: featurePath(i, 'student') });
      try {
        return student.getLayer(p.student).output as tfl.SymbolicTensor;
      } catch {
        throw new DistillError(
          'config',
          `distillation.features[${i}].student: the layer "${p.student}" is used more than once in the student, so it has no single output. Name another layer.`,
          { path: featurePath(i, 'student') },
        );
      }
    });
    const studentModel = tfl.model({ inputs: student.inputs, outputs: [student.outputs[0], ...outputs] });
    const features = teacherFeatures(pairs, teachers);
    const probe = await features.compute(sample);
    const adapters: ({ kernel: tf.Variable; bias: tf.Variable } | undefined)[] = [];
    const rng = createRng((seed ^ 0x5eed_fea7) >>> 0);
    try {
      pairs.forEach((p, i) => {
        const s = outputs[i];
        const t = probe[i];
        const pair = `distillation.features[${i}] (teacher "${p.teacher}" ${perSample(t)}, student "${p.student}" ${perSample(s)})`;
        const bad = (why: string) => new DistillError('config', `${pair}: ${why}`, { path: featurePath(i) });
        const rank = s.shape.length;
        if (rank !== t.rank)
          throw bad(
            `the ranks differ (student ${rank - 1}-D per sample, teacher ${t.rank - 1}-D). Pair layers of the same kind: feature maps [H, W, C] with feature maps, vectors [C] with vectors.`,
          );
        if (rank !== 2 && rank !== 4)
          throw bad(`features must be vectors [C] or feature maps [H, W, C] per sample; these are ${rank - 1}-D. Name a dense or convolutional layer.`);
        if (rank === 4 && (s.shape[1] !== t.shape[1] || s.shape[2] !== t.shape[2])) {
          throw bad(
            `the spatial sizes differ (student ${s.shape[1]}×${s.shape[2]}, teacher ${t.shape[1]}×${t.shape[2]}); the ${p.loss === 'attention' ? 'attention maps are compared position by position' : '1×1 adapter keeps the spatial size'}. Pair layers whose outputs have the same height and width.`,
          );
        }
        if (p.loss === 'attention') {
          if (rank !== 4)
            throw bad('attention transfer compares spatial attention maps, so both layers must output feature maps [H, W, C]. Use loss "mse" for vectors.');
          adapters.push(undefined);
          return;
        }
        const cs = s.shape[rank - 1] as number;
        const ct = t.shape[rank - 1];
        // Glorot-uniform from our seeded PRNG (the same on every backend), bias 0: a Keras Conv2D/Dense's defaults.
        const limit = Math.sqrt(6 / (cs + ct));
        const values = Float32Array.from({ length: cs * ct }, () => (rng() * 2 - 1) * limit);
        const id = `${i}_${(++adapterIds).toString(36)}`;
        adapters.push({
          kernel: tf.variable(tf.tensor2d(values, [cs, ct]), true, `distill_feature_adapter_${id}_kernel`),
          bias: tf.variable(tf.zeros([ct]), true, `distill_feature_adapter_${id}_bias`),
        });
      });
    } catch (e) {
      adapters.forEach((a) => a && tf.dispose([a.kernel, a.bias]));
      features.dispose();
      throw e;
    } finally {
      tf.dispose(probe);
    }
    const weights = pairs.map((p) => p.weight ?? FEATURE_DEFAULT_WEIGHT[p.loss]);
    return new FeatureDistiller(studentModel, features, pairs, weights, adapters);
  }

  /** The adapters' variables, trained with the student's (in this order, after them). */
  get variables(): tf.Variable[] {
    return this.adapters.flatMap((a) => (a ? [a.kernel, a.bias] : []));
  }

  /** The teacher's features for a batch (the caller disposes them). */
  targets(x: tf.Tensor): Promise<tf.Tensor[]> {
    return this.teacher.compute(x);
  }

  /** Each pair's loss (before its weight), [n]; differentiable in the student features and the adapters. */
  losses(studentFeatures: tf.Tensor[], targets: tf.Tensor[]): tf.Tensor1D {
    return tf.tidy(
      () =>
        tf.stack(
          this.pairs.map((p, i) => {
            const a = this.adapters[i];
            return p.loss === 'attention' ? attentionLoss(studentFeatures[i], targets[i]) : mseFeatureLoss(studentFeatures[i], targets[i], a as Adapter);
          }),
        ) as tf.Tensor1D,
    );
  }

  /** The adapters' weights by a stable name, for the checkpoint. */
  namedTensors(): { name: string; tensor: tf.Tensor }[] {
    return this.adapters.flatMap((a, i) =>
      a
        ? [
            { name: `${i}.kernel`, tensor: a.kernel as tf.Tensor },
            { name: `${i}.bias`, tensor: a.bias as tf.Tensor },
          ]
        : [],
    );
  }

  /** Puts back the adapters' weights from a checkpoint. A checkpoint without them (of another config) is an error. */
  load(saved: Map<string, tf.Tensor>): void {
    for (const { name, tensor } of this.namedTensors()) {
      const value = saved.get(name);
      if (!value || value.shape.join() !== tensor.shape.join()) {
        throw new DistillError(
          'usage',
          `The checkpoint has no feature adapter "${name}" of shape [${tensor.shape.join(', ')}]: it was written with other distillation.features. Start the run again.`,
          { path: ['distillation', 'features'] },
        );
      }
      (tensor as tf.Variable).assign(value);
    }
  }

  dispose(): void {
    this.adapters.forEach((a) => a && tf.dispose([a.kernel, a.bias]));
    this.teacher.dispose();
    // studentModel shares the student's layers: disposing it would dispose the student's weights.
  }
}

let adapterIds = 0;

/**
 * The pairs' teacher features as one source: each teacher (`teacherIndex`) runs once per batch for all its pairs, and
 * the outputs come back in pair order.
 */
function teacherFeatures(pairs: FeaturePairConfig[], teachers: Teacher[]): TeacherFeatures {
  const groups = new Map<number, number[]>();
  pairs.forEach((p, i) => groups.set(p.teacherIndex ?? 0, [...(groups.get(p.teacherIndex ?? 0) ?? []), i]));
  const opened: { pairs: number[]; source: TeacherFeatures }[] = [];
  try {
    for (const [index, members] of groups) {
      const teacher = teachers[index];
      if (!teacher?.features) {
        throw new DistillError(
          'config',
          `distillation.features[${members[0]}]: the teacher ${teacher?.describe ?? index} has no intermediate outputs to distil from. Use a TensorFlow.js, ONNX or preset teacher.`,
          { path: featurePath(members[0]) },
        );
      }
      opened.push({
        pairs: members,
        source: teacher.features(
          members.map((i) => pairs[i].teacher),
          members,
        ),
      });
    }
  } catch (e) {
    opened.forEach((o) => o.source.dispose());
    throw e;
  }
  return {
    compute: async (x) => {
      const out: tf.Tensor[] = new Array(pairs.length);
      try {
        for (const o of opened) (await o.source.compute(x)).forEach((t, k) => (out[o.pairs[k]] = t));
      } catch (e) {
        tf.dispose(out.filter(Boolean));
        throw e;
      }
      return out;
    },
    dispose: () => opened.forEach((o) => o.source.dispose()),
  };
}
