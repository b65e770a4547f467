/**
 * Parity of Distill's training kernels with the cpu backend (the reference), kernel by kernel on varied shapes,
 * strides, paddings and dilations: the wasm ones, also end to end on a small Keras-style model, and the webgpu ones
 * on the SwiftShader adapter that test/support/softwareGpu.ts provides.
 */
import { strict as assert } from 'node:assert';
import { createRng as rng } from '../../src/shared/random';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../src/engine/backends/ladder';
import { backendKernels, registerBackendKernels } from '../../src/engine/backends/kernels';
import { conv2DBackpropFilterConfig, splitPositions } from '../../src/engine/backends/webgpu/conv2dBackpropFilter';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Backend = 'cpu' | 'wasm' | 'webgpu';

interface HostTensor {
  values: Float32Array;
  shape: number[];
}

const TOLERANCE = 1e-4;

function randomTensor(shape: number[], random: () => number, quantize = 0): HostTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v = random() * 2 - 1;
    values[i] = quantize ? Math.round(v * quantize) : v;
  }
  return { values, shape };
}

/** max |a − b| / max |b|: relative to the reference's scale, so that sums of many terms are judged fairly. */
function relativeError(actual: HostTensor, expected: HostTensor): number {
  assert.deepEqual(actual.shape, expected.shape, 'shapes differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.values.length; i++) {
    diff = Math.max(diff, Math.abs(actual.values[i] - expected.values[i]));
    scale = Math.max(scale, Math.abs(expected.values[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

function assertClose(actual: HostTensor, expected: HostTensor, what: string, tolerance = TOLERANCE): void {
  const err = relativeError(actual, expected);
  assert.ok(Number.isFinite(err) && err <= tolerance, `${what}: relative error ${err.toExponential(2)} > ${tolerance}`);
}

async function onBackend(backend: Backend, compute: () => tf.Tensor): Promise<HostTensor> {
  assert.ok(await tf.setBackend(backend), `the ${backend} backend failed to initialise`);
  const before = tf.memory().numTensors;
  const out = tf.tidy(compute);
  // Asynchronously: webgpu in Node cannot read back synchronously.
  const result = { values: Float32Array.from((await out.data()) as Float32Array), shape: out.shape };
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  return result;
}

const input = (t: HostTensor) => tf.tensor(t.values, t.shape, 'float32');

/** Runs one kernel on cpu and on `backend` (wasm unless named) with the same inputs and compares. */
async function compareKernel(
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: Record<string, unknown>,
  what: string,
  reference?: () => tf.Tensor,
  backend: Backend = 'wasm',
): Promise<void> {
  const run = () =>
    tf.engine().runKernel(kernelName, Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, input(v)])), kernelAttrs(attrs)) as tf.Tensor;
  const expected = await onBackend('cpu', reference ?? run);
  const actual = await onBackend(backend, run);
  assertClose(actual, expected, `${kernelName} ${what}`);
}

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 8, 6, 2], filter: [2, 3, 2, 5], strides: [2, 1], pad: 'same' },
  { x: [1, 9, 7, 4], filter: [3, 2, 4, 3], strides: 2, pad: 'valid' },
  { x: [2, 10, 11, 1], filter: [5, 5, 1, 2], strides: [3, 2], pad: 'valid' },
  {
    x: [2, 6, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 2],
      [0, 0],
    ],
  },
  {
    x: [2, 6, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  },
  // Padding wider than the filter: the stride-1 input gradient takes its general path.
  {
    x: [1, 5, 4, 2],
    filter: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [3, 3],
      [4, 3],
      [0, 0],
    ],
  },
  { x: [2, 5, 5, 2], filter: [1, 1, 2, 3], strides: 1, pad: 'valid' },
  { x: [1, 6, 6, 2], filter: [3, 3, 2, 2], strides: 1, pad: 1 },
  { x: [3, 12, 12, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'same' },
  // Large enough for the filter gradient to split the batch into chunks (32 images, then 8).
  { x: [40, 16, 16, 2], filter: [3, 3, 2, 16], strides: 1, pad: 'same' },
  { x: [2, 4, 5, 3], filter: [4, 6, 3, 2], strides: 1, pad: 'same' },
];

const describeConv = (c: ConvCase) => `x ${c.x}, filter ${c.filter}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`;

