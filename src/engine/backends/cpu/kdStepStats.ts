/** The fused KD step kernels (kd/stepStats.ts) on the cpu backend: the JavaScript loops over the tensors' values. */
import type * as tf from '@tensorflow/tfjs-core';
import { jsStepStatsKernels, type TensorIo } from '../../kd/stepStats';

interface CpuBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

const cpuIo: TensorIo = {
  read: (backend, info) => (backend as unknown as CpuBackendLike).readSync(info.dataId),
  write: (backend, shape, values) => (backend as unknown as CpuBackendLike).makeTensorInfo(shape, 'float32', values),
};

export const [kdStepStatsConfig, kdStepStatsGradConfig] = jsStepStatsKernels('cpu', cpuIo);
