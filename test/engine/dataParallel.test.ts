/**
 * Data-parallel training (engine.threads > 1, src/engine/train/dataParallel.ts): training threads compute exactly
 * what the main thread computes, results do not depend on timing, and 1 and N threads agree to float rounding.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DIVERGENCES, type DistillConfig } from '../../src/shared/config';
import { isFusedDivergence } from '../../src/engine/kd/stepStats';
import { createRng } from '../../src/shared/random';
import { readJson } from '../../src/shared/runDir';
import type { MetricsRecord, StepRecord, Summary } from '../../src/shared/records';
import { selectBackend } from '../../src/engine/backends/ladder';
import { loadDataset } from '../../src/engine/data';
import { buildPreset } from '../../src/engine/models/presets';
import { DataParallel, shardRows } from '../../src/engine/train/dataParallel';
import type { TrainingData } from '../../src/engine/train/stepLoss';
import { train } from '../../src/engine/train/trainer';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

/** float32's unit roundoff: 2^-24. */
const U = 2 ** -24;

const metricsOf = (runDir: string): MetricsRecord[] =>
  fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRecord);
/** The students' step records: a preset teacher's (metrics.jsonl has them) are only in the run that trained it. */
const steps = (records: MetricsRecord[]) => records.filter((r): r is StepRecord => r.kind === 'step' && r.student !== 'teacher');

/** conv, depthwise, separable, batch norm, both poolings, dense: every kernel Distill replaces or adds on wasm. */
function kerasZoo(): tfl.LayersModel {
  let seed = 100;
  const init = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }) });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', ...init() }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.depthwiseConv2d({
        kernelSize: 3,
        depthMultiplier: 2,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }),
      }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.separableConv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        depthwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }),
        pointwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }),
      }),
      tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, ...init() }),
    ],
  });
}

const MODELS: { name: string; build: () => tfl.LayersModel }[] = [
  { name: 'cnn-small', build: () => buildPreset({ preset: 'cnn-small' }, [28, 28, 1], 10, 3, 'student') },
  { name: 'conv, depthwise, separable, batch norm, pooling', build: kerasZoo },
];