function convOutputShape(c: ConvCase): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, rounding(c.pad));
  return info.outShape;
}

interface DepthwiseCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 7, 8, 3], filter: [3, 3, 3, 1], strides: 1, dilations: 1, pad: 'same' },
  { x: [2, 7, 8, 3], filter: [3, 3, 3, 2], strides: 1, dilations: 1, pad: 'same' },
  { x: [1, 9, 6, 2], filter: [3, 2, 2, 3], strides: 2, dilations: 1, pad: 'same' },
  { x: [2, 9, 9, 4], filter: [3, 3, 4, 1], strides: [2, 1], dilations: 1, pad: 'valid' },
  { x: [1, 9, 10, 2], filter: [3, 3, 2, 2], strides: 1, dilations: 2, pad: 'same' },
  { x: [2, 8, 9, 3], filter: [2, 3, 3, 1], strides: 1, dilations: [2, 3], pad: 'valid' },
  {
    x: [1, 7, 7, 2],
    filter: [3, 3, 2, 1],
    strides: 1,
    dilations: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    x: [1, 7, 7, 2],
    filter: [3, 3, 2, 2],
    strides: 2,
    dilations: 1,
    pad: [
      [0, 0],
      [0, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    x: [1, 6, 6, 1],
    filter: [3, 3, 1, 1],
    strides: 1,
    dilations: 1,
    pad: [
      [0, 0],
      [3, 2],
      [2, 4],
      [0, 0],
    ],
  },
  { x: [1, 11, 11, 2], filter: [3, 3, 2, 2], strides: 2, dilations: 2, pad: 'same' },
];

const describeDepthwise = (c: DepthwiseCase) => `x ${c.x}, filter ${c.filter}, strides ${c.strides}, dilations ${c.dilations}, pad ${JSON.stringify(c.pad)}`;

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** tfjs only accepts a rounding mode with a numeric padding. */
const rounding = (pad: Pad) => (typeof pad === 'number' ? 'floor' : undefined);

/** Kernel attributes without the ones left undefined. */
const kernelAttrs = (attrs: Record<string, unknown>) => Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)) as tf.NamedAttrMap;

/**
 * The cpu backend's depthwise gradients ignore dilations, so the reference for a dilated case is the undilated
 * gradient of the equivalent filter with zeros between its taps (same padding, same output), read back at the taps.
 */
function dilatedFilterShape(c: DepthwiseCase): Shape4 {
  const [dh, dw] = pair(c.dilations);
  return [(c.filter[0] - 1) * dh + 1, (c.filter[1] - 1) * dw + 1, c.filter[2], c.filter[3]];
}

function spreadTaps(filter: tf.Tensor4D, c: DepthwiseCase): tf.Tensor4D {
  const [dh, dw] = pair(c.dilations);
  const shape = dilatedFilterShape(c);
  const values = filter.arraySync();
  const spread = tf.buffer(shape);
  for (let h = 0; h < c.filter[0]; h++) {
    for (let w = 0; w < c.filter[1]; w++) {
      for (let ch = 0; ch < c.filter[2]; ch++) {
        for (let m = 0; m < c.filter[3]; m++) spread.set(values[h][w][ch][m], h * dh, w * dw, ch, m);
      }
    }
  }
  return spread.toTensor() as tf.Tensor4D;
}

function gatherTaps(dilatedGradient: tf.Tensor4D, c: DepthwiseCase): tf.Tensor4D {
  const [dh, dw] = pair(c.dilations);
  return tf.stridedSlice(dilatedGradient, [0, 0, 0, 0], dilatedFilterShape(c), [dh, dw, 1, 1]) as tf.Tensor4D;
}

function depthwiseOutputShape(c: DepthwiseCase): Shape4 {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad, rounding(c.pad), true).outShape;
}

async function compareConvFilterGradient(c: ConvCase, seed: number, backend: Backend): Promise<void> {
  const random = rng(100 + seed);
  const x = randomTensor(c.x, random);
  const dy = randomTensor(convOutputShape(c), random);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: rounding(c.pad), filterShape: c.filter };
  await compareKernel('Conv2DBackpropFilter', { x, dy }, attrs, describeConv(c), undefined, backend);
}

