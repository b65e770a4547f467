/**
 * Synchronous data parallelism for the CPU backends (`engine.threads` > 1).
 *
 * tfjs' wasm and cpu backends compute on one JavaScript thread, so a training run used one core. Here the batch is
 * split into shards; this thread trains on the first, and each worker thread, with its own backend (our kernels and
 * the fused KD kernels registered, see parallelWorker.ts) and a replica of the model, on one more. Every step:
 *
 *   1. this thread writes the current weights and each worker's rows into shared memory and wakes the workers;
 *   2. everyone computes the gradient (and the step's stats) of the mean loss over its own shard;
 *   3. this thread waits for all of them and combines, in shard order, g = Σ_k (rows_k / rows) · g_k, in float64;
 *   4. one optimizer step here, on the one model that is checkpointed and saved.
 *
 * The threads signal each other with messages (see ToWorker); the data stays in shared memory.
 * The combination's order is fixed by the shard index, never by which thread finished first, so the same seed and
 * thread count give bit-identical results. Against one thread, the sums run in another order: the mean over the
 * batch becomes a weighted mean of shard means, which differs by float32 rounding (see test/engine/dataParallel).
 * Non-trainable weights (batch-norm statistics) are this thread's and broadcast every step, as DDP broadcasts
 * rank 0's buffers.
 *
 * Where a 2-thread step goes (cnn-small, batch 256, wasm, on the 2-core machine; one thread: ~120 ms): each half
 * takes ~57-68 ms, both at once; then ~3 ms on average waiting for the slower half, and ~4 ms here alone (writing
 * the weights and rows, combining, Adam). Hence about 1.7× over one thread. The wait was 10-18 ms while the worker
 * read its row count as a double (see CTRL.rows).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DistillError, errorMessage } from '../../shared/errors';
import { divergenceCode } from '../../shared/divergences';
import { STAT_COUNT } from '../kd/stepStats';
import { batchStepStats, type StepSettings, type TrainingData } from './stepLoss';

/** Rows per shard, as even as possible, larger shards first: shard 0 (this thread's) is never smaller. */
export function shardRows(rows: number, threads: number): number[] {
  const base = Math.floor(rows / threads);
  const extra = rows % threads;
  return Array.from({ length: threads }, (_, k) => base + (k < extra ? 1 : 0));
}

/** Layout of the control block shared with the workers (Int32 slots, 2 × threads of them). */
export const CTRL = {
  /** The step generation this thread asks for, written before it posts the step. */
  command: 0,
  /** Slot k: the generation worker k (1-based) has finished. */
  done: (worker: number) => worker,
  /**
   * Slot threads + k: the rows of worker k's shard. A count read from a Float64Array is a double, and a double in a
   * tensor's shape makes V8 compile every JavaScript kernel loop over that tensor with float arithmetic: a worker's
   * MaxPoolGrad ran 60% slower than the main thread's, and every step waited for it.
   */
  rows: (worker: number, threads: number) => threads + worker,
} as const;

/** Step parameters shared as float64: temperature, alpha, divergence code, teacher present. */
export const PARAM = { temperature: 0, alpha: 1, divergence: 2, hasTeacher: 3 } as const;

/** What a worker needs to build its replica and find its buffers. Plain data: it crosses to the worker by copy. */
export interface WorkerSetup {
  worker: number;
  threads: number;
  backend: string;
  modelTopology: object;
  /** Shapes of `model.weights` in order (trainable and not); the trainable ones are flagged. */
  weights: { shape: number[]; trainable: boolean }[];
  inputShape: number[];
  classes: number;
  maxRows: number;
  buffers: SharedBuffers;
  slot: WorkerSlot;
}

export interface SharedBuffers {
  control: SharedArrayBuffer;
  params: SharedArrayBuffer;
  /** Every weight of the model, concatenated in `model.weights` order (float32). */
  weights: SharedArrayBuffer;
}

