/**
 * Distill's wasm kernels, registered by backends/registry.ts once the ladder chose wasm: the gradients the stock
 * backend lacks, without which no CNN trains on it, the fused KD step, and faster replacements for the stock kernels
 * a training step spends its time in (see scripts/profile-student.ts for the breakdown). A new kernel: a file
 * exporting its KernelConfig, and a line in one of the two lists.
 */
import type { BackendKernels } from '../registry';
import { conv2DBackpropFilterConfig } from './conv2dBackpropFilter';
import { conv2DBackpropInputConfig } from './conv2dBackpropInput';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwiseBackprop';
import { gatherV2Config } from './gather';
import { identityConfig } from './identity';
import { kdStepStatsConfig, kdStepStatsGradConfig } from './kdStepStats';
import { batchMatMulConfig } from './matMul';
import { maxPoolGradConfig } from './maxPoolGrad';
import { sliceConfig } from './slice';
import { sumConfig } from './sum';

export const WASM_KERNELS: BackendKernels = {
  /** Kernels the stock wasm backend does not have at all. */
  added: [conv2DBackpropFilterConfig, depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig, kdStepStatsConfig, kdStepStatsGradConfig],
  /** Stock kernels we replace because a training step, or evaluation (slice), spent most of its time in them. */
  replaced: [batchMatMulConfig, conv2DBackpropInputConfig, gatherV2Config, maxPoolGradConfig, sumConfig, identityConfig, sliceConfig],
};
