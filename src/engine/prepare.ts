/**
 * Data preparation for a run: load the dataset, split off the validation rows (seeded, stratified), get the teacher's
 * logits (cached, computed, or from a file), pick the probe rows, build the transfer set when the data has unlabelled
 * rows, and put what training and evaluation read into tensors. The engine (engine.ts) calls it once per run (and
 * once per sweep for a shared teacher) and disposes the result with `disposePrepared`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { teacherList, type DistillConfig, type TrainSettingsConfig } from '../shared/config';
import { DistillError } from '../shared/errors';
import type { Progress } from '../shared/protocol';
import type { StepRecord, TransferRows, ValidationMetrics } from '../shared/records';
import { gatherRows, gatherSamples, labeledSubset, loadDataset, selectProbe, stratifiedSplit, type Dataset } from './data';
import { fileStamp } from './data/sourceFile';
import { modelFiles } from './eval/modelBytes';
import { validationMetrics } from './eval/report';
import { predictLogits } from './models/modelFiles';
import { teacherLogits, type Teacher } from './teachers';
import { memoFacts, type EnsembleMember } from './teachers/ensemble';
import type { TrainPosition } from './train/checkpoint';

export interface Prepared {
  /** What later stages need of the dataset; its large arrays are not kept once they live in tensors. */
  dataset: Pick<Dataset, 'inputShape' | 'classNames' | 'normalization'>;
  numClasses: number;
  /** Rows per forward pass when computing logits: larger on a GPU. */
  inferenceBatch: number;
  /** Threads each training step is split over (engine.threads, resolved for the backend). */
  threads: number;
  /**
   * The KD student's rows: the training split after the validation split, then `data.unlabeled`'s rows. `unlabeled`
   * marks the rows without a label (those of `data.unlabeled`, and those `data.labeled` leaves out).
   */
  train: { x: tf.Tensor; y: tf.Tensor1D; teacherLogits: tf.Tensor2D; count: number; unlabeled?: Uint8Array };
  /** A transfer-set run's scratch baseline trains on the labelled rows only, with as many steps as the KD student. */
  baselineTrain?: { x: tf.Tensor; y: tf.Tensor1D; teacherLogits: tf.Tensor2D; count: number };
  transfer?: TransferRows;
  /** The held-out rows; `count` 0 when data.validationSplit is 0. */
  val: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array; count: number };
  test: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array };
  /**
   * Probe rows for the heatmaps: from the validation rows, or the training rows when there are none. `members`: a
   * list of teachers' own logits on them, in list order (`teacher` is the ensemble's).
   */
  probe: { x: tf.Tensor; indices: number[]; labels: number[]; teacher: Float32Array; split: 'validation' | 'train'; members?: Float32Array[] };
  /** The open teacher, for its params, bytes and latency in the report. */
  teacher: Teacher;
  /** A preset teacher's cached model.json: what a sweep's trials use instead of training it again. */
  teacherFile?: string;
  teacherSource: string;
  /** A list of teachers: each member's test logits and teacher, for its row of the report. */
  teacherMembers?: EnsembleMember[];
}

/** What the data looks like once loaded: what a preset teacher's training plan is sized by. */
export interface DataShape {
  inputShape: number[];
  numClasses: number;
  trainRows: number;
}

/** What preparation tells the engine as it goes. */
export interface PrepareHooks {
  log(message: string): void;
  warn(message: string): void;
  phase(phase: 'loading-data' | 'teacher-training' | 'teacher-logits', message: string): void;
  /** The run directory (a preset teacher checkpoints there); none when preparing a sweep's shared teacher. */
  runDir: string | undefined;
  /** A preset teacher's training starts (or continues from `position`). */
  teacherTrainingStarts(
    model: tfl.LayersModel,
    totalSteps: number,
    position: TrainPosition | undefined,
    data: DataShape,
    settings: TrainSettingsConfig,
  ): Promise<void>;
  teacherSteps(records: StepRecord[], progress: Progress): void;
  /** A preset teacher's epoch ended; `validation()` computes its metrics (undefined without validation rows). */
  teacherEpoch(
    epoch: number,
    train: { loss: number; accuracy: number },
    seconds: number,
    totalEpochs: number,
    validation: () => Promise<ValidationMetrics | undefined>,
  ): Promise<void>;
  /** How many validation rows there are, and a note for the user when that changes what the run shows. */
  validationRows(count: number, note: string | undefined): void;
  shouldStop(): boolean;
}

