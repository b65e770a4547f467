/** The fused KD step kernels (kd/stepStats.ts) on the wasm backend: the JavaScript loops over views of the heap. */
import { jsStepStatsKernels, type TensorIo } from '../../kd/stepStats';
import type { BackendWasm } from './wasmKernelUtil';

const wasmIo: TensorIo = {
  // Views of the heap: safe because the output is allocated only after the arithmetic, from a plain array.
  read: (backend, info) => (backend as BackendWasm).typedArrayFromHeap(info),
  write: (backend, shape, values) => {
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(shape, 'float32');
    (wasm.typedArrayFromHeap(out) as Float32Array).set(values);
    return out;
  },
};

export const [kdStepStatsConfig, kdStepStatsGradConfig] = jsStepStatsKernels('wasm', wasmIo);
