/**
 * The fused step-stats kernels (kd/stepStats.ts) in WGSL, for tfjs' webgpu backend: one dispatch for the forward
 * figures, one for the gradient, where the composed ops take about a hundred. See program.ts for what the backend
 * puts around the code (the buffers, `uniforms`, `result`).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { KD_STEP_STATS, KD_STEP_STATS_GRAD, STAT_COUNT, type KdStepAttrs } from '../../kd/stepStats';
import { fusedKernels, wgslDivergences } from '../../kd/divergences';
import { workgroupsFor, type UniformValue, type WebGpuBackendLike, type WebGpuProgram } from './program';

/** Threads of the forward program's single workgroup; a power of two for the tree reduction. */
const REDUCE_THREADS = 256;
const GRADIENT_THREADS = 64;

const UNIFORMS = 'temperature : f32, alpha : f32, divergence : i32,';
const uniformData = (attrs: KdStepAttrs): UniformValue[] => [
  { type: 'float32', data: [attrs.temperature] },
  { type: 'float32', data: [attrs.alpha] },
  { type: 'int32', data: [attrs.divergence] },
];

/** Row statistics (kd/stepStats.ts's JavaScript, line for line) and every divergence's row math (kd/divergences/). */
const ROW_MATH = /* wgsl */ `
  struct RowStats {
    studentMax : f32,
    teacherMax : f32,
    studentLse1 : f32,
    studentLseT : f32,
    teacherLseT : f32,
    argmax : i32,
  };

  fn rowStats(off : i32, classes : i32, invT : f32) -> RowStats {
    var r : RowStats;
    r.studentMax = student[off];
    r.teacherMax = teacher[off];
    r.argmax = 0;
    for (var c = 1; c < classes; c++) {
      let zs = student[off + c];
      if (zs > r.studentMax) {
        r.studentMax = zs;
        r.argmax = c;
      }
      r.teacherMax = max(r.teacherMax, teacher[off + c]);
    }
    var sum1 = 0.0;
    var sumS = 0.0;
    var sumT = 0.0;
    for (var c = 0; c < classes; c++) {
      let ds = student[off + c] - r.studentMax;
      sum1 += exp(ds);
      sumS += exp(ds * invT);
      sumT += exp((teacher[off + c] - r.teacherMax) * invT);
    }
    r.studentLse1 = log(sum1);
    r.studentLseT = log(sumS);
    r.teacherLseT = log(sumT);
    return r;
  }

  fn logQAt(i : i32, invT : f32, r : RowStats) -> f32 {
    return (student[i] - r.studentMax) * invT - r.studentLseT;
  }
  fn logPAt(i : i32, invT : f32, r : RowStats) -> f32 {
    return (teacher[i] - r.teacherMax) * invT - r.teacherLseT;
  }

${wgslDivergences()}
`;

/** One workgroup walks all rows and reduces [Σ divergence, Σ ce, correct] in shared memory. */
function statsProgram(): WebGpuProgram {
  return {
    outputShape: [STAT_COUNT],
    shaderKey: 'distillKdStepStats',
    dispatchLayout: { x: [0] },
    dispatch: [1, 1, 1],
    variableNames: ['student', 'teacher', 'labels'],
    uniforms: UNIFORMS,
    workgroupSize: [REDUCE_THREADS, 1, 1],
    size: false,
    getUserCode: () => /* wgsl */ `
      ${ROW_MATH}
      var<workgroup> partial : array<vec3<f32>, ${REDUCE_THREADS}>;

      fn main(index : i32) {
        let rows = uniforms.studentShape.x;
        let classes = uniforms.studentShape.y;
        let invT = 1.0 / uniforms.temperature;
        let alpha = uniforms.alpha;
        let lid = i32(localId.x);
        var sums = vec3<f32>(0.0);
        for (var row = lid; row < rows; row += ${REDUCE_THREADS}) {
          let off = row * classes;
          let r = rowStats(off, classes, invT);
          let y = labels[row];
          sums.y += r.studentMax + r.studentLse1 - student[off + y];
          if (r.argmax == y) {
            sums.z += 1.0;
          }
          if (alpha != 0.0) {
            sums.x += divergenceTerm(uniforms.divergence, off, classes, invT, y, r);
          }
        }
        partial[lid] = sums;
        workgroupBarrier();
        for (var stride = ${REDUCE_THREADS / 2}; stride > 0; stride = stride / 2) {
          if (lid < stride) {
            partial[lid] = partial[lid] + partial[lid + stride];
          }
          workgroupBarrier();
        }
        if (lid == 0) {
          let total = partial[0];
          var kdUnscaled = 0.0;
          if (alpha != 0.0) {
            kdUnscaled = total.x / f32(select(rows, rows * classes, divergenceMeanOverElements(uniforms.divergence)));
          }
          let kd = select(kdUnscaled, kdUnscaled * uniforms.temperature * uniforms.temperature, divergenceTemperatureSquared(uniforms.divergence));
          let ce = total.y / f32(rows);
          var loss = alpha * kd + (1.0 - alpha) * ce;
          if (alpha == 0.0) {
            loss = ce;
          } else if (alpha == 1.0) {
            loss = kd;
          }
          result[0] = loss;
          result[1] = kd;
          result[2] = kdUnscaled;
          result[3] = ce;
          result[4] = total.z / f32(rows);
        }
      }
    `,
  };
}