/**
 * In an engine kept for run after run (a sweep's pool child): the last run's prepared data, which the next run gets
 * back when it is made from the same data, seed, teacher and evaluation settings (`preparationKey`) and none of the
 * files it came from has changed. A sweep's trials differ in what they train (T, α, the student, training settings),
 * not in these. Remaking it for every trial (gathering the split, uploading it, opening the teacher, reading its
 * logits) was about 5% of a short trial, and most of what the trial allocated outside the JS heap; the full garbage
 * collections that set off also dropped optimized code, which V8 then compiled again. Measured on the sweep bench's
 * trial: full collections 29 → 12 per 24 trials, functions compiled 900 → 440. Not kept: a run whose teacher trained
 * in it (its records belong to that run), and anything while off (a single run prepares once).
 */
interface KeptPreparation {
  key: string;
  /** The dataset it was made from: the data files are unchanged while `loadDataset` hands back this very object. */
  dataset: Dataset;
  /** The teacher's files (model, shards, logits) as they were: stamps by path. */
  teacherFiles: Map<string, string | undefined>;
  prepared: Prepared;
  /** What preparing told the run (logs, warnings, its validation rows), told again to a run that reuses it. */
  told: ((hooks: PrepareHooks) => void)[];
}
let keepingPrepared = false;
let keptPreparation: KeptPreparation | undefined;

export function keepPreparedData(on = true): void {
  keepingPrepared = on;
  if (!on) releaseKeptPreparation();
}

function releaseKeptPreparation(): void {
  const kept = keptPreparation;
  keptPreparation = undefined;
  if (kept) disposePrepared(kept.prepared);
}

/**
 * Everything of the config that preparation reads (here, in data/ and in teachers/), and the settings it is given:
 * two runs with the same key prepare the same data. A field preparation comes to read belongs here too.
 */
function preparationKey(config: DistillConfig, inferenceBatch: number, threads: number): string {
  return JSON.stringify({
    data: config.data,
    seed: config.seed,
    teacher: config.teacher,
    cacheDir: config.output.cacheDir,
    probeSize: config.evaluation.probeSize,
    // A list of teachers combines its members' logits by these (teachers/ensemble.ts).
    ensemble: Array.isArray(config.teacher) ? [config.distillation.teacherEnsemble, config.distillation.temperature] : undefined,
    // Named in the transfer set's log line.
    baseline: config.compare.baseline,
    inferenceBatch,
    threads,
    backend: tf.getBackend(),
  });
}

function teacherFileStamps(teacher: DistillConfig['teacher']): Map<string, string | undefined> {
  const files = teacherList(teacher).flatMap(({ teacher: t }) => {
    if ('logits' in t) return Object.values(t.logits).filter((f): f is string => typeof f === 'string');
    if (!('model' in t)) return [];
    try {
      return modelFiles(t.model);
    } catch {
      // Opening the teacher says what is wrong with the file; a stamp of it alone is enough here.
      return [t.model];
    }
  });
  return new Map(files.map((f) => [f, fileStamp(f)]));
}

const unchanged = (stamps: Map<string, string | undefined>) => [...stamps].every(([file, stamp]) => fileStamp(file) === stamp);

export async function prepareData(config: DistillConfig, inferenceBatch: number, threads: number, hooks: PrepareHooks): Promise<Prepared> {
  hooks.phase('loading-data', 'Loading data…');
  const dataset = await loadDataset(config.data, (m) => hooks.log(m), { cacheDir: config.output.cacheDir, warn: (m) => hooks.warn(m) });
  if (!keepingPrepared) return prepareFrom(dataset, config, inferenceBatch, threads, hooks);
  const key = preparationKey(config, inferenceBatch, threads);
  const kept = keptPreparation;
  if (kept?.key === key && kept.dataset === dataset && unchanged(kept.teacherFiles)) {
    hooks.log('Prepared data kept from the previous run in this engine (the same data, seed and teacher; the files are unchanged).');
    for (const tell of kept.told) tell(hooks);
    return kept.prepared;
  }
  releaseKeptPreparation();
  // Stamped before they are read: a file rewritten meanwhile is read again next time.
  const teacherFiles = teacherFileStamps(config.teacher);
  const told: KeptPreparation['told'] = [];
  let teacherTrained = false;
  const prepared = await prepareFrom(dataset, config, inferenceBatch, threads, {
    ...hooks,
    log: (m) => (told.push((h) => h.log(m)), hooks.log(m)),
    warn: (m) => (told.push((h) => h.warn(m)), hooks.warn(m)),
    validationRows: (count, note) => (told.push((h) => h.validationRows(count, note)), hooks.validationRows(count, note)),
    teacherTrainingStarts: (...args) => ((teacherTrained = true), hooks.teacherTrainingStarts(...args)),
  });
  if (teacherTrained) return prepared;
  const keep = { ...prepared, teacher: memoFacts(prepared.teacher) };
  keptPreparation = { key, dataset, teacherFiles, prepared: keep, told };
  return keep;
}

