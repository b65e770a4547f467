// Model-file discovery and description on real TensorFlow.js files written here: LayersModels saved by tfjs-layers,
// a GraphModel that tfjs-converter loads and runs, .npy and .jsonl teacher logits.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';
import {
  describeModelFile,
  detailModel,
  looksLikeLogitsFile,
  pairLogitsFiles,
  summarizeModel,
  type LogitsFileInfo,
  type TfjsModelInfo,
} from '../../src/extension/modelInfo';

let dir: string;

/** Save a LayersModel as model.json + weights.bin, the way tfjs writes them. */
async function saveLayers(model: tfl.LayersModel, folder: string): Promise<string> {
  fs.mkdirSync(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
      fs.writeFileSync(path.join(folder, 'weights.bin'), weights);
      fs.writeFileSync(
        path.join(folder, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(folder, 'model.json');
}

function writeNpy(file: string, shape: number[], descr = '<f4'): void {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.writeUInt8(0x93, 0);
  prefix.write('NUMPY', 1, 'latin1');
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(shape.reduce((a, b) => a * b, 1) * 4);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

before(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-modelinfo-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('describeModelFile: tfjs LayersModel', () => {
  it('reads kind, input shape, classes and params of a saved Sequential CNN', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10 }),
      ],
    });
    const file = await saveLayers(model, path.join(dir, 'cnn'));
    const info = (await describeModelFile(file)) as TfjsModelInfo;
    assert.equal(info.kind, 'tfjs-model');
    assert.equal(info.format, 'layers');
    assert.deepEqual(info.inputShape, [28, 28, 1]);
    assert.equal(info.classes, 10);
    assert.equal(info.params, model.countParams());
    assert.equal(info.weightBytes, model.countParams() * 4);
    assert.equal(info.layers, 4);
    assert.equal(info.endsInSoftmax, false);
    assert.deepEqual(info.missingShards, []);
    assert.equal(summarizeModel(info), `Layers [28×28×1] → 10 · ${(model.countParams() / 1000).toFixed(1)}k params`);
    model.dispose();
  });

  it('finds the output of a functional model by name and flags a final softmax', async () => {
    const input = tfl.input({ shape: [8] });
    const hidden = tfl.layers.dense({ units: 16, activation: 'relu', name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(hidden) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const file = await saveLayers(model, path.join(dir, 'functional'));
    const info = (await describeModelFile(file)) as TfjsModelInfo;
    assert.equal(info.format, 'layers');
    assert.deepEqual(info.inputShape, [8]);
    assert.equal(info.classes, 3);
    assert.equal(info.params, 8 * 16 + 16 + 16 * 3 + 3);
    assert.equal(info.endsInSoftmax, true);
    assert.ok(detailModel(info).some((l) => l.includes('Ends in softmax')));
    model.dispose();
  });

  it('reads the Python converter layout (model_config) and reports missing shards', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [5], units: 4 })] });
    const file = await saveLayers(model, path.join(dir, 'keras'));
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: json.modelTopology };
    fs.writeFileSync(file, JSON.stringify(json));
    fs.rmSync(path.join(dir, 'keras', 'weights.bin'));
    const info = (await describeModelFile(file)) as TfjsModelInfo;
    assert.deepEqual(info.inputShape, [5]);
    assert.equal(info.classes, 4);
    assert.equal(info.params, 24);
    assert.deepEqual(info.missingShards, ['weights.bin']);
    assert.ok(detailModel(info).some((l) => l.includes('Missing weight shards: weights.bin')));
    model.dispose();
  });
});

