/**
 * One training step's figures, [loss, kd, kdUnscaled, ce, accuracy], as a single fused kernel, and its gradient as
 * one more.
 *
 * Composed from tfjs ops (kdLoss plus an accuracy), the loss, its parts and their gradient take about a hundred kernels
 * per step: on a GPU each one is a dispatch, and at KD's sizes (a few hundred rows of ten logits) dispatch overhead
 * is all they cost. The fused kernels compute every row's softmaxes once, in log space, and write the batch means
 * (forward) or the logits' gradient (backward) directly. Backends get them registered where we have them: cpu and
 * wasm here (plain loops over the tensors' memory), webgpu in kd/webgpuStepStats.ts. Elsewhere (tfjs-node) the
 * composed ops run, with the same numbers to float32 rounding.
 *
 * The gradient is exact for every component, not only the loss: d/dz of kd, kdUnscaled and ce follow from the same
 * two per-row gradients, g_kd (of kdUnscaled) and g_ce, since loss = α·s·kdUnscaled + (1 − α)·ce with s = T² for
 * the KL-type divergences and 1 for `mse-logits`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Divergence } from '../../shared/config';
import { kdLoss, validateKdInputs, type KdLossOptions } from './losses';

export const KD_STEP_STATS = 'DistillKdStepStats';
export const KD_STEP_STATS_GRAD = 'DistillKdStepStatsGrad';

/** Where each figure sits in the stats vector. `dkd` appends its two parts, before T² and before their weights. */
export const STAT = { loss: 0, kd: 1, kdUnscaled: 2, ce: 3, accuracy: 4, tckd: 5, nckd: 6 } as const;
export const STAT_COUNT = 5;
/** The length of a `dkd` step's stats vector. */
export const DKD_STAT_COUNT = 7;

/** The divergences the fused kernels compute. `dkd` runs composed from tfjs ops on every backend (kd/dkd.ts). */
export type FusedDivergence = Exclude<Divergence, 'dkd'>;
export const isFusedDivergence = (d: Divergence): d is FusedDivergence => d !== 'dkd';

/** Divergences as the kernels take them (an attribute, and a uniform in WGSL). */
export const DIVERGENCE_CODE: Record<FusedDivergence, number> = { 'forward-kl': 0, 'reverse-kl': 1, js: 2, 'mse-logits': 3 };

