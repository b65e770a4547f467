/**
 * The training loop, shared by the KD student, the scratch baseline and preset teachers. Small and explicit: one
 * `tf.tidy` per step, the teacher's logits come from memory (never a teacher forward pass), and per-step scalars
 * are read back in batches so a GPU backend is not forced to synchronise every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchSizeOf, type DistillConfig, type TrainSettingsConfig } from '../../shared/config';
import type { Progress } from '../../shared/protocol';
import type { StepRecord, TrainedRole } from '../../shared/records';
import { createRng, shuffledIndices } from '../data';
import { DKD_STAT_COUNT, isFusedDivergence, kdStepStats, STAT, STAT_COUNT } from '../kd/stepStats';
import { labeledFirst, transferStepStats } from '../kd/transferSet';
import { scheduleAt } from '../kd/schedule';
import type { TrainPosition } from './checkpoint';
import { DataParallel } from './dataParallel';
import type { FeatureDistiller } from './features';
import type { StepSettings, TrainingData } from './stepLoss';

export type { TrainingData };
/** `compress`: the KD fine-tuning of a compression stage (its step records are not part of metrics.jsonl). */
export type TrainerRole = TrainedRole | 'compress';

export interface TrainJob {
  role: TrainerRole;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  data: TrainingData;
  settings: TrainSettingsConfig;
  /** KD loss settings; `alphaOverride: 0` trains the scratch baseline with the same code path. */
  distillation?: DistillConfig['distillation'];
  alphaOverride?: number;
  seed: number;
  /** Threads to train on (engine.threads, resolved): more than 1 splits every batch over replicas (dataParallel.ts). */
  threads?: number;
  /**
   * Optimizer steps per epoch, when more than one pass over the rows takes: the rows are cycled (fresh shuffles,
   * full batches). The scratch baseline of a transfer-set run gets the KD student's step count this way.
   */
  stepsPerEpoch?: number;
  start?: TrainPosition;
  /**
   * Feature (hint) distillation (`distillation.features`): the student's and teacher's named layers, compared per
   * batch; its adapters train with the model. Trains on one thread.
   */
  features?: FeatureDistiller;
  /** Receives step records as they are read back (about every 100 ms). */
  onSteps(records: StepRecord[], progress: Progress): void;
  /** Called after each epoch's last step; its promise is awaited before the next epoch. */
  onEpochEnd(epoch: number, train: EpochTrainStats, position: TrainPosition): Promise<void>;
  /** Polled between steps; true ends training at this step boundary. */
  shouldStop(): boolean;
  /**
   * Called after every optimizer step with the count of steps done, before the next batch: the one place where a
   * constraint is re-imposed on the weights (compression re-applies its pruning masks here).
   */
  afterStep?(step: number): void;
}

/** An epoch's train figures: means over its steps (accuracy over its labelled rows), and the rows it saw. */
export interface EpochTrainStats {
  loss: number;
  accuracy: number;
  /** Row visits of the epoch, with and without a label (a cycled row counts each time). */
  rows: { labeled: number; unlabeled: number };
  /** Mean over the steps of the feature term (distillation.features only). */
  feature?: number;
}

export type TrainOutcome = { kind: 'completed' } | { kind: 'stopped'; position: TrainPosition };

export class NonFiniteLossError extends Error {}

const FLUSH_MS = 100;
const MAX_PENDING_STEPS = 64;

export const stepsPerEpoch = (count: number, batchSize: number) => Math.ceil(count / batchSize);

/**
 * The epoch's row order: a seeded shuffle, and when `rows` exceeds `count`, further shuffles after it (cycling).
 * The first shuffle is the one a single pass uses, so cycling changes nothing for runs that do not need it.
 */
export function epochOrder(count: number, rows: number, seed: number, epoch: number): Int32Array {
  const base = seed * 100003 + epoch;
  const first = shuffledIndices(count, createRng(base));
  if (rows <= count) return first;
  const order = new Int32Array(rows);
  order.set(first);
  for (let k = 1, at = count; at < rows; k++, at += count) {
    const next = shuffledIndices(count, createRng((base ^ Math.imul(k, 0x9e3779b1)) >>> 0));
    order.set(next.subarray(0, Math.min(count, rows - at)), at);
  }
  return order;
}

