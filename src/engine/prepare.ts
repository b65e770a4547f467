/**
 * Data preparation for a run: load the dataset, split off the validation rows (seeded, stratified), get the teacher's
 * logits (cached, computed, or from a file), pick the probe rows, and put what training and evaluation read into
 * tensors. The engine (engine.ts) calls it once per run and disposes the result with `disposePrepared`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../shared/config';
import { DistillError } from '../shared/errors';
import type { EngineToHost, Progress } from '../shared/protocol';
import { gatherRows, gatherSamples, loadDataset, selectProbe, stratifiedSplit, type Dataset } from './data';
import type { LoadedModel } from './models/modelFiles';
import { teacherLogits } from './teacher';

export interface Prepared {
  /** What later stages need of the dataset; its large arrays are not kept once they live in tensors. */
  dataset: Pick<Dataset, 'inputShape' | 'classNames'>;
  numClasses: number;
  /** Rows per forward pass when computing logits: larger on a GPU. */
  inferenceBatch: number;
  /** Training rows after the validation split. */
  train: { x: tf.Tensor; y: tf.Tensor1D; teacherLogits: tf.Tensor2D; count: number };
  val: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array };
  test: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array };
  probe: { x: tf.Tensor; indices: number[] };
  teacherModel?: LoadedModel;
  /** The teacher's model.json (a preset teacher: its cached file), when there is one. */
  teacherFile?: string;
  /** Where the teacher's logits came from, for the log. */
  teacherSource: string;
}

/** What preparation tells the engine as it goes. */
export interface PrepareHooks {
  log(message: string): void;
  phase(phase: Extract<EngineToHost, { type: 'phase' }>['phase'], message: string): void;
  progress(progress: Progress): void;
  shouldStop(): boolean;
}

export async function prepareData(config: DistillConfig, inferenceBatch: number, hooks: PrepareHooks): Promise<Prepared> {
  hooks.phase('loading-data', 'Loading data…');
  const dataset = await loadDataset(config.data, (m) => hooks.log(m));
  const sample = dataset.inputShape.reduce((a, b) => a * b, 1);
  const numClasses = dataset.numClasses;
  const split = stratifiedSplit(dataset.train.y, numClasses, config.data.validationSplit, config.seed);
  const trainRows = gatherSamples(dataset.train, split.trainIdx, sample);
  const valRows = gatherSamples(dataset.train, split.valIdx, sample);
  if (trainRows.count === 0) throw new DistillError('data', `No training rows remain after the validation split (data.validationSplit = ${config.data.validationSplit}). Lower it or use more rows.`, { path: ['data', 'validationSplit'] });
  const toX = (s: { x: Float32Array; count: number }) => tf.tensor(s.x, [s.count, ...dataset.inputShape]);

  const xTrain = toX(trainRows);
  const yTrain = tf.tensor1d(trainRows.y, 'int32');
  const xTest = toX(dataset.test);
  // All training rows are needed only to compute uncached teacher logits; the wasm heap never shrinks, so
  // this copy is made only then.
  let xTrainAll: tf.Tensor | undefined;
  try {
    const teacher = await teacherLogits({
      config,
      dataset,
      trainRows: { x: xTrain, y: yTrain, count: trainRows.count },
      xTrainAll: () => (xTrainAll ??= toX(dataset.train)),
      xTest,
      inferenceBatch,
      log: (m) => hooks.log(m),
      phase: (p, m) => hooks.phase(p, m),
      progress: (p) => hooks.progress(p),
      shouldStop: () => hooks.shouldStop(),
    });
    hooks.log(`Teacher: ${teacher.source}`);
    const probeIdx = selectProbe(valRows.y, numClasses, Math.min(config.evaluation.probeSize, valRows.count), config.seed);
    const probeRows = gatherSamples(valRows, probeIdx, sample);
    return {
      dataset: { inputShape: dataset.inputShape, classNames: dataset.classNames },
      numClasses,
      inferenceBatch,
      train: { x: xTrain, y: yTrain, teacherLogits: tf.tensor2d(gatherRows(teacher.train, split.trainIdx, numClasses), [trainRows.count, numClasses]), count: trainRows.count },
      val: { x: toX(valRows), labels: valRows.y, teacher: gatherRows(teacher.train, split.valIdx, numClasses) },
      test: { x: xTest, labels: dataset.test.y, teacher: teacher.test },
      probe: { x: toX(probeRows), indices: probeIdx },
      teacherModel: teacher.model,
      teacherFile: teacher.modelFile,
      teacherSource: teacher.source,
    };
  } catch (e) {
    xTrain.dispose();
    yTrain.dispose();
    xTest.dispose();
    throw e;
  } finally {
    xTrainAll?.dispose();
  }
}

export function disposePrepared(p: Prepared): void {
  tf.dispose([p.train.x, p.train.y, p.train.teacherLogits, p.val.x, p.test.x, p.probe.x]);
  p.teacherModel?.model.dispose();
}
