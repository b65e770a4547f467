/**
 * The CPU backends' one-pass Adam (src/engine/train/optimizer.ts) against tfjs' Adam: the same weights, moments and
 * serialised state, bit for bit, step after step, on wasm and cpu, and across a checkpoint (getWeights → setWeights).
 * Exact equality is the claim: every operation is float32 in tfjs' order, so there is no rounding to allow for.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../src/engine/backends/ladder';
import { CpuFusedAdam } from '../../src/engine/train/optimizer';
import { createRng } from '../../src/shared/random';

/** Three variables the loop updates and one above its size limit (4,096 elements), which tfjs' kernels update. */
const SHAPES = [[37, 13], [13], [3, 3, 2, 4], [70, 60]];
const LEARNING_RATE = 0.01;

/** Values over many scales: ordinary, large, tiny (float32 subnormals), and exact zeros. */
function values(size: number, random: () => number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const r = random() * 2 - 1;
    const kind = i % 7;
    out[i] = kind === 5 ? r * 1e3 : kind === 6 ? r * 1e-40 : kind === 4 && r < -0.5 ? 0 : r;
  }
  return out;
}

const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));

function assertSameBits(actual: tf.Tensor, expected: tf.Tensor, what: string) {
  const a = actual.dataSync() as Float32Array;
  const e = expected.dataSync() as Float32Array;
  assert.equal(a.length, e.length, what);
  if (Buffer.compare(bits(actual), bits(expected)) === 0) return;
  const at = a.findIndex((x, i) => !Object.is(x, e[i]));
  assert.fail(`${what}: element ${at} is ${a[at]}, tfjs' Adam gives ${e[at]}`);
}

describe('Adam in one pass on the CPU backends (bit for bit tfjs’ Adam)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: weights, moments and saved state equal tfjs' after each of 6 steps, and after a restore`, async () => {
      if (backend === 'wasm') await selectBackend('wasm');
      else await tf.setBackend('cpu');
      const random = createRng(11);
      const initial = SHAPES.map((s) =>
        values(
          s.reduce((a, b) => a * b, 1),
          random,
        ),
      );
      const variables = (tag: string) => SHAPES.map((s, i) => tf.variable(tf.tensor(initial[i], s), true, `${backend}-${tag}-${i}`));
      const reference = variables('tfjs');
      const fused = variables('fused');
      const tfjsAdam: tf.Optimizer = tf.train.adam(LEARNING_RATE);
      const fusedAdam = new CpuFusedAdam(LEARNING_RATE);
      const grads = () =>
        SHAPES.map((s) =>
          tf.tensor(
            values(
              s.reduce((a, b) => a * b, 1),
              random,
            ),
            s,
          ),
        );
      const named = (vars: tf.Variable[], gs: tf.Tensor[]) => Object.fromEntries(vars.map((v, i) => [v.name, gs[i]]));
      try {
        for (let step = 0; step < 6; step++) {
          const gs = grads();
          tfjsAdam.applyGradients(named(reference, gs));
          // The array form of the gradients too, which tfjs also takes.
          if (step % 2) fusedAdam.applyGradients(fused.map((v, i) => ({ name: v.name, tensor: gs[i] })));
          else {
            const profile = await tf.profile(() => fusedAdam.applyGradients(named(fused, gs)));
            const roots = profile.kernels.filter((k) => k.name === 'Sqrt').length;
            assert.equal(roots, 1, `the loop updated the three small variables, tfjs' kernels the large one (${roots} Sqrt kernels)`);
          }
          tf.dispose(gs);
          fused.forEach((v, i) => assertSameBits(v, reference[i], `step ${step + 1}, weight ${i}`));
        }
        const saved = await tfjsAdam.getWeights();
        const mine = await fusedAdam.getWeights();
        assert.deepEqual(
          mine.map((w) => w.name.replace('fused', 'tfjs')),
          saved.map((w) => w.name),
        );
        mine.forEach((w, i) => assertSameBits(w.tensor, saved[i].tensor, `saved ${saved[i].name}`));

        // A restored optimizer (resume from a checkpoint) continues as tfjs' own does.
        const restored = new CpuFusedAdam(LEARNING_RATE);
        await restored.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
        const resumed = reference.map((v, i) => tf.variable(v.clone(), true, `${backend}-resumed-${i}`));
        const gs = grads();
        tfjsAdam.applyGradients(named(reference, gs));
        restored.applyGradients(named(resumed, gs));
        tf.dispose(gs);
        resumed.forEach((v, i) => assertSameBits(v, reference[i], `after the restore, weight ${i}`));
        tf.dispose([...resumed]);
        restored.dispose();
      } finally {
        tf.dispose([...reference, ...fused]);
        tfjsAdam.dispose();
        fusedAdam.dispose();
      }
    });
  }
});
