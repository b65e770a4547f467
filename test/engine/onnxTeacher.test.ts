/**
 * ONNX teachers through onnxruntime-node: a real PyTorch-exported CNN (test/engine/fixtures/onnx, made by
 * examples/pytorch-teacher/export_teacher.py) gives PyTorch's logits and accuracy; layouts, preprocessing, providers,
 * caching, and one clear error per way an ONNX file can be wrong. The small models of the error cases are written
 * with Distill's own ONNX encoder (src/shared/onnx.ts), so each is exactly the model the case needs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../../src/shared/config';
import { DistillError } from '../../src/shared/errors';
import { encodeModel, type OnnxDim, type OnnxNode } from '../../src/shared/onnx';
import type { Summary } from '../../src/shared/records';
import { createRng } from '../../src/shared/random';
import { readJson } from '../../src/shared/runDir';
import { loadDataset, type Dataset } from '../../src/engine/data';
import { parseNpy } from '../../src/engine/data/npy';
import { applyPreprocess } from '../../src/engine/teachers/preprocess';
import { openTeacher, teacherLogits, type TeacherContext } from '../../src/engine/teachers';
import { runEngine, smallConfig, tempDir } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'onnx');
const CNN = path.join(FIXTURES, 'fashion-cnn.onnx');
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'fashion-cnn.reference.json'), 'utf8')) as {
  testAccuracy: number;
  referenceRows: number;
  referenceAccuracy: number;
  params: number;
};
const npy = (file: string) => parseNpy(fs.readFileSync(file), { file, field: 'test' });

/** A model `Flatten → Gemm(W, b)` (and `after` nodes) on an input declared as `inputShape`, with seeded weights. */
function gemmModel(
  file: string,
  inputShape: OnnxDim[],
  opts: { classes?: number; opset?: number; after?: OnnxNode[]; outShape?: OnnxDim[]; inputType?: number; seed?: number; features?: number } = {},
) {
  const classes = opts.classes ?? 10;
  const features = opts.features ?? (inputShape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const rng = createRng(opts.seed ?? 1);
  const W = Float32Array.from({ length: features * classes }, () => (rng() - 0.5) * 0.1);
  const b = Float32Array.from({ length: classes }, () => rng() - 0.5);
  const after = opts.after ?? [];
  const last = after.length ? after[after.length - 1].outputs[0] : 'logits';
  fs.writeFileSync(
    file,
    encodeModel({
      name: 'tiny',
      opset: opts.opset ?? 13,
      nodes: [
        // A non-float input is cast first, so that the model itself is valid and only its input type is wrong for Distill.
        ...(opts.inputType ? [{ op: 'Cast', inputs: ['x'], outputs: ['xf'], attributes: { to: 1 } }] : []),
        { op: 'Flatten', inputs: [opts.inputType ? 'xf' : 'x'], outputs: ['flat'] },
        { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: ['logits'] },
        ...after,
      ],
      initializers: [
        { name: 'W', dims: [features, classes], data: W },
        { name: 'b', dims: [classes], data: b },
      ],
      inputs: [{ name: 'x', shape: inputShape, elemType: opts.inputType }],
      outputs: [{ name: last, shape: opts.outShape ?? ['N', classes] }],
    }),
  );
  return { W, b, features, classes };
}

describe('engine: ONNX teachers', function () {
  this.timeout(600_000);
  const dir = tempDir('distill-onnx-');
  const rows = reference.referenceRows;
  let dataset: Dataset;
  const warnings: string[] = [];
  const logs: string[] = [];

  const configFor = (teacher: Record<string, unknown>, extra: Record<string, unknown> = {}): DistillConfig =>
    smallConfig(dir, { teacher, ...extra, data: { ...(smallConfig(dir).data as object), maxSamples: { train: 300, test: rows } } });

  const context = (config: DistillConfig): TeacherContext => {
    const x = (s: { x: Float32Array; count: number }) => tf.tensor(s.x, [s.count, ...dataset.inputShape]);
    const xTest = x(dataset.test);
    return {
      config,
      dataset,
      trainRows: { x: xTest, y: tf.tensor1d(dataset.test.y, 'int32'), count: dataset.test.count },
      xTrainAll: () => x(dataset.train),
      xTest,
      xUnlabeled: () => {
        throw new Error('no unlabelled rows here');
      },
      inferenceBatch: 256,
      threads: 1,
      runDir: undefined,
      log: (m) => logs.push(m),
      warn: (m) => warnings.push(m),
      phase: (_p, m) => logs.push(m),
      teacherTrainingStarts: async () => undefined,
      teacherSteps: () => undefined,
      teacherEpoch: async () => undefined,
      shouldStop: () => false,
    };
  };

  /** The teacher's outputs on the test rows (not cached: a fresh cache dir per call). */
  const testOutputs = async (teacher: Record<string, unknown>) => {
    const config = configFor(teacher);
    config.output.cacheDir = tempDir('distill-onnx-cache-');
    try {
      const out = await teacherLogits(context(config));
      out.teacher.dispose();
      return out;
    } finally {
      fs.rmSync(config.output.cacheDir, { recursive: true, force: true });
    }
  };

  const refusal = async (teacher: Record<string, unknown>, pattern: RegExp) => {
    await assert.rejects(openTeacher(context(configFor(teacher))), (e: unknown) => {
      assert.ok(e instanceof DistillError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  };

  before(async () => {
    await tf.setBackend('cpu');
    dataset = await loadDataset(configFor({ model: CNN }).data);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    warnings.length = 0;
    logs.length = 0;
  });

  it("a PyTorch-exported CNN gives PyTorch's logits (≤ 1e-4) and accuracy on the Fashion-MNIST test rows", async () => {
    const out = await testOutputs({ model: CNN });
    const expected = npy(path.join(FIXTURES, 'fashion-cnn.logits.npy'));
    assert.deepEqual(expected.shape, [rows, 10]);
    // Same float32 model, same [0, 1] inputs (Distill divides the IDX bytes by 255 like the script's ToTensor); only
    // the order of float32 sums differs between PyTorch's and ONNX Runtime's kernels: logits of magnitude ≲ 20 over
    // ~600-term dot products agree to ~1e-5, so 1e-4 is the bound the issue asks for, with margin.
    let worst = 0;
    for (let i = 0; i < out.test.length; i++) worst = Math.max(worst, Math.abs(out.test[i] - Number(expected.data[i])));
    assert.ok(worst <= 1e-4, `max |Δlogit| ${worst}`);
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const row = out.test.subarray(r * 10, r * 10 + 10);
      if (row.indexOf(Math.max(...row)) === dataset.test.y[r]) correct++;
    }
    // The reference was a float32 mean in PyTorch: 861/1000 to float32 precision.
    assert.ok(Math.abs(correct / rows - reference.referenceAccuracy) < 1e-6, `${correct / rows} vs ${reference.referenceAccuracy}`);
  });

  it("distils from a config that names only the .onnx file; the report shows PyTorch's accuracy, params, bytes, latency and the runtime", async () => {
    const config = configFor({ model: CNN }, { evaluation: { probeSize: 10, latency: true }, training: { epochs: 2, batchSize: 64, learningRate: 0.003 } });
    config.data.maxSamples = { train: 2000, test: rows };
    const run = await runEngine(config);
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const summary = readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    // Within 0.1 point of PyTorch's own evaluation of the same rows (it is exact here: the logits agree to 1e-5).
    assert.ok(Math.abs(summary.teacher.accuracy - reference.referenceAccuracy) <= 0.001, `${summary.teacher.accuracy} vs ${reference.referenceAccuracy}`);
    assert.equal(summary.teacher.params, reference.params);
    assert.equal(summary.teacher.sizeBytes, reference.params * 4);
    assert.match(summary.teacher.runtime ?? '', /^onnxruntime-node \d+\.\d+\.\d+ \(cpu\)$/);
    assert.ok(summary.teacher.latencyMs!.batch1 > 0 && summary.teacher.latencyMs!.batch256 > 0);
    // Latency in rounds: the reported figure is the median of its spread, for the teacher (ONNX Runtime) and the student (tfjs).
    for (const m of [summary.teacher, summary.student]) {
      const { batch1, spread } = m.latencyMs!;
      assert.equal(batch1, spread!.batch1.median);
      assert.ok(spread!.batch1.rounds >= 5 && spread!.batch1.min <= spread!.batch1.q1 && spread!.batch1.q3 <= spread!.batch1.max, JSON.stringify(spread));
    }
    // Sizes for every model: the teacher's file on disk, and gzipped.
    assert.equal(summary.teacher.diskBytes, fs.statSync(CNN).size);
    assert.ok(summary.teacher.gzipBytes! > 0 && summary.teacher.gzipBytes! < summary.teacher.diskBytes!);
    // 2000 rows, 2 epochs of a 16-unit MLP: ≈ 70%; chance is 10%.
    assert.ok(summary.student.accuracy > 0.55, `student ${summary.student.accuracy}`);

    const again = await runEngine(config);
    assert.equal(again.finished.status, 'completed', again.finished.reason);
    const teacherLine = again.messages.find((m) => m.type === 'log' && m.message.startsWith('Teacher: '));
    assert.match(teacherLine && 'message' in teacherLine ? teacherLine.message : '', /\(logits from cache\)$/);
    assert.ok(!again.messages.some((m) => m.type === 'phase' && m.phase === 'teacher-logits'), 'the second run computed the logits again');
  });

  it('feeds NCHW or NHWC as the model declares, detected from its input shape or forced by teacher.inputLayout', async () => {
    // Three channels (grayscale repeated, then a different mean per channel), so the two layouts differ in memory.
    const preprocess = { channels: 3, mean: [0.1, 0.5, 0.9] };
    const [h, w, c] = [28, 28, 3];
    const x = tf.tidy(() => applyPreprocess(tf.tensor(dataset.test.x.slice(0, 4 * 784), [4, 28, 28, 1]), preprocess as never));
    const nhwc = (await x.data()) as Float32Array;
    x.dispose();
    const expect = (m: ReturnType<typeof gemmModel>, layout: 'NCHW' | 'NHWC', r: number, k: number) => {
      let sum = m.b[k];
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++)
          for (let ch = 0; ch < c; ch++) {
            const feature = layout === 'NHWC' ? (y * w + xx) * c + ch : (ch * h + y) * w + xx;
            sum += nhwc[r * h * w * c + (y * w + xx) * c + ch] * m.W[feature * m.classes + k];
          }
      return sum;
    };
    for (const [layout, shape, forced] of [
      ['NCHW', ['N', 3, 28, 28], undefined],
      ['NHWC', ['N', 28, 28, 3], undefined],
      ['NHWC', ['N', 'h', 'w', 'c'], 'NHWC'],
      ['NCHW', ['N', 'c', 'h', 'w'], undefined],
    ] as const) {
      const file = path.join(dir, `layout-${layout}-${shape.join('')}.onnx`);
      const model = gemmModel(file, [...shape], { features: h * w * c });
      const out = await testOutputs({ model: file, preprocess, ...(forced ? { inputLayout: forced } : {}) });
      // float32 sums of 2352 products of magnitude ≲ 0.1 · 4: rounding ≲ 1e-5 either way; 1e-4 separates the layouts,
      // which differ by O(0.1).
      for (const [r, k] of [
        [0, 0],
        [1, 3],
        [3, 9],
      ])
        assert.ok(Math.abs(out.test[r * 10 + k] - expect(model, layout, r, k)) < 1e-4, `${layout} ${shape.join(',')} row ${r} class ${k}`);
      assert.ok(
        logs.some((l) => l.includes(`(${layout})`)),
        logs.join('\n'),
      );
    }
  });

  it("teacher.preprocess (channels 3, bilinear resize, mean/std) matches PyTorch's repeat + F.interpolate + Normalize", async () => {
    const expected = npy(path.join(FIXTURES, 'preprocess-reference.npy'));
    const x = tf.tidy(() =>
      tf.transpose(
        applyPreprocess(tf.tensor(dataset.test.x.slice(0, 2 * 784), [2, 28, 28, 1]), {
          channels: 3,
          resize: [32, 32],
          mean: [0.485, 0.456, 0.406],
          std: [0.229, 0.224, 0.225],
        }),
        [0, 3, 1, 2],
      ),
    );
    const got = (await x.data()) as Float32Array;
    x.dispose();
    assert.equal(got.length, expected.data.length);
    // Both interpolate float32 values in [0, 1] with half-pixel centres, then divide by std ≥ 0.224: ≤ 1e-6 · 4.5.
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - Number(expected.data[i])));
    assert.ok(worst < 1e-5, `max |Δ| ${worst}`);
  });

  it('a fixed batch dimension is fed in batches of that size, the last one padded', async () => {
    const file = path.join(dir, 'fixed-batch.onnx');
    gemmModel(file, [7, 1, 28, 28], { outShape: [7, 10] });
    const dynamic = path.join(dir, 'dynamic-batch.onnx');
    gemmModel(dynamic, ['N', 1, 28, 28]);
    const [fixed, free] = [await testOutputs({ model: file }), await testOutputs({ model: dynamic })];
    assert.equal(fixed.test.length, rows * 10);
    // The same weights (same seed) and rows: the batch size changes nothing but the order of nothing.
    assert.deepEqual(Array.from(fixed.test.subarray(-20)), Array.from(free.test.subarray(-20)));
  });

  it('execution providers are tried in order; the report names the one that ran, and none that loads is a clear error', async () => {
    const out = await testOutputs({ model: CNN, executionProviders: ['cuda', 'cpu'] });
    assert.match((await out.teacher.facts(false)).runtime ?? '', /\(cpu\)$/);
    assert.ok(
      logs.some((l) => /execution provider cuda unavailable/.test(l)),
      logs.join('\n'),
    );
    await refusal({ model: CNN, executionProviders: ['cuda'] }, /no execution provider of teacher\.executionProviders \[cuda\] loads here.*Add "cpu"/);
  });

  it('outputs that look like probabilities get a warning; teacher.outputs "probabilities" takes their log', async () => {
    const file = path.join(dir, 'softmax.onnx');
    gemmModel(file, ['N', 1, 28, 28], { after: [{ op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attributes: { axis: 1 } }] });
    const probs = await testOutputs({ model: file });
    assert.ok(
      warnings.some((w) => /look like probabilities.*teacher\.outputs to "probabilities"/.test(w)),
      warnings.join('\n'),
    );
    warnings.length = 0;
    const logs_ = await testOutputs({ model: file, outputs: 'probabilities' });
    assert.equal(warnings.length, 0);
    for (const i of [0, 5, 123]) assert.ok(Math.abs(logs_.test[i] - Math.log(probs.test[i])) < 1e-6);
    // Real logits draw no warning.
    await testOutputs({ model: CNN });
    assert.equal(warnings.length, 0, warnings.join('\n'));
  });

  describe('clear errors', () => {
    it('not an ONNX file', async () => {
      const file = path.join(dir, 'not.onnx');
      fs.writeFileSync(file, 'this is a text file, not a model\n');
      await refusal({ model: file }, /not\.onnx: is not an ONNX file .*torch\.onnx\.export/);
    });

    it('an opset the runtime cannot load', async () => {
      const file = path.join(dir, 'opset99.onnx');
      gemmModel(file, ['N', 1, 28, 28], { opset: 99 });
      await refusal({ model: file }, /declares opset 99, which onnxruntime-node \S+ cannot load.*opset_version/);
    });

    it('no input of a usable shape: names the shapes and the preprocess that fixes it', async () => {
      const file = path.join(dir, 'imagenet-like.onnx');
      gemmModel(file, ['N', 3, 32, 32]);
      await refusal(
        { model: file },
        /input \[N, 3, 32, 32\] has no usable shape: Distill feeds it rows of shape \[28, 28, 1\].*teacher\.preprocess\.channels to 3.*teacher\.preprocess\.resize to \[32, 32\]/,
      );
      // With exactly that preprocessing it runs.
      const out = await testOutputs({ model: file, preprocess: { channels: 3, resize: [32, 32] } });
      assert.equal(out.test.length, rows * 10);
      const ints = path.join(dir, 'int-input.onnx');
      gemmModel(ints, ['N', 784], { inputType: 7 });
      await refusal({ model: ints }, /input "x" is a int64 tensor, not float32 images or features: no input of a usable shape/);
    });

    it('an output that is not [N, C]', async () => {
      const file = path.join(dir, 'rank3.onnx');
      gemmModel(file, ['N', 1, 28, 28], { after: [{ op: 'Unsqueeze', inputs: ['logits', 'axes'], outputs: ['out'] }], outShape: ['N', 10, 1] });
      // Unsqueeze needs its axes as an initializer: rewrite with it.
      const bytes = encodeModel({
        name: 'rank3',
        opset: 13,
        nodes: [
          { op: 'Flatten', inputs: ['x'], outputs: ['f'] },
          { op: 'Unsqueeze', inputs: ['f', 'axes'], outputs: ['out'] },
        ],
        initializers: [{ name: 'axes', dims: [1], data: { int64: [2] } }],
        inputs: [{ name: 'x', shape: ['N', 1, 28, 28] }],
        outputs: [{ name: 'out', shape: ['N', 784, 1] }],
      });
      fs.writeFileSync(file, bytes);
      await refusal({ model: file }, /output "out" has shape \[N, 784, 1\]; Distill needs logits of shape \[N, C\]/);
    });

    it("a class count other than the data's", async () => {
      const file = path.join(dir, 'five-classes.onnx');
      gemmModel(file, ['N', 1, 28, 28], { classes: 5, outShape: ['N', 5] });
      await refusal({ model: file }, /outputs 5 classes .*but the data has 10/);
    });

    it('a named input or output that the model lacks, and a file that is not there', async () => {
      await refusal({ model: CNN, input: 'pixels' }, /has no input named "pixels"; its inputs are "image"\. Fix teacher\.input/);
      await refusal({ model: CNN, output: 'probs' }, /has no output named "probs"; its outputs are "logits"\. Fix teacher\.output/);
      await refusal({ model: path.join(dir, 'missing.onnx') }, /teacher model file not found: .*missing\.onnx/);
    });

    it('ONNX-only settings on a TensorFlow.js teacher', async () => {
      await refusal({ model: path.join(dir, 'model.json'), executionProviders: ['cpu'] }, /teacher\.executionProviders applies to ONNX teachers only/);
    });
  });
});
