/**
 * Exporting students: a trained run's student as ONNX, checked in onnxruntime-node against the tfjs logits on the
 * test split; every layer type the exporter converts, in students with seeded random weights (batch-norm statistics
 * included, so that a wrong transpose or broadcast shows); an unsupported layer refused by name; tfjs export.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DistillError } from '../../src/shared/errors';
import { describeOnnx } from '../../src/shared/onnx';
import { createRng } from '../../src/shared/random';
import { RUN_FILES } from '../../src/shared/runDir';
import { exportStudent } from '../../src/engine/export';
import { saveLayersModel } from '../../src/engine/models/modelFiles';
import { main } from '../../src/engine/cli';
import { runEngine, smallConfig, tempDir } from './helpers';

const CNN = path.join(__dirname, 'fixtures', 'onnx', 'fashion-cnn.onnx');

/** Every weight of `model` set from a seeded PRNG; variances positive, so batch norm divides by something real. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = createRng(seed);
  for (const layer of model.layers) {
    const weights = layer.weights;
    if (!weights.length) continue;
    layer.setWeights(
      weights.map((w) => {
        const isVariance = w.name.includes('moving_variance');
        const shape = w.shape as number[];
        const size = shape.reduce((a, b) => a * b, 1);
        return tf.tensor(
          Float32Array.from({ length: size }, () => (isVariance ? 0.5 + rng() : (rng() - 0.5) * 0.6)),
          shape,
        );
      }),
    );
  }
}

describe('engine: exporting the student', function () {
  this.timeout(600_000);
  const dir = tempDir('distill-export-');
  let runDir: string;

  before(async () => {
    // A real run: the PyTorch ONNX teacher distilled into the cnn-small preset on a Fashion-MNIST slice.
    const config = smallConfig(dir, { teacher: { model: CNN }, student: { preset: 'cnn-small' }, training: { epochs: 1, batchSize: 64, learningRate: 0.003 } });
    config.data.maxSamples = { train: 1000, test: 300 };
    const run = await runEngine(config);
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    runDir = run.runDir;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A run directory like `runDir`, whose student is `model`. */
  const withStudent = async (name: string, model: tfl.LayersModel): Promise<string> => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.copyFileSync(path.join(runDir, RUN_FILES.config), path.join(d, RUN_FILES.config));
    await saveLayersModel(model, path.join(d, RUN_FILES.student));
    model.dispose();
    return d;
  };

  it('the trained cnn-small student as ONNX gives the tfjs logits within 1e-4 on the test split', async () => {
    const out = path.join(dir, 'student.onnx');
    const result = await exportStudent(runDir, { format: 'onnx', out });
    assert.equal(result.parity!.rows, 300);
    // Same float32 weights and inputs; the runtimes sum the ~300-term dot products in other orders: ~1e-6 apart.
    assert.ok(result.parity!.maxAbsDiff <= 1e-4, String(result.parity!.maxAbsDiff));
    const info = describeOnnx(fs.readFileSync(out));
    assert.equal(info.opset, 13);
    assert.deepEqual(
      info.inputs.map((i) => i.shape),
      [['batch', 28, 28, 1]],
    );
    assert.deepEqual(
      info.outputs.map((o) => [o.name, o.shape]),
      [['logits', ['batch', 10]]],
    );
    // The file stands alone: a fresh session on it gives logits of the right shape.
    const session = await ort.InferenceSession.create(out);
    const y = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 28, 28, 1]) });
    assert.deepEqual(y.logits.dims, [2, 10]);
    await session.release();
  });

  it('converts every supported layer type: conv, depthwise, separable, pooling, batch norm, reshape, activations', async () => {
    await tf.setBackend('cpu');
    const convs = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tfl.layers.batchNormalization(),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'valid', activation: 'relu6' }),
        tfl.layers.separableConv2d({ filters: 6, kernelSize: [3, 2], padding: 'same', depthMultiplier: 1 }),
        tfl.layers.leakyReLU({ alpha: 0.1 }),
        tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
        tfl.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
        tfl.layers.conv2d({ filters: 5, kernelSize: 2, strides: 2, dilationRate: 1, activation: 'elu', useBias: false }),
        tfl.layers.dropout({ rate: 0.3 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 16, activation: 'tanh' }),
        tfl.layers.batchNormalization({ center: false }),
        tfl.layers.activation({ activation: 'sigmoid' }),
        tfl.layers.dense({ units: 10 }),
      ],
    });
    randomizeWeights(convs, 3);
    const reshaped = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [28, 28, 1] }),
        tfl.layers.dense({ units: 98, activation: 'softplus' }),
        tfl.layers.reshape({ targetShape: [7, 7, 2] }),
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'selu' }),
        tfl.layers.reLU(),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    randomizeWeights(reshaped, 4);
    const globalMax = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 3, kernelSize: 5, strides: 3, activation: 'swish' }),
        tfl.layers.elu(),
        tfl.layers.globalMaxPooling2d({}),
        tfl.layers.dense({ units: 10, activation: 'hardSigmoid' }),
        tfl.layers.softmax(),
      ],
    });
    randomizeWeights(globalMax, 5);
    for (const [name, model] of [
      ['convs', convs],
      ['reshaped', reshaped],
      ['global-max', globalMax],
    ] as const) {
      const d = await withStudent(name, model);
      const result = await exportStudent(d, { format: 'onnx', out: path.join(d, 'student.onnx') });
      // Activations of magnitude ≲ 10 through ≤ 6 float32 layers: rounding differences ~1e-6, far under 1e-4;
      // a wrong weight layout or transpose gives differences of order 0.1.
      assert.ok(result.parity!.maxAbsDiff <= 1e-4, `${name}: ${result.parity!.maxAbsDiff}`);
    }
  });

  it('an unsupported layer is refused by name, and nothing is written', async () => {
    await tf.setBackend('cpu');
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }),
        tfl.layers.upSampling2d({ size: [2, 2] }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10 }),
      ],
    });
    const upName = model.layers[1].name;
    const d = await withStudent('unsupported', model);
    const out = path.join(d, 'student.onnx');
    await assert.rejects(exportStudent(d, { format: 'onnx', out }), (e: unknown) => {
      assert.ok(e instanceof DistillError);
      assert.match(
        e.message,
        new RegExp(`layer "${upName}" \\(UpSampling2D\\) is a layer type, which the ONNX exporter does not convert\\. Export as tfjs instead`),
      );
      return true;
    });
    assert.ok(!fs.existsSync(out));
  });

  it('distill export: onnx by default, tfjs on request, and an existing --out is kept unless --force', async () => {
    const onnxOut = path.join(dir, 'cli', 'student.onnx');
    const stdout: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (stdout.push(String(chunk)), true)) as typeof process.stdout.write;
    const stderrWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let codes: number[];
    try {
      codes = [
        await main(['export', runDir, '--out', onnxOut]),
        await main(['export', runDir, '--format', 'tfjs', '--out', path.join(dir, 'cli', 'tfjs')]),
        await main(['export', runDir, '--out', onnxOut]),
        await main(['export', runDir, '--out', onnxOut, '--force', '--json']),
      ];
    } finally {
      process.stdout.write = write;
      process.stderr.write = stderrWrite;
    }
    assert.deepEqual(codes, [0, 0, 2, 0]);
    assert.match(stdout[0], /Exported the student as ONNX \(opset 13\): .*student\.onnx .*It gives the tfjs student's logits on 300 test rows within/);
    assert.ok(fs.existsSync(path.join(dir, 'cli', 'tfjs', 'model.json')));
    assert.equal(JSON.parse(stdout[stdout.length - 1]).parity.rows, 300);
  });
});
