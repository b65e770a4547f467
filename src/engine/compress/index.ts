/**
 * The `compress` block, run on the KD student after distillation: pruning → low-rank → quantization, each stage
 * taking the previous stage's model and writing `compressed/<stage>/` (model.json, weights.bin, stage.json). A
 * stage is done when its stage.json exists; a fine-tuning stopped or crashed part-way resumes from its checkpoint
 * (`checkpoints/compress-<stage>/`). A stage that cannot apply writes a stage.json that says why and is skipped.
 * Evaluation (on the test split, from the models as loaded back from disk) is `compressionReports`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchSizeOf, type CompressConfig, type DistillConfig } from '../../shared/config';
import type { Progress } from '../../shared/protocol';
import type { CompressionEntry, CompressionResult, CompressionSkipped, CompressionStageInfo, CompressionStageName, ModelReport } from '../../shared/records';
import { RUN_FILES, readJson } from '../../shared/runDir';
import { scheduleAt } from '../kd/schedule';
import { loadStudentModel, saveLayersModel } from '../models/modelFiles';
import { readCheckpointState, restoreCheckpoint, writeCheckpoint, type CheckpointName } from '../train/checkpoint';
import { makeOptimizer } from '../train/optimizer';
import { stepsPerEpoch, train, type TrainingData } from '../train/trainer';
import { lowRankModel } from './lowRank';
import { agpFor, agpSparsity, layerSparsity, MagnitudePruner } from './prune';
import { writeQuantizedModel } from './quantize';
import { isKernelName } from './rewrite';

export const COMPRESSED_DIR = 'compressed';
const STAGE_FILE = 'stage.json';

export interface PlannedStage {
  stage: CompressionStageName;
  kind: CompressionStageInfo['kind'];
}

/** The stages a `compress` block asks for, in the order they run. */
export function plannedStages(c: CompressConfig | undefined): PlannedStage[] {
  if (!c) return [];
  const out: PlannedStage[] = [];
  if (c.prune) out.push({ stage: 'prune', kind: 'prune' });
  if (c.lowRank) out.push({ stage: 'low-rank', kind: 'low-rank' });
  for (const q of c.quantize ?? []) out.push({ stage: q, kind: 'quantize' });
  return out;
}

export const stageDir = (runDir: string, stage: CompressionStageName) => path.join(runDir, COMPRESSED_DIR, stage);
const readStage = (runDir: string, stage: CompressionStageName) =>
  readJson<CompressionStageInfo | CompressionSkipped>(path.join(stageDir(runDir, stage), STAGE_FILE));

export interface CompressContext {
  config: DistillConfig;
  runDir: string;
  train: TrainingData;
  log(message: string): void;
  phase(message: string): void;
  progress(progress: Progress): void;
  shouldStop(): boolean;
}

/** Runs the stages not yet done. 'stopped': a fine-tuning was stopped at a checkpoint. */
export async function runCompression(ctx: CompressContext): Promise<'completed' | 'stopped'> {
  const c = ctx.config.compress;
  let input: 'student' | CompressionStageName = 'student';
  for (const planned of plannedStages(c)) {
    let info = readStage(ctx.runDir, planned.stage);
    if (!info) {
      ctx.phase(`Compressing: ${planned.stage} (input: ${input === 'student' ? 'the KD student' : input})…`);
      const result = await runStage(ctx, planned, input);
      if (result === 'stopped') return 'stopped';
      info = result;
      writeStageFile(ctx.runDir, planned.stage, info);
    }
    if ('skipped' in info) ctx.log(`Compression stage ${planned.stage} skipped: ${info.skipped}`);
    else if (planned.kind !== 'quantize') input = planned.stage;
  }
  return 'completed';
}

function writeStageFile(runDir: string, stage: CompressionStageName, info: CompressionStageInfo | CompressionSkipped) {
  const dir = stageDir(runDir, stage);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${STAGE_FILE}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2));
  fs.renameSync(tmp, path.join(dir, STAGE_FILE));
}

