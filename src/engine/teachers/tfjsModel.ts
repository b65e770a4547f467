/** A TensorFlow.js teacher (`model.json`, LayersModel or GraphModel), run in the engine's own backend. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TeacherModelConfig, TeacherPreprocess } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { modelFileBytes } from '../eval/modelBytes';
import { countParams, loadedWeightBytes, measureLatency } from '../eval/report';
import { hashModelFile, loadModelFile, modelSignature, predictLogits, type LoadedModel } from '../models/modelFiles';
import { applyPreprocess, preprocessedShape } from './preprocess';
import { unknownLayerMessage, type Teacher, type TeacherFacts, type TeacherFeatures } from './types';

const ONNX_ONLY = ['input', 'output', 'executionProviders'] as const;

export async function openTfjsTeacher(
  cfg: Pick<TeacherModelConfig, 'model' | 'preprocess'> & Partial<TeacherModelConfig>,
  data: { inputShape: number[]; numClasses: number },
  inferenceBatch: number,
): Promise<Teacher> {
  const file = cfg.model;
  const onnxOnly = ONNX_ONLY.find((k) => cfg[k] !== undefined) ?? (cfg.inputLayout && cfg.inputLayout !== 'auto' ? 'inputLayout' : undefined);
  if (onnxOnly) {
    throw new DistillError('config', `teacher.${onnxOnly} applies to ONNX teachers only, but ${file} is a TensorFlow.js model. Remove it.`, {
      file,
      path: ['teacher', onnxOnly],
    });
  }
  const model = await loadModelFile(file, 'teacher');
  const sample = preprocessedShape(data.inputShape, cfg.preprocess);
  try {
    checkSignature(model, file, sample, data.numClasses, !!cfg.preprocess);
  } catch (e) {
    model.model.dispose();
    throw e;
  }
  return new TfjsTeacher(file, model, hashModelFile(file), cfg.preprocess, sample, inferenceBatch);
}

function checkSignature(model: LoadedModel, file: string, want: number[], classes: number, preprocessed: boolean): void {
  const sig = modelSignature(model);
  if (sig.outputs !== null && sig.outputs !== classes) {
    throw new DistillError(
      'model',
      `Class counts disagree: the teacher ${file} outputs ${sig.outputs} classes, but the data has ${classes}. Use a teacher trained on these classes, or fix data.classNames.`,
      { file },
    );
  }
  const feed = teacherFeedShape(sig.input, want);
  if (feed === 'mismatch') {
    throw new DistillError(
      'model',
      `Input shapes disagree: the teacher ${file} expects [${sig.input.map((d) => d ?? '?').join(', ')}] per sample, but the data gives [${want.join(', ')}]${preprocessed ? ' after teacher.preprocess' : ''}. ` +
        'Set data.inputShape to the shape the teacher takes (the element counts must agree), set teacher.preprocess, or use a teacher trained on this data.',
      { file, path: ['teacher', 'model'] },
    );
  }
  if (feed) model.feedShape = feed;
}

/**
 * How the data reaches the teacher: undefined when the shapes match (unknown dimensions match anything), the
 * teacher's shape when only the layout differs and one side is flat (same element count: [784] and [28, 28, 1]),
 * 'mismatch' otherwise.
 */
export function teacherFeedShape(model: (number | null)[], data: number[]): number[] | undefined | 'mismatch' {
  if (model.length === data.length && model.every((d, i) => d === null || d === data[i])) return undefined;
  const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (model.some((d) => d === null)) return 'mismatch';
  const flat = model.length === 1 || data.length === 1;
  return flat && count(model as number[]) === count(data) ? (model as number[]) : 'mismatch';
}

/** The teacher's logits; a model that throws on the data (an op it cannot run, a shape inside it) is a model error. */
async function predictTeacher(model: LoadedModel, file: string, x: tf.Tensor, batch: number): Promise<Float32Array> {
  try {
    return await predictLogits(model, x, batch);
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new DistillError(
      'model',
      `The teacher ${file} failed on the data (samples of shape [${x.shape.slice(1).join(', ')}]): ${message}. Check that it was built for this data, or re-export it.`,
      { file, path: ['teacher', 'model'] },
    );
  }
}

class TfjsTeacher implements Teacher {
  readonly describe: string;
  readonly cacheKey: string;

  constructor(
    private readonly file: string,
    private readonly model: LoadedModel,
    hash: string,
    private readonly preprocess: TeacherPreprocess | undefined,
    private readonly sample: number[],
    private readonly batch: number,
  ) {
    this.describe = file;
    // Without preprocessing the key is the model's hash alone, as before: caches written earlier still hit.
    this.cacheKey = preprocess ? `${hash}:${JSON.stringify(preprocess)}` : hash;
  }

  async outputs(_split: string, rows: () => tf.Tensor): Promise<Float32Array> {
    if (!this.preprocess) return predictTeacher(this.model, this.file, rows(), this.batch);
    const x = rows();
    const parts: Float32Array[] = [];
    for (let start = 0; start < x.shape[0]; start += this.batch) {
      const xb = tf.tidy(() => applyPreprocess(tf.slice(x, start, Math.min(this.batch, x.shape[0] - start)), this.preprocess));
      parts.push(await predictTeacher(this.model, this.file, xb, this.batch));
      xb.dispose();
    }
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  }

  features(names: string[], pairs: number[] = names.map((_, k) => k)): TeacherFeatures {
    if (this.model.kind !== 'layers') {
      throw new DistillError(
        'config',
        `distillation.features: the teacher ${this.file} is a TensorFlow.js GraphModel, whose intermediate tensors are not named layers. Export the teacher as a LayersModel (Keras), or as ONNX and name its outputs.`,
        { file: this.file, path: ['distillation', 'features'] },
      );
    }
    const model = this.model.model;
    const available = model.layers.map((l) => l.name);
    const unique = [...new Set(names)];
    names.forEach((n, i) => {
      if (!available.includes(n))
        throw new DistillError('config', unknownLayerMessage('teacher', pairs[i], n, available, this.file), {
          file: this.file,
          path: ['distillation', 'features', String(pairs[i]), 'teacher'],
        });
    });
    let outputs: tfl.SymbolicTensor[];
    try {
      outputs = unique.map((n) => model.getLayer(n).output as tfl.SymbolicTensor);
    } catch (e) {
      throw new DistillError(
        'config',
        `distillation.features: a teacher layer of ${this.file} is used more than once in the model, so it has no single output: ${errorText(e)}. Name another layer.`,
        { file: this.file, path: ['distillation', 'features'] },
      );
    }
    // A second model over the same layers (no weights of its own): the teacher's outputs at those layers.
    const featureModel = tfl.model({ inputs: model.inputs, outputs });
    const feedShape = this.model.feedShape;
    return {
      compute: async (x) =>
        tf.tidy(() => {
          const pre = applyPreprocess(x, this.preprocess);
          const fed = feedShape ? tf.reshape(pre, [pre.shape[0], ...feedShape]) : pre;
          const out = featureModel.predict(fed);
          const list = Array.isArray(out) ? out : [out];
          return names.map((n) => list[unique.indexOf(n)].clone());
        }),
      // The feature model shares the teacher's layers: disposing it would dispose their weights. Nothing to free.
      dispose: () => {},
    };
  }

  async facts(latency: boolean): Promise<TeacherFacts> {
    return {
      params: countParams(this.model),
      sizeBytes: loadedWeightBytes(this.model),
      ...modelFileBytes(this.file),
      latencyMs: latency ? await measureLatency(this.model, this.sample) : undefined,
    };
  }

  dispose(): void {
    this.model.model.dispose();
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];
