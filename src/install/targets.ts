/**
 * What can be installed: each target is a set of npm packages at exact versions, the ladder rung they provide, what
 * the machine needs for it to run, and how the CLI and the extension's quick pick describe it. To add a target, add
 * its name to GPU_TARGETS and its spec to `gpuTargetSpecs`: the compiler asks for every field, and the
 * installer, `distill install-gpu`'s choices and "Distill: Install GPU Engine" read this table.
 */
import { BACKEND_INFO, CUDA_LIBRARIES, CUDA_REQUIREMENT, TFJS_VERSION, WEBGPU_DRIVERS, type ConcreteBackend } from '../shared/backends';
import type { Dependencies } from './stagedInstall';

export const GPU_TARGETS = ['webgpu', 'tensorflow-gpu'] as const;
export type GpuTarget = (typeof GPU_TARGETS)[number];

export interface GpuTargetSpec {
  /** The ladder rung the packages provide. */
  backend: ConcreteBackend;
  packages: Dependencies;
  /** What the machine needs for the backend to run once installed, for the "installed but cannot run here" warning. */
  needs: string;
  /** The quick pick's label, description and detail. */
  label: string;
  description: string;
  detail: string;
  /** A few words for the CLI's help. */
  cliHint: string;
}

/**
 * The packages of each target. tfjs' own packages must be the version bundled into the engine: the WebGPU backend
 * declares tfjs-core as an exact peer dependency, and tfjs-node-gpu registers kernels into the bundled engine.
 */
export function gpuTargetSpecs(tfjsVersion: string = TFJS_VERSION): Record<GpuTarget, GpuTargetSpec> {
  return {
    webgpu: {
      backend: 'webgpu',
      packages: { webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': tfjsVersion },
      needs: BACKEND_INFO.webgpu.needs!,
      label: 'WebGPU',
      description: `recommended · any GPU with ${WEBGPU_DRIVERS} driver`,
      detail: 'npm packages webgpu (Dawn) and @tensorflow/tfjs-backend-webgpu: about 65 MB to download, 200 MB on disk.',
      cliHint: `any ${WEBGPU_DRIVERS.replace(/^a /, '')} GPU (about 65 MB download)`,
    },
    'tensorflow-gpu': {
      backend: 'tensorflow-gpu',
      packages: { '@tensorflow/tfjs-node-gpu': tfjsVersion },
      needs: `${BACKEND_INFO['tensorflow-gpu'].needs!} installed (${CUDA_LIBRARIES} on the library path)`,
      label: 'CUDA (TensorFlow)',
      description: `NVIDIA GPU with ${CUDA_REQUIREMENT} already installed`,
      detail: '@tensorflow/tfjs-node-gpu: its install also downloads libtensorflow (about 400 MB) from storage.googleapis.com.',
      cliHint: `NVIDIA with ${CUDA_REQUIREMENT} (its install downloads libtensorflow from Google)`,
    },
  };
}

export function isGpuTarget(value: string): value is GpuTarget {
  return (GPU_TARGETS as readonly string[]).includes(value);
}

/** Every package some target installs, at its version: kept packages of these are moved to these versions. */
export function managedPackages(table: Record<GpuTarget, GpuTargetSpec> = gpuTargetSpecs()): Dependencies {
  return Object.assign({}, ...Object.values(table).map((t) => t.packages)) as Dependencies;
}

/** The targets for the CLI's help: "webgpu: …; tensorflow-gpu: …". */
export function targetsInWords(): string {
  const specs = gpuTargetSpecs();
  return GPU_TARGETS.map((t) => `${t}: ${specs[t].cliHint}`).join('; ');
}
