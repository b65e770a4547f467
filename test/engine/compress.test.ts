/**
 * The compression stages against independent computations: quantize/dequantize error bounds through tfjs' own
 * decoder and loader, float16 against the IEEE definition, AGP sparsity at every step of a real fine-tuning step
 * loop, and SVD reconstruction (full rank gives back W; truncation keeps the asked energy).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '../../src/shared/random';
import { encodeFloat16, float16Bits } from '../../src/engine/compress/float16';
import { factorize, lowRankModel, symmetricEigen } from '../../src/engine/compress/lowRank';
import { agpFor, agpSparsity, MagnitudePruner } from '../../src/engine/compress/prune';
import { channelScales, uint8Params, writeQuantizedModel } from '../../src/engine/compress/quantize';
import { loadStudentModel, saveLayersModel } from '../../src/engine/models/modelFiles';
import { removeTempDir } from '../support/tempDirs';
import { tempDir } from './helpers';

const normal = (rng: () => number) => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const randomArray = (n: number, seed: number, scale = 1) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => normal(rng) * scale);
};

/** binary16 bits → value, from the IEEE 754 definition (not tfjs' table-driven decoder). */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A small seeded Sequential: conv → flatten → dense(relu) → dense logits. */
function smallModel(seed: number): tfl.LayersModel {
  const init = (s: number) => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: s }),
    biasInitializer: tfl.initializers.randomNormal({ seed: s + 100, stddev: 0.1 }),
  });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', ...init(seed) }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 24, activation: 'relu', ...init(seed + 1) }),
      tfl.layers.dense({ units: 5, ...init(seed + 2) }),
    ],
  });
}

const kernelValues = (model: tfl.LayersModel) =>
  model.trainableWeights.filter((w) => w.originalName.endsWith('/kernel')).map((w) => w.read().dataSync() as Float32Array);