describe('data-parallel training (engine.threads)', function () {
  this.timeout(300000);
  let data: TrainingData;
  const ROWS = 512;

  before(async () => {
    await selectBackend('wasm');
    const dir = tempDir();
    const dataset = await loadDataset(smallConfig(dir).data);
    fs.rmSync(dir, { recursive: true, force: true });
    const random = createRng(5);
    // Teacher logits with a class signal and noise, so that every KD term has something to do.
    const logits = new Float32Array(ROWS * 10).map((_, i) => (dataset.train.y[Math.floor(i / 10)] === i % 10 ? 3 : 0) + 2 * (random() - 0.5));
    data = {
      x: tf.tensor(dataset.train.x.subarray(0, ROWS * 784), [ROWS, 28, 28, 1]),
      y: tf.tensor1d(dataset.train.y.subarray(0, ROWS), 'int32'),
      teacherLogits: tf.tensor2d(logits, [ROWS, 10]),
      count: ROWS,
    };
  });
  after(() => tf.dispose([data.x, data.y, data.teacherLogits!]));

  it("splits a batch into shards that cover it once, the first (this thread's) never smaller", () => {
    for (const [rows, threads] of [
      [256, 2],
      [255, 2],
      [7, 3],
      [1, 2],
      [64, 8],
      [3, 4],
    ]) {
      const counts = shardRows(rows, threads);
      assert.equal(counts.length, threads);
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        rows,
        `${rows} rows over ${threads}`,
      );
      assert.ok(
        counts.every((c) => c <= counts[0] && counts[0] - c <= 1),
        `${counts}`,
      );
    }
  });

  /**
   * The batch is one shard twice: a training thread that computes what this thread computes gives the same
   * gradient g, and (g + g)/2 in float64 is g exactly, so one SGD step on 2 threads must give bit for bit the weights
   * of one step on 1 thread on the shard alone. A thread without Distill's kernels fails: without our wasm
   * gradients the step throws; without the fused KD kernels the composed ops round differently.
   */
  for (const { name, build } of MODELS) {
    it(`a training thread computes exactly what this thread does: ${name}, every divergence`, async () => {
      const shard = Int32Array.from({ length: 32 }, (_, i) => (i * 13) % ROWS);
      const single = build();
      const double = build();
      double.setWeights(single.getWeights());
      const vars = (m: tfl.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
      const sgd1 = tf.train.sgd(0.5);
      const sgd2 = tf.train.sgd(0.5);
      const dp1 = await DataParallel.start({ model: single, vars: vars(single), threads: 1, maxRows: 32, inputShape: [28, 28, 1], classes: 10 });
      const dp2 = await DataParallel.start({ model: double, vars: vars(double), threads: 2, maxRows: 32, inputShape: [28, 28, 1], classes: 10 });
      try {
        // One step per divergence, each from the weights the previous left (the same on both sides, or failed).
        // DKD trains on one thread (singleThreadReason): the threads run the fused divergences.
        for (const divergence of DIVERGENCES.filter(isFusedDivergence)) {
          const settings = { temperature: 3, alpha: 0.6, divergence };
          const s1 = await dp1.step(data, shard, settings, sgd1);
          const s2 = await dp2.step(data, Int32Array.from([...shard, ...shard]), settings, sgd2);
          assert.deepEqual(Array.from(s2.dataSync()), Array.from(s1.dataSync()), `${divergence}: step stats`);
          tf.dispose([s1, s2]);
          const w1 = single.getWeights().map((w) => Array.from(w.dataSync()));
          const w2 = double.getWeights().map((w) => Array.from(w.dataSync()));
          w1.forEach((w, i) => assert.deepEqual(w2[i], w, `${divergence}: weight ${single.weights[i].name} after the step`));
        }
      } finally {
        await Promise.all([dp1.dispose(), dp2.dispose()]);
        sgd1.dispose();
        sgd2.dispose();
        single.dispose();
        double.dispose();
      }
    });
  }

  async function trainLosses(threads: number, epochs = 1): Promise<{ losses: number[]; weights: Float32Array[] }> {
    const model = buildPreset({ preset: 'cnn-small' }, [28, 28, 1], 10, 9, 'student');
    const optimizer = tf.train.adam(0.002);
    const losses: number[] = [];
    try {
      await train({
        role: 'kd',
        model,
        optimizer,
        data,
        settings: { epochs, batchSize: 64, optimizer: 'adam', learningRate: 0.002 },
        distillation: { temperature: 4, alpha: 0.7, divergence: 'forward-kl', schedule: { type: 'constant' } } as DistillConfig['distillation'],
        seed: 11,
        threads,
        onSteps: (records) => losses.push(...records.map((r) => r.loss)),
        onEpochEnd: async () => {},
        shouldStop: () => false,
      });
      return { losses, weights: model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array)) };
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  }

  it('the same seed and thread count give bit-identical losses and weights, run to run', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const a = await trainLosses(2);
    const b = await trainLosses(2);
    assert.equal(a.losses.length, ROWS / 64);
    assert.deepEqual(b.losses, a.losses);
    a.weights.forEach((w, i) => assert.deepEqual(b.weights[i], w, `weight ${i}`));
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
  });

  it('1 and 2 threads agree to float32 rounding: the first loss to 4 roundings, the training within 2%', async () => {
    const one = await trainLosses(1, 2);
    const two = await trainLosses(2, 2);
    assert.equal(two.losses.length, one.losses.length);
    // Step 1 sees the same weights: per row the logits are the same, and the fused kernel sums rows in float64; the
    // batch mean is rounded to float32 once on 1 thread, and on 2 threads each shard mean once and their weighted
    // mean once more: |Δ| ≤ (1 + 3)·u·|loss|.
    const first = Math.abs(one.losses[0] - two.losses[0]);
    assert.ok(first <= 4 * U * Math.abs(one.losses[0]), `first loss ${one.losses[0]} vs ${two.losses[0]}`);
    // Later steps see weights that drifted apart: the gradient sums over the batch run in another order (float32
    // sums of 64 rows, relative error up to ~64·u ≈ 4e-6 on each term), and Adam's first steps move each weight by
    // about lr whatever the gradient's size, so the rounding is amplified for near-zero gradients. Over 16 steps the
    // drift stays orders of magnitude below the loss's own step-to-step change (~5%): 2% bounds it with a margin.
    const worst = Math.max(...one.losses.map((l, i) => Math.abs(l - two.losses[i]) / Math.abs(l)));
    assert.ok(worst < 0.02, `losses differ by up to ${(worst * 100).toFixed(3)}%`);
  });

  it('a training thread that fails to start fails the run with its reason, and leaves no thread behind', async () => {
    const model = buildPreset({ preset: 'mlp', hidden: [8] }, [28, 28, 1], 10, 1, 'student');
    try {
      await assert.rejects(
        DataParallel.start({
          model,
          vars: model.trainableWeights.map((w) => w.read() as tf.Variable),
          threads: 2,
          maxRows: 8,
          inputShape: [28, 28, 1],
          classes: 10,
          backend: 'no-such-backend',
        }),
        /Training thread 1 failed: .*no-such-backend/,
      );
    } finally {
      model.dispose();
    }
  });
});

