/**
 * Conv2DBackpropInput for wasm, replacing the stock kernel: that one is a scalar loop nest and took about half of a
 * cnn-small training step. Two ways, both ending in XNNPACK:
 *  - stride 1 (the common case): dx is a plain convolution of dy with the filter flipped in space and with its
 *    channel axes swapped, padded so that the output has the input's size; XNNPACK runs it without an im2col copy.
 *  - otherwise: dP = dY · Wᵀ as one product, then col2im adds each patch back where it came from.
 */
import { backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { col2imAccumulate } from './im2col';
import { matMul, transpose2d } from './matMul';
import {
  allocate,
  assertChannelsLast,
  heapF32,
  release,
  reshapeView,
  runWasmKernel,
  type BackendWasm,
  type Conv2DInfo,
  type ExplicitPadding,
} from './wasmKernelUtil';

/** W'[kh, kw, o, c] = W[KH−1−kh, KW−1−kw, c, o]: the filter that maps dy back onto x. */
function flipAndSwapFilter(filter: Float32Array, kh: number, kw: number, inChannels: number, outChannels: number, out: Float32Array): void {
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      const src = ((kh - 1 - h) * kw + (kw - 1 - w)) * inChannels * outChannels;
      const dst = (h * kw + w) * outChannels * inChannels;
      for (let c = 0; c < inChannels; c++) {
        for (let o = 0; o < outChannels; o++) out[dst + o * inChannels + c] = filter[src + c * outChannels + o];
      }
    }
  }
}

/** Padding of the stride-1 "full" convolution that undoes a forward convolution, or null where one side would be negative. */
function transposedPadding(info: Conv2DInfo): ExplicitPadding | null {
  const { top, bottom, left, right } = info.padInfo;
  const pads = [info.filterHeight - 1 - top, info.filterHeight - 1 - bottom, info.filterWidth - 1 - left, info.filterWidth - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  return [
    [0, 0],
    [pads[0], pads[1]],
    [pads[2], pads[3]],
    [0, 0],
  ];
}

function viaConvolution(wasm: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo, pad: ExplicitPadding): TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const flipped = allocate(wasm, [filterHeight, filterWidth, outChannels, inChannels]);
  flipAndSwapFilter(heapF32(wasm, filter), filterHeight, filterWidth, inChannels, outChannels, heapF32(wasm, flipped));
  const dx = runWasmKernel('Conv2D', wasm, { x: dy, filter: flipped }, { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 });
  release(wasm, flipped);
  return dx;
}

function viaCol2im(wasm: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const patchLength = info.filterHeight * info.filterWidth * info.inChannels;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const filterT = transpose2d(wasm, filter, patchLength, info.outChannels);
  const dyMatrix = reshapeView(wasm, dy, [positions, info.outChannels]);
  const patchGrads = matMul(wasm, dyMatrix, filterT, positions, info.outChannels, patchLength);
  release(wasm, filterT);
  release(wasm, dyMatrix);
  const dx = allocate(wasm, info.inShape);
  const dxValues = heapF32(wasm, dx);
  dxValues.fill(0);
  col2imAccumulate(heapF32(wasm, patchGrads), info, dxValues);
  release(wasm, patchGrads);
  return dx;
}

function conv2DBackpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  assertChannelsLast(Conv2DBackpropInput, dataFormat);
  const wasm = backend as BackendWasm;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const fullPad = info.strideHeight === 1 && info.strideWidth === 1 ? transposedPadding(info) : null;
  return fullPad ? viaConvolution(wasm, dy, filter, info, fullPad) : viaCol2im(wasm, dy, filter, info);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
