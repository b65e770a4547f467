import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { DIVERGENCES, type Divergence } from '../../src/shared/config';
import { kdLoss, type KdLossOptions } from '../../src/engine/kd/losses';
import { centralDifference, type Matrix } from '../support/finiteDifferences';

interface ReferenceParts {
  loss: number;
  kd: number;
  kdUnscaled: number;
  ce: number;
}

// ------------------------------------------------------------------ an independent float64 reference

function referenceLogSoftmax(row: number[], temperature: number): number[] {
  const z = row.map((v) => v / temperature);
  const max = Math.max(...z);
  const logSumExp = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return z.map((v) => v - logSumExp);
}

const kl = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + ai * Math.log(ai / b[i]), 0);

/**
 * One row's divergence, in float64, from the probabilities at T (p teacher, q student), the raw logits, or the label.
 * Keyed by every divergence of src/shared/divergences.ts: a new one does not compile until it has its reference here.
 */
const REFERENCE: Record<Divergence, (p: number[], q: number[], studentRow: number[], teacherRow: number[], label: number) => number> = {
  'forward-kl': (p, q) => kl(p, q),
  'reverse-kl': (p, q) => kl(q, p),
  js: (p, q) => {
    const m = p.map((pi, i) => (pi + q[i]) / 2);
    return 0.5 * kl(p, m) + 0.5 * kl(q, m);
  },
  'mse-logits': (_p, _q, studentRow, teacherRow) => studentRow.reduce((s, v, i) => s + (v - teacherRow[i]) ** 2, 0) / studentRow.length,
  dkd: (p, q, _s, _t, label) => {
    // α·TCKD + β·NCKD with the paper's α = 1, β = 8 (kdLoss's defaults): binary KL on the label's class, and KL
    // over the other classes renormalised.
    const rest = (v: number[]) => {
      const others = v.filter((_, c) => c !== label);
      const sum = others.reduce((a, b) => a + b, 0);
      return others.map((x) => x / sum);
    };
    return kl([p[label], 1 - p[label]], [q[label], 1 - q[label]]) + 8 * kl(rest(p), rest(q));
  },
};

function referenceDivergence(divergence: Divergence, studentRow: number[], teacherRow: number[], temperature: number, label: number): number {
  const reference = REFERENCE[divergence];
  assert.ok(reference, `test/engine/losses.test.ts has no float64 reference for the divergence ${divergence}`);
  const p = referenceLogSoftmax(teacherRow, temperature).map(Math.exp);
  const q = referenceLogSoftmax(studentRow, temperature).map(Math.exp);
  return reference(p, q, studentRow, teacherRow, label);
}

function referenceParts(student: Matrix, teacher: Matrix, labels: number[], opts: KdLossOptions): ReferenceParts {
  const batch = student.length;
  const ce = student.reduce((s, row, r) => s - referenceLogSoftmax(row, 1)[labels[r]], 0) / batch;
  const kdUnscaled = student.reduce((s, row, r) => s + referenceDivergence(opts.divergence, row, teacher[r], opts.temperature, labels[r]), 0) / batch;
  const kd = opts.divergence === 'mse-logits' ? kdUnscaled : opts.temperature ** 2 * kdUnscaled;
  return { loss: opts.alpha * kd + (1 - opts.alpha) * ce, kd, kdUnscaled, ce };
}

// ------------------------------------------------------------------ helpers

const STUDENT: Matrix = [
  [1.0, 2.0, 0.5],
  [-0.3, 0.8, 1.5],
];
const TEACHER: Matrix = [
  [2.0, 0.5, -1.0],
  [0.2, 0.1, 2.2],
];
const LABELS = [1, 2];

function partsOf(student: Matrix, teacher: Matrix, labels: number[], opts: KdLossOptions): ReferenceParts {
  return tf.tidy(() => {
    const parts = kdLoss(tf.tensor2d(student), tf.tensor2d(teacher), tf.tensor1d(labels, 'int32'), opts);
    return {
      loss: parts.loss.dataSync()[0],
      kd: parts.kd.dataSync()[0],
      kdUnscaled: parts.kdUnscaled.dataSync()[0],
      ce: parts.ce.dataSync()[0],
    };
  });
}