/** One thread per row writes that row's gradient. */
function gradientProgram(rows: number, classes: number): WebGpuProgram {
  return {
    outputShape: [rows, classes],
    shaderKey: 'distillKdStepStatsGrad',
    dispatchLayout: { x: [0, 1] },
    dispatch: workgroupsFor(rows, GRADIENT_THREADS),
    variableNames: ['student', 'teacher', 'labels', 'dy'],
    uniforms: UNIFORMS,
    workgroupSize: [GRADIENT_THREADS, 1, 1],
    size: false,
    getUserCode: () => /* wgsl */ `
      ${ROW_MATH}

      fn main(row : i32) {
        let rows = uniforms.studentShape.x;
        if (row >= rows) {
          return;
        }
        let classes = uniforms.studentShape.y;
        let invT = 1.0 / uniforms.temperature;
        let alpha = uniforms.alpha;
        let divergence = uniforms.divergence;
        let scale = select(1.0, uniforms.temperature * uniforms.temperature, divergenceTemperatureSquared(divergence));
        var kdCoef = 0.0;
        if (alpha != 0.0) {
          kdCoef = dy[0] * alpha * scale + dy[1] * scale + dy[2];
        }
        let ceCoef = dy[0] * (1.0 - alpha) + dy[3];
        let off = row * classes;
        let r = rowStats(off, classes, invT);
        let y = labels[row];
        var prepared = vec4<f32>(0.0);
        if (kdCoef != 0.0) {
          prepared = divergencePrepare(divergence, off, classes, invT, y, r);
        }
        let n = f32(rows);
        let kdCount = f32(select(rows, rows * classes, divergenceMeanOverElements(divergence)));
        for (var c = 0; c < classes; c++) {
          let i = off + c;
          let q1 = exp(student[i] - r.studentMax - r.studentLse1);
          let gradCe = (q1 - select(0.0, 1.0, c == y)) / n;
          var gradKd = 0.0;
          if (kdCoef != 0.0) {
            gradKd = divergenceGradient(divergence, i, c, invT, y, r, prepared) / kdCount;
          }
          result[i] = kdCoef * gradKd + ceCoef * gradCe;
        }
      }
    `,
  };
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

function stepStats({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { student, teacher, labels } = inputs as Record<string, tf.TensorInfo>;
  fusedKernels((attrs as unknown as KdStepAttrs).divergence); // throws for a code the shader has no case for
  return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
    statsProgram(),
    [student, teacher, labels],
    'float32',
    uniformData(attrs as unknown as KdStepAttrs),
  );
}

function stepStatsGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { student, teacher, labels, dy } = inputs as Record<string, tf.TensorInfo>;
  fusedKernels((attrs as unknown as KdStepAttrs).divergence);
  const [rows, classes] = student.shape;
  return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
    gradientProgram(rows, classes),
    [student, teacher, labels, dy],
    'float32',
    uniformData(attrs as unknown as KdStepAttrs),
  );
}

export const kdStepStatsConfig: tf.KernelConfig = { kernelName: KD_STEP_STATS, backendName: 'webgpu', kernelFunc: stepStats };
export const kdStepStatsGradConfig: tf.KernelConfig = { kernelName: KD_STEP_STATS_GRAD, backendName: 'webgpu', kernelFunc: stepStatsGrad };
