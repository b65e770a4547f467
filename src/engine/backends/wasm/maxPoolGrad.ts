/**
 * MaxPoolGrad for wasm, replacing the stock kernel, which searches every window once per input pixel and cost
 * more than the convolutions it sits between. Here each window is scanned once, all channels side by side (NHWC
 * keeps them contiguous), and its gradient goes to the first maximum in row-major order, as on the cpu backend.
 */
import { backend_util, MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocate, heapF32, type BackendWasm, type Conv2DInfo } from './wasmKernelUtil';

function maxPoolBackprop(x: Float32Array, dy: Float32Array, info: Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const rowStride = inWidth * channels;
  dx.fill(0);
  let dyIndex = 0;
  for (let b = 0; b < batchSize; b++) {
    const image = b * inHeight * rowStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const rowStart = oh * strideHeight - padTop;
      const rowLo = Math.max(0, rowStart);
      const rowHi = Math.min(inHeight, rowStart + effectiveFilterHeight);
      for (let ow = 0; ow < outWidth; ow++, dyIndex += channels) {
        const colStart = ow * strideWidth - padLeft;
        const colLo = Math.max(0, colStart);
        const colHi = Math.min(inWidth, colStart + effectiveFilterWidth);
        const corner = image + rowLo * rowStride + colLo * channels;
        for (let c = 0; c < channels; c++) {
          // Strict '>' from −∞ in row-major order: the first maximum wins, and a window of NaNs passes nothing.
          let best = Number.NEGATIVE_INFINITY;
          let bestAt = -1;
          for (let ih = rowLo, rowAt = corner + c; ih < rowHi; ih++, rowAt += rowStride) {
            for (let iw = colLo, at = rowAt; iw < colHi; iw++, at += channels) {
              const v = x[at];
              const better = v > best;
              best = better ? v : best;
              bestAt = better ? at : bestAt;
            }
          }
          if (bestAt >= 0) dx[bestAt] += dy[dyIndex + c];
        }
      }
    }
  }
}

function maxPoolGrad({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const wasm = backend as BackendWasm;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const dx = allocate(wasm, input.shape);
  maxPoolBackprop(heapF32(wasm, input), heapF32(wasm, dy), info, heapF32(wasm, dx));
  return dx;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
