/**
 * Feature distillation from an ONNX teacher: the features are graph outputs named in `distillation.features`. A
 * small NCHW model written with Distill's ONNX encoder has three outputs: its logits, a feature map
 * concat(x, 2x) on the channel axis, and a hidden layer. Its feature map comes back channels-last, its hidden layer
 * matches a float64 reference, an unknown name lists the outputs, and a real run distils from the hidden layer.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openOnnxTeacher } from '../../src/engine/teachers/onnx';
import type { MetricsRecord, StepRecord } from '../../src/shared/records';
import { DistillError } from '../../src/shared/errors';
import { encodeModel } from '../../src/shared/onnx';
import { createRng } from '../../src/shared/random';
import { readJsonLines } from '../../src/shared/runDir';
import { runEngine, smallConfig, tempDir } from './helpers';

const HIDDEN = 16;

function writeModel(file: string) {
  const rng = createRng(5);
  const inputs = 2 * 28 * 28;
  const W1 = Float32Array.from({ length: inputs * HIDDEN }, () => (rng() - 0.5) * 0.1);
  const b1 = Float32Array.from({ length: HIDDEN }, () => rng() - 0.5);
  const W2 = Float32Array.from({ length: HIDDEN * 10 }, () => (rng() - 0.5) * 0.5);
  const b2 = Float32Array.from({ length: 10 }, () => rng() - 0.5);
  fs.writeFileSync(
    file,
    encodeModel({
      name: 'features',
      opset: 13,
      nodes: [
        { op: 'Mul', inputs: ['x', 'two'], outputs: ['x2'] },
        { op: 'Concat', inputs: ['x', 'x2'], outputs: ['fmap'], attributes: { axis: 1 } },
        { op: 'Flatten', inputs: ['fmap'], outputs: ['flat'] },
        { op: 'Gemm', inputs: ['flat', 'W1', 'b1'], outputs: ['hidden'] },
        { op: 'Relu', inputs: ['hidden'], outputs: ['h'] },
        { op: 'Gemm', inputs: ['h', 'W2', 'b2'], outputs: ['logits'] },
      ],
      initializers: [
        { name: 'two', dims: [], data: new Float32Array([2]) },
        { name: 'W1', dims: [inputs, HIDDEN], data: W1 },
        { name: 'b1', dims: [HIDDEN], data: b1 },
        { name: 'W2', dims: [HIDDEN, 10], data: W2 },
        { name: 'b2', dims: [10], data: b2 },
      ],
      inputs: [{ name: 'x', shape: ['N', 1, 28, 28] }],
      outputs: [
        { name: 'logits', shape: ['N', 10] },
        { name: 'fmap', shape: ['N', 2, 28, 28] },
        { name: 'hidden', shape: ['N', HIDDEN] },
      ],
    }),
  );
  return { W1, b1 };
}

describe('engine: feature distillation from an ONNX teacher\u2019s outputs', function () {
  this.timeout(600_000);
  const dir = tempDir('distill-onnx-features-');
  const file = path.join(dir, 'features.onnx');
  let weights: ReturnType<typeof writeModel>;
  before(async () => {
    weights = writeModel(file);
    await tf.setBackend('cpu');
  });

  it('named outputs come back channels-last (NCHW → NHWC) and equal a float64 reference; unknown names list the outputs', async () => {
    const teacher = await openOnnxTeacher({ model: file } as never, { inputShape: [28, 28, 1], numClasses: 10, batchSize: 64, log: () => undefined });
    try {
      const rng = createRng(9);
      const rows = 3;
      const x = Float32Array.from({ length: rows * 28 * 28 }, () => rng());
      const [fmap, hidden] = await teacher.features!(['fmap', 'hidden']).compute(tf.tensor4d(x, [rows, 28, 28, 1]));
      assert.deepEqual(fmap.shape, [rows, 28, 28, 2]);
      const f = (await fmap.data()) as Float32Array;
      // Channel 0 is x and channel 1 is 2x, exactly (a float32 doubling is exact).
      for (let i = 0; i < rows * 28 * 28; i++) {
        assert.equal(f[2 * i], x[i]);
        assert.equal(f[2 * i + 1], 2 * x[i]);
      }
      const h = (await hidden.data()) as Float32Array;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < HIDDEN; j++) {
          // The model flattens NCHW: channel 0's 784 pixels, then channel 1's.
          let v = weights.b1[j];
          for (let c = 0; c < 2; c++) for (let p = 0; p < 784; p++) v += (c + 1) * x[r * 784 + p] * weights.W1[(c * 784 + p) * HIDDEN + j];
          // A 1,568-term float32 dot product of terms ≤ 0.1: ~1e-5 absolute rounding at most; 1e-4 is ample.
          assert.ok(Math.abs(h[r * HIDDEN + j] - v) <= 1e-4, `hidden[${r}][${j}] ${h[r * HIDDEN + j]} vs ${v}`);
        }
      }
      tf.dispose([fmap, hidden]);
      assert.throws(
        () => teacher.features!(['hidden', 'conv3']),
        (e: unknown) => {
          assert.ok(e instanceof DistillError);
          assert.match(
            e.message,
            /distillation\.features\[1\]\.teacher: the teacher ONNX model .*features\.onnx has no output named "conv3"\. Available: "logits", "fmap", "hidden"\. ONNX Runtime returns graph outputs only/,
          );
          return true;
        },
      );
    } finally {
      teacher.dispose();
    }
  });

  it('a run distils an MLP student\u2019s hidden layer from the ONNX teacher\u2019s hidden output (dense adapter 8 → 16)', async () => {
    const config = smallConfig(dir, {
      teacher: { model: file, output: 'logits' },
      student: { preset: 'mlp', hidden: [8] },
      data: { ...(smallConfig(dir).data as object), maxSamples: { train: 600, test: 200 } },
      distillation: { temperature: 4, alpha: 0.9, features: [{ teacher: 'hidden', student: 'student_dense1' }] },
      training: { epochs: 1, batchSize: 64, learningRate: 0.003 },
    });
    const run = await runEngine(config);
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const steps = readJsonLines<MetricsRecord>(path.join(run.runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step' && r.student === 'kd');
    assert.equal(steps.length, 9);
    assert.ok(
      steps.every((s) => s.featureParts?.length === 1 && s.feature === s.featureParts[0] && s.feature > 0),
      JSON.stringify(steps[0]),
    );
  });
});