export interface KdStepAttrs {
  temperature: number;
  alpha: number;
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
    const attrs: KdStepAttrs = { temperature: options.temperature, alpha: options.alpha, divergence: DIVERGENCE_CODE[options.divergence] };
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

// ---- The math, once, for the JavaScript kernels (cpu, wasm). WGSL mirrors it line for line. -------------------

/** One row's softmax statistics: the maxima and log-normalisers of z_s (at T = 1 and at T) and of z_t (at T). */
interface RowStats {
  studentMax: number;
  teacherMax: number;
  /** log Σ exp(z_s − max), at T = 1. */
  studentLse1: number;
  /** log Σ exp((z_s − max)/T). */
  studentLseT: number;
  /** log Σ exp((z_t − max)/T). */
  teacherLseT: number;
  argmax: number;
}

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

const LOG_HALF = Math.log(0.5);

/** log((p + q)/2) from log p and log q, without overflow. */
const logMean = (logP: number, logQ: number) => Math.max(logP, logQ) + Math.log1p(Math.exp(-Math.abs(logP - logQ))) + LOG_HALF;

/** The row's divergence term: D(p_t^T, p_s^T) summed over classes (½ included for JS), or Σ (z_s − z_t)² for MSE. */
function rowDivergence(s: ArrayLike<number>, t: ArrayLike<number>, off: number, classes: number, invT: number, divergence: number, r: RowStats): number {
  let total = 0;
  for (let c = 0; c < classes; c++) {
    if (divergence === DIVERGENCE_CODE['mse-logits']) {
      const d = s[off + c] - t[off + c];
      total += d * d;
      continue;
    }
    const logQ = (s[off + c] - r.studentMax) * invT - r.studentLseT;
    const logP = (t[off + c] - r.teacherMax) * invT - r.teacherLseT;
    if (divergence === DIVERGENCE_CODE['forward-kl']) total += Math.exp(logP) * (logP - logQ);
    else if (divergence === DIVERGENCE_CODE['reverse-kl']) total += Math.exp(logQ) * (logQ - logP);
    else {
      const logM = logMean(logP, logQ);
      total += 0.5 * (Math.exp(logP) * (logP - logM) + Math.exp(logQ) * (logQ - logM));
    }
  }
  return total;
}

/** Batch means from the rows: the forward kernel. */
export function stepStatsValues(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, rows: number, classes: number, attrs: KdStepAttrs): Float32Array {
  const { temperature, alpha, divergence } = attrs;
  const invT = 1 / temperature;
  let kdSum = 0;
  let ceSum = 0;
  let correct = 0;
  for (let row = 0; row < rows; row++) {
    const off = row * classes;
    const r = rowStats(s, t, off, classes, invT);
    ceSum += r.studentMax + r.studentLse1 - s[off + y[row]];
    if (r.argmax === y[row]) correct++;
    if (alpha !== 0) kdSum += rowDivergence(s, t, off, classes, invT, divergence, r);
  }
  const mse = divergence === DIVERGENCE_CODE['mse-logits'];
  const kdUnscaled = alpha === 0 ? 0 : kdSum / (mse ? rows * classes : rows);
  const kd = mse ? kdUnscaled : kdUnscaled * temperature * temperature;
  const ce = ceSum / rows;
  const loss = alpha === 0 ? ce : alpha === 1 ? kd : alpha * kd + (1 - alpha) * ce;
  return Float32Array.of(loss, kd, kdUnscaled, ce, correct / rows);
}

/**
 * Σ_c q_c·(log q_c − log r_c), the term the softmax Jacobian subtracts in the reverse-KL (r = p) and JS (r = m)
 * gradients. Zero (unused) for the other divergences.
 */
function rowJacobianTerm(s: ArrayLike<number>, t: ArrayLike<number>, off: number, classes: number, invT: number, divergence: number, r: RowStats): number {
  if (divergence !== DIVERGENCE_CODE['reverse-kl'] && divergence !== DIVERGENCE_CODE.js) return 0;
  let total = 0;
  for (let c = 0; c < classes; c++) {
    const logQ = (s[off + c] - r.studentMax) * invT - r.studentLseT;
    const logP = (t[off + c] - r.teacherMax) * invT - r.teacherLseT;
    total += Math.exp(logQ) * (logQ - (divergence === DIVERGENCE_CODE.js ? logMean(logP, logQ) : logP));
  }
  return total;
}

/** d(dy · stats)/d(z_s): the backward kernel. */
export function stepStatsGradient(
  s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>, rows: number, classes: number, attrs: KdStepAttrs,
): Float32Array {
  const { temperature, alpha, divergence } = attrs;
  const invT = 1 / temperature;
  const mse = divergence === DIVERGENCE_CODE['mse-logits'];
  const scale = mse ? 1 : temperature * temperature;
  const kdCoef = alpha === 0 ? 0 : dy[STAT.loss] * alpha * scale + dy[STAT.kd] * scale + dy[STAT.kdUnscaled];
  const ceCoef = dy[STAT.loss] * (1 - alpha) + dy[STAT.ce];
  const out = new Float32Array(rows * classes);
  for (let row = 0; row < rows; row++) {
    const off = row * classes;
    const r = rowStats(s, t, off, classes, invT);
    const jacobianTerm = kdCoef === 0 ? 0 : rowJacobianTerm(s, t, off, classes, invT, divergence, r);
    for (let c = 0; c < classes; c++) {
      const q1 = Math.exp(s[off + c] - r.studentMax - r.studentLse1);
      const gradCe = (q1 - (c === y[row] ? 1 : 0)) / rows;
      let gradKd = 0;
      if (kdCoef !== 0 && mse) gradKd = (2 * (s[off + c] - t[off + c])) / (rows * classes);
      else if (kdCoef !== 0) {
        const logQ = (s[off + c] - r.studentMax) * invT - r.studentLseT;
        const logP = (t[off + c] - r.teacherMax) * invT - r.teacherLseT;
        const q = Math.exp(logQ);
        // d D / d(z_s/T), per divergence; the chain rule through z_s/T gives the 1/T below.
        let perLogit: number;
        if (divergence === DIVERGENCE_CODE['forward-kl']) perLogit = q - Math.exp(logP);
        else if (divergence === DIVERGENCE_CODE['reverse-kl']) perLogit = q * (logQ - logP - jacobianTerm);
        else perLogit = 0.5 * q * (logQ - logMean(logP, logQ) - jacobianTerm);
        gradKd = (perLogit * invT) / rows;
      }
      out[off + c] = kdCoef * gradKd + ceCoef * gradCe;
    }
  }
  return out;
}

// ---- Registration -----------------------------------------------------------------------------------------------

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Inputs = { student: tf.TensorInfo; teacher: tf.TensorInfo; labels: tf.TensorInfo; dy?: tf.TensorInfo };

/** Reads a tensor's values on the cpu backend, or views them in the wasm heap. */
type Reader = (backend: KernelArgs['backend'], info: tf.TensorInfo) => ArrayLike<number>;
/** Makes the output tensor from values. */
type Writer = (backend: KernelArgs['backend'], shape: number[], values: Float32Array) => tf.TensorInfo;

const cpuIo: { read: Reader; write: Writer } = {
  read: (backend, info) => (backend as tf.KernelBackend).readSync(info.dataId) as Float32Array | Int32Array,
  write: (backend, shape, values) => (backend as unknown as { makeTensorInfo(s: number[], d: tf.DataType, v: Float32Array): tf.TensorInfo }).makeTensorInfo(shape, 'float32', values),
};

const wasmIo: { read: Reader; write: Writer } = {
  // Views of the heap: safe because the output is allocated only after the arithmetic, from a plain array.
  read: (backend, info) => (backend as BackendWasm).typedArrayFromHeap(info) as Float32Array | Int32Array,
  write: (backend, shape, values) => {
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(shape, 'float32');
    (wasm.typedArrayFromHeap(out) as Float32Array).set(values);
    return out;
  },
};

function jsKernels(backendName: 'cpu' | 'wasm', io: { read: Reader; write: Writer }): tf.KernelConfig[] {
  const forward = ({ inputs, backend, attrs }: KernelArgs) => {
    const { student, teacher, labels } = inputs as Inputs;
    const [rows, classes] = student.shape;
    const values = stepStatsValues(io.read(backend, student), io.read(backend, teacher), io.read(backend, labels), rows, classes, attrs as unknown as KdStepAttrs);
    return io.write(backend, [STAT_COUNT], values);
  };
  const backward = ({ inputs, backend, attrs }: KernelArgs) => {
    const { student, teacher, labels, dy } = inputs as Required<Inputs>;
    const [rows, classes] = student.shape;
    const grad = stepStatsGradient(io.read(backend, student), io.read(backend, teacher), io.read(backend, labels), io.read(backend, dy), rows, classes, attrs as unknown as KdStepAttrs);
    return io.write(backend, [rows, classes], grad);
  };
  return [
    { kernelName: KD_STEP_STATS, backendName, kernelFunc: forward as tf.KernelFunc },
    { kernelName: KD_STEP_STATS_GRAD, backendName, kernelFunc: backward as tf.KernelFunc },
  ];
}

/** Registers a kernel unless it already is (modules may be evaluated more than once across bundles and tests). */
export function registerOnce(config: tf.KernelConfig): void {
  if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
}

let gradientRegistered = false;

/** The gradient of the stats vector: the fused backward kernel for the logits, zero for the data inputs. */
function registerStepStatsGradient(): void {
  if (gradientRegistered || tf.getGradient(KD_STEP_STATS)) return;
  gradientRegistered = true;
  tf.registerGradient({
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
  });
}

for (const config of [...jsKernels('cpu', cpuIo), ...jsKernels('wasm', wasmIo)]) registerOnce(config);
registerStepStatsGradient();
