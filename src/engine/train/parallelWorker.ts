/**
 * A training thread (see dataParallel.ts): its own tfjs backend with Distill's kernels, a replica of the model, and,
 * for each step the main thread asks for, the weights and its rows taken from shared memory, the gradient of its
 * shard's mean loss computed, and written back. It never steps an optimizer: the weights always come from the main thread.
 *
 * Bundled as dist/trainWorker.js; run from sources under tsx (tests), this file itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DIVERGENCES } from '../../shared/divergences';
import { errorMessage } from '../../shared/errors';
import { isFusedDivergence } from '../kd/stepStats';
import { activateWorkerBackend } from './workerBackend';
import { CTRL, PARAM, type FromWorker, type ToWorker, type WorkerSetup } from './dataParallel';
import { batchStepStats } from './stepLoss';

/** The divergence of a code (its position in src/shared/divergences.ts); only fused ones reach a training thread. */
function fusedDivergenceOf(code: number) {
  const divergence = DIVERGENCES[code];
  return divergence !== undefined && isFusedDivergence(divergence) ? divergence : undefined;
}

async function main(setup: WorkerSetup): Promise<void> {
  await activateWorkerBackend(setup.backend);
  const model = await tfl.models.modelFromJSON(setup.modelTopology as tfl.ModelAndWeightsConfig);
  if (model.weights.length !== setup.weights.length) throw new Error(`the replica has ${model.weights.length} weights, the model ${setup.weights.length}`);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);

  const control = new Int32Array(setup.buffers.control);
  const params = new Float64Array(setup.buffers.params);
  const weights = new Float32Array(setup.buffers.weights);
  const slot = {
    x: new Float32Array(setup.slot.x),
    y: new Int32Array(setup.slot.y),
    teacher: new Float32Array(setup.slot.teacher),
    grads: new Float32Array(setup.slot.grads),
    stats: new Float32Array(setup.slot.stats),
  };
  const sampleSize = setup.inputShape.reduce((a, b) => a * b, 1);
  parentPort!.postMessage({ type: 'ready' });

  const port = parentPort!;
  const step = (gen: number) => {
    // Orders the main thread's writes (weights, rows, parameters) before the reads below.
    if (Atomics.load(control, CTRL.command) !== gen)
      throw new Error(`step ${gen} was asked for, but the shared block says ${Atomics.load(control, CTRL.command)}`);
    const rows = control[CTRL.rows(setup.worker, setup.threads)];
    tf.tidy(() => {
      // Copies out of shared memory (`slice`): the cpu backend would keep a view, which the next step overwrites.
      let offset = 0;
      model.weights.forEach((w) => {
        const size = w.shape.reduce((a: number, b) => a * (b as number), 1);
        w.write(tf.tensor(weights.slice(offset, offset + size), w.shape as number[]));
        offset += size;
      });
      const xb = tf.tensor(slot.x.slice(0, rows * sampleSize), [rows, ...setup.inputShape]);
      const yb = tf.tensor1d(slot.y.slice(0, rows), 'int32');
      const tb = params[PARAM.hasTeacher] ? tf.tensor2d(slot.teacher.slice(0, rows * setup.classes), [rows, setup.classes]) : undefined;
      const divergence = fusedDivergenceOf(params[PARAM.divergence]);
      if (!divergence) throw new Error(`unknown divergence code ${params[PARAM.divergence]}`);
      let stats: tf.Tensor1D | undefined;
      const { grads } = tf.variableGrads(() => {
        stats = tf.keep(batchStepStats(model, xb, yb, tb, { temperature: params[PARAM.temperature], alpha: params[PARAM.alpha], divergence }));
        return tf.reshape(tf.slice(stats, [0], [1]), []) as tf.Scalar;
      }, vars);
      offset = 0;
      for (const v of vars) {
        slot.grads.set(grads[v.name].dataSync() as Float32Array, offset);
        offset += v.size;
      }
      slot.stats.set(stats!.dataSync() as Float32Array);
      stats!.dispose();
    });
    // Orders the writes above before the main thread's reads.
    Atomics.store(control, CTRL.done(setup.worker), gen);
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      port.close();
      return;
    }
    try {
      step(m.gen);
      port.postMessage({ type: 'done', gen: m.gen } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ type: 'error', message: errorMessage(e), stack: (e as Error)?.stack } satisfies FromWorker);
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

main(workerData as WorkerSetup).catch((e: unknown) =>
  parentPort!.postMessage({ type: 'error', message: errorMessage(e), stack: (e as Error)?.stack } satisfies FromWorker),
);
