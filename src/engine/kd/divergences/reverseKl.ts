/**
 * KL(p_s ‖ p_t) at T: Σ_c q·(log q − log p). Its gradient in z_s / T is q_c·(log q_c − log p_c − J), where
 * J = Σ_c q_c·(log q_c − log p_c) is what the softmax Jacobian subtracts: the row constant `prepare` computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { logP, logQ, type DivergenceKernels, type Row } from './types';

function rowSum(row: Row): number {
  let total = 0;
  for (let c = 0; c < row.classes; c++) {
    const lq = logQ(row, c);
    total += Math.exp(lq) * (lq - logP(row, c));
  }
  return total;
}

const WGSL_ROW_SUM = /* wgsl */ `
      var total = 0.0;
      for (var c = 0; c < classes; c++) {
        let logQ = logQAt(off + c, invT, r);
        total += exp(logQ) * (logQ - logPAt(off + c, invT, r));
      }`;

export const reverseKl: DivergenceKernels = {
  mean: 'rows',
  temperatureSquared: true,
  composed: (x) => ({ terms: tf.mul(tf.exp(x.logQ()), tf.sub(x.logQ(), x.logP())) }),
  fused: {
    js: {
      term: rowSum,
      prepare: rowSum,
      gradient(row, c, jacobianTerm) {
        const lq = logQ(row, c);
        return Math.exp(lq) * (lq - logP(row, c) - (jacobianTerm as number)) * row.invT;
      },
    },
    wgsl: {
      term: `${WGSL_ROW_SUM}
        return total;`,
      prepare: `${WGSL_ROW_SUM}
        return vec4<f32>(total, 0.0, 0.0, 0.0);`,
      gradient: /* wgsl */ `
        let logQ = logQAt(i, invT, r);
        return exp(logQ) * (logQ - logPAt(i, invT, r) - prepared.x) * invT;`,
    },
  },
};
