/**
 * Identity for wasm, replacing the stock kernel, which copies the tensor. The engine clones every tensor it saves
 * for the backward pass, so a training step made a few dozen full copies of activations. Sharing the data with a
 * reference count is what the cpu backend and the wasm Reshape kernel do; tensors are immutable, so it is safe.
 */
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { runWasmKernel, type BackendWasm } from './wasmKernelUtil';

function identity({ inputs, backend }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as BackendWasm;
  if (x.dtype === 'string') return runWasmKernel(Identity, wasm, { x });
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity,
};
