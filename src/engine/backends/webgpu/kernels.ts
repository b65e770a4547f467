/**
 * Distill's WGSL kernels for tfjs' webgpu backend, registered by backends/registry.ts once the ladder chose webgpu:
 * the fused KD step (one dispatch each way instead of about a hundred) and a Conv2DBackpropFilter that keeps a large
 * GPU busy.
 */
import type { BackendKernels } from '../registry';
import { conv2DBackpropFilterConfig } from './conv2dBackpropFilter';
import { kdStepStatsConfig, kdStepStatsGradConfig } from './kdStepStats';

export const WEBGPU_KERNELS: BackendKernels = {
  added: [kdStepStatsConfig, kdStepStatsGradConfig],
  replaced: [conv2DBackpropFilterConfig],
};