const inputModelFile = (runDir: string, input: 'student' | CompressionStageName) =>
  input === 'student' ? path.join(runDir, RUN_FILES.student, 'model.json') : path.join(stageDir(runDir, input), 'model.json');

async function runStage(
  ctx: CompressContext,
  planned: PlannedStage,
  input: 'student' | CompressionStageName,
): Promise<CompressionStageInfo | CompressionSkipped | 'stopped'> {
  const c = ctx.config.compress!;
  const base = { stage: planned.stage, kind: planned.kind, input };
  const dir = stageDir(ctx.runDir, planned.stage);
  const rel = path.posix.join(COMPRESSED_DIR, planned.stage);
  if (planned.kind === 'quantize') {
    const model = await loadStudentModel(inputModelFile(ctx.runDir, input));
    try {
      const { storage, notes } = await writeQuantizedModel(model, dir, planned.stage as Exclude<CompressionStageName, 'prune' | 'low-rank'>);
      return { ...base, dir: rel, notes, storage };
    } finally {
      model.dispose();
    }
  }
  if (planned.kind === 'prune') return prune(ctx, c.prune!, base, dir, rel);
  return lowRank(ctx, c.lowRank!, base, dir, rel);
}

type Base = Pick<CompressionStageInfo, 'stage' | 'kind' | 'input'>;

async function prune(
  ctx: CompressContext,
  p: NonNullable<CompressConfig['prune']>,
  base: Base,
  dir: string,
  rel: string,
): Promise<CompressionStageInfo | CompressionSkipped | 'stopped'> {
  const settings = fineTuneSettings(ctx.config, p.epochs, p.learningRate);
  const totalSteps = stepsPerEpoch(ctx.train.count, batchSizeOf(settings)) * settings.epochs;
  const agp = agpFor(p.sparsity, totalSteps);
  const tuned = await fineTune(
    ctx,
    'compress-prune',
    settings,
    () => loadStudentModel(inputModelFile(ctx.runDir, base.input)),
    (model) => {
      const pruner = new MagnitudePruner(model, { scope: p.scope, sparsityAt: (step) => (p.schedule === 'agp' ? agpSparsity(step, agp) : p.sparsity) });
      if (pruner.prunable === 0) {
        pruner.dispose();
        return { skip: 'The model has no kernel (Dense or convolution) to prune.' };
      }
      return { hook: pruner };
    },
  );
  if (tuned === 'stopped' || 'skip' in tuned) return tuned === 'stopped' ? 'stopped' : { ...base, skipped: tuned.skip };
  try {
    const layers = tuned.model.trainableWeights.filter((w) => isKernelName(w.originalName)).map((w) => layerSparsity(w.originalName, w.read().dataSync()));
    const zeros = layers.reduce((s, l) => s + l.zeros, 0);
    const params = layers.reduce((s, l) => s + l.params, 0);
    await saveLayersModel(tuned.model, dir);
    const schedule =
      p.schedule === 'agp' ? `AGP over ${agp.rampSteps} of ${totalSteps} steps, masks updated every ${agp.frequency}` : 'one-shot, then fine-tuned';
    return {
      ...base,
      dir: rel,
      notes: [`Magnitude pruning (${p.scope}), ${schedule}, KD loss on.`],
      sparsity: { target: p.sparsity, overall: params ? zeros / params : 0, scope: p.scope, layers },
      fineTune: { epochs: settings.epochs, steps: totalSteps, learningRate: settings.learningRate },
    };
  } finally {
    tuned.model.dispose();
  }
}

