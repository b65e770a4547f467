/** Mean squared error between the raw logits, Σ_c (z_s − z_t)², averaged over rows × classes; T is not used. */
import * as tf from '@tensorflow/tfjs-core';
import type { DivergenceKernels } from './types';

export const mseLogits: DivergenceKernels = {
  mean: 'elements',
  temperatureSquared: false,
  composed: (x) => ({ terms: tf.squaredDifference(x.student, x.teacher) }),
  fused: {
    js: {
      term(row) {
        let total = 0;
        for (let c = 0; c < row.classes; c++) {
          const d = row.s[row.off + c] - row.t[row.off + c];
          total += d * d;
        }
        return total;
      },
      gradient: (row, c) => 2 * (row.s[row.off + c] - row.t[row.off + c]),
    },
    wgsl: {
      term: /* wgsl */ `
        var total = 0.0;
        for (var c = 0; c < classes; c++) {
          let d = student[off + c] - teacher[off + c];
          total += d * d;
        }
        return total;`,
      gradient: /* wgsl */ `
        return 2.0 * (student[i] - teacher[i]);`,
    },
  },
};