/** Trainable variables of the model only: a teacher living in the same engine must never be updated. */
const trainableVariables = (model: tfl.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);

/**
 * Why a run must train on one thread whatever engine.threads says, or undefined: the data-parallel step does not
 * carry a transfer set's unlabelled-row mask yet, and its threads run the fused step kernels only, so a composed-only
 * divergence (DKD, with its longer stats vector) trains here.
 */
export function singleThreadReason(config: Pick<DistillConfig, 'data' | 'distillation'>): string | undefined {
  const data = config.data as { unlabeled?: unknown; labeled?: unknown };
  const transfer = !!data.unlabeled || !!data.labeled;
  const divergence = config.distillation?.divergence ?? 'forward-kl';
  if (config.distillation?.features?.length)
    return 'feature distillation (distillation.features) trains on one thread for now: the threads do not run the teacher nor the adapters';
  if (transfer || divergence === 'dkd') return 'transfer sets / DKD train on one thread for now';
  // `never` today (dkd is the one composed-only divergence, answered above), hence String(): the line is for the next.
  return isFusedDivergence(divergence)
    ? undefined
    : `the ${String(divergence)} divergence has no fused kernels, which training threads need: it trains on one thread`;
}

export async function train(job: TrainJob): Promise<TrainOutcome> {
  const { model, data } = job;
  const threads = job.threads ?? 1;
  // The threads compute [loss, kd, kdUnscaled, ce, accuracy] over rows that all have labels, shards weighted by rows:
  // a transfer set's masked CE is not carried through them yet, and they run the fused kernels only, so not a
  // composed-only divergence such as DKD; nor do they run a teacher's features or the adapters (the engine resolves
  // such runs to one thread and says so; this guard keeps any other caller correct).
  if (threads <= 1 || data.unlabeled || job.features || !isFusedDivergence(job.distillation?.divergence ?? 'forward-kl')) return trainSteps(job);
  const parallel = await DataParallel.start({
    model,
    vars: trainableVariables(model),
    threads,
    maxRows: Math.ceil(batchSizeOf(job.settings) / threads),
    inputShape: data.x.shape.slice(1),
    classes: model.outputs[0].shape[model.outputs[0].shape.length - 1] as number,
  });
  try {
    return await trainSteps(job, parallel);
  } finally {
    await parallel.dispose();
  }
}

