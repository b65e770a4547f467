/**
 * The transfer-set loss (rows without labels are learnt from the teacher only, their CE term masked out) against an
 * independent float64 reference of its per-row definition, values and gradients (central differences), on cpu and
 * wasm (the JavaScript fused kernels underneath) and webgpu on SwiftShader (the WGSL ones).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/engine/backends/ladder';
import { STAT } from '../../src/engine/kd/stepStats';
import { labeledFirst, transferStepStats } from '../../src/engine/kd/transferSet';
import type { Divergence } from '../../src/shared/config';
import { createRng } from '../../src/shared/random';
import { centralDifference, type Matrix } from '../support/finiteDifferences';

function logSoftmax(row: number[], temperature: number): number[] {
  const z = row.map((v) => v / temperature);
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return z.map((v) => v - lse);
}

const klOf = (a: number[], b: number[]) => a.reduce((sum, ai, i) => sum + ai * Math.log(ai / b[i]), 0);

/**
 * D(p_t^T ‖ p_s^T) of one row in float64: forward or reverse KL, or DKD (α 1, β 8) split by `target`, which for an
 * unlabelled row is the teacher's top-1.
 */
function rowKl(divergence: Divergence, s: number[], t: number[], temperature: number, target: number): number {
  const p = logSoftmax(t, temperature).map(Math.exp);
  const q = logSoftmax(s, temperature).map(Math.exp);
  if (divergence === 'dkd') {
    const rest = (v: number[]) => {
      const others = v.filter((_, c) => c !== target);
      const sum = others.reduce((x, y) => x + y, 0);
      return others.map((x) => x / sum);
    };
    return klOf([p[target], 1 - p[target]], [q[target], 1 - q[target]]) + 8 * klOf(rest(p), rest(q));
  }
  const [a, b] = divergence === 'reverse-kl' ? [q, p] : [p, q];
  return klOf(a, b);
}

/**
 * The definition: loss = mean over all rows of [α·T²·D_r + (1 − α)·CE_r] for labelled rows and T²·D_r for the
 * unlabelled ones; kd and kdUnscaled are means over all rows, ce over the labelled rows.
 */
function reference(s: Matrix, t: Matrix, labels: (number | null)[], temperature: number, alpha: number, divergence: Divergence) {
  const rows = s.length;
  let loss = 0;
  let kdU = 0;
  let ce = 0;
  let labeled = 0;
  s.forEach((row, r) => {
    const label = labels[r];
    const d = rowKl(divergence, row, t[r], temperature, label ?? t[r].indexOf(Math.max(...t[r])));
    kdU += d;
    if (label === null) loss += temperature ** 2 * d;
    else {
      const rowCe = -logSoftmax(row, 1)[label];
      ce += rowCe;
      labeled++;
      loss += alpha * temperature ** 2 * d + (1 - alpha) * rowCe;
    }
  });
  return { loss: loss / rows, kd: (temperature ** 2 * kdU) / rows, kdUnscaled: kdU / rows, ce: labeled ? ce / labeled : 0 };
}

describe('transfer-set loss: CE masked out on unlabelled rows', function () {
  this.timeout(300_000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('orders a batch labelled rows first, each group in batch order', () => {
    const unlabeled = Uint8Array.from([0, 1, 1, 0, 1, 0]);
    const { order, labeled } = labeledFirst(Int32Array.from([5, 1, 0, 2, 4, 3]), unlabeled);
    assert.deepEqual(Array.from(order), [5, 0, 3, 1, 2, 4]);
    assert.equal(labeled, 3);
  });

  for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        const report = await selectBackend(backend);
        assert.equal(report.name, backend, report.reason);
      });

      const cases = [
        { rows: 13, classes: 10, labeled: 4, temperature: 4, alpha: 0.9, divergence: 'forward-kl' as Divergence },
        { rows: 9, classes: 5, labeled: 0, temperature: 2, alpha: 0.5, divergence: 'reverse-kl' as Divergence },
        { rows: 7, classes: 3, labeled: 7, temperature: 1, alpha: 0.3, divergence: 'forward-kl' as Divergence },
        { rows: 10, classes: 6, labeled: 3, temperature: 4, alpha: 0.8, divergence: 'dkd' as Divergence },
      ];
      for (const c of cases) {
        it(`${c.labeled} of ${c.rows} rows labelled, ${c.divergence}, T ${c.temperature}, α ${c.alpha}: values and gradient match the float64 reference`, async () => {
          const rng = createRng(c.rows * 31 + c.labeled);
          const matrix = (): Matrix => Array.from({ length: c.rows }, () => Array.from({ length: c.classes }, () => (rng() * 2 - 1) * 4));
          const s = matrix();
          const t = matrix();
          const labels = Array.from({ length: c.rows }, (_, r) => (r < c.labeled ? Math.floor(rng() * c.classes) : null));
          const opts = { temperature: c.temperature, alpha: c.alpha, divergence: c.divergence };
          const student = tf.tensor2d(s);
          const teacher = tf.tensor2d(t);
          const y = c.labeled ? tf.tensor1d(labels.slice(0, c.labeled) as number[], 'int32') : undefined;
          const statsOf = (z: tf.Tensor) => transferStepStats(z as tf.Tensor2D, teacher, y, c.labeled, opts);
          const stats = (await statsOf(student).data()) as Float32Array;
          const grad = tf.grad((z: tf.Tensor) => tf.reshape(tf.slice(statsOf(z), [STAT.loss], [1]), []))(student);
          const g = (await grad.data()) as Float32Array;
          tf.dispose([student, teacher, y, grad].filter((x): x is tf.Tensor => !!x));

          const ref = reference(s, t, labels, c.temperature, c.alpha, c.divergence);
          // float32 kernels on O(1) log-probabilities of O(4) logits: relative rounding near 1e-6, far under 1e-4.
          for (const key of ['loss', 'kd', 'kdUnscaled', 'ce'] as const) {
            const error = Math.abs(stats[STAT[key]] - ref[key]) / Math.max(1e-3, Math.abs(ref[key]));
            assert.ok(error < 1e-4, `${key}: ${stats[STAT[key]]} vs reference ${ref[key]}`);
          }
          const fd = centralDifference((x) => reference(x, t, labels, c.temperature, c.alpha, c.divergence).loss, s).flat();
          // Central differences in float64 at h = 1e-5 err by ~h² · f''' ≈ 1e-9; float32 gradients by ~1e-7 of the largest entry.
          const scale = Math.max(...fd.map(Math.abs));
          fd.forEach((v, i) => assert.ok(Math.abs(g[i] - v) <= 1e-4 * scale, `d loss / d z[${i}]: ${g[i]} vs finite difference ${v}`));
          // Unlabelled rows carry no CE: their gradient is exactly the distillation term's, independent of any label.
          if (c.labeled === 0) assert.ok(Math.abs(stats[STAT.ce]) === 0, 'no labelled rows: ce is 0');
        });
      }
    });
  }
});