describe('compression: quantization', function () {
  this.timeout(120_000);
  const dir = tempDir('distill-quant-');
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => removeTempDir(dir));

  it('float16 rounds to the nearest binary16 value (ties to even), as the IEEE definition decodes it', () => {
    const values = Float32Array.from([...randomArray(2000, 1, 3), 0, -0, 1, 65504, 1e-7, 6.1e-5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -1e-9]);
    const bits = encodeFloat16(values);
    values.forEach((v, i) => {
      const got = halfValue(bits[i]);
      if (Math.abs(v) > 65520) return assert.equal(got, Math.sign(v) * Infinity);
      // Nearest: no binary16 neighbour of `got` is closer to v.
      const up = halfValue(bits[i] + 1);
      const down = halfValue(bits[i] - 1);
      for (const n of [up, down]) if (Number.isFinite(n)) assert.ok(Math.abs(got - v) <= Math.abs(n - v), `${v} → ${got}, but ${n} is closer`);
    });
    // Ties go to the even mantissa: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    assert.equal(halfValue(float16Bits(1 + 2 ** -11)), 1);
    assert.equal(halfValue(float16Bits(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10);
  });

  it('uint8 per tensor: every weight within scale/2 of its value, and zero exactly representable', () => {
    const w = randomArray(5000, 2, 0.2);
    const p = uint8Params(w);
    const lo = Math.min(0, ...w);
    const hi = Math.max(0, ...w);
    assert.ok(Math.abs(p.scale - (hi - lo) / 255) < 1e-12);
    // The grid holds 0: min is a whole number of steps below it.
    const zp = -p.min / p.scale;
    assert.ok(Math.abs(zp - Math.round(zp)) < 1e-9);
    assert.equal(Math.round(zp) * p.scale + p.min, 0);
  });

  for (const format of ['float16', 'uint8', 'uint8-per-channel'] as const) {
    it(`${format}: the saved model loads through tf.loadLayersModel, with each weight within the format's error bound`, async () => {
      const model = smallModel(11);
      const out = path.join(dir, format);
      await writeQuantizedModel(model, out, format);
      // The manifest marks each quantized weight; tfjs' own decoder reads them.
      const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
      const entries = json.weightsManifest[0].weights as tf.io.WeightsManifestEntry[];
      const kinds = new Set(entries.map((e) => e.quantization?.dtype ?? 'float32'));
      assert.ok(kinds.has(format === 'float16' ? 'float16' : 'uint8'), `manifest dtypes ${[...kinds]}`);
      const decoded = tf.io.decodeWeights(fs.readFileSync(path.join(out, 'weights.bin')).buffer as ArrayBuffer, entries);
      const originals = model.weights.map((w) => w.read().dataSync() as Float32Array);
      const loaded = await loadStudentModel(path.join(out, 'model.json'));
      try {
        if (format !== 'uint8-per-channel') {
          model.weights.forEach((w, i) => {
            const got = decoded[w.originalName].dataSync();
            const want = originals[i];
            const spec = entries.find((e) => e.name === w.originalName)!;
            for (let j = 0; j < want.length; j++) {
              // float16 has an 11-bit significand: relative error ≤ 2^-11 for normal values, absolute ≤ 2^-25 below
              // 2^-14. uint8: rounding to the grid costs at most half a step (+ float32 rounding of q·scale + min).
              const bound =
                format === 'float16' ? Math.max(Math.abs(want[j]) * 2 ** -11, 2 ** -25) : spec.quantization ? spec.quantization.scale! / 2 + 1e-7 : 0;
              assert.ok(Math.abs(got[j] - want[j]) <= bound, `${w.originalName}[${j}]: ${got[j]} vs ${want[j]} (bound ${bound})`);
            }
          });
          const bytes = fs.statSync(path.join(out, 'weights.bin')).size;
          const floatBytes = originals.reduce((s, v) => s + v.length * 4, 0);
          if (format === 'float16') assert.equal(bytes, floatBytes / 2);
        } else {
          // Per channel: the loaded kernel is integer (q ∈ [−127, 127], exact), the scale layer's γ is s_j, and
          // q·s_j is within s_j/2 of W, channel by channel.
          const kernels = kernelValues(model);
          const layers = loaded.layers.filter((l) => l.getClassName() === 'Dense' || l.getClassName() === 'Conv2D');
          assert.equal(layers.length, kernels.length);
          layers.forEach((layer, k) => {
            const q = layer.getWeights()[0].dataSync();
            const units = layer.getWeights()[0].shape.at(-1)!;
            const scaleLayer = loaded.getLayer(`${layer.name}_scale`);
            const gamma = scaleLayer.getWeights()[0].dataSync();
            const s = channelScales(kernels[k], units);
            for (let j = 0; j < units; j++) assert.ok(Math.abs(gamma[j] - s[j]) <= 1e-7 * s[j] + 1e-12);
            for (let i = 0; i < q.length; i++) {
              assert.equal(q[i], Math.round(q[i]));
              assert.ok(Math.abs(q[i] * s[i % units] - kernels[k][i]) <= s[i % units] / 2 + 1e-7, `kernel ${k}[${i}]`);
            }
          });
        }
        // Predictions of the loaded model stay near the float32 ones.
        const x = tf.tensor(randomArray(16 * 64, 5), [16, 8, 8, 1]);
        const a = (model.predict(x) as tf.Tensor).dataSync();
        const b = (loaded.predict(x) as tf.Tensor).dataSync();
        const maxA = Math.max(...Array.from(a, Math.abs));
        const maxDiff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
        // Loose on purpose: a few percent of the logit range for 8 bits over three layers; float16 far less.
        assert.ok(maxDiff < (format === 'float16' ? 2e-3 : 0.05) * Math.max(1, maxA), `max logit difference ${maxDiff} (max logit ${maxA})`);
        x.dispose();
      } finally {
        loaded.dispose();
        model.dispose();
      }
    });
  }
});

describe('compression: pruning', function () {
  this.timeout(120_000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('AGP follows s_f (1 − (1 − t/n)³) on its Δt grid, from 0 to the target, then holds', () => {
    const s = { target: 0.8, rampSteps: 90, frequency: 10 };
    for (let t = 0; t <= 120; t++) {
      const onGrid = Math.min(90, t - (t % 10));
      assert.ok(Math.abs(agpSparsity(t, s) - 0.8 * (1 - (1 - onGrid / 90) ** 3)) < 1e-12, `step ${t}`);
    }
    assert.equal(agpSparsity(0, s), 0);
    assert.equal(agpSparsity(90, s), 0.8);
    const f = agpFor(0.5, 100);
    assert.deepEqual(f, { target: 0.5, rampSteps: 75, frequency: 2 });
  });

  for (const scope of ['global', 'layer'] as const) {
    it(`${scope} masks, re-applied after every optimizer step, give the scheduled sparsity at each step and keep pruned weights zero`, async () => {
      const model = smallModel(21);
      const schedule = { target: 0.7, rampSteps: 12, frequency: 3 };
      const pruner = new MagnitudePruner(model, { scope, sparsityAt: (t) => agpSparsity(t, schedule) });
      const optimizer = tf.train.adam(0.05);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const x = tf.tensor(randomArray(32 * 64, 6), [32, 8, 8, 1]);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 32 }, (_, i) => i % 5),
          'int32',
        ),
        5,
      );
      let previouslyZero: boolean[][] = [];
      try {
        for (let step = 1; step <= 16; step++) {
          tf.tidy(() => void optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, false, vars));
          pruner.afterStep(step);
          const target = agpSparsity(step, schedule);
          const kernels = kernelValues(model);
          const total = kernels.reduce((s, k) => s + k.length, 0);
          const zeros = kernels.map((k) => k.filter((v) => v === 0).length);
          if (scope === 'global') {
            assert.equal(
              zeros.reduce((a, b) => a + b, 0),
              Math.round(target * total),
              `step ${step}: global zeros`,
            );
          } else {
            kernels.forEach((k, i) => assert.equal(zeros[i], Math.round(target * k.length), `step ${step}: layer ${i} zeros`));
          }
          // Once pruned, a weight stays exactly zero: the Adam update moves it, the mask puts it back.
          kernels.forEach((k, i) => previouslyZero[i]?.forEach((z, j) => z && assert.ok(k[j] === 0, `step ${step}: weight ${i}/${j} revived as ${k[j]}`)));
          previouslyZero = kernels.map((k) => Array.from(k, (v) => v === 0));
        }
        const report = pruner.report();
        assert.ok(Math.abs(report.reduce((s, r) => s + r.zeros, 0) / report.reduce((s, r) => s + r.params, 0) - 0.7) < 0.01);
      } finally {
        pruner.dispose();
        optimizer.dispose();
        tf.dispose([x, y]);
        model.dispose();
      }
    });
  }
});