async function lowRank(
  ctx: CompressContext,
  l: NonNullable<CompressConfig['lowRank']>,
  base: Base,
  dir: string,
  rel: string,
): Promise<CompressionStageInfo | CompressionSkipped | 'stopped'> {
  const settings = fineTuneSettings(ctx.config, Math.max(1, l.epochs), l.learningRate);
  let ranks: CompressionStageInfo['ranks'] = readJson<CompressionStageInfo['ranks']>(path.join(ctx.runDir, 'checkpoints', 'compress-low-rank.ranks.json'));
  let skip: string | undefined;
  const factorized = async () => {
    const input = await loadStudentModel(inputModelFile(ctx.runDir, base.input));
    try {
      const r = await lowRankModel(input, { energy: l.energy });
      ranks = r.ranks;
      if (!r.model) {
        skip = r.reason;
        return undefined;
      }
      fs.mkdirSync(path.join(ctx.runDir, 'checkpoints'), { recursive: true });
      fs.writeFileSync(path.join(ctx.runDir, 'checkpoints', 'compress-low-rank.ranks.json'), JSON.stringify(ranks));
      return r.model;
    } finally {
      input.dispose();
    }
  };
  if (l.epochs === 0) {
    const model = await factorized();
    if (!model) return { ...base, skipped: skip! };
    try {
      await saveLayersModel(model, dir);
    } finally {
      model.dispose();
    }
    return { ...base, dir: rel, notes: [`Truncated SVD keeping ${l.energy} of the energy; no fine-tuning.`], ranks };
  }
  const tuned = await fineTune(ctx, 'compress-low-rank', settings, factorized, () => ({}));
  if (tuned === 'stopped') return 'stopped';
  if ('skip' in tuned || !tuned.model) return { ...base, skipped: skip ?? 'Nothing to factorize.' };
  try {
    await saveLayersModel(tuned.model, dir);
  } finally {
    tuned.model.dispose();
  }
  const steps = stepsPerEpoch(ctx.train.count, batchSizeOf(settings)) * settings.epochs;
  return {
    ...base,
    dir: rel,
    notes: [`Truncated SVD keeping ${l.energy} of the energy, then ${settings.epochs} epoch(s) of KD fine-tuning.`],
    ranks,
    fineTune: { epochs: settings.epochs, steps, learningRate: settings.learningRate },
  };
}

function fineTuneSettings(config: DistillConfig, epochs: number, learningRate: number | undefined) {
  return { ...config.training, epochs, learningRate: learningRate ?? config.training.learningRate };
}

/** The KD loss of the fine-tuning: the distillation's temperature and α as they were at its last step. */
function finalDistillation(config: DistillConfig, count: number): DistillConfig['distillation'] {
  const perEpoch = stepsPerEpoch(count, batchSizeOf(config.training));
  const totalSteps = perEpoch * config.training.epochs;
  const last = scheduleAt(config.distillation, { epoch: config.training.epochs - 1, step: Math.max(0, totalSteps - 1), totalSteps, stepsPerEpoch: perEpoch });
  return { ...config.distillation, ...last, schedule: { type: 'constant' } };
}

interface Hook {
  afterStep(step: number): void;
  dispose(): void;
}

/**
 * KD fine-tuning of a stage's model, checkpointed each epoch under `checkpoints/<name>/`: a resumed run continues
 * from there instead of rebuilding the model. `attach` may install the after-step hook, or ask to skip the stage.
 */