/** One worker's own buffers: its rows in, its gradient and stats out. */
export interface WorkerSlot {
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  teacher: SharedArrayBuffer;
  /** The trainable weights' gradients, concatenated in `model.trainableWeights` order (float32). */
  grads: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}

/**
 * Messages between the threads. The data stays in shared memory; a message only says "step `gen` is ready" or
 * "done", so no thread ever blocks in Atomics.wait (in Node 20, Atomics.wait in a second generation of workers was
 * seen never to wake on notify). The generation slots written with Atomics before each message order the shared
 * writes before the reads on the other side.
 */
export type ToWorker = { type: 'step'; gen: number } | { type: 'exit' };
export type FromWorker = { type: 'ready' } | { type: 'done'; gen: number } | { type: 'error'; message: string; stack?: string };

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const F32 = Float32Array.BYTES_PER_ELEMENT;

/**
 * Starts a training thread: the bundle's trainWorker.js beside this file, or, run from sources (tests, under tsx),
 * parallelWorker.ts through tsx's require hook.
 */
function startWorker(setup: WorkerSetup): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(path.join(__dirname, 'trainWorker.js'), { workerData: setup });
  const entry = path.join(__dirname, 'parallelWorker.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`, { eval: true, workerData: setup });
}

interface Replica {
  worker: Worker;
  slot: { x: Float32Array; y: Int32Array; teacher: Float32Array; grads: Float32Array; stats: Float32Array };
  /** Rejects when the worker reports an error or exits: a step waiting on it must not wait forever. */
  failed: Promise<never>;
  /** Resolves the step the worker is computing, when it says it is done. */
  onDone?: (gen: number) => void;
  exited: Promise<void>;
}

