/**
 * The report card of one model on the test split: what a KD practitioner compares between teacher, scratch
 * student and KD student.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelReport, ValidationMetrics } from '../../shared/records';
import type { LoadedModel } from '../models/modelFiles';
import { BATCH1_ROUNDS, BATCH256_ROUNDS, latencyReport, timeRounds, type RoundPlan } from './latency';
import { agreement, classificationMetrics, expectedCalibrationError, klToTeacher } from './metrics';

export function validationMetrics(logits: Float32Array, labels: Int32Array, teacher: Float32Array, numClasses: number): ValidationMetrics {
  const m = classificationMetrics(logits, labels, numClasses);
  return {
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    klToTeacher: klToTeacher(teacher, logits, numClasses),
    agreement: agreement(teacher, logits, numClasses),
  };
}

export function modelReport(
  logits: Float32Array,
  labels: Int32Array,
  numClasses: number,
  extra: {
    teacher?: Float32Array;
    teacherAccuracy?: number;
    params: number | null;
    sizeBytes?: number;
    diskBytes?: number;
    gzipBytes?: number;
    latencyMs?: ModelReport['latencyMs'];
  },
): ModelReport {
  const m = classificationMetrics(logits, labels, numClasses);
  return {
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    params: extra.params,
    sizeBytes: extra.sizeBytes,
    klToTeacher: extra.teacher ? klToTeacher(extra.teacher, logits, numClasses) : undefined,
    agreement: extra.teacher ? agreement(extra.teacher, logits, numClasses) : undefined,
    ece: expectedCalibrationError(logits, labels, numClasses),
    latencyMs: extra.latencyMs,
    teacherAccuracyKeptPct: extra.teacherAccuracy ? (100 * m.accuracy) / extra.teacherAccuracy : undefined,
    perClass: m.perClass,
    confusion: m.confusion,
    ...(extra.diskBytes !== undefined ? { diskBytes: extra.diskBytes, gzipBytes: extra.gzipBytes } : {}),
  };
}

/**
 * Inference time per sample at batch 1 and batch 256, in rounds after a warm-up (eval/latency.ts): the median and
 * its spread. Reads back like a real caller.
 */
export async function measureLatency(model: LoadedModel, sampleShape: number[]): Promise<NonNullable<ModelReport['latencyMs']>> {
  const perSample = async (batch: number, plan: RoundPlan) => {
    const x = tf.randomUniform([batch, ...(model.feedShape ?? sampleShape)]);
    try {
      return await timeRounds(
        async () => {
          const y = model.model.predict(x) as tf.Tensor;
          await y.data();
          y.dispose();
        },
        batch,
        plan,
      );
    } finally {
      x.dispose();
    }
  };
  return latencyReport(await perSample(1, BATCH1_ROUNDS), await perSample(256, BATCH256_ROUNDS));
}

export function countParams(model: LoadedModel): number {
  if (model.kind === 'layers') return model.model.countParams();
  return Object.values(model.model.weights).reduce((sum, ts) => sum + ts.reduce((s, t) => s + t.size, 0), 0);
}

/** Weight bytes of a loaded model as held in memory (4 per float32 or int32 value, 1 per bool or uint8). */
export function loadedWeightBytes(model: LoadedModel): number {
  const weights =
    model.kind === 'layers'
      ? model.model.weights.map((w) => ({ size: tf.util.sizeFromShape(w.shape as number[]), dtype: w.dtype }))
      : Object.values(model.model.weights)
          .flat()
          .map((t) => ({ size: t.size, dtype: t.dtype }));
  return weights.reduce((sum, w) => sum + w.size * (w.dtype === 'bool' || (w.dtype as string) === 'uint8' ? 1 : 4), 0);
}
