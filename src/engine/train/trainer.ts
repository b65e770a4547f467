/**
 * The training loop, shared by the KD student, the scratch baseline and preset teachers. Small and explicit: one
 * `tf.tidy` per step, the teacher's logits come from memory (never a teacher forward pass), and per-step scalars
 * are read back in batches so a GPU backend is not forced to synchronise every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchSizeOf, type DistillConfig, type TrainSettingsConfig } from '../../shared/config';
import type { Progress } from '../../shared/protocol';
import type { StepRecord, StudentKind } from '../../shared/records';
import { createRng, shuffledIndices } from '../data';
import { kdStepStats, STAT, STAT_COUNT } from '../kd/stepStats';
import { scheduleAt } from '../kd/schedule';
import type { TrainPosition } from './checkpoint';

/** `compress`: the KD fine-tuning of a compression stage (its step records are not part of metrics.jsonl). */
export type TrainerRole = StudentKind | 'teacher' | 'compress';

export interface TrainingData {
  x: tf.Tensor;
  y: tf.Tensor1D;
  /** Teacher logits aligned with `x`; absent for CE-only training (a preset teacher). */
  teacherLogits?: tf.Tensor2D;
  count: number;
}

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
  start?: TrainPosition;
  /** Receives step records as they are read back (about every 100 ms). */
  onSteps(records: StepRecord[], progress: Progress): void;
  /** Called after each epoch's last step; its promise is awaited before the next epoch. */
  onEpochEnd(epoch: number, train: { loss: number; accuracy: number }, position: TrainPosition): Promise<void>;
  /** Polled between steps; true ends training at this step boundary. */
  shouldStop(): boolean;
  /**
   * Called after every optimizer step with the count of steps done, before the next batch: the one place where a
   * constraint is re-imposed on the weights (compression re-applies its pruning masks here).
   */
  afterStep?(step: number): void;
}

export type TrainOutcome = { kind: 'completed' } | { kind: 'stopped'; position: TrainPosition };

export class NonFiniteLossError extends Error {}

const FLUSH_MS = 100;
const MAX_PENDING_STEPS = 64;

export const stepsPerEpoch = (count: number, batchSize: number) => Math.ceil(count / batchSize);

/** Trainable variables of the model only: a teacher living in the same engine must never be updated. */
const trainableVariables = (model: tfl.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);

export async function train(job: TrainJob): Promise<TrainOutcome> {
  const { model, optimizer, data, settings, role } = job;
  const batchSize = batchSizeOf(settings);
  const perEpoch = stepsPerEpoch(data.count, batchSize);
  const totalSteps = perEpoch * settings.epochs;
  const vars = trainableVariables(model);
  const pos: TrainPosition = structuredClone(job.start) ?? { epoch: 0, stepInEpoch: 0, globalStep: 0, epochSums: { loss: 0, accuracy: 0, steps: 0 } };
  const startedAt = Date.now();
  const stepsAtStart = pos.globalStep;

  /** Per-step [loss, kd, kdUnscaled, ce, accuracy] tensors not yet read back, with their step metadata. */
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
    stacked.dispose();
    batch.forEach((p) => p.stats.dispose());
    const records: StepRecord[] = batch.map((p, i) => {
      const [loss, kd, kdUnscaled, ce, accuracy] = values.subarray(i * STAT_COUNT, (i + 1) * STAT_COUNT);
      if (!Number.isFinite(loss)) {
        throw new NonFiniteLossError(
          `The loss became ${loss} at epoch ${p.meta.epoch}, step ${p.meta.step} (kd=${kd}, ce=${ce}, T=${p.meta.temperature}, α=${p.meta.alpha}). ` +
            `Lower training.learningRate (now ${settings.learningRate}), or check the data and teacher logits for extreme values.`,
        );
      }
      pos.epochSums.loss += loss;
      pos.epochSums.accuracy += accuracy;
      return { ...p.meta, loss, kd, kdUnscaled, ce, accuracy };
    });
    const last = records[records.length - 1];
    job.onSteps(records, { ...progress(), loss: last.loss });
    lastFlush = Date.now();
    // Let IPC messages (stop) and timers run between steps: wasm and cpu kernels never yield by themselves.
    await new Promise((resolve) => setImmediate(resolve));
  };

  for (; pos.epoch < settings.epochs; pos.epoch++) {
    const order = shuffledIndices(data.count, createRng(job.seed * 100003 + pos.epoch));
    for (; pos.stepInEpoch < perEpoch; pos.stepInEpoch++) {
      if (job.shouldStop()) {
        await flush();
        return { kind: 'stopped', position: structuredClone(pos) };
      }
      const from = pos.stepInEpoch * batchSize;
      const batchIdx = order.subarray(from, Math.min(from + batchSize, data.count));
      const sched = job.distillation ? scheduleAt(job.distillation, { epoch: pos.epoch, step: pos.globalStep, totalSteps, stepsPerEpoch: perEpoch }) : { temperature: 1, alpha: 0 };
      const alpha = job.alphaOverride ?? (data.teacherLogits ? sched.alpha : 0);
      const temperature = sched.temperature;

      const stats = tf.tidy(() => {
        const idx = tf.tensor1d(batchIdx, 'int32');
        const xb = tf.gather(data.x, idx);
        const yb = tf.gather(data.y, idx) as tf.Tensor1D;
        const tb = data.teacherLogits ? (tf.gather(data.teacherLogits, idx) as tf.Tensor2D) : undefined;
        let stepStats: tf.Tensor1D | undefined;
        optimizer.minimize(
          () => {
            const logits = model.apply(xb, { training: true }) as tf.Tensor2D;
            const divergence = job.distillation?.divergence ?? 'forward-kl';
            // Kept to outlive minimize()'s own tidy; the loss it minimizes is the vector's first entry.
            stepStats = tf.keep(kdStepStats(logits, tb, yb, { temperature, alpha, divergence }));
            return tf.reshape(tf.slice(stepStats, [STAT.loss], [1]), []) as tf.Scalar;
          },
          false,
          vars,
        );
        return stepStats!;
      });
      pending.push({
        stats,
        meta: { kind: 'step', student: role === 'baseline' ? 'baseline' : 'kd', epoch: pos.epoch + 1, step: pos.stepInEpoch + 1, temperature, alpha, lr: settings.learningRate },
      });
      pos.globalStep++;
      pos.epochSums.steps++;
      job.afterStep?.(pos.globalStep);
      if (pending.length >= MAX_PENDING_STEPS || Date.now() - lastFlush >= FLUSH_MS) await flush();
    }
    await flush();
    const n = Math.max(1, pos.epochSums.steps);
    const trainStats = { loss: pos.epochSums.loss / n, accuracy: pos.epochSums.accuracy / n };
    const endOfEpoch: TrainPosition = { epoch: pos.epoch + 1, stepInEpoch: 0, globalStep: pos.globalStep, epochSums: { loss: 0, accuracy: 0, steps: 0 } };
    await job.onEpochEnd(pos.epoch + 1, trainStats, endOfEpoch);
    pos.stepInEpoch = 0;
    pos.epochSums = { loss: 0, accuracy: 0, steps: 0 };
  }
  return { kind: 'completed' };
}
