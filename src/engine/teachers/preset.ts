/**
 * A teacher the engine trains itself from a preset: trained once per (preset, training settings, seed, data) and
 * cached as a tfjs model under `<cacheDir>/teachers/`, then used like a model-file teacher. Its training is
 * checkpointed in the run directory each epoch and on a stop, like the students', and a resume continues it exactly.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchSizeOf, type SingleTeacherConfig } from '../../shared/config';
import { saveLayersModel } from '../models/modelFiles';
import { buildPreset } from '../models/presets';
import { readCheckpointState, removeCheckpoint, restoreCheckpoint, writeCheckpoint, type TrainPosition } from '../train/checkpoint';
import { makeOptimizer } from '../train/optimizer';
import { stepsPerEpoch, train } from '../train/trainer';
import { threadsForModel } from '../train/threads';
import type { TeacherContext } from './index';

const sha256 = (...parts: string[]) => parts.reduce((h, p) => h.update(p).update('\0'), crypto.createHash('sha256')).digest('hex');

/**
 * Train (or find in the cache) the preset teacher; returns its model.json. Its training is checkpointed in the run
 * directory each epoch and on a stop, like the students', and a resume continues it exactly; once trained it moves
 * to the cache, where later runs find it.
 */
export async function presetTeacherFile(ctx: TeacherContext): Promise<string> {
  const { config, dataset } = ctx;
  const teacher = config.teacher as Extract<SingleTeacherConfig, { preset: string }>;
  const offset = ctx.presetSeedOffset ?? 0;
  // Not keyed by the thread count, which changes the trained weights by rounding only: a sweep prepares its teacher
  // once, in a process that may have more threads than each trial's.
  const key = sha256(
    JSON.stringify(teacher),
    String(config.seed),
    dataset.fingerprint.train,
    String(ctx.trainRows.count),
    ...(offset ? [`seed+${offset}`] : []),
  );
  const dir = path.join(config.output.cacheDir, 'teachers', key.slice(0, 24));
  const file = path.join(dir, 'model.json');
  if (fs.existsSync(file)) {
    ctx.log(`Using the cached ${teacher.preset} teacher from ${dir}`);
    // Another teacher's checkpoint (the next member of an ensemble, mid-training) is left alone.
    if (ctx.runDir && readCheckpointState(ctx.runDir, 'teacher')?.key === key) removeCheckpoint(ctx.runDir, 'teacher');
    return file;
  }
  const settings = teacher.train;
  const optimizer = makeOptimizer(settings);
  const runDir = ctx.runDir;
  const saved = runDir ? readCheckpointState(runDir, 'teacher') : undefined;
  const resume = runDir && saved && saved.key === key && !saved.done ? await restoreCheckpoint(runDir, 'teacher', optimizer) : undefined;
  const model = resume?.model ?? buildPreset(teacher, dataset.inputShape, dataset.numClasses, config.seed + 1 + offset, 'teacher');
  const start = resume?.state.position;
  const totalSteps = stepsPerEpoch(ctx.trainRows.count, batchSizeOf(settings)) * settings.epochs;
  ctx.phase(
    'teacher-training',
    start
      ? `Continuing the ${teacher.preset} teacher from its checkpoint (epoch ${start.epoch + 1} of ${settings.epochs}, step ${start.stepInEpoch})…`
      : `Training the ${teacher.preset} teacher for ${settings.epochs} epochs (once; later runs reuse it)…`,
  );
  let epochStart = Date.now();
  const modelThreads = threadsForModel(ctx.threads, model, `${teacher.preset} teacher`);
  if (modelThreads.note) ctx.log(modelThreads.note);
  try {
    await ctx.teacherTrainingStarts(model, totalSteps, start, settings);
    const outcome = await train({
      role: 'teacher',
      model,
      optimizer,
      data: ctx.trainRows,
      settings,
      seed: config.seed + 1 + offset,
      start,
      threads: modelThreads.threads,
      onSteps: (records, progress) => ctx.teacherSteps(records, progress),
      onEpochEnd: async (epoch, stats, position) => {
        await ctx.teacherEpoch(model, epoch, stats, (Date.now() - epochStart) / 1000, settings.epochs);
        epochStart = Date.now();
        ctx.log(`Teacher epoch ${epoch}/${settings.epochs}: loss ${stats.loss.toFixed(4)}, train accuracy ${(stats.accuracy * 100).toFixed(2)}%`);
        if (runDir) await writeCheckpoint(runDir, model, optimizer, { student: 'teacher', position, done: false, savedAt: new Date().toISOString(), key });
      },
      shouldStop: () => ctx.shouldStop(),
    });
    if (outcome.kind === 'stopped') {
      if (runDir)
        await writeCheckpoint(runDir, model, optimizer, {
          student: 'teacher',
          position: outcome.position,
          done: false,
          savedAt: new Date().toISOString(),
          key,
        });
      throw new TeacherTrainingStopped(outcome.position, settings.epochs, !!runDir);
    }
    await saveLayersModel(model, dir);
    if (runDir) removeCheckpoint(runDir, 'teacher');
    return file;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

export class TeacherTrainingStopped extends Error {
  /** The epoch (1-based) the stop caught the teacher in. */
  readonly epoch: number;
  constructor(
    position: TrainPosition,
    readonly totalEpochs: number,
    checkpointed = true,
  ) {
    const where = `the teacher (epoch ${position.epoch + 1} of ${totalEpochs}, step ${position.stepInEpoch})`;
    super(
      checkpointed
        ? `Stopped while training ${where}; its checkpoint is kept, and resume continues it.`
        : `Stopped while training ${where}; it was not cached.`,
    );
    this.epoch = position.epoch + 1;
  }
}
