/**
 * Sum for wasm, replacing the stock kernel for reductions over leading axes. Every bias gradient is one (the sum
 * of dy over batch, height and width), and the stock kernel first transposes the whole tensor to bring those axes
 * innermost. Column sums need no transpose. Other reductions go to the stock kernel.
 */
import { backend_util, Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocate, heapF32, runWasmKernel, type BackendWasm } from './wasmKernelUtil';

/** out[c] = Σ_r m[r, c] for a row-major [rows, cols] matrix, accumulated in double precision. */
function columnSums(m: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  // Four rows per pass: a quarter of the accumulator traffic.
  const stride = 4 * cols;
  let r = 0;
  for (let at = 0; r + 4 <= rows; r += 4, at += stride) {
    for (let c = 0, i = at; c < cols; c++, i++) acc[c] += m[i] + m[i + cols] + m[i + 2 * cols] + m[i + 3 * cols];
  }
  for (let at = r * cols; r < rows; r++) {
    for (let c = 0; c < cols; c++, at++) acc[c] += m[at];
  }
  out.set(acc);
}

function sum({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  const { axis, keepDims } = attrs as unknown as SumAttrs;
  const wasm = backend as BackendWasm;
  const rank = x.shape.length;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leadingPrefix = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (!leadingPrefix || x.dtype !== 'float32') return runWasmKernel(Sum, wasm, { x }, attrs);
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  const kept = x.shape.slice(axes.length);
  const out = allocate(wasm, keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept);
  columnSums(heapF32(wasm, x), rows, util.sizeFromShape(kept), heapF32(wasm, out));
  return out;
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sum,
};
