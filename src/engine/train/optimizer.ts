/**
 * The optimizer of a training section (`optimizer`, `learningRate`), one for the teacher, the students and the
 * compression fine-tuning.
 *
 * On the CPU backends Adam's update runs as one pass per variable here, not as tfjs' chain of element-wise ops.
 * tfjs' Adam dispatches about 15 kernels per variable per step, each with its scalar operands made into tensors; on
 * a small student that was a fifth of a sweep trial's CPU time (profile of a 784-32-10 MLP at batch 64). The pass
 * computes exactly what those kernels compute: each operation in float32 (Math.fround) in their order, with the
 * scalars as float32, so the weights, the moments and a checkpoint are bit for bit tfjs' (test/engine/optimizer).
 * The GPU backends keep tfjs' kernels, which run on the device.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ConcreteBackend, OPTIMIZERS } from '../../shared/config';

export function makeOptimizer(settings: { optimizer: (typeof OPTIMIZERS)[number]; learningRate: number }): tf.Optimizer {
  return settings.optimizer === 'sgd' ? tf.train.sgd(settings.learningRate) : new CpuFusedAdam(settings.learningRate);
}

/** Backends whose kernels run on this JavaScript thread: there, one pass in JavaScript beats 15 dispatches. */
const FUSED_ADAM_BACKENDS: readonly string[] = ['wasm', 'cpu'] satisfies readonly ConcreteBackend[];

/**
 * Elements above which a variable is updated by tfjs' kernels: the loop costs ~25 ns an element (three divisions and
 * a square root in sequence), the kernels' fixed cost ~0.3 ms a variable (measured on wasm: 10,000 elements 0.7 ms
 * in the loop against 0.3 ms, 1,000 elements 0.19 ms against 0.31 ms).
 */
const MAX_FUSED_SIZE = 4096;

/** AdamOptimizer's state, which tfjs declares private; the pass below reads and writes it as tfjs' own update does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * tf.train.adam(learningRate) with tfjs' defaults (β1 0.9, β2 0.999, ε the backend's), whose update is one pass per
 * variable on the CPU backends. Its slots, serialisation and class name are AdamOptimizer's.
 */
export class CpuFusedAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: Parameters<tf.Optimizer['applyGradients']>[0]): void {
    if (!FUSED_ADAM_BACKENDS.includes(tf.getBackend())) {
      // tfjs types Adam's gradients as variables, though it only reads them, as the base class's signature says.
      super.applyGradients(variableGradients as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const f = Math.fround;
    // The scalars as tfjs makes them: float32 tensors of the JavaScript numbers.
    const beta1 = f(this.beta1);
    const beta2 = f(this.beta2);
    const gradScale1 = f(1 - this.beta1);
    const gradScale2 = f(1 - this.beta2);
    const epsilon = f(this.epsilon);
    const step = f(-this.learningRate);
    const accBeta1 = state.accBeta1.dataSync()[0];
    const accBeta2 = state.accBeta2.dataSync()[0];
    const correction1 = f(1 - accBeta1);
    const correction2 = f(1 - accBeta2);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        // Slots by position, created on first sight, as tfjs' update does (getWeights depends on it).
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const first = state.accumulatedFirstMoment[i].variable;
        const second = state.accumulatedSecondMoment[i].variable;
        if (value.size > MAX_FUSED_SIZE) {
          // tfjs' own expression, whose element-wise kernels beat a JavaScript loop on a large variable.
          const m1 = tf.add(tf.mul(first, this.beta1), tf.mul(gradient, 1 - this.beta1));
          const v1 = tf.add(tf.mul(second, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
          const mHat = tf.div(m1, correction1);
          const vHat = tf.div(v1, correction2);
          first.assign(m1);
          second.assign(v1);
          value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate), value));
          return;
        }
        const g = gradient.dataSync() as Float32Array;
        const m = first.dataSync() as Float32Array;
        const v = second.dataSync() as Float32Array;
        const w = value.dataSync() as Float32Array;
        const m1 = new Float32Array(w.length);
        const v1 = new Float32Array(w.length);
        const w1 = new Float32Array(w.length);
        for (let j = 0; j < w.length; j++) {
          const gj = g[j];
          const mj = f(f(m[j] * beta1) + f(gj * gradScale1));
          const vj = f(f(v[j] * beta2) + f(f(gj * gj) * gradScale2));
          const mHat = f(mj / correction1);
          const vHat = f(vj / correction2);
          m1[j] = mj;
          v1[j] = vj;
          w1[j] = f(f(f(mHat / f(f(Math.sqrt(vHat)) + epsilon)) * step) + w[j]);
        }
        first.assign(tf.tensor(m1, first.shape));
        second.assign(tf.tensor(v1, second.shape));
        value.assign(tf.tensor(w1, value.shape));
      });
      state.accBeta1.assign(tf.scalar(f(accBeta1 * beta1)));
      state.accBeta2.assign(tf.scalar(f(accBeta2 * beta2)));
    });
    this.incrementIterations();
  }
}
