/**
 * Feature-distillation losses (kd/features.ts) against an independent float64 reference written from the papers'
 * definitions, values and gradients (central differences), on cpu and wasm: FitNets' hint loss through its adapter
 * (1×1 conv on feature maps, dense on vectors) and attention transfer.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/engine/backends/ladder';
import { attentionLoss, attentionMap, mseFeatureLoss } from '../../src/engine/kd/features';
import { createRng } from '../../src/shared/random';
import { centralDifference, type Matrix } from '../support/finiteDifferences';

/** A feature tensor as rows (one per sample) of its flattened per-sample values, channels last. */
interface Features {
  rows: Matrix;
  positions: number;
  channels: number;
}

const random = (rng: () => number, rows: number, cols: number, scale: number): Matrix =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rng() * 2 - 1) * scale));

/** FitNets in float64: mean over samples, positions and teacher channels of (Σ_c s·K + b − t)². */
function mseReference(s: Features, t: Features, kernel: Matrix, bias: number[]): number {
  let sum = 0;
  s.rows.forEach((row, r) => {
    for (let p = 0; p < s.positions; p++) {
      for (let d = 0; d < t.channels; d++) {
        let y = bias[d];
        for (let c = 0; c < s.channels; c++) y += row[p * s.channels + c] * kernel[c][d];
        sum += (y - t.rows[r][p * t.channels + d]) ** 2;
      }
    }
  });
  return sum / (s.rows.length * s.positions * t.channels);
}

/** Q for one sample: the mean over channels of a², per position, divided by its L2 norm. */
function attentionRow(row: number[], positions: number, channels: number): number[] {
  const q = Array.from({ length: positions }, (_, p) => {
    let m = 0;
    for (let c = 0; c < channels; c++) m += row[p * channels + c] ** 2;
    return m / channels;
  });
  const norm = Math.max(Math.sqrt(q.reduce((a, v) => a + v * v, 0)), 1e-12);
  return q.map((v) => v / norm);
}

/** The reference code's at_loss in float64: mean over samples and positions of (Q_s − Q_t)². */
function attentionReference(s: Features, t: Features): number {
  let sum = 0;
  s.rows.forEach((row, r) => {
    const qs = attentionRow(row, s.positions, s.channels);
    const qt = attentionRow(t.rows[r], t.positions, t.channels);
    qs.forEach((v, p) => (sum += (v - qt[p]) ** 2));
  });
  return sum / (s.rows.length * s.positions);
}

/** Central differences (h = 1e-5) err by ~h²·f''' ≈ 1e-9 here; float32 gradients by ~1e-6 of the largest entry. */
function assertGradient(got: Float32Array, fd: number[], what: string) {
  const scale = Math.max(...fd.map(Math.abs));
  assert.ok(scale > 0, `${what}: the reference gradient is not all zero`);
  fd.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-4 * scale, `${what}[${i}]: ${got[i]} vs finite difference ${v}`));
}