function gradientOf(student: Matrix, teacher: Matrix, labels: number[], opts: KdLossOptions): Float32Array {
  return tf.tidy(() => {
    const teacherLogits = tf.tensor2d(teacher);
    const labelTensor = tf.tensor1d(labels, 'int32');
    const grad = tf.grad((s: tf.Tensor) => kdLoss(s as tf.Tensor2D, teacherLogits, labelTensor, opts).loss);
    return grad(tf.tensor2d(student)).dataSync() as Float32Array;
  });
}

/**
 * tf computes in float32 (ε = 6e-8), the reference in float64. A loss over 2 rows of 3 classes is a log-sum-exp,
 * a division by T and a mean: about a dozen roundings, each ≤ ε relative, amplified at most by T² = 16 and by
 * log-softmax's condition number (≤ |logits|/T ≈ 6): ≤ 12 · 6e-8 · 16 · 6 ≈ 7e-5 in the worst case, ≈ 1e-6 in
 * practice; 1e-5 relative (absolute below 1) sits between the two and fails on any wrong formula.
 */
function assertNear(actual: number, expected: number, what: string, relative = 1e-5): void {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: got ${actual}, expected ${expected}`);
}

function relativeError(actual: ArrayLike<number>, expected: number[]): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-8);
}

// ------------------------------------------------------------------ the tests, on each backend

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`kdLoss on the ${backend} backend`, () => {
    before(async () => {
      assert.ok(await tf.setBackend(backend), `the ${backend} backend failed to initialise`);
    });

    for (const divergence of DIVERGENCES) {
      describe(divergence, () => {
        for (const temperature of [1, 2, 0.5]) {
          it(`matches the float64 reference at T = ${temperature}, α = 0.7`, () => {
            const opts = { temperature, alpha: 0.7, divergence };
            const actual = partsOf(STUDENT, TEACHER, LABELS, opts);
            const expected = referenceParts(STUDENT, TEACHER, LABELS, opts);
            for (const key of ['loss', 'kd', 'kdUnscaled', 'ce'] as const) assertNear(actual[key], expected[key], key);
          });
        }

        it('scales kd by T² over kdUnscaled (except mse-logits, which ignores T)', () => {
          for (const temperature of [0.5, 3]) {
            const { kd, kdUnscaled } = partsOf(STUDENT, TEACHER, LABELS, { temperature, alpha: 0.5, divergence });
            const factor = divergence === 'mse-logits' ? 1 : temperature ** 2;
            assert.ok(kdUnscaled > 0);
            assertNear(kd, factor * kdUnscaled, `kd at T=${temperature}`);
          }
        });

        for (const [temperature, alpha] of [
          [1, 0.7],
          [2, 0.7],
          [4, 1],
          [0.5, 0.3],
        ]) {
          it(`has the finite-difference gradient at T = ${temperature}, α = ${alpha}`, () => {
            const opts = { temperature, alpha, divergence };
            const analytic = gradientOf(STUDENT, TEACHER, LABELS, opts);
            const numeric = centralDifference((s) => referenceParts(s, TEACHER, LABELS, opts).loss, STUDENT).flat();
            const error = relativeError(analytic, numeric);
            // The float64 central difference at h = 1e-5 is exact to h² · f''' ≈ 1e-10, far below float32 rounding of
            // the analytic gradient (≈ 1e-6 relative, 1e-4 on the smallest entries at T = 0.5, whose softmax saturates).
            // 1e-2 is loose on purpose: a wrong term (a missing T², α or 1/batch) is off by ≥ 25 %.
            assert.ok(error <= 1e-2, `relative error ${error}: tf ${Array.from(analytic)} vs numeric ${numeric}`);
          });
        }

        it('gives a finite loss and gradient for logits of ±1e4 at T = 0.5 and T = 50', () => {
          const student = [
            [1e4, -1e4, 0],
            [-1e4, 1e4, 0],
          ];
          const teacher = [
            [-1e4, 1e4, 0],
            [1e4, 0, -1e4],
          ];
          for (const temperature of [0.5, 50]) {
            const opts = { temperature, alpha: 0.5, divergence };
            const parts = partsOf(student, teacher, [2, 0], opts);
            for (const [key, value] of Object.entries(parts)) assert.ok(Number.isFinite(value), `T=${temperature} ${key} = ${value}`);
            const grad = gradientOf(student, teacher, [2, 0], opts);
            assert.ok(grad.every(Number.isFinite), `T=${temperature} gradient ${grad}`);
            assert.ok(
              grad.some((g) => g !== 0),
              `T=${temperature} gradient is all zero`,
            );
          }
        });
      });
    }

    it('with α = 0 is exactly cross-entropy: kd is 0 and neither teacher nor T reach the loss or gradient', () => {
      const parts = partsOf(STUDENT, TEACHER, LABELS, { temperature: 4, alpha: 0, divergence: 'forward-kl' });
      assert.equal(parts.kd, 0);
      assert.equal(parts.kdUnscaled, 0);
      assert.equal(parts.loss, parts.ce);
      assertNear(parts.ce, referenceParts(STUDENT, TEACHER, LABELS, { temperature: 1, alpha: 0, divergence: 'forward-kl' }).ce, 'ce');
      const otherTeacher = [
        [9, -9, 0],
        [0, 0, 0],
      ];
      const grad = gradientOf(STUDENT, TEACHER, LABELS, { temperature: 4, alpha: 0, divergence: 'forward-kl' });
      for (const divergence of DIVERGENCES) {
        assert.deepEqual(gradientOf(STUDENT, otherTeacher, LABELS, { temperature: 0.5, alpha: 0, divergence }), grad);
      }
    });

    it('with α = 1 the labels have no influence on the gradient (but for DKD, which splits by the label\u2019s class)', () => {
      for (const divergence of DIVERGENCES.filter((d) => d !== 'dkd')) {
        const opts = { temperature: 3, alpha: 1, divergence };
        const grad = gradientOf(STUDENT, TEACHER, [1, 2], opts);
        assert.deepEqual(gradientOf(STUDENT, TEACHER, [0, 0], opts), grad, divergence);
        const parts = partsOf(STUDENT, TEACHER, [1, 2], opts);
        assert.equal(parts.loss, parts.kd);
        assert.ok(parts.ce > 0, 'ce is still reported');
      }
    });

    it('trains a variable through tf.variableGrads, and leaks no tensors', () => {
      const teacher = tf.tensor2d(TEACHER);
      const labels = tf.tensor1d(LABELS, 'int32');
      const student = tf.variable(tf.tensor2d(STUDENT));
      const opts = { temperature: 2, alpha: 0.5, divergence: 'js' as const };
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => kdLoss(student, teacher, labels, opts).loss, [student]);
      const expected = gradientOf(STUDENT, TEACHER, LABELS, opts);
      assert.deepEqual(grads[student.name].dataSync(), expected);
      assertNear(value.dataSync()[0], referenceParts(STUDENT, TEACHER, LABELS, opts).loss, 'loss');
      tf.dispose([value, grads]);
      const parts = kdLoss(student, teacher, labels, opts);
      tf.dispose(parts);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([teacher, labels, student]);
    });

    it('rejects mismatched teacher and student shapes with a message naming both', () => {
      tf.tidy(() => {
        assert.throws(
          () => kdLoss(tf.zeros([2, 3]), tf.zeros([2, 4]), tf.tensor1d([0, 1], 'int32'), { temperature: 2, alpha: 0.5, divergence: 'forward-kl' }),
          /\[2, 4\].*\[2, 3\]/,
        );
      });
    });
  });
}
