/**
 * The teacher's logits for the train and test rows, whatever kind of teacher it is (`teachers/*.ts`, one module per
 * kind), computed once per (teacher identity, dataset content, split) and cached as float32 `.npy` under
 * `<cacheDir>/soft-labels/`. Caching the logits is what makes distillation cheap: the training loop never runs the
 * teacher.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig, TrainSettingsConfig } from '../../shared/config';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Progress } from '../../shared/protocol';
import type { StepRecord } from '../../shared/records';
import type { TrainPosition } from '../train/checkpoint';
import { writeFileAtomic } from '../../shared/runDir';
import { encodeNpy, loadTeacherLogits, type Dataset } from '../data';
import { ensembleTeacherLogits, type EnsembleMember } from './ensemble';
import { openLogitsTeacher } from './logits';
import { openOnnxTeacher } from './onnx';
import { presetTeacherFile } from './preset';
import { openTfjsTeacher } from './tfjsModel';
import type { SplitName, Teacher } from './types';

export type { SplitName, Teacher, TeacherFacts, TeacherFeatures } from './types';
export { TeacherTrainingStopped } from './preset';

export interface TeacherOutputs {
  train: Float32Array;
  test: Float32Array;
  /** For the rows of `data.unlabeled`, when the data has them. */
  unlabeled?: Float32Array;
  /** The teacher, still open: for params, bytes and latency in the report. The caller disposes it. */
  teacher: Teacher;
  /** Where the logits came from, for the log. */
  source: string;
  /** A preset teacher's cached model.json, which a sweep's trials name instead of training the preset again. */
  modelFile?: string;
  /** A list of teachers (`teachers/ensemble.ts`): each member's test logits and teacher; `teacher` is their ensemble. */
  members?: EnsembleMember[];
}

export interface TeacherContext {
  config: DistillConfig;
  dataset: Dataset;
  /** Training rows (after the validation split), for a preset teacher. */
  trainRows: { x: tf.Tensor; y: tf.Tensor1D; count: number };
  /** All training rows (before the validation split), made on demand. */
  xTrainAll: () => tf.Tensor;
  xTest: tf.Tensor;
  /** The rows of `data.unlabeled`, made on demand (the data has them when `dataset.unlabeled` is set). */
  xUnlabeled: () => tf.Tensor;
  /** Rows per forward pass of the teacher (larger on a GPU). */
  inferenceBatch: number;
  /** Threads a preset teacher trains on (engine.threads, resolved for the backend). */
  threads: number;
  /** The run directory: a preset teacher's training is checkpointed there, so a stop keeps it. None for a sweep's
   *  shared teacher, which is prepared before any trial has a run directory. */
  runDir: string | undefined;
  log(message: string): void;
  warn(message: string): void;
  phase(phase: 'teacher-training' | 'teacher-logits', message: string): void;
  /** A preset teacher's training starts (or continues from `position`): records after that position are void. */
  teacherTrainingStarts(model: tfl.LayersModel, totalSteps: number, position: TrainPosition | undefined, settings: TrainSettingsConfig): Promise<void>;
  /** A preset teacher's step records, as they are read back. */
  teacherSteps(records: StepRecord[], progress: Progress): void;
  /** A preset teacher's epoch ended (the checkpoint is written after this). */
  teacherEpoch(model: tfl.LayersModel, epoch: number, train: { loss: number; accuracy: number }, seconds: number, totalEpochs: number): Promise<void>;
  shouldStop(): boolean;
  /** Member i of a list of teachers: a preset trains from seed + i (and is cached under its own key), so two identical
   *  presets are two teachers. 0 or none: the single teacher's seed. */
  presetSeedOffset?: number;
}

const sha256 = (...parts: string[]) => parts.reduce((h, p) => h.update(p).update('\0'), crypto.createHash('sha256')).digest('hex');

export const isOnnxFile = (file: string) => file.toLowerCase().endsWith('.onnx');

/** Opens the configured teacher: the kind follows the config (and, for a model file, the file's extension). */
/** Opens the configured teacher (one, not a list): the kind follows the config (and, for a model file, the file's extension). */
export async function openTeacher(ctx: TeacherContext): Promise<Teacher> {
  return (await openConfiguredTeacher(ctx)).teacher;
}

