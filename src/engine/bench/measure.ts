/**
 * Steady-state throughput of what a distillation run spends its time in, on the active tfjs backend: the engine's
 * own KD training loop (`train`, exactly as the engine calls it), the same student under plain tfjs-layers `fit`
 * with cross-entropy only (the yardstick for KD overhead), and teacher inference through `predictLogits`.
 *
 * Data is random and in memory: on CPU backends every kernel is dense with no data-dependent branches, so values do
 * not change speed, and the epoch case (see epoch.ts) covers real data end to end. Each measurement runs one
 * warm-up step first (weights and optimizer slots get allocated, wasm code gets compiled), then steps until the
 * time budget is spent and at least `minSteps` steps are done.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillConfig } from '../../shared/config';
import { predictLogits } from '../models/modelFiles';
import { buildPreset, type PresetSpec } from '../models/presets';
import { train, type TrainJob } from '../train/trainer';
import { makeOptimizer } from '../train/optimizer';

export interface Budget {
  seconds: number;
  minSteps: number;
}

export interface Throughput {
  samples: number;
  seconds: number;
  cpuSeconds: number;
  /** Tensors alive after the measured part minus before it (absent where tfjs-layers owns the bookkeeping). */
  tensorDelta?: number;
  /** Kernels per training step, where counted. */
  kernelsPerStep?: number;
}

/** Fashion-MNIST-shaped samples: what the reference student and the PyTorch peer use. */
export const INPUT_SHAPE = [28, 28, 1];
export const NUM_CLASSES = 10;

/** Rows of synthetic training data, in batches: small enough to stay cheap, large enough to shuffle across epochs. */
const BATCHES_OF_DATA = 8;
const SEED = 1;

/** The KD settings of the measurements and the PyTorch peer: T = 4, α = 0.7, forward KL. */
const KD_SETTINGS: DistillConfig['distillation'] = { temperature: 4, alpha: 0.7, divergence: 'forward-kl', schedule: { type: 'constant' } };

function stopwatch(): () => { seconds: number; cpuSeconds: number } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

function syntheticData(rows: number) {
  return {
    x: tf.randomUniform([rows, ...INPUT_SHAPE], 0, 1, 'float32', SEED),
    y: tf.randomUniform([rows], 0, NUM_CLASSES, 'int32', SEED + 1) as tf.Tensor1D,
    teacherLogits: tf.randomNormal([rows, NUM_CLASSES], 0, 3, 'float32', SEED + 2) as tf.Tensor2D,
  };
}

/**
 * KD training of `spec` through the engine's trainer: the gather, the KD loss, Adam, the batched stat read-back, and
 * with `threads` > 1 the training threads (started before the clock, as a run starts them once per student).
 */
export async function measureKdTrain(spec: PresetSpec, batch: number, budget: Budget, threads = 1): Promise<Throughput> {
  return withKdTrainer(spec, batch, async (run) => {
    // A warm-up run of one step allocates Adam's slots and compiles the wasm code, outside the tensor count.
    let warm = 0;
    await run(
      () => warm++ >= 1,
      () => undefined,
      threads,
    );
    const tensorsBefore = tf.memory().numTensors;
    let elapsed: (() => { seconds: number; cpuSeconds: number }) | undefined;
    let time: { seconds: number; cpuSeconds: number } | undefined;
    let measured = 0;
    // Polled before each step, once the previous one has finished: the poll after the first step starts the clock
    // (the training threads are up by then), and each later poll counts one measured step.
    let polls = 0;
    await run(
      () => {
        if (polls++ === 1) elapsed = stopwatch();
        else if (elapsed) measured++;
        if (!elapsed || measured < budget.minSteps || elapsed().seconds < budget.seconds) return false;
        time = elapsed();
        return true;
      },
      () => undefined,
      threads,
    );
    return { samples: measured * batch, ...time!, tensorDelta: tf.memory().numTensors - tensorsBefore };
  });
}

/** Kernels one KD training step runs once warmed up: on a GPU backend, its dispatches. */
export async function countKdStepKernels(spec: PresetSpec, batch: number): Promise<number> {
  return withKdTrainer(spec, batch, async (run) => {
    let started = 0;
    await run(
      () => started++ >= 1,
      () => 0,
    );
    const steps = 2;
    started = 0;
    const profile = await tf.profile(() =>
      run(
        () => started++ >= steps,
        () => 0,
      ).then(() => []),
    );
    return Math.round(profile.kernels.length / steps);
  });
}

