/**
 * One training step's figures, [loss, kd, kdUnscaled, ce, accuracy], as a single fused kernel, and its gradient as
 * one more.
 *
 * Composed from tfjs ops (kdLoss plus an accuracy), the loss, its parts and their gradient take about a hundred kernels
 * per step: on a GPU each one is a dispatch, and at KD's sizes (a few hundred rows of ten logits) dispatch overhead
 * is all they cost. The fused kernels compute every row's softmaxes once, in log space, and write the batch means
 * (forward) or the logits' gradient (backward) directly. Backends get them registered where we have them (see
 * backends/registry.ts): cpu and wasm with the plain loops here, webgpu in WGSL (backends/webgpu/kdStepStats.ts).
 * Elsewhere (tfjs-node) the composed ops run, with the same numbers to float32 rounding.
 *
 * The gradient is exact for every component, not only the loss: d/dz of kd, kdUnscaled and ce follow from the same
 * two per-row gradients, g_kd (of kdUnscaled) and g_ce, since loss = α·s·kdUnscaled + (1 − α)·ce with s = T² for
 * the KL-type divergences and 1 for `mse-logits`. The kernels own the row loop, the CE and the accuracy; each
 * divergence's row math (both languages) is in kd/divergences/.
 */
import * as tf from '@tensorflow/tfjs-core';
import { divergenceCode } from '../../shared/divergences';
import { divergenceKernels, fusedKernels, isFusedDivergence } from './divergences';
import type { Row, RowStats } from './divergences/types';
import { kdLoss, validateKdInputs, type KdLossOptions } from './losses';

export const KD_STEP_STATS = 'DistillKdStepStats';
export const KD_STEP_STATS_GRAD = 'DistillKdStepStatsGrad';

/** Where each figure sits in the stats vector. `dkd` appends its two parts, before T² and before their weights. */
export const STAT = { loss: 0, kd: 1, kdUnscaled: 2, ce: 3, accuracy: 4, tckd: 5, nckd: 6 } as const;
export const STAT_COUNT = 5;
/** The length of a `dkd` step's stats vector. */
export const DKD_STAT_COUNT = 7;

/** The divergences the fused kernels compute; the others (`dkd`) run composed from tfjs ops on every backend. */
export { isFusedDivergence, type FusedDivergence } from './divergences';

export interface KdStepAttrs {
  temperature: number;
  alpha: number;
  /** The divergence's code (src/shared/divergences.ts divergenceCode). */
  divergence: number;
}

/**
 * The step's stats vector, differentiable with respect to `studentLogits` (the teacher's logits are data: their
 * gradient is zero). Without teacher logits (a preset teacher learning from labels) it is plain cross-entropy.
 * For `dkd` it has DKD_STAT_COUNT entries (TCKD and NCKD appended) and comes from the composed ops.
 */