describe('compression: low-rank factorization', function () {
  this.timeout(120_000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('Jacobi eigen-decomposition: A·v = λ·v with orthonormal v', () => {
    const n = 12;
    const b = randomArray(n * n, 7);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[k * n + i] * b[k * n + j];
    const { values, vectors } = symmetricEigen(a, n);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[k * n + c];
        assert.ok(Math.abs(av - values[c] * vectors[i * n + c]) < 1e-9 * values[0], `A v = λ v, column ${c}`);
      }
      if (c) assert.ok(values[c] <= values[c - 1]);
    }
  });

  for (const [m, n] of [
    [40, 12],
    [9, 30],
  ] as const) {
    it(`SVD of a ${m}×${n} kernel at full rank reproduces it; truncated keeps at least the asked energy`, () => {
      const w = randomArray(m * n, m + n);
      const full = factorize(w, m, n, { energy: 1 });
      assert.equal(full.rank, Math.min(m, n));
      const maxW = Math.max(...Array.from(w, Math.abs));
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let r = 0; r < full.rank; r++) sum += full.a[i * full.rank + r] * full.b[r * n + j];
          // float32 factors of a float64 decomposition: a few float32 ulps of the largest entry.
          assert.ok(Math.abs(sum - w[i * n + j]) < 1e-5 * maxW, `(${i}, ${j}): ${sum} vs ${w[i * n + j]}`);
        }
      const part = factorize(w, m, n, { energy: 0.6 });
      assert.ok(part.rank < full.rank && part.energy >= 0.6);
      // The residual's energy is what was dropped: ‖W − AB‖² = (1 − kept)·‖W‖² (Eckart–Young).
      let res = 0;
      let tot = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let r = 0; r < part.rank; r++) sum += part.a[i * part.rank + r] * part.b[r * n + j];
          res += (sum - w[i * n + j]) ** 2;
          tot += w[i * n + j] ** 2;
        }
      assert.ok(Math.abs(res / tot - (1 - part.energy)) < 1e-4, `residual ${res / tot} vs dropped ${1 - part.energy}`);
    });
  }

  it('a factorized model at full rank predicts what the original does; at low energy it has fewer parameters', async () => {
    const model = smallModel(31);
    const x = tf.tensor(randomArray(8 * 64, 9), [8, 8, 8, 1]);
    const full = await lowRankModel(model, { energy: 1 }, true);
    const cut = await lowRankModel(model, { energy: 0.5 });
    try {
      assert.ok(full.model);
      assert.equal(full.model.layers.length, model.layers.length + 2);
      const a = (model.predict(x) as tf.Tensor).dataSync();
      const b = (full.model.predict(x) as tf.Tensor).dataSync();
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4 * Math.max(1, Math.abs(v)), `logit ${i}: ${v} vs ${b[i]}`));
      assert.ok(cut.model && cut.model.countParams() < model.countParams(), 'fewer parameters at energy 0.5');
      for (const r of cut.ranks) assert.ok(r.kept ? r.paramsAfter >= r.paramsBefore : r.paramsAfter < r.paramsBefore, r.layer);
      // At full energy no layer gets smaller, so nothing is factorized, and the reason says so.
      const none = await lowRankModel(model, { energy: 1 });
      assert.equal(none.model, undefined);
      assert.match(none.reason!, /No layer gets smaller/);
      // Saved and loaded back, it is still a standard tfjs model.
      const dir = tempDir('distill-lowrank-');
      await saveLayersModel(cut.model, dir);
      const loaded = await loadStudentModel(path.join(dir, 'model.json'));
      assert.equal(loaded.countParams(), cut.model.countParams());
      loaded.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      full.model?.dispose();
      cut.model?.dispose();
      model.dispose();
      x.dispose();
    }
  });

  it('a model without a Dense layer is not factorized, with the reason', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3 }), tfl.layers.flatten()] });
    const r = await lowRankModel(model, { energy: 0.9 });
    assert.equal(r.model, undefined);
    assert.match(r.reason!, /no Dense or 1×1 Conv2D layer/);
    model.dispose();
  });
});
