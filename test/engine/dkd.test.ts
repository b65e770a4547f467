/**
 * DKD's parts against an independent float64 reference, values and gradients (central differences), on cpu and
 * wasm; and the paper's decomposition per sample: TCKD + (1 − p_t,target)·NCKD = KL(p_t ‖ p_s).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { MetricsRecord, StepRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { runEngine, smallConfig, tempDir } from './helpers';
import { selectBackend } from '../../src/engine/backends/ladder';
import { dkdParts } from '../../src/engine/kd/divergences/dkd';
import { kdLoss } from '../../src/engine/kd/losses';
import { createRng } from '../../src/shared/random';
import { centralDifference, type Matrix } from '../support/finiteDifferences';

/** softmax(z / T) in float64. */
function softmax(z: number[], temperature: number): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp((v - max) / temperature));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => (pi === 0 ? s : s + pi * Math.log(pi / q[i])), 0);

/** The paper's definitions, per row, from probabilities (not log space: an independent route). */
function referenceRow(s: number[], t: number[], label: number, temperature: number) {
  const q = softmax(s, temperature);
  const p = softmax(t, temperature);
  const tckd = kl([p[label], 1 - p[label]], [q[label], 1 - q[label]]);
  const rest = (v: number[]) => {
    const others = v.filter((_, c) => c !== label);
    const sum = others.reduce((a, b) => a + b, 0);
    return others.map((x) => x / sum);
  };
  return { tckd, nckd: kl(rest(p), rest(q)), kl: kl(p, q), pTarget: p[label] };
}

function reference(s: Matrix, t: Matrix, labels: number[], temperature: number) {
  const rows = s.map((row, r) => referenceRow(row, t[r], labels[r], temperature));
  return { tckd: rows.reduce((a, r) => a + r.tckd, 0) / s.length, nckd: rows.reduce((a, r) => a + r.nckd, 0) / s.length };
}

function batch(rows: number, classes: number, scale: number, seed: number) {
  const rng = createRng(seed);
  const matrix = (): Matrix => Array.from({ length: rows }, () => Array.from({ length: classes }, () => (rng() * 2 - 1) * scale));
  return { s: matrix(), t: matrix(), labels: Array.from({ length: rows }, () => Math.floor(rng() * classes)) };
}

