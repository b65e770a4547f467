/**
 * The backend of a training thread: the same one the main thread trains on, with the same kernels registered
 * (Distill's wasm training kernels, and the fused KD step kernels for wasm and cpu), so that every thread computes
 * exactly what the single-thread path computes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// A named import: a bare one is dropped by esbuild (the package is marked side-effect free), and with it the
// registration of the cpu backend.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../backends/wasm';
import { hasFusedStepStats } from '../kd/stepStats';

export async function activateWorkerBackend(name: string): Promise<void> {
  void version_cpu;
  if (name === 'wasm') {
    registerWasmTrainingKernels();
    // As the ladder does: the bundle carries the .wasm files beside it; from sources the package's folder is used.
    if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) setWasmPaths(__dirname + path.sep);
  }
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) throw new Error(`backend ${name} did not initialise in the training thread`);
  await tf.ready();
  if (!hasFusedStepStats(name)) throw new Error(`the fused KD kernels are not registered for ${name} in the training thread`);
}
