/**
 * Distill's wasm training kernels. Importing this module registers them (once) for the 'wasm' backend: the
 * gradients the stock backend lacks, without which no CNN trains on it, and faster replacements for the stock
 * kernels a training step spends its time in (see scripts/profile-student.ts for the breakdown).
 */
import '@tensorflow/tfjs-backend-wasm';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './conv2dBackpropFilter';
import { conv2DBackpropInputConfig } from './conv2dBackpropInput';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwiseBackprop';
import { identityConfig } from './identity';
import { batchMatMulConfig } from './matMul';
import { maxPoolGradConfig } from './maxPoolGrad';
import { sumConfig } from './sum';
import { rememberStockKernel } from './wasmKernelUtil';

/** Kernels the stock wasm backend does not have at all. */
export const ADDED_WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/** Stock kernels we replace because a training step spent most of its time in them. */
export const REPLACED_WASM_KERNELS: readonly KernelConfig[] = [
  batchMatMulConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  sumConfig,
  identityConfig,
];

/** Registers our kernels for 'wasm'. Idempotent: later calls (and later imports) change nothing. */
export function registerWasmTrainingKernels(): void {
  for (const config of [...ADDED_WASM_KERNELS, ...REPLACED_WASM_KERNELS]) {
    const current = getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    let ours = config;
    if (current) {
      rememberStockKernel(current);
      // Registering over a kernel works but logs a warning on every start.
      unregisterKernel(config.kernelName, 'wasm');
      // Ours delegate some cases to the stock kernel, whose setup binds its wasm export; the backend runs the
      // setup of the registered kernel when it initializes, so ours must carry it.
      if (current.setupFunc) ours = { ...config, setupFunc: current.setupFunc };
    }
    registerKernel(ours);
  }
}

registerWasmTrainingKernels();