type TrainerRun = (shouldStop: () => boolean, onSteps: (count: number) => void, threads?: number) => Promise<unknown>;

/** A student, its optimizer and synthetic data for `use`, which runs the engine's trainer on them; all disposed after. */
async function withKdTrainer<T>(spec: PresetSpec, batch: number, use: (run: TrainerRun) => Promise<T>): Promise<T> {
  const rows = batch * BATCHES_OF_DATA;
  const data = syntheticData(rows);
  const model = buildPreset(spec, INPUT_SHAPE, NUM_CLASSES, SEED, 'student');
  const optimizer = makeOptimizer({ optimizer: 'adam', learningRate: 1e-3 });
  const run: TrainerRun = (shouldStop, onSteps, threads = 1) => {
    const job: TrainJob = {
      role: 'kd',
      model,
      optimizer,
      data: { ...data, count: rows },
      // Epochs are a ceiling only: the budget ends training through shouldStop.
      settings: { epochs: 10000, batchSize: batch, optimizer: 'adam', learningRate: 1e-3 },
      distillation: KD_SETTINGS,
      seed: SEED,
      threads,
      onSteps: (records) => onSteps(records.length),
      onEpochEnd: async () => {},
      shouldStop,
    };
    return train(job);
  };
  try {
    return await use(run);
  } finally {
    tf.dispose(data);
    optimizer.dispose();
    model.dispose();
  }
}

/** CE-only training of `spec` the plain tfjs-layers way: compile with Adam and softmax cross-entropy, then `fit`. */
export async function measureCeFit(spec: PresetSpec, batch: number, budget: Budget): Promise<Throughput> {
  const rows = batch * BATCHES_OF_DATA;
  const labelTensor = tf.randomUniform([rows], 0, NUM_CLASSES, 'int32', SEED + 1);
  const labels = (await labelTensor.data()) as Int32Array;
  labelTensor.dispose();
  // One-hot built here: the wasm OneHot kernel ignores a float32 dtype (see kd/losses.ts).
  const oneHot = new Float32Array(rows * NUM_CLASSES);
  labels.forEach((label, i) => (oneHot[i * NUM_CLASSES + label] = 1));
  const x = tf.randomUniform([rows, ...INPUT_SHAPE], 0, 1, 'float32', SEED);
  const y = tf.tensor2d(oneHot, [rows, NUM_CLASSES]);
  const model: tfl.LayersModel = buildPreset(spec, INPUT_SHAPE, NUM_CLASSES, SEED, 'student');
  model.compile({ optimizer: 'adam', loss: (yTrue: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits) });
  const firstBatch = { x: tf.slice(x, 0, batch), y: tf.slice(y, 0, batch) };
  try {
    await model.fit(firstBatch.x, firstBatch.y, { epochs: 1, batchSize: batch, verbose: 0 });
    let batches = 0;
    const elapsed = stopwatch();
    await model.fit(x, y, {
      epochs: 10000,
      batchSize: batch,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onBatchEnd: async () => {
          batches++;
          if (batches >= budget.minSteps && elapsed().seconds >= budget.seconds) model.stopTraining = true;
        },
      },
    });
    return { samples: batches * batch, ...elapsed() };
  } finally {
    tf.dispose([x, y, firstBatch.x, firstBatch.y]);
    model.dispose();
  }
}

/** Forward passes of a teacher preset through `predictLogits`, the engine's teacher-logit path, with read-back. */
export async function measureInference(spec: PresetSpec, batch: number, budget: Budget): Promise<Throughput> {
  const model = buildPreset(spec, INPUT_SHAPE, NUM_CLASSES, SEED, 'teacher');
  const loaded = { kind: 'layers' as const, model };
  const x = tf.randomUniform([batch, ...INPUT_SHAPE], 0, 1, 'float32', SEED);
  try {
    await predictLogits(loaded, x, batch);
    const tensorsBefore = tf.memory().numTensors;
    const elapsed = stopwatch();
    let passes = 0;
    while (passes < budget.minSteps || elapsed().seconds < budget.seconds) {
      await predictLogits(loaded, x, batch);
      passes++;
    }
    return { samples: passes * batch, ...elapsed(), tensorDelta: tf.memory().numTensors - tensorsBefore };
  } finally {
    x.dispose();
    model.dispose();
  }
}