describe('describeModelFile: tfjs GraphModel', () => {
  it('reads a converter-format graph model that tfjs-converter itself loads and runs', async () => {
    const folder = path.join(dir, 'graph');
    fs.mkdirSync(folder);
    const w = new Float32Array(4 * 3).map((_, i) => i / 10);
    const b = new Float32Array([0.1, 0.2, 0.3]);
    fs.writeFileSync(path.join(folder, 'group1-shard1of1.bin'), Buffer.concat([Buffer.from(w.buffer), Buffer.from(b.buffer)]));
    const dims = (...sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) });
    const modelJson = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims(-1, 4) } } },
          { name: 'dense/kernel', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(4, 3) } } } },
          { name: 'dense/bias', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3) } } } },
          {
            name: 'dense/MatMul',
            op: 'MatMul',
            input: ['x', 'dense/kernel'],
            attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
          },
          { name: 'Identity', op: 'BiasAdd', input: ['dense/MatMul', 'dense/bias'], attr: { T: { type: 'DT_FLOAT' }, data_format: { s: 'TkhXQw==' } } },
        ],
        library: {},
        versions: { producer: 1482 },
      },
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: [
            { name: 'dense/kernel', shape: [4, 3], dtype: 'float32' },
            { name: 'dense/bias', shape: [3], dtype: 'float32' },
          ],
        },
      ],
      signature: {
        inputs: { 'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: dims(-1, 4) } },
        outputs: { 'Identity:0': { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: dims(-1, 3) } },
      },
    };
    const file = path.join(folder, 'model.json');
    fs.writeFileSync(file, JSON.stringify(modelJson));

    // It is a real GraphModel: tfjs-converter loads it, and it computes x·W + b.
    const weightData = fs.readFileSync(path.join(folder, 'group1-shard1of1.bin'));
    const graph = await loadGraphModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights as tf.io.WeightsManifestEntry[],
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length),
        format: 'graph-model',
      }),
    );
    const y = graph.predict(tf.ones([1, 4])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 3]);
    y.dispose();
    graph.dispose();

    const info = (await describeModelFile(file)) as TfjsModelInfo;
    assert.equal(info.format, 'graph');
    assert.deepEqual(info.inputShape, [4]);
    assert.equal(info.classes, 3);
    assert.equal(info.params, 15);
    assert.equal(info.weightBytes, 60);
    assert.equal(info.layers, 5);
    assert.ok(detailModel(info)[0].includes('usable as a teacher, not as a student'));

    // Without a signature (older converters), the Placeholder's shape is used.
    fs.writeFileSync(file, JSON.stringify({ ...modelJson, signature: undefined }));
    const unsigned = (await describeModelFile(file)) as TfjsModelInfo;
    assert.deepEqual(unsigned.inputShape, [4]);
    assert.equal(unsigned.classes, undefined);
  });
});

describe('describeModelFile: files that are not models', () => {
  it('says why a JSON file is not a tfjs model, and why broken JSON cannot be read', async () => {
    const other = path.join(dir, 'package-model.json');
    fs.writeFileSync(other, JSON.stringify({ name: 'x' }));
    const notModel = await describeModelFile(other);
    assert.equal(notModel.kind, 'invalid');
    assert.match((notModel as { reason: string }).reason, /not a TensorFlow\.js model\.json/);
    fs.writeFileSync(other, '{ broken');
    assert.match(((await describeModelFile(other)) as { reason: string }).reason, /not readable as JSON/);
  });
});

describe('teacher logits', () => {
  it('reads rows and classes from a .npy header, and rejects non-2-D and integer arrays', async () => {
    const file = path.join(dir, 'teacher_train.npy');
    writeNpy(file, [600, 10]);
    const info = (await describeModelFile(file)) as LogitsFileInfo;
    assert.deepEqual([info.kind, info.format, info.rows, info.classes, info.dtype], ['logits', 'npy', 600, 10, '<f4']);
    assert.equal(summarizeModel(info), 'logits npy · 600 rows × 10 classes');

    writeNpy(file, [600]);
    assert.match(((await describeModelFile(file)) as { reason: string }).reason, /must be 2-D/);
    writeNpy(file, [600, 10], '<i8');
    assert.match(((await describeModelFile(file)) as { reason: string }).reason, /floating point/);
    fs.writeFileSync(file, 'not numpy');
    assert.match(((await describeModelFile(file)) as { reason: string }).reason, /not a \.npy file/);
  });

  it('reads rows and classes from .jsonl, and rejects lines that are not arrays of numbers', async () => {
    const file = path.join(dir, 'logits_test.jsonl');
    fs.writeFileSync(file, '[0.1, 2, -3]\n[1, 2, 3]\n\n[0, 0, 1]\n');
    const info = (await describeModelFile(file)) as LogitsFileInfo;
    assert.deepEqual([info.format, info.rows, info.classes], ['jsonl', 3, 3]);
    fs.writeFileSync(file, '{"kind":"step"}\n');
    assert.match(((await describeModelFile(file)) as { reason: string }).reason, /not an array of numbers/);
  });

  it('recognises logits files by name and pairs train with test in the same folder', () => {
    assert.ok(looksLikeLogitsFile('/w/teacher_train.npy'));
    assert.ok(looksLikeLogitsFile('/w/Logits-test.jsonl'));
    assert.ok(!looksLikeLogitsFile('/w/x_train.npy'));
    assert.ok(!looksLikeLogitsFile('/w/runs/r1/metrics.jsonl'));
    assert.ok(!looksLikeLogitsFile('/w/teacher/model.json'));
    const { pairs, unpaired } = pairLogitsFiles([
      '/w/a/teacher_train.npy',
      '/w/a/teacher_test.npy',
      '/w/b/teacher_test.npy',
      '/w/c/logits_train.jsonl',
      '/w/a/Teacher_TRAIN_old.npy',
    ]);
    assert.deepEqual(pairs, [{ train: '/w/a/teacher_train.npy', test: '/w/a/teacher_test.npy' }]);
    assert.deepEqual(unpaired.sort(), ['/w/a/Teacher_TRAIN_old.npy', '/w/b/teacher_test.npy', '/w/c/logits_train.jsonl']);
  });
});