async function openConfiguredTeacher(ctx: TeacherContext): Promise<{ teacher: Teacher; presetFile?: string }> {
  const { config, dataset } = ctx;
  const teacher = config.teacher;
  if (Array.isArray(teacher)) throw new Error('Internal error: a list of teachers is opened member by member (teachers/ensemble.ts).');
  if ('logits' in teacher) return { teacher: openLogitsTeacher(teacher, dataset) };
  const data = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  if ('model' in teacher && isOnnxFile(teacher.model)) {
    return { teacher: await openOnnxTeacher(teacher, { ...data, batchSize: ctx.inferenceBatch, log: (m) => ctx.log(m) }) };
  }
  if ('model' in teacher) return { teacher: await openTfjsTeacher(teacher, data, ctx.inferenceBatch) };
  const presetFile = await presetTeacherFile(ctx);
  return { teacher: await openTfjsTeacher({ model: presetFile }, data, ctx.inferenceBatch), presetFile };
}

/** The teacher's logits for every split; a list of teachers gives its ensemble's (and each member's). */
export async function teacherLogits(ctx: TeacherContext): Promise<TeacherOutputs> {
  return Array.isArray(ctx.config.teacher) ? ensembleTeacherLogits(ctx, singleTeacherLogits) : singleTeacherLogits(ctx);
}

async function singleTeacherLogits(ctx: TeacherContext): Promise<TeacherOutputs> {
  const { config, dataset } = ctx;
  const classes = dataset.numClasses;
  const mode = ('outputs' in config.teacher ? config.teacher.outputs : undefined) ?? 'logits';
  const { teacher, presetFile } = await openConfiguredTeacher(ctx);
  try {
    const key = teacher.cacheKey && (mode === 'logits' ? teacher.cacheKey : `${teacher.cacheKey}:${mode}`);
    const out: Partial<Record<SplitName, Float32Array>> = {};
    let reused = 0;
    const splits: SplitName[] = dataset.unlabeled ? ['train', 'test', 'unlabeled'] : ['train', 'test'];
    for (const split of splits) {
      const rows = dataset[split]!.count;
      const file = key && path.join(config.output.cacheDir, 'soft-labels', `${sha256(key, dataset.fingerprint[split]!, split)}.npy`);
      if (file && fs.existsSync(file)) {
        out[split] = loadTeacherLogits(file, rows, classes, split);
        reused++;
        continue;
      }
      if (file) ctx.phase('teacher-logits', `Computing teacher logits for ${rows} ${split} rows (cached for later runs)…`);
      const raw = await teacher.outputs(split, split === 'train' ? ctx.xTrainAll : split === 'test' ? () => ctx.xTest : ctx.xUnlabeled);
      out[split] = mode === 'probabilities' ? logOfProbabilities(raw) : raw;
      if (mode === 'logits' && split === 'test' && looksLikeProbabilities(raw, classes)) {
        ctx.warn(
          `The teacher's outputs look like probabilities, not logits: every row is non-negative and sums to 1. KD needs logits; set teacher.outputs to "probabilities" and Distill takes their log, or export the model without its final softmax.`,
        );
      }
      if (file) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeFileAtomic(file, encodeNpy(out[split]!, [rows, classes]));
      }
    }
    return {
      train: out.train!,
      test: out.test!,
      unlabeled: out.unlabeled,
      teacher,
      modelFile: presetFile,
      source: `${teacher.describe}${reused === splits.length ? ' (logits from cache)' : ''}`,
    };
  } catch (e) {
    teacher.dispose();
    throw e;
  }
}

/**
 * True when every row is a probability distribution: non-negative and summing to 1 within 1e-3 (a float32 softmax
 * row sums to 1 within ~1e-6; real logits almost never do, and never all of them).
 */
export function looksLikeProbabilities(values: Float32Array, classes: number): boolean {
  const rows = values.length / classes;
  if (rows === 0) return false;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = values[r * classes + c];
      if (!(v >= 0)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/** log p, clamped at 1e-30 so that a zero becomes a very small logit (−69) rather than −∞. */
export function logOfProbabilities(p: Float32Array): Float32Array {
  return p.map((v) => Math.log(Math.max(v, 1e-30)));
}