describe('webgpu training kernels', function () {
  this.timeout(120000);

  before(async () => {
    const report = await selectBackend('webgpu');
    assert.equal(report.name, 'webgpu', report.reason);
  });

  after(async () => {
    await tf.setBackend('cpu');
  });

  it("replace tfjs' Conv2DBackpropFilter, once", () => {
    registerBackendKernels('webgpu');
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc, conv2DBackpropFilterConfig.kernelFunc);
  });

  describe('Conv2DBackpropFilter (split over batch × positions)', () => {
    const cases: ConvCase[] = [
      ...CONV_CASES,
      // A first conv layer at a training batch: 144 weights, 6,272 positions in 98 chunks that cross image borders.
      { x: [8, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, pad: 'same' },
    ];
    cases.forEach((c, i) => it(describeConv(c), () => compareConvFilterGradient(c, i, 'webgpu')));
  });

  it('splits the positions into chunks that cover them exactly once', () => {
    for (const [positions, weights] of [
      [200704, 144],
      [50176, 4608],
      [7, 3],
      [64, 1 << 21],
      [1000, 1],
    ]) {
      const { chunks, chunkLength } = splitPositions(positions, weights);
      assert.ok(
        chunks * chunkLength >= positions && (chunks - 1) * chunkLength < positions,
        `${positions} positions, ${weights} weights: ${chunks} × ${chunkLength}`,
      );
      assert.ok(chunkLength >= Math.min(64, positions), `chunks of at least 64 positions: ${chunkLength}`);
    }
    assert.deepEqual(splitPositions(200704, 144), { chunks: 3136, chunkLength: 64 });
  });
});