export function kdStepStats(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D | undefined, labels: tf.Tensor1D, opts: KdLossOptions): tf.Tensor1D {
  const teacher = teacherLogits ?? studentLogits;
  const options = teacherLogits ? opts : { ...opts, alpha: 0 };
  validateKdInputs(studentLogits, teacher, labels, options);
  if (hasFusedStepStats() && isFusedDivergence(options.divergence)) {
    const attrs: KdStepAttrs = { temperature: options.temperature, alpha: options.alpha, divergence: divergenceCode(options.divergence) };
    return tf.engine().runKernel(KD_STEP_STATS, { student: studentLogits, teacher, labels }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor1D;
  }
  return composedStepStats(studentLogits, teacher, labels, options);
}

/** The same vector from stock tfjs ops: the fallback, and the reference the fused kernels are tested against. */
export function composedStepStats(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, opts: KdLossOptions): tf.Tensor1D {
  return tf.tidy(() => {
    const parts = kdLoss(studentLogits, teacherLogits, labels, opts);
    const stats = [parts.loss, parts.kd, parts.kdUnscaled, parts.ce, batchAccuracy(studentLogits, labels)];
    if (opts.divergence === 'dkd') stats.push(parts.tckd ?? tf.scalar(0), parts.nckd ?? tf.scalar(0));
    return tf.stack(stats) as tf.Tensor1D;
  });
}

/**
 * Top-1 accuracy with a zero gradient. Stacked with the loss, it lies on the gradient's path, and tfjs has no
 * gradient for Equal; the custom gradient keeps the tape from looking inside.
 */
const batchAccuracy = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [logits, labels] = args as [tf.Tensor2D, tf.Tensor1D];
  return {
    value: tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar,
    gradFunc: () => [tf.zerosLike(logits), tf.zerosLike(labels)],
  };
}) as (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;

/**
 * Runs `fn` with the active backend's fused kernels unregistered, so that training composes the loss from tfjs ops:
 * the bench measures both side by side. The kernels are back when the promise settles.
 */
export async function withComposedStepStats<T>(fn: () => Promise<T>): Promise<T> {
  const backend = tf.getBackend();
  const removed = [KD_STEP_STATS, KD_STEP_STATS_GRAD].map((name) => tf.getKernel(name, backend)).filter((k): k is tf.KernelConfig => !!k);
  for (const k of removed) tf.unregisterKernel(k.kernelName, k.backendName);
  try {
    return await fn();
  } finally {
    for (const k of removed) tf.registerKernel(k);
  }
}

/** True when the active backend (or `backend`) has both fused kernels. */
export function hasFusedStepStats(backend = tf.getBackend()): boolean {
  return !!tf.getKernel(KD_STEP_STATS, backend) && !!tf.getKernel(KD_STEP_STATS_GRAD, backend);
}

// ---- The JavaScript kernels (cpu, wasm): the row loop; each divergence's row math is in kd/divergences/. ---------

function rowStats(s: ArrayLike<number>, t: ArrayLike<number>, off: number, classes: number, invT: number): RowStats {
  let studentMax = s[off];
  let teacherMax = t[off];
  let argmax = 0;
  for (let c = 1; c < classes; c++) {
    if (s[off + c] > studentMax) {
      studentMax = s[off + c];
      argmax = c;
    }
    teacherMax = Math.max(teacherMax, t[off + c]);
  }
  let sum1 = 0;
  let sumS = 0;
  let sumT = 0;
  for (let c = 0; c < classes; c++) {
    const ds = s[off + c] - studentMax;
    sum1 += Math.exp(ds);
    sumS += Math.exp(ds * invT);
    sumT += Math.exp((t[off + c] - teacherMax) * invT);
  }
  return { studentMax, teacherMax, studentLse1: Math.log(sum1), studentLseT: Math.log(sumS), teacherLseT: Math.log(sumT), argmax };
}

/** The row view the divergences read, moved along the batch. */
function rowAt(row: Row, index: number, y: ArrayLike<number>): Row {
  row.off = index * row.classes;
  row.label = y[index];
  row.stats = rowStats(row.s, row.t, row.off, row.classes, row.invT);
  return row;
}

const firstRow = (s: ArrayLike<number>, t: ArrayLike<number>, classes: number, invT: number): Row => ({
  s,
  t,
  off: 0,
  classes,
  invT,
  label: 0,
  stats: undefined as unknown as RowStats,
});

/** Batch means from the rows: the forward kernel. */
export function stepStatsValues(
  s: ArrayLike<number>,
  t: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  classes: number,
  attrs: KdStepAttrs,
): Float32Array {
  const { temperature, alpha } = attrs;
  const divergence = divergenceKernels(attrs.divergence);
  const { js } = fusedKernels(attrs.divergence);
  const row = firstRow(s, t, classes, 1 / temperature);
  let kdSum = 0;
  let ceSum = 0;
  let correct = 0;
  for (let index = 0; index < rows; index++) {
    const { stats: r, off } = rowAt(row, index, y);
    ceSum += r.studentMax + r.studentLse1 - s[off + y[index]];
    if (r.argmax === y[index]) correct++;
    if (alpha !== 0) kdSum += js.term(row);
  }
  const kdUnscaled = alpha === 0 ? 0 : kdSum / (divergence.mean === 'elements' ? rows * classes : rows);
  const kd = divergence.temperatureSquared ? kdUnscaled * temperature * temperature : kdUnscaled;
  const ce = ceSum / rows;
  const loss = alpha === 0 ? ce : alpha === 1 ? kd : alpha * kd + (1 - alpha) * ce;
  return Float32Array.of(loss, kd, kdUnscaled, ce, correct / rows);
}

/** d(dy · stats)/d(z_s): the backward kernel. */
export function stepStatsGradient(
  s: ArrayLike<number>,
  t: ArrayLike<number>,
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  classes: number,
  attrs: KdStepAttrs,
): Float32Array {
  const { temperature, alpha } = attrs;
  const divergence = divergenceKernels(attrs.divergence);
  const { js } = fusedKernels(attrs.divergence);
  const row = firstRow(s, t, classes, 1 / temperature);
  const scale = divergence.temperatureSquared ? temperature * temperature : 1;
  const kdCount = divergence.mean === 'elements' ? rows * classes : rows;
  const kdCoef = alpha === 0 ? 0 : dy[STAT.loss] * alpha * scale + dy[STAT.kd] * scale + dy[STAT.kdUnscaled];
  const ceCoef = dy[STAT.loss] * (1 - alpha) + dy[STAT.ce];
  const out = new Float32Array(rows * classes);
  for (let index = 0; index < rows; index++) {
    const { stats: r, off } = rowAt(row, index, y);
    const prepared = kdCoef !== 0 && js.prepare ? js.prepare(row) : undefined;
    for (let c = 0; c < classes; c++) {
      const q1 = Math.exp(s[off + c] - r.studentMax - r.studentLse1);
      const gradCe = (q1 - (c === y[index] ? 1 : 0)) / rows;
      const gradKd = kdCoef === 0 ? 0 : js.gradient(row, c, prepared) / kdCount;
      out[off + c] = kdCoef * gradKd + ceCoef * gradCe;
    }
  }
  return out;
}

// ---- Kernel functions for the JavaScript backends: each backend's file (backends/cpu, backends/wasm) says how to
// read its tensors and write the output, and registers the configs through backends/registry.ts.

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Inputs = { student: tf.TensorInfo; teacher: tf.TensorInfo; labels: tf.TensorInfo; dy?: tf.TensorInfo };

/** How a JavaScript backend hands its tensors' values to the kernels, and takes the output back. */
export interface TensorIo {
  /** A tensor's values (a copy, or a view of the backend's memory valid until the next allocation). */
  read(backend: KernelArgs['backend'], info: tf.TensorInfo): ArrayLike<number>;
  /** The output tensor, from values. */
  write(backend: KernelArgs['backend'], shape: number[], values: Float32Array): tf.TensorInfo;
}

/** The forward and backward fused kernels for a backend whose tensors `io` reads and writes. */
export function jsStepStatsKernels(backendName: string, io: TensorIo): [forward: tf.KernelConfig, backward: tf.KernelConfig] {
  const forward = ({ inputs, backend, attrs }: KernelArgs) => {
    const { student, teacher, labels } = inputs as Inputs;
    const [rows, classes] = student.shape;
    const values = stepStatsValues(
      io.read(backend, student),
      io.read(backend, teacher),
      io.read(backend, labels),
      rows,
      classes,
      attrs as unknown as KdStepAttrs,
    );
    return io.write(backend, [STAT_COUNT], values);
  };
  const backward = ({ inputs, backend, attrs }: KernelArgs) => {
    const { student, teacher, labels, dy } = inputs as Required<Inputs>;
    const [rows, classes] = student.shape;
    const grad = stepStatsGradient(
      io.read(backend, student),
      io.read(backend, teacher),
      io.read(backend, labels),
      io.read(backend, dy),
      rows,
      classes,
      attrs as unknown as KdStepAttrs,
    );
    return io.write(backend, [rows, classes], grad);
  };
  return [
    { kernelName: KD_STEP_STATS, backendName, kernelFunc: forward },
    { kernelName: KD_STEP_STATS_GRAD, backendName, kernelFunc: backward },
  ];
}

/** The gradient of the stats vector, on every backend: the fused backward kernel for the logits, zero for the data. */
export const kdStepStatsGradConfig: tf.GradConfig = {
  kernelName: KD_STEP_STATS,
  inputsToSave: ['student', 'teacher', 'labels'],
  gradFunc: (dy, saved, attrs) => {
    const [student, teacher, labels] = saved;
    return {
      student: () => tf.engine().runKernel(KD_STEP_STATS_GRAD, { student, teacher, labels, dy: dy as tf.Tensor }, attrs) as tf.Tensor,
      teacher: () => tf.zerosLike(teacher),
      labels: () => tf.zerosLike(labels),
    };
  },
};
