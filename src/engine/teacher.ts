/**
 * The teacher's logits for the train and test rows, computed once per (teacher content, dataset content, split)
 * and cached as float32 `.npy` under `<cacheDir>/soft-labels/`. A preset teacher is trained once per (preset,
 * training settings, seed, data) and cached as a tfjs model under `<cacheDir>/teachers/`. Caching the logits is
 * what makes distillation cheap: the training loop never runs the teacher.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../shared/config';
import { DistillError } from '../shared/errors';
import { writeFileAtomic } from '../shared/runDir';
import { encodeNpy, loadTeacherLogits, type Dataset } from './data';
import { buildPreset } from './models/presets';
import { hashModelFile, loadModelFile, modelSignature, predictLogits, saveLayersModel, type LoadedModel } from './models/modelFiles';
import { train } from './train/trainer';
import type { Progress } from '../shared/protocol';

export interface TeacherOutputs {
  train: Float32Array;
  test: Float32Array;
  /** The teacher as a model, when there is one (not for precomputed logits): for params and latency. */
  model?: LoadedModel;
  /** Where the logits came from, for the log. */
  source: string;
  /** The teacher's model.json (a preset teacher: its cached file), when there is one. */
  modelFile?: string;
}

export interface TeacherContext {
  config: DistillConfig;
  dataset: Dataset;
  /** Training rows (after the validation split), for a preset teacher. */
  trainRows: { x: tf.Tensor; y: tf.Tensor1D; count: number };
  /** All training rows (before the validation split), made on demand. */
  xTrainAll: () => tf.Tensor;
  xTest: tf.Tensor;
  /** Rows per forward pass of the teacher (larger on a GPU). */
  inferenceBatch: number;
  log(message: string): void;
  phase(phase: 'teacher-training' | 'teacher-logits', message: string): void;
  progress(p: Progress): void;
  shouldStop(): boolean;
}

const sha256 = (...parts: string[]) => parts.reduce((h, p) => h.update(p).update('\0'), crypto.createHash('sha256')).digest('hex');

export async function teacherLogits(ctx: TeacherContext): Promise<TeacherOutputs> {
  const { config, dataset } = ctx;
  const teacher = config.teacher;
  const classes = dataset.numClasses;
  if ('logits' in teacher) {
    return {
      train: loadTeacherLogits(teacher.logits.train, dataset.sourceRows.train, classes, 'train', dataset.train.count),
      test: loadTeacherLogits(teacher.logits.test, dataset.sourceRows.test, classes, 'test', dataset.test.count),
      source: `precomputed logits (${teacher.logits.train})`,
    };
  }
  const modelFile = 'model' in teacher ? teacher.model : await presetTeacherFile(ctx);
  const teacherHash = hashModelFile(modelFile);
  const cacheFile = (split: 'train' | 'test') =>
    path.join(config.output.cacheDir, 'soft-labels', `${sha256(teacherHash, dataset.fingerprint[split], split)}.npy`);

  const model = await loadModelFile(modelFile, 'teacher');
  checkTeacherSignature(model, modelFile, dataset);
  const out: Partial<Record<'train' | 'test', Float32Array>> = {};
  let reused = 0;
  for (const split of ['train', 'test'] as const) {
    const file = cacheFile(split);
    const rows = dataset[split].count;
    if (fs.existsSync(file)) {
      out[split] = loadTeacherLogits(file, rows, classes, split);
      reused++;
    } else {
      ctx.phase('teacher-logits', `Computing teacher logits for ${rows} ${split} rows (cached for later runs)…`);
      out[split] = await predictTeacher(model, modelFile, split === 'train' ? ctx.xTrainAll() : ctx.xTest, ctx.inferenceBatch);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, encodeNpy(out[split], [rows, classes]));
    }
  }
  return { train: out.train!, test: out.test!, model, modelFile, source: `${modelFile}${reused === 2 ? ' (logits from cache)' : ''}` };
}

/** The teacher's logits; a model that throws on the data (an op it cannot run, a shape inside it) is a model error. */
async function predictTeacher(model: LoadedModel, file: string, x: tf.Tensor, batch: number): Promise<Float32Array> {
  try {
    return await predictLogits(model, x, batch);
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new DistillError('model', `The teacher ${file} failed on the data (samples of shape [${x.shape.slice(1).join(', ')}]): ${message}. Check that it was built for this data, or re-export it.`, { file, path: ['teacher', 'model'] });
  }
}

function checkTeacherSignature(model: LoadedModel, file: string, dataset: Dataset): void {
  const sig = modelSignature(model);
  if (sig.outputs !== null && sig.outputs !== dataset.numClasses) {
    throw new DistillError('model', `Class counts disagree: the teacher ${file} outputs ${sig.outputs} classes, but the data has ${dataset.numClasses}. Use a teacher trained on these classes, or fix data.classNames.`, { file });
  }
  const feed = teacherFeedShape(sig.input, dataset.inputShape);
  if (feed === 'mismatch') {
    throw new DistillError(
      'model',
      `Input shapes disagree: the teacher ${file} expects [${sig.input.map((d) => d ?? '?').join(', ')}] per sample, but the data gives [${dataset.inputShape.join(', ')}]. ` +
        'Set data.inputShape to the shape the teacher takes (the element counts must agree), or use a teacher trained on this data.',
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

/** Train (or find in the cache) the preset teacher; returns its model.json. */
async function presetTeacherFile(ctx: TeacherContext): Promise<string> {
  const { config, dataset } = ctx;
  const teacher = config.teacher as Extract<DistillConfig['teacher'], { preset: string }>;
  const key = sha256(JSON.stringify(teacher), String(config.seed), dataset.fingerprint.train, String(ctx.trainRows.count));
  const dir = path.join(config.output.cacheDir, 'teachers', key.slice(0, 24));
  const file = path.join(dir, 'model.json');
  if (fs.existsSync(file)) {
    ctx.log(`Using the cached ${teacher.preset} teacher from ${dir}`);
    return file;
  }
  const settings = teacher.train;
  ctx.phase('teacher-training', `Training the ${teacher.preset} teacher for ${settings.epochs} epochs (once; later runs reuse it)…`);
  const model = buildPreset(teacher, dataset.inputShape, dataset.numClasses, config.seed + 1, 'teacher');
  const optimizer = settings.optimizer === 'sgd' ? tf.train.sgd(settings.learningRate) : tf.train.adam(settings.learningRate);
  const outcome = await train({
    role: 'teacher',
    model,
    optimizer,
    data: ctx.trainRows,
    settings,
    seed: config.seed + 1,
    onSteps: (_records, progress) => ctx.progress(progress),
    onEpochEnd: async (epoch, stats) => ctx.log(`Teacher epoch ${epoch}/${settings.epochs}: loss ${stats.loss.toFixed(4)}, train accuracy ${(stats.accuracy * 100).toFixed(2)}%`),
    shouldStop: () => ctx.shouldStop(),
  });
  optimizer.dispose();
  if (outcome.kind === 'stopped') {
    model.dispose();
    throw new TeacherTrainingStopped();
  }
  await saveLayersModel(model, dir);
  model.dispose();
  return file;
}

export class TeacherTrainingStopped extends Error {
  constructor() {
    super('Stopped while training the teacher; it was not cached. The next run trains it again.');
  }
}
