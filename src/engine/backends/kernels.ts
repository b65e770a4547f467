/**
 * Every backend's list of Distill kernels, and the call that registers one backend's (backends/registry.ts does the
 * registering). A new backend list: a `<backend>/kernels.ts` beside the others, and a line below.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kdStepStatsGradConfig } from '../kd/stepStats';
import { CPU_KERNELS } from './cpu/kernels';
import { registerOnce, replaceStock, type BackendKernels } from './registry';
import { WASM_KERNELS } from './wasm/kernels';
import { WEBGPU_KERNELS } from './webgpu/kernels';

/** Every backend's list, by tfjs backend name. A backend without one (tensorflow) runs stock kernels only. */
const BACKEND_KERNELS: Record<string, BackendKernels> = {
  cpu: CPU_KERNELS,
  wasm: WASM_KERNELS,
  webgpu: WEBGPU_KERNELS,
};

/** Gradients of our own kernels, for every backend. */
const KERNEL_GRADIENTS: readonly tf.GradConfig[] = [kdStepStatsGradConfig];

/** Registers our gradients (backend-independent) and `backendName`'s kernels. Idempotent. */
export function registerBackendKernels(backendName: string): void {
  for (const gradient of KERNEL_GRADIENTS) if (!tf.getGradient(gradient.kernelName)) tf.registerGradient(gradient);
  const kernels = BACKEND_KERNELS[backendName];
  if (!kernels) return;
  for (const config of kernels.added) registerOnce(config);
  for (const config of kernels.replaced) replaceStock(config);
}

/** The kernels of ours that `backendName` gets, for tests and the bench. */
export function backendKernels(backendName: string): BackendKernels {
  return BACKEND_KERNELS[backendName] ?? { added: [], replaced: [] };
}
