/**
 * The one way Distill's kernels get into tfjs' kernel registry, in the style of tfjs' own `register_all_kernels.ts`:
 * each kernel is a file exporting a `KernelConfig`; each backend has one list (`<backend>/kernels.ts`, gathered in
 * backends/kernels.ts); the ladder calls `registerBackendKernels` once it has chosen and activated a backend.
 * Importing a kernel registers nothing.
 *
 * A kernel either adds one the backend lacks, or replaces the backend's stock kernel of that name. A replaced stock
 * kernel is kept: ours may delegate the cases they do not handle to it (`stockKernel`).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface BackendKernels {
  /** Kernels the stock backend does not have. */
  added: readonly tf.KernelConfig[];
  /** Stock kernels ours replace (faster, or right where the stock one is slow). */
  replaced: readonly tf.KernelConfig[];
}

/** `backend:kernel` → the stock kernel ours replaced. */
const stockKernels = new Map<string, tf.KernelConfig>();

/** The stock kernel that ours replaced on `backend`, for the cases ours hand back; undefined when none was. */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return stockKernels.get(`${backendName}:${kernelName}`);
}

/** Registers a kernel unless the backend already has one of that name (ours or stock). */
export function registerOnce(config: tf.KernelConfig): void {
  if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
}

/** Puts ours in place of the backend's kernel of that name, keeping the stock one for `stockKernel`. Idempotent. */
export function replaceStock(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc === config.kernelFunc) return;
  let ours = config;
  if (current) {
    const key = `${config.backendName}:${config.kernelName}`;
    if (!stockKernels.has(key)) stockKernels.set(key, current);
    // Registering over a kernel works, but logs a warning on every start.
    tf.unregisterKernel(config.kernelName, config.backendName);
    // A backend runs the setup of the kernels registered when it initializes (wasm binds its exports there); ours
    // may delegate to the stock kernel, so they carry its setup.
    if (current.setupFunc && !config.setupFunc) ours = { ...config, setupFunc: current.setupFunc };
  }
  tf.registerKernel(ours);
}
