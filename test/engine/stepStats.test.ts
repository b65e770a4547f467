/**
 * The fused step-stats kernels against the composed tfjs ops they replace (kdLoss, itself checked against a float64
 * reference in losses.test.ts), on every backend that has them: cpu and wasm (JavaScript) and webgpu (WGSL, on
 * the SwiftShader adapter test/support/softwareGpu.ts provides).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/engine/backends/ladder';
import {
  composedStepStats,
  DKD_STAT_COUNT,
  hasFusedStepStats,
  isFusedDivergence,
  kdStepStats,
  KD_STEP_STATS,
  KD_STEP_STATS_GRAD,
  STAT,
  STAT_COUNT,
  stepStatsGradient,
  stepStatsValues,
} from '../../src/engine/kd/stepStats';
import { DIVERGENCES, divergenceCode, type Divergence } from '../../src/shared/divergences';
import { createRng } from '../../src/shared/random';

const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;

interface Case {
  rows: number;
  classes: number;
  scale: number;
  temperature: number;
  alpha: number;
  divergence: Divergence;
}

/**
 * How long a divergence's stats vector is: five entries, or seven for dkd (it appends its two parts, as
 * composedStepStats does). A composed-only divergence (dkd) runs the composed ops on every backend (kdStepStats falls
 * back for it), so the cases below check that fallback on each backend too.
 */
const statCount = (d: Divergence) => (d === 'dkd' ? DKD_STAT_COUNT : STAT_COUNT);

/** Logits, labels and a weighting of the stats, so that the gradient check covers every component. */
function inputs(c: Case, seed: number) {
  const rng = createRng(seed);
  const logits = () => Float32Array.from({ length: c.rows * c.classes }, () => (rng() * 2 - 1) * c.scale);
  return {
    student: logits(),
    teacher: logits(),
    labels: Int32Array.from({ length: c.rows }, () => Math.floor(rng() * c.classes)),
    weights: Float32Array.from({ length: statCount(c.divergence) }, (_, i) => (i === 0 ? 1 : i === STAT.accuracy ? 0 : rng())),
  };
}

/** [stats, d(weights · stats)/d(student)] on the active backend, fused when `fused`, else composed from tfjs ops. */
async function evaluate(c: Case, data: ReturnType<typeof inputs>, fused: boolean): Promise<{ stats: Float32Array; grad: Float32Array }> {
  const student = tf.tensor2d(data.student, [c.rows, c.classes]);
  const teacher = tf.tensor2d(data.teacher, [c.rows, c.classes]);
  const labels = tf.tensor1d(data.labels, 'int32');
  const weights = tf.tensor1d(data.weights);
  const opts = { temperature: c.temperature, alpha: c.alpha, divergence: c.divergence };
  const statsOf = (s: tf.Tensor) => (fused ? kdStepStats(s as tf.Tensor2D, teacher, labels, opts) : composedStepStats(s as tf.Tensor2D, teacher, labels, opts));
  const stats = statsOf(student);
  const grad = tf.grad((s: tf.Tensor) => tf.sum(tf.mul(statsOf(s), weights)))(student);
  const result = { stats: (await stats.data()) as Float32Array, grad: (await grad.data()) as Float32Array };
  tf.dispose([student, teacher, labels, weights, stats, grad]);
  return result;
}

/**
 * Fused and composed kernels sum the same float32 terms in different orders over ≤ `classes` entries a row:
 * ≈ √classes · 6e-8 of the largest term, plus exp/log's own ≤ 4 ulp, i.e. ≤ 1e-6 for the cases here; 2e-5 of the
 * largest value leaves room for SwiftShader's looser exp (WGSL allows 3 ulp + 2⁻²¹ absolute) and nothing more.
 */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 2e-5): void {
  assert.equal(actual.length, expected.length, what);
  const norm = Math.max(1e-6, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${what}[${i}] is ${actual[i]}`);
    const error = Math.abs(actual[i] - expected[i]) / norm;
    assert.ok(error <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (error ${error.toExponential(2)} of the largest value)`);
  }
}

