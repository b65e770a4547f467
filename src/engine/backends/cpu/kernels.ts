/** Distill's kernels for the cpu backend (registered by backends/registry.ts once the ladder chose cpu). */
import type { BackendKernels } from '../registry';
import { kdStepStatsConfig, kdStepStatsGradConfig } from './kdStepStats';

export const CPU_KERNELS: BackendKernels = {
  added: [kdStepStatsConfig, kdStepStatsGradConfig],
  replaced: [],
};
