/**
 * One interface for every kind of teacher (a tfjs model file, an ONNX model, precomputed logits, a preset the engine
 * trains): logits for a split, and what the report card shows of it. `teachers/index.ts` caches the logits the same
 * way for every kind; an ensemble can compose teachers through this interface alone.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelReport } from '../../shared/records';

/** `unlabeled`: the rows of `data.unlabeled`, when the data has them. */
export type SplitName = 'train' | 'test' | 'unlabeled';

/** What the report card shows of a teacher besides its metrics. */
export interface TeacherFacts {
  /** Parameters (weights) of the model; null when there is no model (precomputed logits). */
  params: number | null;
  /** Bytes of the weights. */
  sizeBytes?: number;
  /** Bytes of the model's files on disk, and the same files gzipped one by one (as for the students). */
  diskBytes?: number;
  gzipBytes?: number;
  /** Mean inference time per sample at batch 1 and 256. */
  latencyMs?: ModelReport['latencyMs'];
  /** What ran it, e.g. `onnxruntime-node 1.30.0 (cpu)`. */
  runtime?: string;
}

export interface Teacher {
  /** For the log: the file, or what the logits came from. */
  readonly describe: string;
  /**
   * Identity of the teacher for the logits cache: a hash of its files and of every setting that changes its
   * logits. Undefined for a teacher that is not worth caching (precomputed logits are already on disk).
   */
  readonly cacheKey?: string;
  /**
   * Raw outputs for every row of a split, row-major `[rows, classes]`. `x` gives the rows as the student sees them
   * (`[rows, ...inputShape]`, after data.normalize), made only when called.
   */
  outputs(split: SplitName, x: () => tf.Tensor): Promise<Float32Array>;
  /**
   * Intermediate outputs for feature distillation (`distillation.features`): the teacher's layers (or ONNX outputs)
   * of these names. Throws a config error naming the unknown name (as `distillation.features[pairs[k]]`, default k)
   * and the available ones. Absent for teachers
   * without intermediate outputs (precomputed logits, a list of teachers).
   */
  features?(names: string[], pairs?: number[]): TeacherFeatures;
  /** Params, bytes, latency (measured when `latency`) for the report card. */
  facts(latency: boolean): Promise<TeacherFacts>;
  dispose(): void;
}

/** A teacher's named intermediate outputs, computed per batch (never cached: feature maps can be large). */
export interface TeacherFeatures {
  /**
   * The named outputs for a batch of rows as the student sees them (after data.normalize), in the order named; 4-D
   * maps channels-last [B, H, W, C]. Computed without gradients; the caller disposes them.
   */
  compute(x: tf.Tensor): Promise<tf.Tensor[]>;
  dispose(): void;
}

/** The error for a layer name a model does not have: it lists the names it has. */
export function unknownLayerMessage(side: 'teacher' | 'student', index: number, name: string, available: string[], where: string): string {
  const shown = available.length > 60 ? [...available.slice(0, 60), `… (${available.length - 60} more)`] : available;
  return `distillation.features[${index}].${side}: the ${side} ${where} has no ${side === 'teacher' && where.includes('ONNX') ? 'output' : 'layer'} named "${name}". Available: ${shown.map((n) => `"${n}"`).join(', ')}.`;
}
