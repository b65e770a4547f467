/**
 * The part of tfjs-backend-webgpu that Distill's WGSL kernels use: its program interface and `runWebGPUProgram`, as
 * the package's own kernels use them (see e.g. argminmax_webgpu.js in it). The backend writes each shader's
 * preamble: a storage buffer per name in `variableNames` (array<f32>, or array<i32> for int32 tensors), the output
 * `result`, `uniforms` holding every input's and the output's shape and strides plus the program's own fields, and
 * `_start`, which calls `main(index)` with the global thread index.
 *
 * Only types here: the package is loaded at run time (backends/ladder.ts), never bundled.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface WebGpuProgram {
  outputShape: number[];
  /** Compiled pipelines are cached by this key plus the inputs' ranks and dtypes: it must change with the code. */
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  /** Extra uniform fields, WGSL struct syntax with trailing commas, e.g. 'alpha : f32, count : i32,'. */
  uniforms: string;
  workgroupSize: [number, number, number];
  /** Adds `uniforms.size`, the output's element count. */
  size: boolean;
  getUserCode(): string;
}

export interface UniformValue {
  type: 'float32' | 'int32';
  data: number[];
}

export interface WebGpuBackendLike {
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: UniformValue[]): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** Workgroups to cover `threads` threads, `workgroupSize` at a time, in one dispatch row. */
export const workgroupsFor = (threads: number, workgroupSize: number): [number, number, number] => [Math.ceil(threads / workgroupSize), 1, 1];