describe('engine: a run on 2 threads', function () {
  this.timeout(600000);
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // A convolutional student: a dense-only one trains on 1 thread whatever engine.threads says (threadsForModel).
  const cfg = () => smallConfig(dir, { student: { preset: 'cnn-small' }, training: { epochs: 2, batchSize: 64 }, engine: { backend: 'wasm', threads: 2 } });
  const logs = (r: { messages: { type: string }[] }) => r.messages.flatMap((m) => (m.type === 'log' ? [(m as unknown as { message: string }).message] : []));

  it('resumes to the same result as an uninterrupted run', async () => {
    const full = await runEngine(cfg());
    assert.equal(full.finished.status, 'completed', full.finished.reason);
    assert.ok(logs(full).includes('Threads: 2 (engine.threads is 2)'), logs(full).join('\n'));
    assert.ok(!logs(full).some((l) => /KD student trains on 1 thread/.test(l)), 'the CNN student was kept to 1 thread');
    // At a fixed point (the KD student's first epoch end), not after a count of step records, which come in batches.
    const stopped = await runEngine(cfg(), (engine, m) => {
      if (m.type === 'epoch' && m.record.student === 'kd') engine.requestStop();
    });
    assert.equal(stopped.finished.status, 'stopped');
    const resumed = await resumeEngine(stopped.runDir);
    assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
    // As on one thread (engine.test.ts): the same steps, losses within the same 1e-4 as there (a checkpoint
    // round-trips Adam's state through tfjs' serialisation, which rounds), and the same accuracy.
    const a = steps(metricsOf(full.runDir));
    const b = steps(metricsOf(stopped.runDir));
    assert.deepEqual(
      b.map((r) => [r.epoch, r.step]),
      a.map((r) => [r.epoch, r.step]),
    );
    const maxRelDiff = Math.max(...a.map((r, i) => Math.abs(r.loss - b[i].loss) / Math.max(1e-6, Math.abs(r.loss))));
    assert.ok(maxRelDiff < 1e-4, `resumed losses differ from uninterrupted by up to ${maxRelDiff}`);
    const sa = readJson<Summary>(path.join(full.runDir, 'summary.json'))!;
    const sb = readJson<Summary>(path.join(stopped.runDir, 'summary.json'))!;
    assert.equal(sb.student.accuracy, sa.student.accuracy);
  });

  it("records the thread count it used in the run's config.json, so that resume uses the same", async () => {
    const r = await runEngine(smallConfig(dir, { training: { epochs: 1, batchSize: 128 } }));
    const used = readJson<DistillConfig>(path.join(r.runDir, 'config.json'))!.engine.threads;
    assert.ok(used !== undefined && used >= 1, `engine.threads in config.json: ${used}`);
    assert.ok(r.messages.some((m) => m.type === 'log' && m.message.startsWith(`Threads: ${used} (engine.threads not set`)));
  });

  it('trains a dense-only student on 1 thread, saying why, and to the same losses as engine.threads 1', async () => {
    const dense = (threads: number) => smallConfig(dir, { training: { epochs: 1, batchSize: 64 }, engine: { backend: 'wasm', threads } });
    const two = await runEngine(dense(2));
    const one = await runEngine(dense(1));
    assert.equal(two.finished.status, 'completed', two.finished.reason);
    const note = logs(two).find((l) => l.startsWith('The KD student trains on 1 thread, not 2'));
    assert.ok(note && /1\.0 multiply-adds per weight per row/.test(note), logs(two).join('\n'));
    // One thread either way: the same code path, so the same losses bit for bit.
    assert.deepEqual(
      steps(metricsOf(two.runDir)).map((r) => r.loss),
      steps(metricsOf(one.runDir)).map((r) => r.loss),
    );
  });
});