async function prepareFrom(dataset: Dataset, config: DistillConfig, inferenceBatch: number, threads: number, hooks: PrepareHooks): Promise<Prepared> {
  const sample = dataset.inputShape.reduce((a, b) => a * b, 1);
  const numClasses = dataset.numClasses;
  const split = stratifiedSplit(dataset.train.y, numClasses, config.data.validationSplit, config.seed);
  const trainRows = gatherSamples(dataset.train, split.trainIdx, sample);
  const valRows = gatherSamples(dataset.train, split.valIdx, sample);
  if (trainRows.count === 0)
    throw new DistillError(
      'data',
      `No training rows remain after the validation split (data.validationSplit = ${config.data.validationSplit}). Lower it or use more rows.`,
      { path: ['data', 'validationSplit'] },
    );
  const toX = (s: { x: Float32Array; count: number }) => tf.tensor(s.x, [s.count, ...dataset.inputShape]);

  const xTrain = toX(trainRows);
  const yTrain = tf.tensor1d(trainRows.y, 'int32');
  const xTest = toX(dataset.test);
  const xVal = toX(valRows);
  // All training rows are needed only to compute uncached teacher logits; the wasm heap never shrinks, so
  // this copy is made only then.
  let xTrainAll: tf.Tensor | undefined;
  let xUnlabeled: tf.Tensor | undefined;
  try {
    const teacher = await teacherLogits({
      config,
      dataset,
      trainRows: { x: xTrain, y: yTrain, count: trainRows.count },
      xTrainAll: () => (xTrainAll ??= toX(dataset.train)),
      xTest,
      xUnlabeled: () => (xUnlabeled ??= toX(dataset.unlabeled!)),
      inferenceBatch,
      threads,
      runDir: hooks.runDir,
      log: (m) => hooks.log(m),
      warn: (m) => hooks.warn(m),
      phase: (p, m) => hooks.phase(p, m),
      teacherTrainingStarts: (model, totalSteps, position, settings) =>
        hooks.teacherTrainingStarts(model, totalSteps, position, { inputShape: dataset.inputShape, numClasses, trainRows: trainRows.count }, settings),
      teacherSteps: (records, progress) => hooks.teacherSteps(records, progress),
      // Without validation rows (data.validationSplit 0) the teacher's epochs have no validation metrics either.
      teacherEpoch: (model, epoch, train, seconds, totalEpochs) =>
        hooks.teacherEpoch(epoch, train, seconds, totalEpochs, async () => {
          if (!valRows.count) return undefined;
          const logits = await predictLogits({ kind: 'layers', model }, xVal, inferenceBatch);
          return validationMetrics(logits, valRows.y, logits, numClasses);
        }),
      shouldStop: () => hooks.shouldStop(),
    });
    hooks.log(`Teacher: ${teacher.source}`);
    const valTeacher = gatherRows(teacher.train, split.valIdx, numClasses);
    const trainTeacherRows = gatherRows(teacher.train, split.trainIdx, numClasses);
    // Without validation rows, the heatmaps follow training rows: what the student fits, not what it generalises.
    const probeSplit = valRows.count ? 'validation' : 'train';
    const probeFrom = valRows.count
      ? { rows: valRows, teacher: valTeacher, idx: split.valIdx }
      : { rows: trainRows, teacher: trainTeacherRows, idx: split.trainIdx };
    const probeIdx = selectProbe(probeFrom.rows.y, numClasses, Math.min(config.evaluation.probeSize, probeFrom.rows.count), config.seed);
    const probeRows = gatherSamples(probeFrom.rows, probeIdx, sample);
    const probeTeacher = gatherRows(probeFrom.teacher, probeIdx, numClasses);
    // Each member of a list on the same rows: the ensemble's logits combine these row by row.
    const probeMembers = teacher.members?.map((m) => gatherRows(gatherRows(m.train, probeFrom.idx, numClasses), probeIdx, numClasses));
    const note = valRows.count
      ? undefined
      : 'data.validationSplit is 0: every training row trains, epochs have no validation metrics, and the soft-label heatmaps show training rows.';
    if (note) hooks.log(note);
    hooks.validationRows(valRows.count, note);
    const trainTeacher = tf.tensor2d(trainTeacherRows, [trainRows.count, numClasses]);
    // The unlabelled rows as a tensor: made above if their teacher logits were computed, else now.
    const unlabeledX = teacher.unlabeled ? (xUnlabeled ??= toX(dataset.unlabeled!)) : undefined;
    xUnlabeled = undefined; // owned by the transfer set from here on
    const transfer = transferSet(
      config,
      trainRows.y,
      numClasses,
      { x: xTrain, y: yTrain, teacherLogits: trainTeacher, count: trainRows.count },
      unlabeledX,
      teacher.unlabeled,
      hooks,
    );
    return {
      dataset: { inputShape: dataset.inputShape, classNames: dataset.classNames, normalization: dataset.normalization },
      numClasses,
      inferenceBatch,
      threads,
      ...transfer,
      val: { x: xVal, labels: valRows.y, teacher: valTeacher, count: valRows.count },
      test: { x: xTest, labels: dataset.test.y, teacher: teacher.test },
      probe: {
        x: toX(probeRows),
        indices: probeIdx,
        labels: Array.from(probeRows.y),
        teacher: probeTeacher,
        split: probeSplit,
        ...(probeMembers ? { members: probeMembers } : {}),
      },
      teacher: teacher.teacher,
      teacherFile: teacher.modelFile,
      teacherSource: teacher.source,
      teacherMembers: teacher.members,
    };
  } catch (e) {
    tf.dispose([xTrain, yTrain, xTest, xVal]);
    throw e;
  } finally {
    xTrainAll?.dispose();
    xUnlabeled?.dispose();
  }
}