describe('fused KD step stats (one kernel forward, one backward)', function () {
  this.timeout(300_000);

  it('refuses a divergence code it has no kernels for, rather than computing another divergence', () => {
    const attrs = { temperature: 2, alpha: 0.5, divergence: DIVERGENCES.length };
    const one = Float32Array.of(0.5, 1);
    assert.throws(() => stepStatsValues(one, one, Int32Array.of(0), 1, 2, attrs), new RegExp(`No kernels for divergence ${DIVERGENCES.length}`));
    assert.throws(() => stepStatsGradient(one, one, Int32Array.of(0), new Float32Array(5), 1, 2, attrs), /No kernels for divergence/);
    assert.equal(divergenceCode(DIVERGENCES[DIVERGENCES.length - 1]), DIVERGENCES.length - 1);
  });

  it('refuses the code of a composed-only divergence (dkd): kdStepStats composes it instead', () => {
    const composedOnly = DIVERGENCES.filter((d) => !isFusedDivergence(d));
    assert.deepEqual(composedOnly, ['dkd']);
    const one = Float32Array.of(0.5, 1);
    for (const d of composedOnly) {
      const attrs = { temperature: 2, alpha: 0.5, divergence: divergenceCode(d) };
      assert.throws(() => stepStatsValues(one, one, Int32Array.of(0), 1, 2, attrs), /has no fused kernels \(it is composed-only\)/);
      assert.throws(() => stepStatsGradient(one, one, Int32Array.of(0), new Float32Array(5), 1, 2, attrs), /composed-only/);
    }
  });

  after(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        const report = await selectBackend(backend);
        assert.equal(report.name, backend, report.reason);
        assert.ok(hasFusedStepStats(), `the fused kernels are registered for ${backend}`);
      });

      for (const divergence of DIVERGENCES) {
        it(`matches the composed ops for ${divergence}, values and gradients of every component`, async () => {
          const cases: Case[] = [
            { rows: 37, classes: 10, scale: 4, temperature: 4, alpha: 0.7, divergence },
            // More rows than the reduction workgroup has threads, an odd class count, T = 1 (kd = kdUnscaled).
            { rows: 300, classes: 7, scale: 3, temperature: 1, alpha: 0.5, divergence },
            { rows: 5, classes: 3, scale: 2, temperature: 0.5, alpha: 0.9, divergence },
          ];
          for (const [i, c] of cases.entries()) {
            const data = inputs(c, 1000 + i);
            await tf.setBackend('cpu');
            const expected = await evaluate(c, data, false);
            await tf.setBackend(backend);
            const actual = await evaluate(c, data, true);
            const label = `${backend} ${divergence} ${c.rows}×${c.classes} T=${c.temperature} α=${c.alpha}`;
            assert.equal(actual.stats.length, statCount(divergence), `${label}: stats vector length`);
            assertClose(actual.stats, expected.stats, `${label} stats`);
            assertClose(actual.grad, expected.grad, `${label} gradient`);
          }
        });
      }

      it('stays finite for logits of ±1e4 at T = 0.5 and T = 50', async () => {
        for (const temperature of [0.5, 50]) {
          for (const divergence of DIVERGENCES) {
            const c = { rows: 8, classes: 10, scale: 1e4, temperature, alpha: 0.7, divergence };
            const { stats, grad } = await evaluate(c, inputs(c, 7), true);
            assert.ok([...stats, ...grad].every(Number.isFinite), `${backend} ${divergence} T=${temperature}: ${stats}`);
          }
        }
      });

      it('is exactly CE at α = 0, and at α = 1 the labels cannot reach the gradient', async () => {
        const c = { rows: 16, classes: 10, scale: 3, temperature: 3, alpha: 0, divergence: 'forward-kl' as const };
        const data = inputs(c, 11);
        const { stats } = await evaluate(c, data, true);
        assert.equal(stats[STAT.loss], stats[STAT.ce]);
        assert.equal(stats[STAT.kd], 0);
        const alphaOne = { ...c, alpha: 1 };
        const first = await evaluate(alphaOne, { ...data, weights: Float32Array.of(1, 0, 0, 0, 0) }, true);
        const relabelled = await evaluate(
          alphaOne,
          { ...data, labels: data.labels.map((y) => (y + 1) % c.classes), weights: Float32Array.of(1, 0, 0, 0, 0) },
          true,
        );
        assert.deepEqual(relabelled.grad, first.grad);
        assert.equal(first.stats[STAT.loss], first.stats[STAT.kd]);
      });

      it('runs as one kernel forward and one backward, where the composed ops run dozens', async () => {
        const c = { rows: 64, classes: 10, scale: 3, temperature: 4, alpha: 0.7, divergence: 'js' as const };
        const data = inputs(c, 3);
        const student = tf.tensor2d(data.student, [c.rows, c.classes]);
        const teacher = tf.tensor2d(data.teacher, [c.rows, c.classes]);
        const labels = tf.tensor1d(data.labels, 'int32');
        /** Kernels that compute (Identity and Reshape only share data): each is a dispatch on a GPU backend. */
        const computing = async (stats: typeof composedStepStats) => {
          const profile = await tf.profile(() => {
            const lossOf = (s: tf.Tensor) => tf.reshape(tf.slice(stats(s as tf.Tensor2D, teacher, labels, c), [STAT.loss], [1]), []) as tf.Scalar;
            return tf.grad(lossOf)(student);
          });
          // kernels, not kernelNames: the names are deduplicated.
          return profile.kernels.map((k) => k.name).filter((n) => n !== 'Identity' && n !== 'Reshape');
        };
        const fused = await computing(kdStepStats);
        const composed = await computing(composedStepStats);
        tf.dispose([student, teacher, labels]);
        assert.deepEqual(fused, [KD_STEP_STATS, 'Slice', 'PadV2', KD_STEP_STATS_GRAD]);
        assert.ok(composed.length >= 40, `the composed ops run ${composed.length} kernels: ${composed.join(', ')}`);
      });
    });
  }
});
