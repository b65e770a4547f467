/**
 * Distill's ONNX reader and writer (src/shared/onnx.ts) and the Models view's description of .onnx files: read
 * back what the writer wrote, and what PyTorch's exporter wrote (the committed fixture).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeOnnx, encodeModel, OnnxFormatError } from '../../src/shared/onnx';
import { describeModelFile, detailModel, summarizeModel } from '../../src/extension/modelInfo';
import { tempDir } from '../support/tempDirs';

const FIXTURES = path.join(__dirname, '..', 'engine', 'fixtures', 'onnx');

describe('ONNX files', () => {
  it('reads back the graph the writer wrote: opset, inputs and outputs with symbolic and fixed dims, params', () => {
    const bytes = encodeModel({
      name: 'g',
      opset: 17,
      nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['y'], attributes: { alpha: { float: 1 }, transB: 0 } }],
      initializers: [
        { name: 'W', dims: [4, 3], data: new Float32Array(12) },
        { name: 'b', dims: [3], data: new Float32Array(3) },
        { name: 's', dims: [2], data: { int64: [-1, 3] } },
      ],
      inputs: [{ name: 'x', shape: ['N', 4] }],
      outputs: [{ name: 'y', shape: [null, 3] }],
    });
    const info = describeOnnx(bytes);
    assert.equal(info.opset, 17);
    assert.deepEqual(info.inputs, [{ name: 'x', elemType: 'float32', shape: ['N', 4] }]);
    assert.deepEqual(info.outputs, [{ name: 'y', elemType: 'float32', shape: [null, 3] }]);
    // 12 + 3 float weights + 2 int64 shape values; bytes 15·4 + 2·8.
    assert.equal(info.params, 17);
    assert.equal(info.weightBytes, 76);
    assert.equal(info.nodes, 1);
  });

  it('reads what torch.onnx.export wrote, and refuses bytes that are not a ModelProto', () => {
    const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'fashion-cnn.reference.json'), 'utf8'));
    const info = describeOnnx(fs.readFileSync(path.join(FIXTURES, 'fashion-cnn.onnx')));
    assert.equal(info.opset, 13);
    assert.deepEqual(info.inputs, [{ name: 'image', elemType: 'float32', shape: ['batch', 1, 28, 28] }]);
    assert.deepEqual(info.outputs, [{ name: 'logits', elemType: 'float32', shape: ['batch', 10] }]);
    assert.equal(info.params, reference.params);
    assert.match(info.producer, /pytorch/);
    assert.throws(() => describeOnnx(Buffer.from('{"format": "layers-model"}')), OnnxFormatError);
    assert.throws(() => describeOnnx(new Uint8Array([0x08])), OnnxFormatError);
  });

  it('the Models view describes an .onnx file, and names a file that is not one', async () => {
    const info = await describeModelFile(path.join(FIXTURES, 'fashion-cnn.onnx'));
    assert.equal(info.kind, 'onnx-model');
    if (info.kind !== 'onnx-model') return;
    assert.equal(summarizeModel(info), 'ONNX [batch×1×28×28] → 10 · opset 13 · 14k params');
    assert.match(detailModel(info).join('\n'), /Inputs `image` \[batch, 1, 28, 28\] · outputs `logits` \[batch, 10\]/);
    const dir = tempDir('distill-onnx-info-');
    fs.writeFileSync(path.join(dir, 'fake.onnx'), 'not a model');
    const bad = await describeModelFile(path.join(dir, 'fake.onnx'));
    assert.equal(bad.kind, 'invalid');
    assert.match(bad.kind === 'invalid' ? bad.reason : '', /not an ONNX model/);
  });
});