describe('feature distillation losses vs a float64 reference', function () {
  this.timeout(120_000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        const report = await selectBackend(backend);
        assert.equal(report.name, backend, report.reason);
      });

      // 4-D: the adapter is a 1×1 conv (B 3, 4×4 positions, 3 → 5 channels); 2-D: a dense layer (B 4, 6 → 3).
      for (const c of [
        { name: '4-D feature maps, 1×1 conv adapter', b: 3, spatial: [4, 4], cs: 3, ct: 5 },
        { name: '2-D features, dense adapter', b: 4, spatial: [] as number[], cs: 6, ct: 3 },
      ]) {
        it(`mse (FitNets), ${c.name}: value and gradients in the features, the kernel and the bias`, async () => {
          const rng = createRng(c.b * 31 + c.cs);
          const positions = c.spatial.reduce((a, v) => a * v, 1);
          const s: Features = { rows: random(rng, c.b, positions * c.cs, 2), positions, channels: c.cs };
          const t: Features = { rows: random(rng, c.b, positions * c.ct, 2), positions, channels: c.ct };
          const kernel = random(rng, c.cs, c.ct, 0.8);
          const bias = random(rng, 1, c.ct, 0.5)[0];
          const shape = (ch: number) => [c.b, ...c.spatial, ch];
          const st = tf.tensor(s.rows.flat(), shape(c.cs));
          const tt = tf.tensor(t.rows.flat(), shape(c.ct));
          const kt = tf.tensor2d(kernel);
          const bt = tf.tensor1d(bias);
          const value = (await mseFeatureLoss(st, tt, { kernel: kt, bias: bt }).data())[0];
          const ref = mseReference(s, t, kernel, bias);
          // A mean of ≤ 240 float32 squares of size ≤ ~25: ~1e-6 relative rounding; 1e-5 leaves room, a wrong mean
          // (over the wrong count) or a missing bias misses by far more.
          assert.ok(Math.abs(value - ref) <= 1e-5 * ref, `mse ${value} vs ${ref}`);
          const [gs, gk, gb] = tf.grads((a: tf.Tensor, k: tf.Tensor, b: tf.Tensor) =>
            mseFeatureLoss(a, tt, { kernel: k as tf.Tensor2D, bias: b as tf.Tensor1D }),
          )([st, kt, bt]);
          assertGradient((await gs.data()) as Float32Array, centralDifference((x) => mseReference({ ...s, rows: x }, t, kernel, bias), s.rows).flat(), 'd/ds');
          assertGradient((await gk.data()) as Float32Array, centralDifference((k) => mseReference(s, t, k, bias), kernel).flat(), 'd/dK');
          assertGradient((await gb.data()) as Float32Array, centralDifference((b) => mseReference(s, t, kernel, b[0]), [bias]).flat(), 'd/db');
          tf.dispose([st, tt, kt, bt, gs, gk, gb]);
        });
      }

      it('attention transfer: maps of unit norm, the loss and its gradient (channels differ: 3 vs 6)', async () => {
        const rng = createRng(77);
        const [b, h, w, cs, ct] = [3, 4, 5, 3, 6];
        const s: Features = { rows: random(rng, b, h * w * cs, 2), positions: h * w, channels: cs };
        const t: Features = { rows: random(rng, b, h * w * ct, 2), positions: h * w, channels: ct };
        const st = tf.tensor4d(s.rows.flat(), [b, h, w, cs]);
        const tt = tf.tensor4d(t.rows.flat(), [b, h, w, ct]);
        const q = (await attentionMap(st).array()) as number[][];
        q.forEach((row, r) => {
          const ref = attentionRow(s.rows[r], h * w, cs);
          // Entries ≤ 1 from float32 sums of 3 squares and a norm over 20: ~1e-6 absolute.
          row.forEach((v, p) => assert.ok(Math.abs(v - ref[p]) <= 1e-5, `Q[${r}][${p}] ${v} vs ${ref[p]}`));
        });
        const value = (await attentionLoss(st, tt).data())[0];
        const ref = attentionReference(s, t);
        // A mean of 60 float32 squares of differences of entries ≤ 1: ~1e-6 relative.
        assert.ok(Math.abs(value - ref) <= 1e-5 * ref, `at_loss ${value} vs ${ref}`);
        const g = tf.grad((a: tf.Tensor) => attentionLoss(a, tt))(st);
        assertGradient((await g.data()) as Float32Array, centralDifference((x) => attentionReference({ ...s, rows: x }, t), s.rows).flat(), 'd/ds');
        tf.dispose([st, tt, g]);
      });

      it('attention transfer: a sample whose map is all zero (a dead ReLU block) gives a finite loss and a zero gradient there', async () => {
        const st = tf.concat([tf.zeros([1, 2, 2, 3]), tf.ones([1, 2, 2, 3])]);
        const tt = tf.tensor4d(
          Array.from({ length: 2 * 2 * 2 * 2 }, (_, i) => (i % 5) - 2),
          [2, 2, 2, 2],
        );
        const g = tf.grad((a: tf.Tensor) => attentionLoss(a, tt))(st);
        const value = (await attentionLoss(st, tt).data())[0];
        const grad = (await g.data()) as Float32Array;
        assert.ok(Number.isFinite(value), `loss ${value}`);
        assert.ok(grad.every(Number.isFinite), 'every gradient entry is finite');
        // The zero sample's map is 0 whatever its direction: no gradient flows into it (exactly 0: 0·finite).
        assert.ok(
          grad.subarray(0, 12).every((v) => v === 0),
          `zero-sample gradient ${Array.from(grad.subarray(0, 12))}`,
        );
        tf.dispose([st, tt, g]);
      });
    });
  }
});
