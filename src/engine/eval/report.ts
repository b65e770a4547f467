/**
 * The report card of one model on the test split: what a KD practitioner compares between teacher, scratch
 * student and KD student.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelReport, ValidationMetrics } from '../../shared/records';
import type { LoadedModel } from '../models/modelFiles';
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
  extra: { teacher?: Float32Array; teacherAccuracy?: number; params: number | null; sizeBytes?: number; latencyMs?: ModelReport['latencyMs'] },
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
  };
}

/** Mean inference time per sample, at batch 1 and batch 256, after a warm-up. Reads back like a real caller. */
export async function measureLatency(model: LoadedModel, sampleShape: number[]): Promise<{ batch1: number; batch256: number }> {
  const perSample = async (batch: number, repeats: number) => {
    const x = tf.randomUniform([batch, ...(model.feedShape ?? sampleShape)]);
    const run = async () => {
      const y = model.model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    };
    // Several warm-up calls: the first predictions of a process also pay for JIT and kernel setup, which
    // otherwise lands on whichever model is measured first.
    for (let i = 0; i < 5; i++) await run();
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) await run();
    const ms = (performance.now() - t0) / repeats / batch;
    x.dispose();
    return ms;
  };
  return { batch1: await perSample(1, 50), batch256: await perSample(256, 8) };
}

export function countParams(model: LoadedModel): number {
  if (model.kind === 'layers') return model.model.countParams();
  return Object.values(model.model.weights).reduce((sum, ts) => sum + ts.reduce((s, t) => s + t.size, 0), 0);
}

/** Weight bytes of a loaded model as held in memory (4 per float32 or int32 value, 1 per bool or uint8). */
export function loadedWeightBytes(model: LoadedModel): number {
  const weights = model.kind === 'layers' ? model.model.weights.map((w) => ({ size: tf.util.sizeFromShape(w.shape as number[]), dtype: w.dtype })) : Object.values(model.model.weights).flat().map((t) => ({ size: t.size, dtype: t.dtype }));
  return weights.reduce((sum, w) => sum + w.size * (w.dtype === 'bool' || (w.dtype as string) === 'uint8' ? 1 : 4), 0);
}