describe('DKD (decoupled KD): target-class and non-target-class parts', function () {
  this.timeout(120_000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('per sample, TCKD + (1 − p_t,target)·NCKD equals forward KL (the paper\u2019s decomposition), in float64', () => {
    const { s, t, labels } = batch(50, 10, 6, 11);
    for (const temperature of [1, 4]) {
      s.forEach((row, r) => {
        const x = referenceRow(row, t[r], labels[r], temperature);
        // Three sums of ten float64 terms of size ≤ 20: rounding far below 1e-12.
        assert.ok(
          Math.abs(x.tckd + (1 - x.pTarget) * x.nckd - x.kl) < 1e-12,
          `row ${r}, T ${temperature}: ${x.tckd} + (1 − ${x.pTarget})·${x.nckd} vs KL ${x.kl}`,
        );
      });
    }
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        const report = await selectBackend(backend);
        assert.equal(report.name, backend, report.reason);
      });

      it('per sample, the engine\u2019s TCKD + (1 − p_t,target)·NCKD equals its forward-KL term', async () => {
        const { s, t, labels } = batch(20, 10, 6, 5);
        const temperature = 4;
        for (let r = 0; r < s.length; r++) {
          const student = tf.tensor2d([s[r]]);
          const teacher = tf.tensor2d([t[r]]);
          const y = tf.tensor1d([labels[r]], 'int32');
          const parts = dkdParts(student, teacher, y, temperature);
          const forward = kdLoss(student, teacher, y, { temperature, alpha: 1, divergence: 'forward-kl' });
          const pTarget = softmax(t[r], temperature)[labels[r]];
          const [tckd, nckd, klValue] = [(await parts.tckd.data())[0], (await parts.nckd.data())[0], (await forward.kdUnscaled.data())[0]];
          // Two float32 routes to a KL of size ≤ ~1: each within ~1e-6 relative, so 1e-5 of the value (plus 1e-7 near 0).
          assert.ok(Math.abs(tckd + (1 - pTarget) * nckd - klValue) <= 1e-5 * klValue + 1e-7, `row ${r}: ${tckd} + (1 − ${pTarget})·${nckd} vs KL ${klValue}`);
          tf.dispose([student, teacher, y, parts.tckd, parts.nckd, forward.loss, forward.kd, forward.kdUnscaled, forward.ce]);
        }
      });

      for (const c of [
        { rows: 11, classes: 10, scale: 4, temperature: 4 },
        { rows: 6, classes: 3, scale: 8, temperature: 1 },
      ]) {
        it(`${c.rows}×${c.classes}, logits ±${c.scale}, T ${c.temperature}: TCKD, NCKD and their gradients match the float64 reference`, async () => {
          const { s, t, labels } = batch(c.rows, c.classes, c.scale, c.rows * 7 + c.classes);
          const student = tf.tensor2d(s);
          const teacher = tf.tensor2d(t);
          const y = tf.tensor1d(labels, 'int32');
          const parts = dkdParts(student, teacher, y, c.temperature);
          const values = { tckd: (await parts.tckd.data())[0], nckd: (await parts.nckd.data())[0] };
          const ref = reference(s, t, labels, c.temperature);
          // float32 log-space arithmetic on logits up to ±8: ~1e-6 relative; 1e-4 leaves room, a wrong term misses by far more.
          for (const key of ['tckd', 'nckd'] as const) {
            assert.ok(Math.abs(values[key] - ref[key]) <= 1e-4 * Math.max(1e-3, ref[key]), `${key}: ${values[key]} vs ${ref[key]}`);
          }
          // Gradients of a weighted sum cover both parts (α = 1, β = 8 as in the paper).
          const grad = tf.grad((z: tf.Tensor) => {
            const p = dkdParts(z as tf.Tensor2D, teacher, y, c.temperature);
            return tf.add(p.tckd, tf.mul(p.nckd, tf.scalar(8)));
          })(student);
          const g = (await grad.data()) as Float32Array;
          const fd = centralDifference((x) => {
            const r = reference(x, t, labels, c.temperature);
            return r.tckd + 8 * r.nckd;
          }, s).flat();
          // Central differences at h = 1e-5 in float64 err by ~1e-9; float32 gradients by ~1e-6 of the largest entry.
          const scale = Math.max(...fd.map(Math.abs));
          fd.forEach((v, i) => assert.ok(Math.abs(g[i] - v) <= 1e-4 * scale, `d/dz[${i}]: ${g[i]} vs finite difference ${v}`));
          tf.dispose([student, teacher, y, parts.tckd, parts.nckd, grad]);
        });
      }
    });
  }
});

describe('DKD in a real run (divergence "dkd")', function () {
  this.timeout(600_000);

  it('step records carry TCKD and NCKD; kdUnscaled is dkd.alpha·TCKD + dkd.beta·NCKD, kd is T² times it', async () => {
    const dir = tempDir();
    const config = smallConfig(dir, {
      distillation: { temperature: 4, alpha: 0.9, divergence: 'dkd', dkd: { alpha: 1, beta: 2 } },
      training: { epochs: 1, batchSize: 64, learningRate: 0.003 },
    });
    const { finished, runDir } = await runEngine(config);
    assert.equal(finished.status, 'completed', finished.reason);
    const stepRecords = readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl')).filter(
      (r): r is StepRecord => r.kind === 'step' && r.student === 'kd',
    ); // the teacher's own steps (CE only) come first
    assert.ok(stepRecords.length > 10);
    for (const s of stepRecords) {
      assert.ok(s.tckd !== undefined && s.nckd !== undefined && s.tckd >= 0 && s.nckd >= 0, `step ${s.step}: tckd ${s.tckd}, nckd ${s.nckd}`);
      // float32 sums of a few terms of size ~1: 1e-5 relative is ample, a missing weight or T² is off by 2× or 16×.
      assert.ok(Math.abs(s.kdUnscaled - (s.tckd + 2 * s.nckd)) <= 1e-5 * s.kdUnscaled + 1e-7, `step ${s.step}: ${s.kdUnscaled} vs ${s.tckd} + 2·${s.nckd}`);
      assert.ok(Math.abs(s.kd - 16 * s.kdUnscaled) <= 1e-5 * s.kd, `step ${s.step}: kd ${s.kd} vs 16·${s.kdUnscaled}`);
    }
    const summary = readJson<Summary>(path.join(runDir, 'summary.json'))!;
    assert.ok(summary.student.accuracy > 0.5, `the DKD student learns: ${summary.student.accuracy}`);
  });
});
