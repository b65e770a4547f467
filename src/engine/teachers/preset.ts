/**
 * A teacher the engine trains itself from a preset: trained once per (preset, training settings, seed, data) and
 * cached as a tfjs model under `<cacheDir>/teachers/`, then used like a model-file teacher.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../../shared/config';
import { saveLayersModel } from '../models/modelFiles';
import { buildPreset } from '../models/presets';
import { train } from '../train/trainer';
import type { TeacherContext } from './index';

const sha256 = (...parts: string[]) => parts.reduce((h, p) => h.update(p).update('\0'), crypto.createHash('sha256')).digest('hex');

/** Train (or find in the cache) the preset teacher; returns its model.json. */
export async function presetTeacherFile(ctx: TeacherContext): Promise<string> {
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
    shouldStop: ctx.shouldStop,
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
