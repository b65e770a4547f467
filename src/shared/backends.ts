/**
 * The compute backends, as everything outside the ladder needs to know them: their names and ladder order, the npm
 * packages that are installed separately, where the engine looks for those, what each needs of the machine, and
 * what to tell the user when one is missing. The ladder (engine/backends/ladder.ts), the installers
 * (src/install/), the config schema, the extension's settings (package.json, checked by a test against this file)
 * and the CLI all read it from here. No tfjs, no vscode.
 */

/** The order `auto` tries, fastest first. */
export const LADDER = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type ConcreteBackend = (typeof LADDER)[number];

/** What `engine.backend` accepts: `auto` (walk the ladder) or one backend. */
export const BACKENDS = ['auto', ...LADDER] as const;
export type Backend = (typeof BACKENDS)[number];

export const GPU_BACKENDS: readonly ConcreteBackend[] = ['tensorflow-gpu', 'webgpu'];
export const isGpuBackend = (backend: ConcreteBackend) => GPU_BACKENDS.includes(backend);

/**
 * An extra folder the optional packages are looked for in first: a node_modules folder, or a folder holding one
 * (an `npm install --prefix` target). The extension maps a setting to it; scripts set it by hand.
 */
export const OPTIONAL_MODULES_ENV = 'DISTILL_OPTIONAL_MODULES';
/** The setting the extension hands to the engine as OPTIONAL_MODULES_ENV. */
export const OPTIONAL_MODULES_SETTING = 'distill.engine.optionalModules';

/**
 * The tfjs version bundled into the engine, which optional tfjs packages must match exactly (a unit test keeps it
 * equal to tfjs-core's own). A constant, so that the installers need not load tfjs to know it.
 */
export const TFJS_VERSION = '4.22.0';

/** What tfjs-node-gpu's libtensorflow 2.9 is built against. */
export const CUDA_REQUIREMENT = 'CUDA 11.2 and cuDNN 8.1';
/** The libraries its binding loads, as the dlopen error names them. */
export const CUDA_LIBRARIES = 'libcudart.so.11.0, libcudnn.so.8';
/** The graphics APIs Dawn runs on, with the article: "a Vulkan, Metal or D3D12" (driver, GPU). */
export const WEBGPU_DRIVERS = 'a Vulkan, Metal or D3D12';

export interface BackendInfo {
  /** One line for completion lists: the config's `engine.backend` and the setting distill.engine.backend (markdown). */
  readonly description: string;
  /** The npm packages it needs that are not bundled with Distill; none for the bundled backends. */
  readonly optionalPackages: readonly string[];
  /** What the machine needs besides the packages. */
  readonly needs?: string;
  /** What to do when it is unavailable. */
  readonly fix: string;
}

/** Where optional packages may live: the workspace, or a folder named by the setting / environment variable. */
const INSTALL_WHERE = `in the workspace, or with \`npm install --prefix <folder>\` and the setting ${OPTIONAL_MODULES_SETTING} (${OPTIONAL_MODULES_ENV} for the CLI) set to <folder>`;
/** The one-step installers of the GPU backends: the extension's command and the CLI's. */
const GPU_INSTALLER = (target: string) => `Run "Distill: Install GPU Engine" in VS Code (or \`distill install-gpu ${target}\`), or install it yourself`;
const OR_AUTO = 'or set engine.backend to "auto".';

export const AUTO_DESCRIPTION = `Walk the ladder: ${LADDER.join(', ')}; the first that loads and supports the model wins.`;

export const BACKEND_INFO: Record<ConcreteBackend, BackendInfo> = {
  'tensorflow-gpu': {
    description: `\`@tensorflow/tfjs-node-gpu\` (${CUDA_REQUIREMENT.replace(' and ', ' + ')}). Install it separately.`,
    optionalPackages: ['@tensorflow/tfjs-node-gpu'],
    needs: `an NVIDIA GPU with ${CUDA_REQUIREMENT}`,
    fix: `${GPU_INSTALLER('tensorflow-gpu')}: @tensorflow/tfjs-node-gpu ${INSTALL_WHERE} (it needs ${CUDA_REQUIREMENT.replace(' and ', ', ')} and an NVIDIA GPU), ${OR_AUTO}`,
  },
  webgpu: {
    description: 'WebGPU through Dawn (npm `webgpu`). Any modern GPU.',
    optionalPackages: ['webgpu', '@tensorflow/tfjs-backend-webgpu'],
    needs: `a GPU with ${WEBGPU_DRIVERS} driver`,
    fix: `${GPU_INSTALLER('webgpu')}: the npm packages webgpu and @tensorflow/tfjs-backend-webgpu ${INSTALL_WHERE} (they need ${WEBGPU_DRIVERS} GPU), ${OR_AUTO}`,
  },
  tensorflow: {
    description: '`@tensorflow/tfjs-node` (native CPU). Install it separately.',
    optionalPackages: ['@tensorflow/tfjs-node'],
    fix: `Install @tensorflow/tfjs-node ${INSTALL_WHERE}, ${OR_AUTO}`,
  },
  wasm: {
    description: 'WebAssembly with SIMD; always available. Fast on CPU.',
    optionalPackages: [],
    fix: 'Reinstall the extension: its tfjs-backend-wasm .wasm files are missing or damaged. engine.backend "cpu" works meanwhile.',
  },
  cpu: {
    description: 'Pure JavaScript. Slow; the reference for correctness.',
    optionalPackages: [],
    fix: 'Reinstall the extension.',
  },
};

/** Every value of `engine.backend` with its description, in order: for the schema and the setting's enum. */
export function backendDescriptions(): Record<Backend, string> {
  return { auto: AUTO_DESCRIPTION, ...Object.fromEntries(LADDER.map((b) => [b, BACKEND_INFO[b].description])) } as Record<Backend, string>;
}