/** The loop; with `parallel`, each step is split over its threads, else it runs here. */
async function trainSteps(job: TrainJob, parallel?: DataParallel): Promise<TrainOutcome> {
  const { model, optimizer, data, settings, role } = job;
  const batchSize = batchSizeOf(settings);
  const perEpoch = Math.max(stepsPerEpoch(data.count, batchSize), job.stepsPerEpoch ?? 0);
  const rowsPerEpoch = perEpoch > stepsPerEpoch(data.count, batchSize) ? perEpoch * batchSize : data.count;
  const mask = data.unlabeled;
  if (mask && !data.teacherLogits) throw new Error('Internal error: unlabelled rows need teacher logits.');
  const divergence = job.distillation?.divergence ?? 'forward-kl';
  const fused = isFusedDivergence(divergence) ? divergence : undefined;
  if (parallel && (mask || !fused || job.features)) throw new Error('Internal error: transfer sets, DKD and features train on one thread.');
  const totalSteps = perEpoch * settings.epochs;
  const features = job.features;
  const vars = [...trainableVariables(model), ...(features?.variables ?? [])];
  // The stats vector: the divergence's entries, then (with features) the feature term and each pair's loss.
  const baseWidth = divergence === 'dkd' ? DKD_STAT_COUNT : STAT_COUNT;
  const pos: TrainPosition = structuredClone(job.start) ?? { epoch: 0, stepInEpoch: 0, globalStep: 0, epochSums: { loss: 0, accuracy: 0, steps: 0 } };
  const startedAt = Date.now();
  const stepsAtStart = pos.globalStep;

  /** Per-step [loss, kd, kdUnscaled, ce, accuracy(, tckd, nckd)] tensors not yet read back, with their step metadata. */
  let pending: { stats: tf.Tensor1D; meta: Omit<StepRecord, 'loss' | 'kd' | 'kdUnscaled' | 'ce' | 'accuracy'> }[] = [];
  let lastFlush = Date.now();

  const progress = (): Progress => {
    const done = pos.globalStep - stepsAtStart;
    const perStep = done > 0 ? (Date.now() - startedAt) / 1000 / done : undefined;
    return {
      student: role,
      epoch: pos.epoch + 1,
      totalEpochs: settings.epochs,
      step: pos.stepInEpoch,
      stepsPerEpoch: perEpoch,
      etaSeconds: perStep !== undefined ? perStep * (totalSteps - pos.globalStep) : undefined,
    };
  };

  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const stacked = tf.stack(batch.map((p) => p.stats));
    const values = (await stacked.data()) as Float32Array;
    // A run's steps all have one width: STAT_COUNT, or DKD_STAT_COUNT with TCKD and NCKD; with features, 1 + pairs more.
    const width = stacked.shape[1]!;
    const dkdStats = baseWidth === DKD_STAT_COUNT;
    stacked.dispose();
    batch.forEach((p) => p.stats.dispose());
    const records: StepRecord[] = batch.map((p, i) => {
      const row = values.subarray(i * width, (i + 1) * width);
      const [loss, kd, kdUnscaled, ce, accuracy] = row;
      const dkd = {
        ...(dkdStats ? { tckd: row[STAT.tckd], nckd: row[STAT.nckd] } : {}),
        ...(width > baseWidth ? { feature: row[baseWidth], featureParts: Array.from(row.subarray(baseWidth + 1)) } : {}),
      };
      if (width > baseWidth) pos.epochSums.feature = (pos.epochSums.feature ?? 0) + row[baseWidth];
      if (!Number.isFinite(loss)) {
        throw new NonFiniteLossError(
          `The loss became ${loss} at epoch ${p.meta.epoch}, step ${p.meta.step} (kd=${kd}, ce=${ce}${width > baseWidth ? `, feature=${row[baseWidth]}` : ''}, T=${p.meta.temperature}, α=${p.meta.alpha}). ` +
            `Lower training.learningRate (now ${settings.learningRate}), or check the data and teacher logits for extreme values.`,
        );
      }
      pos.epochSums.loss += loss;
      if (p.meta.labeled === undefined) {
        pos.epochSums.accuracy += accuracy;
        return { ...p.meta, loss, kd, kdUnscaled, ce, accuracy, ...dkd };
      }
      // A transfer-set batch: its accuracy is over its labelled rows, so the epoch's is weighted by them.
      pos.epochSums.accuracy += accuracy * p.meta.labeled;
      pos.epochSums.labeled = (pos.epochSums.labeled ?? 0) + p.meta.labeled;
      return { ...p.meta, loss, kd, kdUnscaled, ce, ...(p.meta.labeled > 0 ? { accuracy } : {}), ...dkd };
    });
    const last = records[records.length - 1];
    job.onSteps(records, { ...progress(), loss: last.loss });
    lastFlush = Date.now();
    // Let IPC messages (stop) and timers run between steps: wasm and cpu kernels never yield by themselves.
    await new Promise((resolve) => setImmediate(resolve));
  };

  for (; pos.epoch < settings.epochs; pos.epoch++) {
    const order = epochOrder(data.count, rowsPerEpoch, job.seed, pos.epoch);
    for (; pos.stepInEpoch < perEpoch; pos.stepInEpoch++) {
      if (job.shouldStop()) {
        await flush();
        return { kind: 'stopped', position: structuredClone(pos) };
      }
      const from = pos.stepInEpoch * batchSize;
      const batchIdx = order.subarray(from, Math.min(from + batchSize, rowsPerEpoch));
      const sched = job.distillation
        ? scheduleAt(job.distillation, { epoch: pos.epoch, step: pos.globalStep, totalSteps, stepsPerEpoch: perEpoch })
        : { temperature: 1, alpha: 0 };
      const alpha = job.alphaOverride ?? (data.teacherLogits ? sched.alpha : 0);
      const temperature = sched.temperature;

      const split = mask ? labeledFirst(batchIdx, mask) : undefined;
      // The teacher's features for this batch's rows, in the step's row order (computed outside the gradient).
      let targets: tf.Tensor[] | undefined;
      if (features) {
        const rows = tf.tidy(() => tf.gather(data.x, tf.tensor1d(split ? split.order : batchIdx, 'int32')));
        try {
          targets = await features.targets(rows);
        } finally {
          rows.dispose();
        }
      }
      const stats = parallel
        ? await parallel.step(data, batchIdx, { temperature, alpha, divergence: fused! } satisfies StepSettings, optimizer)
        : tf.tidy(() => {
            const idx = tf.tensor1d(split ? split.order : batchIdx, 'int32');
            const xb = tf.gather(data.x, idx);
            const yIdx = split ? (split.labeled > 0 ? tf.slice(idx, [0], [split.labeled]) : undefined) : idx;
            const yb = yIdx ? (tf.gather(data.y, yIdx) as tf.Tensor1D) : undefined;
            const tb = data.teacherLogits ? (tf.gather(data.teacherLogits, idx) as tf.Tensor2D) : undefined;
            let stepStats: tf.Tensor1D | undefined;
            optimizer.minimize(
              () => {
                // With features, one pass of the student gives its logits and its feature layers' outputs.
                const outs = features
                  ? (features.studentModel.apply(xb, { training: true }) as tf.Tensor[])
                  : [model.apply(xb, { training: true }) as tf.Tensor];
                const logits = outs[0] as tf.Tensor2D;
                const divergence = job.distillation?.divergence ?? 'forward-kl';
                const opts = { temperature, alpha, divergence, dkd: job.distillation?.dkd };
                let s = split ? transferStepStats(logits, tb!, yb, split.labeled, opts) : kdStepStats(logits, tb, yb!, opts);
                if (features) {
                  // loss += Σ wᵢ·featureᵢ; the vector gains that term and each pair's loss after the divergence's entries.
                  const parts = features.losses(outs.slice(1), targets!);
                  const term = tf.reshape(tf.sum(tf.mul(parts, tf.tensor1d(features.weights))), [1]);
                  s = tf.concat([tf.add(tf.slice(s, [0], [1]), term), tf.slice(s, [1], [s.shape[0] - 1]), term, parts]) as tf.Tensor1D;
                }
                // Kept to outlive minimize()'s own tidy; the loss it minimizes is the vector's first entry.
                stepStats = tf.keep(s);
                return tf.reshape(tf.slice(stepStats, [STAT.loss], [1]), []) as tf.Scalar;
              },
              false,
              vars,
            );
            return stepStats!;
          });
      if (targets) tf.dispose(targets);
      pending.push({
        stats,
        meta: {
          kind: 'step',
          student: role === 'compress' ? 'kd' : role,
          epoch: pos.epoch + 1,
          step: pos.stepInEpoch + 1,
          temperature,
          alpha,
          lr: settings.learningRate,
          ...(split ? { labeled: split.labeled } : {}),
        },
      });
      pos.globalStep++;
      pos.epochSums.steps++;
      job.afterStep?.(pos.globalStep);
      if (pending.length >= MAX_PENDING_STEPS || Date.now() - lastFlush >= FLUSH_MS) await flush();
    }
    await flush();
    const n = Math.max(1, pos.epochSums.steps);
    const rows = epochRows(order, mask);
    const accuracy = mask ? pos.epochSums.accuracy / Math.max(1, pos.epochSums.labeled ?? 0) : pos.epochSums.accuracy / n;
    const trainStats: EpochTrainStats = { loss: pos.epochSums.loss / n, accuracy, rows, ...(features ? { feature: (pos.epochSums.feature ?? 0) / n } : {}) };
    const endOfEpoch: TrainPosition = { epoch: pos.epoch + 1, stepInEpoch: 0, globalStep: pos.globalStep, epochSums: { loss: 0, accuracy: 0, steps: 0 } };
    await job.onEpochEnd(pos.epoch + 1, trainStats, endOfEpoch);
    pos.stepInEpoch = 0;
    pos.epochSums = { loss: 0, accuracy: 0, steps: 0 };
  }
  return { kind: 'completed' };
}

/** Row visits of an epoch's order, with and without a label. */
function epochRows(order: Int32Array, unlabeled: Uint8Array | undefined): EpochTrainStats['rows'] {
  if (!unlabeled) return { labeled: order.length, unlabeled: 0 };
  let without = 0;
  for (let i = 0; i < order.length; i++) without += unlabeled[order[i]];
  return { labeled: order.length - without, unlabeled: without };
}