describe('wasm training kernels', function () {
  this.timeout(60000);

  before(async () => {
    assert.ok(await tf.setBackend('wasm'));
    registerBackendKernels('wasm');
  });

  after(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered once, however often registration is called', () => {
    const { added, replaced } = backendKernels('wasm');
    const ours = [...added, ...replaced];
    const before = ours.map((k) => tf.getKernel(k.kernelName, 'wasm')?.kernelFunc);
    registerBackendKernels('wasm');
    registerBackendKernels('wasm');
    const after = ours.map((k) => tf.getKernel(k.kernelName, 'wasm')?.kernelFunc);
    assert.deepEqual(after, before);
    for (const k of ours) assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc);
  });

  describe('Conv2DBackpropFilter', () => {
    CONV_CASES.forEach((c, i) => it(describeConv(c), () => compareConvFilterGradient(c, i, 'wasm')));
  });

  describe('Conv2DBackpropInput', () => {
    CONV_CASES.forEach((c, i) => {
      it(describeConv(c), async () => {
        const random = rng(200 + i);
        const dy = randomTensor(convOutputShape(c), random);
        const filter = randomTensor(c.filter, random);
        await compareKernel(
          'Conv2DBackpropInput',
          { dy, filter },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: rounding(c.pad), inputShape: c.x },
          describeConv(c),
        );
      });
    });
  });

  it('rejects NCHW convolution gradients with a message that says what to use instead', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([1, 2, 5, 5]);
    const dy = tf.ones([1, 2, 5, 5]);
    assert.throws(
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }),
      /Conv2DBackpropFilter on the wasm backend supports dataFormat 'NHWC' only, got 'NCHW'/,
    );
    tf.dispose([x, dy]);
  });

  describe('DepthwiseConv2dNativeBackpropFilter', () => {
    DEPTHWISE_CASES.forEach((c, i) => {
      it(describeDepthwise(c), async () => {
        const random = rng(300 + i);
        const x = randomTensor(c.x, random);
        const dy = randomTensor(depthwiseOutputShape(c), random);
        const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: rounding(c.pad), filterShape: c.filter };
        const reference = () =>
          gatherTaps(
            tf
              .engine()
              .runKernel(
                'DepthwiseConv2dNativeBackpropFilter',
                { x: input(x), dy: input(dy) },
                kernelAttrs({ ...attrs, dilations: 1, filterShape: dilatedFilterShape(c) }),
              ) as tf.Tensor4D,
            c,
          );
        await compareKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs, describeDepthwise(c), reference);
      });
    });
  });

  describe('DepthwiseConv2dNativeBackpropInput', () => {
    DEPTHWISE_CASES.forEach((c, i) => {
      it(describeDepthwise(c), async () => {
        const random = rng(400 + i);
        const dy = randomTensor(depthwiseOutputShape(c), random);
        const filter = randomTensor(c.filter, random);
        const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: rounding(c.pad), inputShape: c.x };
        const reference = () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: input(dy), filter: spreadTaps(input(filter) as tf.Tensor4D, c) },
              kernelAttrs({ ...attrs, dilations: 1 }),
            ) as tf.Tensor;
        await compareKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs, describeDepthwise(c), reference);
      });
    });
  });

  describe('MaxPoolGrad', () => {
    const cases: { x: Shape4; filterSize: number | [number, number]; strides: number | [number, number]; pad: Pad; ties?: boolean }[] = [
      { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' },
      { x: [2, 9, 7, 2], filterSize: 3, strides: 2, pad: 'same' },
      { x: [1, 6, 6, 4], filterSize: 3, strides: 1, pad: 'same' },
      { x: [2, 7, 9, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
      {
        x: [1, 5, 8, 3],
        filterSize: 2,
        strides: 2,
        pad: [
          [0, 0],
          [1, 0],
          [0, 1],
          [0, 0],
        ],
      },
      // Few distinct values, so most windows hold several maxima: the gradient must go to the first one.
      { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid', ties: true },
      { x: [2, 7, 7, 2], filterSize: 3, strides: 1, pad: 'same', ties: true },
    ];
    cases.forEach((c, i) => {
      const what = `x ${c.x}, filter ${c.filterSize}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}${c.ties ? ', with ties' : ''}`;
      it(what, async () => {
        const random = rng(500 + i);
        const x = randomTensor(c.x, random, c.ties ? 1 : 0);
        const outShape = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad, rounding(c.pad)).outShape;
        const dy = randomTensor(outShape, random);
        const run = () => {
          const xt = input(x) as tf.Tensor4D;
          const y = tf.maxPool(xt, c.filterSize, c.strides, c.pad, rounding(c.pad));
          return tf
            .engine()
            .runKernel(
              'MaxPoolGrad',
              { dy: input(dy), input: xt, output: y },
              kernelAttrs({ filterSize: c.filterSize, strides: c.strides, pad: c.pad, dimRoundingMode: rounding(c.pad) }),
            ) as tf.Tensor;
        };
        const expected = await onBackend('cpu', run);
        const actual = await onBackend('wasm', run);
        assertClose(actual, expected, `MaxPoolGrad ${what}`);
      });
    });
  });

  describe('BatchMatMul', () => {
    const cases: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [
      { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
      { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
      { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
      { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
      { a: [1, 40, 33], b: [1, 40, 17], transposeA: true, transposeB: false },
      { a: [1, 40, 33], b: [17, 33], transposeA: false, transposeB: true },
      { a: [3, 4, 5], b: [3, 6, 5], transposeA: false, transposeB: true },
      // Fewer rows than cols: computed as (B·Aᵀ)ᵀ, so that the small operand is the one packed.
      { a: [3, 7], b: [11, 7], transposeA: false, transposeB: true },
      { a: [1, 6, 20], b: [1, 45, 20], transposeA: false, transposeB: true },
      { a: [16, 128], b: [1568, 128], transposeA: false, transposeB: true },
    ];
    cases.forEach((c, i) => {
      const what = `a ${c.a}${c.transposeA ? 'ᵀ' : ''} · b ${c.b}${c.transposeB ? 'ᵀ' : ''}`;
      it(what, async () => {
        const random = rng(600 + i);
        await compareKernel(
          'BatchMatMul',
          { a: randomTensor(c.a, random), b: randomTensor(c.b, random) },
          { transposeA: c.transposeA, transposeB: c.transposeB },
          what,
        );
      });
    });
  });

  describe('Sum', () => {
    const cases: { x: number[]; axis: number | number[]; keepDims: boolean }[] = [
      { x: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false },
      { x: [301, 3], axis: 0, keepDims: true },
      { x: [7, 3, 5], axis: [0, 1], keepDims: false },
      { x: [4, 5, 6], axis: [1, 0], keepDims: false },
      { x: [4, 5, 6], axis: [0, 2], keepDims: true },
      { x: [4, 5, 6], axis: -1, keepDims: false },
      { x: [4, 5], axis: [0, 1], keepDims: false },
    ];
    cases.forEach((c, i) => {
      const what = `x ${c.x}, axis ${c.axis}, keepDims ${c.keepDims}`;
      it(what, async () => {
        await compareKernel('Sum', { x: randomTensor(c.x, rng(700 + i)) }, { axis: c.axis, keepDims: c.keepDims }, what);
      });
    });
  });

  describe('GatherV2', () => {
    // Whole rows (axis 0) take the row-copy path; the others go to the stock kernel. Indices repeat and run backwards.
    const cases: { x: number[]; indices: number[]; indexShape?: number[]; axis: number }[] = [
      { x: [9, 4, 3, 2], indices: [8, 0, 3, 3, 1], axis: 0 },
      { x: [6], indices: [5, 4, 0, 0], axis: 0 },
      { x: [7, 3], indices: [6, 2, 4, 1, 0, 2], indexShape: [2, 3], axis: 0 },
      { x: [7, 3], indices: [], axis: 0 },
      { x: [5, 6, 2], indices: [5, 0, 2], axis: 1 },
      { x: [5, 6, 2], indices: [1, 1, 0], axis: -1 },
    ];
    cases.forEach((c, i) => {
      const what = `x ${c.x}, indices [${c.indices}]${c.indexShape ? ` as ${c.indexShape}` : ''}, axis ${c.axis}`;
      it(what, async () => {
        const run = () => tf.gather(input(randomTensor(c.x, rng(800 + i))), tf.tensor(c.indices, c.indexShape ?? [c.indices.length], 'int32'), c.axis);
        // A copy: exact, whatever the values.
        assert.deepEqual(await onBackend('wasm', run), await onBackend('cpu', run));
      });
    });

    it('copies int32 rows exactly, and refuses an index outside the rows as the stock kernel does', async () => {
      await tf.setBackend('wasm');
      const labels = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
      const picked = tf.gather(labels, tf.tensor1d([2, 0], 'int32'));
      assert.equal(picked.dtype, 'int32');
      assert.deepEqual(Array.from(picked.dataSync()), [5, 6, 1, 2]);
      assert.throws(() => tf.gather(labels, tf.tensor1d([3], 'int32')), /GatherV2: the index value 3 is not in \[0, 2\]/);
      assert.throws(() => tf.gather(labels, tf.tensor1d([-1], 'int32')), /the index value -1 is not in/);
      tf.dispose([labels, picked]);
    });
  });

  describe('Slice', () => {
    // Contiguous parts (whole rows: what predict's batches take) are one block; the others run along the last axis.
    const cases: { x: number[]; begin: number[]; size: number[] }[] = [
      { x: [10, 3, 3, 2], begin: [4, 0, 0, 0], size: [5, 3, 3, 2] },
      { x: [7, 5], begin: [2, 1], size: [3, 3] },
      { x: [4, 5, 6], begin: [1, 2, 0], size: [2, -1, 4] },
      { x: [3, 4, 2, 3, 2], begin: [0, 1, 1, 0, 1], size: [3, 2, 1, 3, 1] },
      { x: [6], begin: [2], size: [3] },
      { x: [5, 4], begin: [1, 0], size: [0, 4] },
    ];
    cases.forEach((c, i) => {
      const what = `x ${c.x}, begin [${c.begin}], size [${c.size}]`;
      it(what, async () => {
        const run = () => tf.slice(input(randomTensor(c.x, rng(900 + i))), c.begin, c.size);
        // A copy: exact, whatever the values.
        assert.deepEqual(await onBackend('wasm', run), await onBackend('cpu', run));
      });
    });

    it('copies int32 and bool parts exactly', async () => {
      await tf.setBackend('wasm');
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
      const flags = tf.tensor2d([true, false, false, true, true, true], [2, 3], 'bool');
      const part = tf.slice(ints, [1, 1], [2, 1]);
      const flagPart = tf.slice(flags, [0, 1], [2, 2]);
      assert.equal(part.dtype, 'int32');
      assert.deepEqual(Array.from(part.dataSync()), [4, 6]);
      assert.equal(flagPart.dtype, 'bool');
      assert.deepEqual(Array.from(flagPart.dataSync()), [0, 0, 1, 1]);
      tf.dispose([ints, flags, part, flagPart]);
    });
  });

  it('Identity shares data, and the copy outlives the original', async () => {
    await tf.setBackend('wasm');
    const original = tf.tensor([1, 2, 3]);
    const copy = tf.clone(original);
    original.dispose();
    assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3]);
    copy.dispose();
  });
});

describe('training Keras-style models on wasm', function () {
  this.timeout(60000);

  /**
   * conv, depthwise, separable, batch norm, both poolings, dropout, flatten and dense: every usual layer. Every
   * initializer is seeded, so each run (and each machine) compares the same weights.
   */
  function buildModel(dropout: number): tfl.Sequential {
    let seed = 1;
    const init = () => tfl.initializers.glorotUniform({ seed: seed++ });
    return tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [12, 12, 2], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        // No bias before batch norm: its gradient is zero up to rounding, which Adam would blow up to full steps.
        tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 1, padding: 'same', useBias: false, depthwiseInitializer: init() }),
        tfl.layers.batchNormalization(),
        tfl.layers.activation({ activation: 'relu' }),
        tfl.layers.separableConv2d({
          filters: 8,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          depthwiseInitializer: init(),
          pointwiseInitializer: init(),
        }),
        tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', kernelInitializer: init() }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dropout({ rate: dropout, seed: 3 }),
        tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init() }),
        tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init() }),
      ],
    });
  }

  function batch(seed: number): { x: HostTensor; labels: Int32Array } {
    const random = rng(seed);
    const x = randomTensor([32, 12, 12, 2], random);
    const labels = new Int32Array(32);
    // Labels that depend on the input, so there is something to learn.
    for (let n = 0; n < 32; n++) {
      let s = 0;
      for (let i = 0; i < 12 * 12 * 2; i += 7) s += x.values[n * 288 + i];
      labels[n] = Math.max(0, Math.min(3, Math.floor(s + 2)));
    }
    return { x, labels };
  }

  const LR = { sgd: 0.1, adam: 0.01 } as const;

  async function weightsAfterOneStep(backend: Backend, initial: HostTensor[], optimizer: 'sgd' | 'adam'): Promise<HostTensor[]> {
    assert.ok(await tf.setBackend(backend));
    const model = buildModel(0);
    const start = initial.map(input);
    model.setWeights(start);
    tf.dispose(start);
    model.compile({ optimizer: optimizer === 'sgd' ? tf.train.sgd(LR.sgd) : tf.train.adam(LR.adam), loss: 'sparseCategoricalCrossentropy' });
    const { x, labels } = batch(11);
    const xs = input(x);
    const ys = tf.tensor(labels, [32], 'float32');
    await model.trainOnBatch(xs, ys);
    const weights = model.getWeights().map((w) => ({ values: Float32Array.from(w.dataSync() as Float32Array), shape: w.shape }));
    tf.dispose([xs, ys]);
    model.dispose();
    return weights;
  }

  /** tfjs's Adam epsilon (the backend's, 1e-7 in float32) and its default β2. */
  const ADAM_EPSILON = 1e-7;
  const ADAM_BETA2 = 0.999;

  function initialWeights(): { initial: HostTensor[]; names: string[]; trainable: boolean[] } {
    const reference = buildModel(0);
    const initial = reference.getWeights().map((w) => ({ values: Float32Array.from(w.dataSync() as Float32Array), shape: w.shape }));
    const names = reference.weights.map((w) => w.name);
    const trainable = reference.weights.map((w) => w.trainable);
    reference.dispose();
    return { initial, names, trainable };
  }

  const deltaOf = (w: HostTensor, from: HostTensor): HostTensor => ({ values: w.values.map((v, j) => v - from.values[j]), shape: w.shape });

  it('one sgd step updates every weight as on cpu', async () => {
    await tf.setBackend('cpu');
    const { initial, names } = initialWeights();
    const onCpu = await weightsAfterOneStep('cpu', initial, 'sgd');
    const onWasm = await weightsAfterOneStep('wasm', initial, 'sgd');
    onCpu.forEach((expected, i) => {
      // Compare the updates, not the weights: the update (−lr·g) is what the gradient kernels produced. The
      // gradients are float32 sums of at most 32·12·12·6 ≈ 28k products, summed in a different order on each
      // backend: ≈ √28k · 2⁻²⁴ ≈ 1e-5 of the largest term, well inside 1e-3 of the largest update.
      assertClose(deltaOf(onWasm[i], initial[i]), deltaOf(expected, initial[i]), `update of ${names[i]}`, 1e-3);
    });
  });

  it('one adam step updates every weight as on cpu', async () => {
    await tf.setBackend('cpu');
    const { initial, names, trainable } = initialWeights();
    // The cpu gradient of every weight, read back from an SGD step: g = −Δ / lr.
    const gradients = (await weightsAfterOneStep('cpu', initial, 'sgd')).map((w, i) => deltaOf(w, initial[i]).values.map((d) => -d / LR.sgd));
    const onCpu = await weightsAfterOneStep('cpu', initial, 'adam');
    const onWasm = await weightsAfterOneStep('wasm', initial, 'adam');
    // Adam's first step is Δ = −lr · g / (|g| + ε'), ε' = ε / √(1 − β2) ≈ 3.2e-6: a normalised step of ≈ lr for
    // every gradient well above ε'. Its sensitivity to the gradient, dΔ/dg = lr · ε' / (|g| + ε')², is largest at
    // g = 0, where a rounding difference δg between backends of 1e-8 becomes a step difference of lr · 3e-3: a
    // gradient that is zero up to rounding gets an arbitrary step. So compare where |g| ≥ t: there the step
    // differs by at most lr · ε' · δg / t². With δg ≤ 1e-3 · max|g| (the SGD test's bound) and
    // t = √(ε' · max|g|), that is ≤ lr · 1e-3, the tolerance below relative to a step of lr. Below t, Adam can
    // only bound the step by lr, and that is asserted instead.
    const epsilon = ADAM_EPSILON / Math.sqrt(1 - ADAM_BETA2);
    onCpu.forEach((expected, i) => {
      const actual = deltaOf(onWasm[i], initial[i]);
      const reference = deltaOf(expected, initial[i]);
      if (!trainable[i]) {
        // Batch-norm moving statistics: no optimizer involved, the same arithmetic on the same batch statistics.
        assertClose(actual, reference, `update of ${names[i]}`, 1e-3);
        return;
      }
      const g = gradients[i];
      const maxG = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const t = Math.max(Math.sqrt(epsilon * maxG), 100 * epsilon);
      let compared = 0;
      for (let j = 0; j < g.length; j++) {
        const what = `update of ${names[i]}[${j}] (cpu gradient ${g[j].toExponential(2)})`;
        // lr · (1 + 1e-3): float32 rounding of lr · |g| / (|g| + ε') can land a hair above lr.
        assert.ok(Math.abs(actual.values[j]) <= LR.adam * (1 + 1e-3), `${what}: a step of ${actual.values[j]} exceeds lr`);
        if (Math.abs(g[j]) < t) continue;
        compared++;
        const diff = Math.abs(actual.values[j] - reference.values[j]);
        assert.ok(diff <= LR.adam * 1e-3, `${what}: wasm step ${actual.values[j]} vs cpu ${reference.values[j]}`);
      }
      // The comparison must not be vacuous: most gradients are far above the threshold.
      assert.ok(compared >= g.length / 2, `${names[i]}: only ${compared} of ${g.length} gradients above ${t.toExponential(2)}`);
    });
  });

  it('trains (the loss falls) with adam and with sgd, without leaking tensors', async () => {
    assert.ok(await tf.setBackend('wasm'));
    // Plain SGD learns this task more slowly (on cpu just the same), hence its milder bar.
    for (const [name, optimizer, bar] of [
      ['adam', tf.train.adam(0.01), 0.7],
      ['sgd', tf.train.sgd(0.1), 0.9],
    ] as const) {
      const model = buildModel(0.2);
      model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
      const { x, labels } = batch(21);
      const xs = input(x);
      const ys = tf.tensor(labels, [32], 'float32');
      const first = (await model.trainOnBatch(xs, ys)) as number;
      const tensorsAfterFirst = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 40; i++) last = (await model.trainOnBatch(xs, ys)) as number;
      assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'tensors leaked across steps');
      assert.ok(last < first * bar, `${name}: the loss did not fall: ${first} → ${last}`);
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
    }
  });
});