export class DataParallel {
  private generation = 0;
  private readonly control: Int32Array;
  private readonly params: Float64Array;
  private readonly weightValues: Float32Array;
  private readonly weightOffsets: number[];
  private readonly gradOffsets: number[];
  private disposed = false;

  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly vars: tf.Variable[],
    readonly threads: number,
    private readonly replicas: Replica[],
    buffers: SharedBuffers,
  ) {
    this.control = new Int32Array(buffers.control);
    this.params = new Float64Array(buffers.params);
    this.weightValues = new Float32Array(buffers.weights);
    let offset = 0;
    this.weightOffsets = model.weights.map((w) => ((offset += sizeOf(w.shape as number[])), offset - sizeOf(w.shape as number[])));
    offset = 0;
    this.gradOffsets = vars.map((v) => ((offset += v.size), offset - v.size));
  }

  /**
   * Starts `threads − 1` workers, each with a replica of `model` on `backend`, and resolves once all are ready.
   * `vars` are the variables this thread trains (the model's trainable weights, in order).
   */
  static async start(opts: {
    model: tfl.LayersModel;
    vars: tf.Variable[];
    threads: number;
    maxRows: number;
    inputShape: number[];
    classes: number;
    backend?: string;
  }): Promise<DataParallel> {
    const { model, vars, threads, maxRows, inputShape, classes } = opts;
    const backend = opts.backend ?? tf.getBackend();
    const trainable = new Set(model.trainableWeights.map((w) => w.id));
    const weights = model.weights.map((w) => ({ shape: w.shape as number[], trainable: trainable.has(w.id) }));
    const weightFloats = weights.reduce((a, w) => a + sizeOf(w.shape), 0);
    const trainableFloats = vars.reduce((a, v) => a + v.size, 0);
    const sampleSize = sizeOf(inputShape);
    const buffers: SharedBuffers = {
      control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2 * threads),
      params: new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * 4),
      weights: new SharedArrayBuffer(F32 * weightFloats),
    };
    let modelTopology: object;
    try {
      modelTopology = model.toJSON(null, false) as object;
    } catch (e) {
      throw new DistillError('model', `engine.threads: the student cannot be copied to the training threads (${errorMessage(e)}). Set engine.threads to 1.`, {
        path: ['engine', 'threads'],
      });
    }
    const replicas: Replica[] = [];
    const started: Promise<void>[] = [];
    for (let k = 1; k < threads; k++) {
      const slot: WorkerSlot = {
        x: new SharedArrayBuffer(F32 * maxRows * sampleSize),
        y: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * maxRows),
        teacher: new SharedArrayBuffer(F32 * maxRows * classes),
        grads: new SharedArrayBuffer(F32 * trainableFloats),
        stats: new SharedArrayBuffer(F32 * STAT_COUNT),
      };
      const setup: WorkerSetup = { worker: k, threads, backend, modelTopology, weights, inputShape, classes, maxRows, buffers, slot };
      const worker = startWorker(setup);
      let ready!: () => void;
      let fail!: (e: Error) => void;
      started.push(new Promise<void>((resolve) => (ready = resolve)));
      const failed = new Promise<never>((_, reject) => (fail = reject));
      // A rejection nobody awaits yet (the worker failed between steps) must not crash the process; the next
      // step's wait sees it.
      failed.catch(() => undefined);
      const replica: Replica = {
        worker,
        failed,
        exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())),
        slot: {
          x: new Float32Array(slot.x),
          y: new Int32Array(slot.y),
          teacher: new Float32Array(slot.teacher),
          grads: new Float32Array(slot.grads),
          stats: new Float32Array(slot.stats),
        },
      };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') ready();
        else if (m.type === 'done') replica.onDone?.(m.gen);
        else fail(new Error(`Training thread ${k} failed: ${m.message}`));
      });
      worker.on('error', (e) => fail(new Error(`Training thread ${k} failed: ${errorMessage(e)}`)));
      worker.on('exit', (code) => fail(new Error(`Training thread ${k} exited (code ${code})`)));
      replicas.push(replica);
    }
    const dp = new DataParallel(model, vars, threads, replicas, buffers);
    try {
      await Promise.all(started.map((s, i) => Promise.race([s, replicas[i].failed])));
    } catch (e) {
      await dp.dispose();
      throw e;
    }
    return dp;
  }

  /**
   * One optimizer step on `batchIdx` (rows of `data`), split over the threads. Resolves to the step's stats vector,
   * [loss, kd, kdUnscaled, ce, accuracy] of the whole batch, as the single-thread step returns it.
   */
  async step(data: TrainingData, batchIdx: Int32Array, settings: StepSettings, optimizer: tf.Optimizer): Promise<tf.Tensor1D> {
    const rows = batchIdx.length;
    const counts = shardRows(rows, this.threads);
    const gen = ++this.generation;

    this.writeWeights();
    this.params[PARAM.temperature] = settings.temperature;
    this.params[PARAM.alpha] = settings.alpha;
    this.params[PARAM.divergence] = divergenceCode(settings.divergence);
    this.params[PARAM.hasTeacher] = data.teacherLogits ? 1 : 0;
    let from = counts[0];
    for (let k = 1; k < this.threads; k++) {
      this.control[CTRL.rows(k, this.threads)] = counts[k];
      if (counts[k] > 0) this.writeRows(this.replicas[k - 1], data, batchIdx.subarray(from, from + counts[k]));
      from += counts[k];
    }
    Atomics.store(this.control, CTRL.command, gen);
    const done = this.replicas.map((r, i) => (counts[i + 1] > 0 ? this.request(r, i + 1, gen) : Promise.resolve()));

    // This thread's shard, while the workers compute theirs.
    const own = tf.tidy(() => {
      const idx = tf.tensor1d(batchIdx.subarray(0, counts[0]), 'int32');
      const xb = tf.gather(data.x, idx);
      const yb = tf.gather(data.y, idx) as tf.Tensor1D;
      const tb = data.teacherLogits ? (tf.gather(data.teacherLogits, idx) as tf.Tensor2D) : undefined;
      let stats: tf.Tensor1D | undefined;
      const { grads } = tf.variableGrads(() => {
        stats = tf.keep(batchStepStats(this.model, xb, yb, tb, settings));
        return tf.reshape(tf.slice(stats, [0], [1]), []) as tf.Scalar;
      }, this.vars);
      return { grads: this.vars.map((v) => grads[v.name]), stats: stats! };
    });
    const ownGrads = own.grads.map((g) => g.dataSync() as Float32Array);
    const ownStats = own.stats.dataSync() as Float32Array;
    tf.dispose([...own.grads, own.stats]);

    // Waiting lets this thread's event loop run: IPC (a stop), and a worker's error or exit, which rejects.
    await Promise.all(done);

    // g = Σ_k (rows_k / rows) · g_k, shard by shard in index order, accumulated in float64.
    const share = counts.map((c) => c / rows);
    // The shards that ran, as (weight, gradients) pairs hoisted out of the element loop, which is the hot part.
    const others = this.replicas.flatMap((r, k) => (counts[k + 1] > 0 ? [{ w: share[k + 1], g: r.slot.grads }] : []));
    const combined = this.vars.map((v, i) => {
      const out = new Float32Array(v.size);
      const offset = this.gradOffsets[i];
      const g0 = ownGrads[i];
      const w0 = share[0];
      if (others.length === 1) {
        const { w: w1, g: g1 } = others[0];
        for (let j = 0; j < out.length; j++) out[j] = w0 * g0[j] + w1 * g1[offset + j];
        return out;
      }
      for (let j = 0; j < out.length; j++) {
        let acc = w0 * g0[j];
        for (const o of others) acc += o.w * o.g[offset + j];
        out[j] = acc;
      }
      return out;
    });
    const stats = new Float32Array(STAT_COUNT);
    for (let s = 0; s < STAT_COUNT; s++) {
      let acc = share[0] * ownStats[s];
      for (let k = 1; k < this.threads; k++) if (counts[k] > 0) acc += share[k] * this.replicas[k - 1].slot.stats[s];
      stats[s] = acc;
    }
    const named: tf.NamedTensorMap = {};
    this.vars.forEach((v, i) => (named[v.name] = tf.tensor(combined[i], v.shape)));
    optimizer.applyGradients(named);
    tf.dispose(Object.values(named));
    return tf.tensor1d(stats);
  }

  /** Stops the workers. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // Asked to exit, a worker leaves its event loop by itself; terminate() only if it does not within a second.
    for (const r of this.replicas) r.worker.postMessage({ type: 'exit' } satisfies ToWorker);
    await Promise.all(
      this.replicas.map((r) => Promise.race([r.exited, new Promise((resolve) => setTimeout(resolve, 1000).unref())]).then(() => r.worker.terminate())),
    );
  }

  private writeWeights(): void {
    this.model.weights.forEach((w, i) => this.weightValues.set(w.read().dataSync() as Float32Array, this.weightOffsets[i]));
  }

  private writeRows(replica: Replica, data: TrainingData, idx: Int32Array): void {
    tf.tidy(() => {
      const t = tf.tensor1d(idx, 'int32');
      replica.slot.x.set(tf.gather(data.x, t).dataSync() as Float32Array);
      replica.slot.y.set(tf.gather(data.y, t).dataSync() as Int32Array);
      if (data.teacherLogits) replica.slot.teacher.set(tf.gather(data.teacherLogits, t).dataSync() as Float32Array);
    });
  }

  /** Asks worker `k` for step `gen`; resolves when it reports it done. */
  private request(replica: Replica, k: number, gen: number): Promise<void> {
    const done = new Promise<void>((resolve) => {
      replica.onDone = (g) => {
        if (g !== gen || Atomics.load(this.control, CTRL.done(k)) !== gen) return;
        replica.onDone = undefined;
        resolve();
      };
    });
    replica.worker.postMessage({ type: 'step', gen } satisfies ToWorker);
    return Promise.race([done, replica.failed]);
  }
}
