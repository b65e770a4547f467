/** KL(p_t ‖ p_s) at T (Hinton et al. 2015): Σ_c p·(log p − log q). Its gradient in z_s / T is q − p. */
import * as tf from '@tensorflow/tfjs-core';
import { logP, logQ, type DivergenceKernels } from './types';

export const forwardKl: DivergenceKernels = {
  mean: 'rows',
  temperatureSquared: true,
  composed: (x) => ({ terms: tf.mul(tf.exp(x.logP()), tf.sub(x.logP(), x.logQ())) }),
  fused: {
    js: {
      term(row) {
        let total = 0;
        for (let c = 0; c < row.classes; c++) {
          const lp = logP(row, c);
          total += Math.exp(lp) * (lp - logQ(row, c));
        }
        return total;
      },
      gradient: (row, c) => (Math.exp(logQ(row, c)) - Math.exp(logP(row, c))) * row.invT,
    },
    wgsl: {
      term: /* wgsl */ `
        var total = 0.0;
        for (var c = 0; c < classes; c++) {
          let logP = logPAt(off + c, invT, r);
          total += exp(logP) * (logP - logQAt(off + c, invT, r));
        }
        return total;`,
      gradient: /* wgsl */ `
        return (exp(logQAt(i, invT, r)) - exp(logPAt(i, invT, r))) * invT;`,
    },
  },
};
