/**
 * Plumbing shared by our wasm kernels. They are written in TypeScript on top of the wasm backend: they read and
 * write tensors directly in the wasm heap and hand the arithmetic-heavy part to the backend's own XNNPACK kernels
 * (matMul, conv2d), called as plain functions the way the stock wasm kernels call each other. Calling them through
 * the engine instead would create tracked tensors, tape nodes and profiler entries for every intermediate.
 */
import { backend_util, getKernel, type DataType, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { stockKernel } from '../registry';

export type { BackendWasm };

export type Conv2DInfo = backend_util.Conv2DInfo;
export type ExplicitPadding = backend_util.ExplicitPadding;

/**
 * Runs a stock wasm kernel as a function (ours never call each other, so a replaced kernel means its stock
 * version); the output belongs to the caller, who disposes it with `release`.
 */
export function runWasmKernel(kernelName: string, backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = stockKernel(kernelName, 'wasm') ?? getKernel(kernelName, 'wasm');
  if (!config) throw new Error(`Kernel '${kernelName}' not registered for backend 'wasm' (needed by Distill's wasm training kernels).`);
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error('Distill wasm kernels only compose single-output kernels.');
  return out;
}

/** Frees an intermediate made by `runWasmKernel` or `allocate` (never a kernel's input or returned output). */
export function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

export function allocate(backend: BackendWasm, shape: number[], dtype: DataType = 'float32'): TensorInfo {
  return backend.makeOutput(shape, dtype);
}

/**
 * A float32 view of a tensor's bytes in the wasm heap. The view is invalidated when the heap grows, which any
 * allocation may cause: take views only after the last `allocate`/`runWasmKernel` of a step.
 */
export function heapF32(backend: BackendWasm, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`Distill wasm kernels expect float32 tensors, got ${info.dtype}.`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** A tensor that shares `info`'s data under another shape (no copy), like the stock wasm Reshape. */
export function reshapeView(backend: BackendWasm, info: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(info.dataId);
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** The wasm conv kernels (stock and ours) work on NHWC only; say so instead of computing garbage. */
export function assertChannelsLast(kernelName: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(
      `${kernelName} on the wasm backend supports dataFormat 'NHWC' only, got '${dataFormat}'. ` +
        'Use channels-last tensors (the tf.layers default), or the cpu backend.',
    );
  }
}