async function fineTune(
  ctx: CompressContext,
  name: CheckpointName,
  settings: ReturnType<typeof fineTuneSettings>,
  build: () => Promise<tfl.LayersModel | undefined>,
  attach: (model: tfl.LayersModel) => { hook?: Hook; skip?: string },
): Promise<{ model: tfl.LayersModel } | { skip: string; model?: undefined } | 'stopped'> {
  const optimizer = makeOptimizer(settings);
  const checkpoint = readCheckpointState(ctx.runDir, name);
  let model: tfl.LayersModel | undefined;
  let hook: Hook | undefined;
  try {
    const restored = checkpoint ? await restoreCheckpoint(ctx.runDir, name, optimizer) : undefined;
    model = restored?.model ?? (await build());
    if (!model) return { skip: 'Nothing to fine-tune.' };
    const attached = attach(model);
    if (attached.skip) {
      model.dispose();
      return { skip: attached.skip };
    }
    hook = attached.hook;
    const start = restored?.state.position;
    if (start) ctx.log(`Resuming the ${name} fine-tuning at epoch ${start.epoch + 1}, step ${start.stepInEpoch}.`);
    hook?.afterStep(start?.globalStep ?? 0);
    const m = model;
    const outcome = await train({
      role: 'compress',
      model: m,
      optimizer,
      data: ctx.train,
      settings,
      distillation: finalDistillation(ctx.config, ctx.train.count),
      seed: ctx.config.seed + 1,
      start,
      afterStep: hook ? (step) => hook!.afterStep(step) : undefined,
      onSteps: (_records, progress) => ctx.progress(progress),
      onEpochEnd: async (epoch, stats, position) => {
        ctx.log(`[${name}] fine-tune epoch ${epoch}/${settings.epochs}: loss ${stats.loss.toFixed(4)}, train accuracy ${(stats.accuracy * 100).toFixed(2)}%`);
        await writeCheckpoint(ctx.runDir, m, optimizer, { student: name, position, done: false, savedAt: new Date().toISOString() });
      },
      shouldStop: () => ctx.shouldStop(),
    });
    if (outcome.kind === 'stopped') {
      await writeCheckpoint(ctx.runDir, m, optimizer, { student: name, position: outcome.position, done: false, savedAt: new Date().toISOString() });
      m.dispose();
      return 'stopped';
    }
    const done = model;
    model = undefined;
    return { model: done };
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    hook?.dispose();
    optimizer.dispose();
  }
}

// ---------------------------------------------------------------- evaluation

/** Bytes of a model folder's files (model.json and shards; not stage.json), and the same gzipped file by file. */
export function folderBytes(dir: string): { diskBytes: number; gzipBytes: number; shardBytes: number } {
  let diskBytes = 0;
  let gzipBytes = 0;
  let shardBytes = 0;
  for (const f of fs.readdirSync(dir)) {
    if (f === STAGE_FILE) continue;
    const data = fs.readFileSync(path.join(dir, f));
    diskBytes += data.length;
    gzipBytes += zlib.gzipSync(data, { level: 9 }).length;
    if (f !== 'model.json') shardBytes += data.length;
  }
  return { diskBytes, gzipBytes, shardBytes };
}

/** Weights of a loaded model that are not exactly zero. */
export function nonZeroParams(model: tfl.LayersModel): number {
  let n = 0;
  for (const w of model.weights) {
    const v = w.read().dataSync();
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) n++;
  }
  return n;
}

/**
 * The report rows of the stages, each model loaded back from disk through tfjs' loader and evaluated by
 * `evaluate` (the same report card as the students).
 */
export async function compressionReports(
  runDir: string,
  config: DistillConfig,
  evaluate: (model: tfl.LayersModel, sizeBytes: number) => Promise<ModelReport>,
  refs: { student: ModelReport; teacherBytes?: number },
): Promise<CompressionEntry[]> {
  const out: CompressionEntry[] = [];
  for (const planned of plannedStages(config.compress)) {
    const info = readStage(runDir, planned.stage);
    if (!info) continue;
    if ('skipped' in info) {
      out.push(info);
      continue;
    }
    const dir = path.join(runDir, info.dir);
    const bytes = folderBytes(dir);
    const model = await loadStudentModel(path.join(dir, 'model.json'));
    try {
      const report = await evaluate(model, bytes.shardBytes);
      const result: CompressionResult = {
        ...info,
        ...report,
        diskBytes: bytes.diskBytes,
        gzipBytes: bytes.gzipBytes,
        nonZeroParams: nonZeroParams(model),
        sizeRatioToTeacher: refs.teacherBytes ? refs.teacherBytes / bytes.shardBytes : undefined,
        accuracyChangePts: 100 * (report.accuracy - refs.student.accuracy),
      };
      out.push(result);
    } finally {
      model.dispose();
    }
  }
  return out;
}
