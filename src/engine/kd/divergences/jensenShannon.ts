/**
 * Jensen–Shannon at T: ½·KL(p ‖ m) + ½·KL(q ‖ m), m = (p + q)/2. Its gradient in z_s / T is
 * ½·q_c·(log q_c − log m_c − J), with J = Σ_c q_c·(log q_c − log m_c) (the p-side terms cancel).
 */
import * as tf from '@tensorflow/tfjs-core';
import { logP, logQ, type DivergenceKernels, type Row } from './types';

const LOG_2 = Math.log(2);
const LOG_HALF = Math.log(0.5);

/** log((p + q)/2) from log p and log q, without overflow. */
const logMean = (lp: number, lq: number) => Math.max(lp, lq) + Math.log1p(Math.exp(-Math.abs(lp - lq))) + LOG_HALF;

function jacobianTerm(row: Row): number {
  let total = 0;
  for (let c = 0; c < row.classes; c++) {
    const lq = logQ(row, c);
    total += Math.exp(lq) * (lq - logMean(logP(row, c), lq));
  }
  return total;
}

export const jensenShannon: DivergenceKernels = {
  mean: 'rows',
  temperatureSquared: true,
  composed(x) {
    // With m = (p + q)/2 and log m = log ½ + logaddexp(log p, log q) = −log 2 + log p + softplus(d), d = log q − log p:
    //   log p − log m = log 2 − softplus(d) =: u,   log q − log m = d + u,
    //   JS = ½·Σ [p·u + q·(d + u)] = ½·Σ [(p + q)·u + q·d].
    // softplus is overflow-safe on every backend, and all terms stay finite for finite log-probabilities.
    const d = tf.sub(x.logQ(), x.logP());
    const u = tf.sub(tf.scalar(LOG_2), tf.softplus(d));
    const q = tf.exp(x.logQ());
    return { terms: tf.add(tf.mul(tf.add(tf.exp(x.logP()), q), u), tf.mul(q, d)), factor: 0.5 };
  },
  fused: {
    js: {
      term(row) {
        let total = 0;
        for (let c = 0; c < row.classes; c++) {
          const lq = logQ(row, c);
          const lp = logP(row, c);
          const lm = logMean(lp, lq);
          total += 0.5 * (Math.exp(lp) * (lp - lm) + Math.exp(lq) * (lq - lm));
        }
        return total;
      },
      prepare: jacobianTerm,
      gradient(row, c, jacobian) {
        const lq = logQ(row, c);
        return 0.5 * Math.exp(lq) * (lq - logMean(logP(row, c), lq) - (jacobian as number)) * row.invT;
      },
    },
    wgsl: {
      helpers: /* wgsl */ `
    // log((p + q) / 2), without overflow.
    fn jsLogMean(logP : f32, logQ : f32) -> f32 {
      return max(logP, logQ) + log(1.0 + exp(-abs(logP - logQ))) - 0.6931471805599453;
    }`,
      term: /* wgsl */ `
        var total = 0.0;
        for (var c = 0; c < classes; c++) {
          let logQ = logQAt(off + c, invT, r);
          let logP = logPAt(off + c, invT, r);
          let logM = jsLogMean(logP, logQ);
          total += 0.5 * (exp(logP) * (logP - logM) + exp(logQ) * (logQ - logM));
        }
        return total;`,
      prepare: /* wgsl */ `
        var total = 0.0;
        for (var c = 0; c < classes; c++) {
          let logQ = logQAt(off + c, invT, r);
          total += exp(logQ) * (logQ - jsLogMean(logPAt(off + c, invT, r), logQ));
        }
        return vec4<f32>(total, 0.0, 0.0, 0.0);`,
      gradient: /* wgsl */ `
        let logQ = logQAt(i, invT, r);
        return 0.5 * exp(logQ) * (logQ - jsLogMean(logPAt(i, invT, r), logQ) - prepared.x) * invT;`,
    },
  },
};
