/**
 * The two gradients of a depthwise convolution for wasm, which the stock backend lacks (so no depthwise or
 * separable layer could train on it). Filter [KH, KW, C, M] (M = channel multiplier), dy [N, OH, OW, C·M].
 * Strides, dilations and 'same' / 'valid' / explicit padding are all supported.
 *  - Filter gradient: a per-channel correlation, which no XNNPACK primitive exposed by the backend computes, so it
 *    is one pass over dy in plain loops with double-precision accumulators (a small tensor, summed over N·OH·OW).
 *  - Input gradient: with stride 1 it is again a depthwise convolution (of dy with the spatially flipped filter),
 *    run by XNNPACK; with larger strides, a scatter loop.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  Sum,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { validOutputRange } from './im2col';
import { allocate, heapF32, release, reshapeView, runWasmKernel, type BackendWasm, type Conv2DInfo } from './wasmKernelUtil';

function depthwiseFilterGradient(x: Float32Array, dy: Float32Array, info: Conv2DInfo, dw: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const acc = new Float64Array(dw.length);
  for (let kh = 0; kh < filterHeight; kh++) {
    const [ohLo, ohHi] = validOutputRange(kh * dilationHeight - padTop, strideHeight, inHeight, outHeight);
    for (let kw = 0; kw < filterWidth; kw++) {
      const [owLo, owHi] = validOutputRange(kw * dilationWidth - padLeft, strideWidth, inWidth, outWidth);
      const tap = (kh * filterWidth + kw) * outChannels;
      for (let b = 0; b < batchSize; b++) {
        for (let oh = ohLo; oh < ohHi; oh++) {
          const ih = oh * strideHeight + kh * dilationHeight - padTop;
          let xAt = ((b * inHeight + ih) * inWidth + owLo * strideWidth + kw * dilationWidth - padLeft) * inChannels;
          let dyAt = ((b * outHeight + oh) * outWidth + owLo) * outChannels;
          for (let ow = owLo; ow < owHi; ow++, xAt += strideWidth * inChannels, dyAt += outChannels) {
            if (multiplier === 1) {
              for (let c = 0; c < inChannels; c++) acc[tap + c] += x[xAt + c] * dy[dyAt + c];
            } else {
              for (let c = 0, o = 0; c < inChannels; c++) {
                const xv = x[xAt + c];
                for (let m = 0; m < multiplier; m++, o++) acc[tap + o] += xv * dy[dyAt + o];
              }
            }
          }
        }
      }
    }
  }
  dw.set(acc);
}

/** dx[n, ih, iw, c] += Σ_m W[kh, kw, c, m] · dy[n, oh, ow, c·M + m] over every tap that read (ih, iw). `dx` must be zeroed. */
function depthwiseInputGradient(dy: Float32Array, filter: Float32Array, info: Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  for (let kh = 0; kh < filterHeight; kh++) {
    const [ohLo, ohHi] = validOutputRange(kh * dilationHeight - padTop, strideHeight, inHeight, outHeight);
    for (let kw = 0; kw < filterWidth; kw++) {
      const [owLo, owHi] = validOutputRange(kw * dilationWidth - padLeft, strideWidth, inWidth, outWidth);
      const tap = (kh * filterWidth + kw) * outChannels;
      for (let b = 0; b < batchSize; b++) {
        for (let oh = ohLo; oh < ohHi; oh++) {
          const ih = oh * strideHeight + kh * dilationHeight - padTop;
          let dxAt = ((b * inHeight + ih) * inWidth + owLo * strideWidth + kw * dilationWidth - padLeft) * inChannels;
          let dyAt = ((b * outHeight + oh) * outWidth + owLo) * outChannels;
          for (let ow = owLo; ow < owHi; ow++, dxAt += strideWidth * inChannels, dyAt += outChannels) {
            for (let c = 0, o = 0; c < inChannels; c++) {
              let s = 0;
              for (let m = 0; m < multiplier; m++, o++) s += filter[tap + o] * dy[dyAt + o];
              dx[dxAt + c] += s;
            }
          }
        }
      }
    }
  }
}

/** The flipped filter as a multiplier-1 depthwise filter over C·M channels: W'[kh, kw, c·M + m, 0] = W[KH−1−kh, KW−1−kw, c, m]. */
function flipDepthwiseFilter(filter: Float32Array, kh: number, kw: number, channels: number, out: Float32Array): void {
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      const src = ((kh - 1 - h) * kw + (kw - 1 - w)) * channels;
      const dst = (h * kw + w) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = filter[src + c];
    }
  }
}

/**
 * Stride 1: dx is the depthwise convolution of dy with the flipped filter (same dilation), padded by the
 * complement of the forward padding, followed by a sum over the multiplier when M > 1. Null where that padding
 * would be negative (explicit padding wider than the dilated filter), which the scatter loop handles instead.
 */
function inputGradientByConvolution(wasm: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo | null {
  const { effectiveFilterHeight: eh, effectiveFilterWidth: ew } = info;
  const { top, bottom, left, right } = info.padInfo;
  const pads = [eh - 1 - top, eh - 1 - bottom, ew - 1 - left, ew - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  const { batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth } = info;
  const flipped = allocate(wasm, [filterHeight, filterWidth, outChannels, 1]);
  flipDepthwiseFilter(heapF32(wasm, filter), filterHeight, filterWidth, outChannels, heapF32(wasm, flipped));
  const perOutputChannel = runWasmKernel(
    'DepthwiseConv2dNative',
    wasm,
    { x: dy, filter: flipped },
    {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  release(wasm, flipped);
  if (outChannels === inChannels) return perOutputChannel;
  const grouped = reshapeView(wasm, perOutputChannel, [batchSize, inHeight, inWidth, inChannels, outChannels / inChannels]);
  const dx = runWasmKernel(Sum, wasm, { x: grouped }, { axis: 4, keepDims: false });
  release(wasm, grouped);
  release(wasm, perOutputChannel);
  return dx;
}

function backpropFilter({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const wasm = backend as BackendWasm;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
    'channelsLast',
  );
  const dw = allocate(wasm, [...filterShape]);
  depthwiseFilterGradient(heapF32(wasm, x), heapF32(wasm, dy), info, heapF32(wasm, dw));
  return dw;
}

function backpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const wasm = backend as BackendWasm;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
    'channelsLast',
  );
  if (info.strideHeight === 1 && info.strideWidth === 1) {
    const dx = inputGradientByConvolution(wasm, dy, filter, info);
    if (dx) return dx;
  }
  const dx = allocate(wasm, [...inputShape]);
  const dxValues = heapF32(wasm, dx);
  dxValues.fill(0);
  depthwiseInputGradient(heapF32(wasm, dy), heapF32(wasm, filter), info, dxValues);
  return dx;
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: backpropFilter,
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: backpropInput,
};
