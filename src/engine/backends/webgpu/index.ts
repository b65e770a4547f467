/**
 * Distill's WGSL kernels for tfjs' webgpu backend, registered when the ladder loads that backend: the fused KD step
 * (one dispatch each way instead of about a hundred) and a Conv2DBackpropFilter that keeps a large GPU busy.
 */
import { registerOnce } from '../../kd/stepStats';
import { replaceConv2DBackpropFilter } from './conv2dBackpropFilter';
import { kdStepStatsConfig, kdStepStatsGradConfig } from './kdStepStats';

/** Registers our kernels for 'webgpu'. Idempotent; call it after the backend package is imported. */
export function registerWebGpuKernels(): void {
  registerOnce(kdStepStatsConfig);
  registerOnce(kdStepStatsGradConfig);
  replaceConv2DBackpropFilter();
}