/**
 * The KD student's training rows and, for a transfer-set run (`data.unlabeled`, `data.labeled`), which of them have
 * no label and the labelled rows the scratch baseline trains on. Takes ownership of the tensors it is given.
 */
function transferSet(
  config: DistillConfig,
  labels: Int32Array,
  numClasses: number,
  split: NonNullable<Prepared['baselineTrain']>,
  xUnlabeled: tf.Tensor | undefined,
  unlabeledTeacher: Float32Array | undefined,
  hooks: Pick<PrepareHooks, 'log'>,
): Pick<Prepared, 'train' | 'baselineTrain' | 'transfer'> {
  const spec = config.data.labeled;
  const extra = unlabeledTeacher ? unlabeledTeacher.length / numClasses : 0;
  const keptIdx = spec ? labeledSubset(labels, numClasses, spec, config.seed) : undefined;
  const labeled = keptIdx ? keptIdx.length : split.count;
  if (labeled === split.count && extra === 0) {
    xUnlabeled?.dispose();
    return { train: split };
  }
  if (labeled === 0) {
    throw new DistillError(
      'config',
      `data.labeled ${JSON.stringify(spec)} keeps no labelled rows of the ${split.count} training rows. Raise it so that each class keeps at least one label.`,
      { path: ['data', 'labeled'] },
    );
  }
  const count = split.count + extra;
  const unlabeled = new Uint8Array(count).fill(1);
  if (keptIdx) for (const i of keptIdx) unlabeled[i] = 0;
  else unlabeled.fill(0, 0, split.count);
  const labeledIdx = keptIdx ?? Int32Array.from({ length: split.count }, (_, i) => i);
  const train =
    extra === 0
      ? { ...split, unlabeled, count }
      : tf.tidy(() => ({
          x: tf.concat([split.x, xUnlabeled!]),
          y: tf.concat([split.y, tf.zeros([extra], 'int32')]) as tf.Tensor1D,
          teacherLogits: tf.concat([split.teacherLogits, tf.tensor2d(unlabeledTeacher!, [extra, numClasses])]) as tf.Tensor2D,
          count,
          unlabeled,
        }));
  const baselineTrain = tf.tidy(() => {
    const idx = tf.tensor1d(labeledIdx, 'int32');
    return {
      x: tf.gather(split.x, idx),
      y: tf.gather(split.y, idx) as tf.Tensor1D,
      teacherLogits: tf.gather(split.teacherLogits, idx) as tf.Tensor2D,
      count: labeled,
    };
  });
  if (extra > 0) tf.dispose([split.x, split.y, split.teacherLogits, xUnlabeled!]);
  const transfer: TransferRows = { labeled, unlabeled: count - labeled };
  hooks.log(
    `Transfer set: ${labeled} labelled and ${count - labeled} unlabelled training rows; unlabelled rows are learnt from the teacher only.` +
      (config.compare.baseline ? ` The scratch baseline trains on the ${labeled} labelled rows, cycled to the KD student's step count.` : ''),
  );
  return { train, baselineTrain, transfer };
}

/** Frees what `prepareData` made, unless it is kept for the next run in this engine. */
export function disposePrepared(p: Prepared): void {
  if (p === keptPreparation?.prepared) return;
  tf.dispose([p.train.x, p.train.y, p.train.teacherLogits, p.val.x, p.test.x, p.probe.x]);
  if (p.baselineTrain) tf.dispose([p.baselineTrain.x, p.baselineTrain.y, p.baselineTrain.teacherLogits]);
  p.teacher.dispose();
}
