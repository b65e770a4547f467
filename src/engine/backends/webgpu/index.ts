/**
 * Distill's WGSL kernels for tfjs' webgpu backend, registered when the ladder loads that backend: the fused KD step
 * (one dispatch each way instead of about a hundred) and a Conv2DBackpropFilter that keeps a large GPU busy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, rememberStockConv2DBackpropFilter } from './conv2dBackpropFilter';
import { registerOnce } from '../../kd/stepStats';
import { kdStepStatsConfig, kdStepStatsGradConfig } from './kdStepStats';

/** Kernels tfjs' webgpu backend does not have. */
const ADDED: readonly tf.KernelConfig[] = [kdStepStatsConfig, kdStepStatsGradConfig];
/** Its kernels that ours replace. */
const REPLACED: readonly tf.KernelConfig[] = [conv2DBackpropFilterConfig];

/** Registers our kernels for 'webgpu'. Idempotent; call it after the backend package is imported. */
export function registerWebGpuKernels(): void {
  for (const config of ADDED) registerOnce(config);
  for (const config of REPLACED) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    rememberStockConv2DBackpropFilter(current);
    if (current) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}
