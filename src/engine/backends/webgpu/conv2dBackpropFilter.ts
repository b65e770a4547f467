/**
 * Conv2DBackpropFilter for webgpu, replacing tfjs' shader for channels-last tensors.
 *
 * tfjs' shader runs one thread per filter weight, and each thread sums over the whole batch and output image: for a
 * first conv layer (3×3×1×16 weights) that is 144 threads, three workgroups on a GPU with a hundred-odd compute
 * units, each looping 256·28·28 = 200,704 times at batch 256. The GPU sits almost idle and the training step waits
 * on it. Here the sum is split ("split-K"): each thread sums one chunk of the batch×output positions for one weight,
 * so the first layer gets about half a million threads; the stock Sum kernel then adds up each weight's chunks.
 * Same arithmetic, in another order: results agree with cpu to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stockKernel } from '../registry';
import { workgroupsFor, type UniformValue, type WebGpuBackendLike, type WebGpuProgram } from './program';

const WORKGROUP = 64;
/** About this many threads in flight: enough to fill a large GPU, few enough that the partial sums stay small (4 MiB). */
const TARGET_THREADS = 1 << 20;
/** Positions one thread sums at least, so that the partial sums never outnumber the products. */
const MIN_CHUNK = 64;

type KernelArgs = Parameters<tf.KernelFunc>[0];

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backendExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}
type backendExplicitPadding = tf.backend_util.ExplicitPadding;

/** How the batch×output positions are split: `chunks` chunks of `chunkLength` positions per weight. */
export function splitPositions(positions: number, weights: number): { chunks: number; chunkLength: number } {
  const chunks = Math.max(1, Math.min(Math.floor(positions / MIN_CHUNK), Math.ceil(TARGET_THREADS / weights)));
  const chunkLength = Math.ceil(positions / chunks);
  return { chunks: Math.ceil(positions / chunkLength), chunkLength };
}

function partialSumsProgram(weights: number, chunks: number): WebGpuProgram {
  return {
    // Weight-major, so that Sum over the last axis adds each weight's chunks.
    outputShape: [weights, chunks],
    shaderKey: 'distillConv2DBackpropFilterSplitK',
    dispatchLayout: { x: [0, 1] },
    dispatch: workgroupsFor(weights * chunks, WORKGROUP),
    variableNames: ['x', 'dy'],
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, inSize : vec2<i32>, outSize : vec2<i32>, filterWidth : i32, inChannels : i32, outChannels : i32, ' +
      'weights : i32, chunks : i32, chunkLength : i32, positions : i32,',
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => /* wgsl */ `
      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        // Neighbouring threads take neighbouring weights of one chunk: their dy reads are adjacent, their x reads
        // the same address.
        let chunk = index / uniforms.weights;
        let weight = index - chunk * uniforms.weights;
        let d2 = weight % uniforms.outChannels;
        let rest = weight / uniforms.outChannels;
        let d1 = rest % uniforms.inChannels;
        let tap = rest / uniforms.inChannels;
        let wC = tap % uniforms.filterWidth;
        let wR = tap / uniforms.filterWidth;

        let first = chunk * uniforms.chunkLength;
        let last = min(first + uniforms.chunkLength, uniforms.positions);
        // The position as (image, output row, output column), stepped rather than divided out each time.
        var yC = first % uniforms.outSize.y;
        var yR = (first / uniforms.outSize.y) % uniforms.outSize.x;
        var b = first / (uniforms.outSize.y * uniforms.outSize.x);
        var sum = 0.0;
        for (var p = first; p < last; p++) {
          let xR = wR + yR * uniforms.strides.x - uniforms.pads.x;
          let xC = wC + yC * uniforms.strides.y - uniforms.pads.y;
          if (xR >= 0 && xR < uniforms.inSize.x && xC >= 0 && xC < uniforms.inSize.y) {
            let xValue = x[((b * uniforms.inSize.x + xR) * uniforms.inSize.y + xC) * uniforms.inChannels + d1];
            let dyValue = dy[((b * uniforms.outSize.x + yR) * uniforms.outSize.y + yC) * uniforms.outChannels + d2];
            sum += xValue * dyValue;
          }
          yC++;
          if (yC == uniforms.outSize.y) {
            yC = 0;
            yR++;
            if (yR == uniforms.outSize.x) {
              yR = 0;
              b++;
            }
          }
        }
        result[weight * uniforms.chunks + chunk] = sum;
      }
    `,
  };
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Attrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    const stock = stockKernel(tf.Conv2DBackpropFilter, 'webgpu');
    if (!stock) throw new Error(`Conv2DBackpropFilter on webgpu: dataFormat ${dataFormat} needs tfjs' own kernel, which is not registered.`);
    return stock.kernelFunc(args) as tf.TensorInfo;
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
  const weights = filterShape.reduce((a, b) => a * b, 1);
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const { chunks, chunkLength } = splitPositions(positions, weights);
  const webgpu = backend as unknown as WebGpuBackendLike;
  const uniforms: UniformValue[] = [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.inHeight, info.inWidth] },
    { type: 'int32', data: [info.outHeight, info.outWidth] },
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [info.inChannels] },
    { type: 'int32', data: [info.outChannels] },
    { type: 'int32', data: [weights] },
    { type: 'int32', data: [chunks] },
    { type: 'int32', data: [chunkLength] },
    { type: 'int32', data: [positions] },
  ];
  const partial = webgpu.runWebGPUProgram(partialSumsProgram(weights, chunks), [x, dy], 'float32', uniforms);
  if (chunks === 1) return { ...partial, shape: filterShape };
  const sum = tf.getKernel(tf.Sum, 'webgpu');
  if (!sum) throw new Error("Conv2DBackpropFilter on webgpu needs the backend's Sum kernel, which is not registered.");
  const total = sum.kernelFunc({ inputs: { x: partial }, backend, attrs: { axis: [1], keepDims: false } }) as tf.TensorInfo;
  webgpu.disposeData(partial.dataId);
  return { ...total, shape: filterShape };
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: conv2DBackpropFilter,
};
