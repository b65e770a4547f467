/**
 * Slice for wasm, replacing the stock kernel, which copies its whole input out of the wasm heap (`readSync`) to
 * take a part of it. tfjs-layers' `predict` and our teacher-logit pass (`predictLogits`) slice every batch from the
 * full input tensor, so each batch copied all of it: the teacher's logits for Fashion-MNIST's 60,000 training rows
 * copied 188 MB per batch (a first run took 77-79 s, 48 s with this kernel), and a sweep trial (784-32-10 MLP,
 * 12,000 rows) allocated ~250 MB outside the JS heap, whose collection took CPU from the engine beside it. Here the
 * part is copied straight from a view on the heap.
 */
import { Slice, slice_util, util, type KernelConfig, type KernelFunc, type SliceAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocate, runWasmKernel, type BackendWasm } from './wasmKernelUtil';

function slice({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as BackendWasm;
  // Strings live outside the heap.
  if (x.dtype === 'string') return runWasmKernel(Slice, wasm, { x }, attrs);
  const { begin, size } = attrs as unknown as SliceAttrs;
  const [start, extent] = slice_util.parseSliceParams(x, begin, size);
  const out = allocate(wasm, extent, x.dtype);
  const count = util.sizeFromShape(extent);
  if (count === 0) return out;
  // Views after the allocation: it may grow the heap and detach earlier views.
  const from = wasm.typedArrayFromHeap(x);
  const to = wasm.typedArrayFromHeap(out);
  const strides = util.computeStrides(x.shape);
  if (slice_util.isSliceContinous(x.shape, start, extent)) {
    const offset = slice_util.computeFlatOffset(start, strides);
    to.set(from.subarray(offset, offset + count));
    return out;
  }
  // Strided: one contiguous run along the last axis per position of the outer axes, in row-major order.
  const last = x.shape.length - 1;
  const run = extent[last];
  const position = new Array<number>(last).fill(0);
  for (let written = 0; written < count; written += run) {
    let offset = start[last];
    for (let d = 0; d < last; d++) offset += (start[d] + position[d]) * strides[d];
    to.set(from.subarray(offset, offset + run), written);
    for (let d = last - 1; d >= 0 && ++position[d] === extent[d]; d--) position[d] = 0;
  }
  return out;
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'wasm',
  kernelFunc: slice,
};
