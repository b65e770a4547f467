/**
 * One distillation run, start to finish: backend, data, teacher logits, the KD student, the scratch baseline, the
 * test report. Knows nothing of VS Code: it talks through `send` (IPC in the child process, a callback in the CLI
 * and tests) and the run directory, which is the source of truth.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchSizeOf, inferenceBatchSize, resolveBatchSizes, type ConcreteBackend, type DistillConfig } from '../shared/config';
import { DistillError, errorMessage } from '../shared/errors';
import type { EngineToHost, LogLevel, Progress } from '../shared/protocol';
import type { BackendReport, EpochRecord, MetricsRecord, ModelReport, ProbeInfo, RunStatus, SoftLabelRecord, StatusFile, StepRecord, StudentKind, Summary, TrainedRole, TransferRows } from '../shared/records';
import { listRuns, readJson, RUN_FILES, RunWriter } from '../shared/runDir';
import { defaultRunName } from '../shared/runName';
import { selectBackend } from './backends/ladder';
import { gatherSamples, labeledSubset, loadDataset, selectProbe, stratifiedSplit, type Dataset } from './data';
import { compressionReports, folderBytes, plannedStages, runCompression } from './compress';
import { measureLatency, modelReport, validationMetrics } from './eval/report';
import { kdLoss } from './kd/losses';
import { loadStudentModel, predictLogits, saveLayersModel, type LoadedModel } from './models/modelFiles';
import { buildPreset, weightBytes } from './models/presets';
import { PARALLEL_ENV, parallelStudentsDecision, startStudentHelper, type StudentHelper } from './parallelStudents';
import { teacherLogits, TeacherTrainingStopped, type Teacher } from './teachers';
import { hasInitialModel, loadInitialModel, markCheckpointDone, readCheckpointState, restoreCheckpoint, saveInitialModel, writeCheckpoint, type TrainPosition } from './train/checkpoint';
import { resolveThreads, threadsForModel, type ThreadChoice } from './train/threads';
import { NonFiniteLossError, singleThreadReason, stepsPerEpoch, train, type EpochTrainStats } from './train/trainer';
import { forwardMacs, RunPlan, type PlannedPhase } from './runPlan';
import { checkOutputFolders } from './outputFolders';

/**
 * engine.threads resolved for the backend, except that a run the data-parallel step cannot train yet (a transfer
 * set's masked CE, DKD) trains on one thread, and the reason goes to the log line.
 */
function threadsFor(config: DistillConfig, backend: ConcreteBackend): ThreadChoice {
  const choice = resolveThreads(config.engine.threads, backend);
  const why = choice.threads > 1 ? singleThreadReason(config) : undefined;
  return why ? { threads: 1, reason: why, filled: choice.filled } : choice;
}

export type Send = (message: EngineToHost) => void;
type Finished = Extract<EngineToHost, { type: 'finished' }>;

/** Why training ends early: the user's stop, or the parent process going away. */
export type StopReason = 'stopped' | 'interrupted';

interface Prepared {
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
  /** Probe rows for the heatmaps: from the validation rows, or the training rows when there are none. */
  probe: { x: tf.Tensor; indices: number[]; labels: number[]; teacher: Float32Array; split: 'validation' | 'train' };
  /** The open teacher, for its params, bytes and latency in the report. */
  teacher: Teacher;
  /** A preset teacher's cached model.json: what a sweep's trials use instead of training it again. */
  teacherFile?: string;
  teacherSource: string;
}

export class DistillEngine {
  private stopReason: StopReason | undefined;
  private writer!: RunWriter;
  private status!: StatusFile;
  private sessionStart = Date.now();
  private priorSeconds = 0;
  private backendName: ConcreteBackend = 'cpu';
  /** The process training the scratch student beside this one, when there is one. */
  private helper: StudentHelper | undefined;
  /** The whole run's phases, for one progress and one ETA; made when the first model starts training. */
  private plan: RunPlan | undefined;
  /** Where the user's stop caught the run, for the final message: "while training the KD student (epoch 2 of 3, step 10)". */
  private stoppedWhere: string | undefined;

  constructor(private readonly send: Send) {}

  /** Ask the run to end at the next step boundary, with a checkpoint. */
  requestStop(reason: StopReason = 'stopped'): void {
    this.stopReason ??= reason;
    this.helper?.stop();
    this.log('info', reason === 'stopped' ? 'Stop requested: finishing the current step and writing a checkpoint…' : 'The parent process is gone: checkpointing and exiting…');
  }

  async start(config: DistillConfig, runDir: string): Promise<Finished> {
    const runId = path.basename(runDir);
    checkOutputFolders(config);
    // A name people can tell runs apart by: the config's, plus what differs from the previous run (shared/runName.ts).
    config.runName ??= defaultRunName(config, listRuns(path.dirname(runDir)).flatMap((r) => (r.config ? [r.config] : [])));
    this.status = { status: 'running', runId, pid: process.pid, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), totalEpochs: config.training.epochs };
    this.writer = RunWriter.create(runDir, config, this.status);
    return this.execute(config, runDir, false);
  }

  /**
   * For a sweep, before its trials: train or find the teacher and cache its logits, as a run would, without a run
   * directory. Returns undefined when stopped first.
   */
  async prepareTeacher(config: DistillConfig): Promise<{ modelFile?: string; source: string } | undefined> {
    const backend = await selectBackend(config.engine.backend, { log: (m: string) => this.log('info', m) });
    resolveBatchSizes(config, backend.name);
    let prepared: Prepared | undefined;
    try {
      prepared = await this.prepare(config, inferenceBatchSize(backend.name), threadsFor(config, backend.name).threads);
      return { modelFile: prepared.teacherFile, source: prepared.teacherSource };
    } catch (e) {
      if (e instanceof TeacherTrainingStopped) return undefined;
      throw e;
    } finally {
      if (prepared) disposePrepared(prepared);
    }
  }

  async resume(runDir: string): Promise<Finished> {
    const config = readJson<DistillConfig>(path.join(runDir, RUN_FILES.config));
    const previous = readJson<StatusFile>(path.join(runDir, RUN_FILES.status));
    if (!config || !previous) {
      throw new DistillError('usage', `${runDir} is not a Distill run directory (no ${RUN_FILES.config} or ${RUN_FILES.status}).`, { file: runDir });
    }
    if (previous.status === 'completed') {
      throw new DistillError('usage', `Run ${previous.runId} already completed; there is nothing to resume. Start a new run instead.`, { file: runDir });
    }
    if (previous.status === 'failed' && !hasInitialModel(runDir) && !readCheckpointState(runDir, 'teacher')) {
      throw new DistillError(
        'usage',
        `Run ${previous.runId} failed before its first checkpoint${previous.reason ? ` (${previous.reason.replace(/\.$/, '')})` : ''}, so there is nothing to resume. Fix the cause and start the run again from its config.`,
        { file: runDir },
      );
    }
    this.writer = new RunWriter(runDir);
    this.status = { ...previous, status: 'running', pid: process.pid, reason: undefined, updatedAt: new Date().toISOString() };
    this.writer.writeStatus(this.status);
    return this.execute(config, runDir, true);
  }

  private async execute(config: DistillConfig, runDir: string, resumed: boolean): Promise<Finished> {
    this.sessionStart = Date.now();
    this.priorSeconds = this.status.activeSeconds ?? 0;
    let prepared: Prepared | undefined;
    try {
      // `started` is the first message, carrying the choice; what the ladder tried follows it.
      const ladderLog: [LogLevel, string][] = [];
      const backend = await selectBackend(config.engine.backend, {
        log: (m: string) => ladderLog.push(['info', m]),
        debug: (m: string) => ladderLog.push(['debug', m]),
        probe: () => probeTraining(config),
      });
      this.send({ type: 'started', runId: this.status.runId, runDir, backend, resumed });
      for (const [level, m] of ladderLog) this.log(level, m);
      this.log('info', `Backend: ${backend.name} — ${backend.reason}`);
      this.backendName = backend.name;
      const filled = resolveBatchSizes(config, backend.name);
      const threads = threadsFor(config, backend.name);
      if (threads.filled) config.engine.threads = threads.threads;
      if (filled) this.log('info', filled);
      this.log('info', `Threads: ${threads.threads} (${threads.reason})`);
      if (filled || threads.filled) this.writer.writeConfig(config);
      prepared = await this.prepare(config, inferenceBatchSize(backend.name), threads.threads);
      const outcome = await this.trainStudents(config, runDir, prepared);
      const compressed = outcome === 'completed' ? await this.compress(config, runDir, prepared) : outcome;
      if (compressed !== 'completed') return this.finish(compressed, compressed === 'stopped' ? `Stopped ${this.stoppedWhere ?? 'by the user'}; resume continues from the checkpoint.` : 'The parent process went away; resume continues from the checkpoint.');
      this.phase('evaluating', 'Evaluating teacher and students on the test split…');
      const summary = await this.summarize(config, runDir, prepared, backend, this.activeSeconds());
      this.writer.writeSummary(summary);
      return this.finish('completed', undefined, summary);
    } catch (e) {
      if (e instanceof TeacherTrainingStopped) {
        this.status = { ...this.status, student: 'teacher', epoch: e.epoch, totalEpochs: e.totalEpochs };
        return this.finish(this.stopReason === 'interrupted' ? 'interrupted' : 'stopped', e.message);
      }
      const reason = e instanceof DistillError || e instanceof NonFiniteLossError ? e.message : systemErrorReason(e) ?? `Internal error: ${errorMessage(e)}`;
      // The stack is for whoever fixes the bug: the log (and the CLI's --verbose), not the user's terminal.
      if (!(e instanceof DistillError) && !(e instanceof NonFiniteLossError)) this.log('debug', (e as Error)?.stack ?? String(e));
      return this.finish('failed', reason);
    } finally {
      if (prepared) disposePrepared(prepared);
    }
  }

  private async prepare(config: DistillConfig, inferenceBatch: number, threads: number): Promise<Prepared> {
    this.phase('loading-data', 'Loading data…');
    const dataset = await loadDataset(config.data, (m) => this.log('info', m), { cacheDir: config.output.cacheDir, warn: (m) => this.log('warn', m) });
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
        runDir: (this.writer as RunWriter | undefined)?.dir,
        log: (m) => this.log('info', m),
        warn: (m) => this.log('warn', m),
        phase: (p, m) => this.phase(p, m),
        teacherTrainingStarts: async (model, totalSteps, position) => {
          if (!this.writer) return;
          this.rewindRole('teacher', position);
          const teacherCost = forwardMacs(model) * batchSizeOf((config.teacher as { train: DistillConfig['training'] }).train);
          const teacherEpochs = (config.teacher as { train: DistillConfig['training'] }).train.epochs;
          this.plan = await this.makePlan(config, dataset.inputShape, numClasses, trainRows.count, { steps: totalSteps, stepsPerEpoch: totalSteps / teacherEpochs, costPerStep: teacherCost });
        },
        teacherSteps: (records, progress) => (this.writer ? this.onSteps(records, progress) : this.send({ type: 'steps', records: [], progress })),
        teacherEpoch: async (model, epoch, train, seconds) => {
          if (!this.writer) return;
          // Without validation rows (data.validationSplit 0) the teacher's epochs have no validation metrics either.
          const val = valRows.count ? await predictLogits({ kind: 'layers', model }, xVal, inferenceBatch).then((logits) => validationMetrics(logits, valRows.y, logits, numClasses)) : undefined;
          const record: EpochRecord = { kind: 'epoch', student: 'teacher', epoch, ...(val ? { val } : {}), train, seconds };
          this.writer.appendMetrics([record]);
          const totalEpochs = (config.teacher as { train: DistillConfig['training'] }).train.epochs;
          this.status = { ...this.status, epoch, student: 'teacher', totalEpochs, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
          this.writer.writeStatus(this.status);
          this.send({ type: 'epoch', record, progress: this.withRun({ student: 'teacher', epoch, totalEpochs, step: 0, stepsPerEpoch: 0 }) });
        },
        shouldStop: () => this.stopReason !== undefined,
      });
      this.log('info', `Teacher: ${teacher.source}`);
      const pick = (all: Float32Array, idx: Int32Array) => {
        const out = new Float32Array(idx.length * numClasses);
        idx.forEach((r, i) => out.set(all.subarray(r * numClasses, (r + 1) * numClasses), i * numClasses));
        return out;
      };
      const valTeacher = pick(teacher.train, split.valIdx);
      const trainTeacherRows = pick(teacher.train, split.trainIdx);
      // Without validation rows, the heatmaps follow training rows: what the student fits, not what it generalises.
      const probeSplit = valRows.count ? 'validation' : 'train';
      const probeFrom = valRows.count ? { rows: valRows, teacher: valTeacher } : { rows: trainRows, teacher: trainTeacherRows };
      const probeIdx = selectProbe(probeFrom.rows.y, numClasses, Math.min(config.evaluation.probeSize, probeFrom.rows.count), config.seed);
      const probeRows = gatherSamples(probeFrom.rows, probeIdx, sample);
      const probeTeacher = pick(probeFrom.teacher, Int32Array.from(probeIdx));
      const note = valRows.count ? undefined : 'data.validationSplit is 0: every training row trains, epochs have no validation metrics, and the soft-label heatmaps show training rows.';
      if (note) this.log('info', note);
      // Only a run has a status file; preparing a sweep's teacher (prepareTeacher) has none.
      if (this.writer && this.status) {
        this.status = { ...this.status, validationRows: valRows.count, ...(note ? { note } : {}) };
        this.writer.writeStatus(this.status);
      }
      const trainTeacher = tf.tensor2d(trainTeacherRows, [trainRows.count, numClasses]);
      // The unlabelled rows as a tensor: made above if their teacher logits were computed, else now.
      const unlabeledX = teacher.unlabeled ? (xUnlabeled ??= toX(dataset.unlabeled!)) : undefined;
      xUnlabeled = undefined; // owned by the transfer set from here on
      const transfer = this.transferSet(config, trainRows.y, numClasses, { x: xTrain, y: yTrain, teacherLogits: trainTeacher, count: trainRows.count }, unlabeledX, teacher.unlabeled);
      return {
        dataset: { inputShape: dataset.inputShape, classNames: dataset.classNames, normalization: dataset.normalization },
        numClasses,
        inferenceBatch,
        threads,
        ...transfer,
        val: { x: xVal, labels: valRows.y, teacher: valTeacher, count: valRows.count },
        test: { x: xTest, labels: dataset.test.y, teacher: teacher.test },
        probe: { x: toX(probeRows), indices: probeIdx, labels: Array.from(probeRows.y), teacher: probeTeacher, split: probeSplit },
        teacher: teacher.teacher,
        teacherFile: teacher.modelFile,
        teacherSource: teacher.source,
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
  private transferSet(
    config: DistillConfig, labels: Int32Array, numClasses: number, split: NonNullable<Prepared['baselineTrain']>,
    xUnlabeled: tf.Tensor | undefined, unlabeledTeacher: Float32Array | undefined,
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
      throw new DistillError('config', `data.labeled ${JSON.stringify(spec)} keeps no labelled rows of the ${split.count} training rows. Raise it so that each class keeps at least one label.`, { path: ['data', 'labeled'] });
    }
    const count = split.count + extra;
    const unlabeled = new Uint8Array(count).fill(1);
    if (keptIdx) for (const i of keptIdx) unlabeled[i] = 0;
    else unlabeled.fill(0, 0, split.count);
    const labeledIdx = keptIdx ?? Int32Array.from({ length: split.count }, (_, i) => i);
    const train = extra === 0 ? { ...split, unlabeled, count } : tf.tidy(() => ({
      x: tf.concat([split.x, xUnlabeled!]),
      y: tf.concat([split.y, tf.zeros([extra], 'int32')]) as tf.Tensor1D,
      teacherLogits: tf.concat([split.teacherLogits, tf.tensor2d(unlabeledTeacher!, [extra, numClasses])]) as tf.Tensor2D,
      count,
      unlabeled,
    }));
    const baselineTrain = tf.tidy(() => {
      const idx = tf.tensor1d(labeledIdx, 'int32');
      return { x: tf.gather(split.x, idx), y: tf.gather(split.y, idx) as tf.Tensor1D, teacherLogits: tf.gather(split.teacherLogits, idx) as tf.Tensor2D, count: labeled };
    });
    if (extra > 0) tf.dispose([split.x, split.y, split.teacherLogits, xUnlabeled!]);
    const transfer: TransferRows = { labeled, unlabeled: count - labeled };
    this.log('info', `Transfer set: ${labeled} labelled and ${count - labeled} unlabelled training rows; unlabelled rows are learnt from the teacher only.` +
      (config.compare.baseline ? ` The scratch baseline trains on the ${labeled} labelled rows, cycled to the KD student's step count.` : ''));
    return { train, baselineTrain, transfer };
  }

  /**
   * Train the KD student, then the scratch baseline, each from its checkpoint when resuming. A run stopped before
   * the students began (while the teacher trained) has no initial student yet: it is made now, as in a fresh run.
   */
  private async trainStudents(config: DistillConfig, runDir: string, p: Prepared): Promise<'completed' | StopReason> {
    const students: StudentKind[] = config.compare.baseline ? ['kd', 'baseline'] : ['kd'];
    this.rewindToCheckpoints(runDir, students);
    if (!hasInitialModel(runDir)) {
      await this.writeProbeFiles(p);
      const initial = await this.buildStudent(config, p);
      await saveInitialModel(runDir, initial);
      initial.dispose();
    }
    this.plan ??= await this.makePlan(config, p.dataset.inputShape, p.numClasses, p.train.count);
    // A run on several threads (engine.threads) already uses the cores; a second process only when forced.
    const threaded = p.threads > 1 && process.env[PARALLEL_ENV] !== '1' ? { parallel: false, why: `each trains on ${p.threads} threads (engine.threads)` } : undefined;
    const decision = students.length === 2 ? (threaded ?? parallelStudentsDecision(this.backendName)) : undefined;
    if (decision?.parallel) return this.trainBesideBaseline(config, runDir, p, decision.why);
    if (decision) this.log('info', `The KD and scratch students train one after the other: ${decision.why}.`);
    for (const student of students) {
      const outcome = await this.trainOne(config, runDir, p, student);
      if (outcome !== 'completed') return outcome;
    }
    return 'completed';
  }

  /** The KD student here while a second process trains the scratch one (see parallelStudents.ts). */
  private async trainBesideBaseline(config: DistillConfig, runDir: string, p: Prepared, why: string): Promise<'completed' | StopReason> {
    this.log('info', `The KD and scratch students train at once, in two processes: ${why}.`);
    const helper = startStudentHelper(runDir, 'baseline', this.backendName, {
      metrics: (records) => this.writer.appendMetrics(records),
      softLabels: (record) => this.writer.appendSoftLabels(record),
      relay: (m) => this.send(m),
    });
    this.helper = helper;
    if (this.stopReason) helper.stop();
    let kd: 'completed' | StopReason;
    try {
      kd = await this.trainOne(config, runDir, p, 'kd');
    } catch (e) {
      helper.stop();
      await helper.done;
      throw e;
    } finally {
      if (this.stopReason) helper.stop();
    }
    const baseline = await helper.done;
    this.helper = undefined;
    if (baseline.status === 'failed') throw new DistillError('runtime', `The scratch student failed: ${baseline.reason ?? 'no reason given'}`);
    if (kd !== 'completed') return kd;
    return baseline.status === 'completed' ? 'completed' : (this.stopReason ?? 'stopped');
  }

  /** The helper side of trainBesideBaseline: one student of an existing run, its records sent, not written. */
  async trainStudentOnly(runDir: string, student: 'baseline', backend: ConcreteBackend): Promise<Finished> {
    const config = readJson<DistillConfig>(path.join(runDir, RUN_FILES.config));
    const status = readJson<StatusFile>(path.join(runDir, RUN_FILES.status));
    if (!config || !status) throw new DistillError('usage', `${runDir} is not a Distill run directory.`, { file: runDir });
    this.writer = new SentOnlyWriter(runDir);
    this.status = status;
    let prepared: Prepared | undefined;
    try {
      await selectBackend(backend);
      this.backendName = backend;
      prepared = await this.prepare(config, inferenceBatchSize(backend), threadsFor(config, backend).threads);
      const outcome = await this.trainOne(config, runDir, prepared, student);
      return this.finish(outcome);
    } catch (e) {
      return this.finish('failed', e instanceof DistillError || e instanceof NonFiniteLossError ? e.message : `Internal error: ${errorMessage(e)}`);
    } finally {
      if (prepared) disposePrepared(prepared);
    }
  }

  /** The `compress` stages on the KD student (none without a `compress` block). */
  private async compress(config: DistillConfig, runDir: string, p: Prepared): Promise<'completed' | StopReason> {
    if (!plannedStages(config.compress).length) return 'completed';
    const outcome = await runCompression({
      config,
      runDir,
      train: p.train,
      log: (m) => this.log('info', m),
      phase: (m) => this.phase('compressing', m),
      progress: (progress) => this.send({ type: 'steps', records: [], progress }),
      shouldStop: () => this.stopReason !== undefined,
    });
    return outcome === 'stopped' ? (this.stopReason ?? 'stopped') : 'completed';
  }

  private async buildStudent(config: DistillConfig, p: Prepared): Promise<tfl.LayersModel> {
    const student = 'model' in config.student ? await loadStudentModel(config.student.model) : buildPreset(config.student, p.dataset.inputShape, p.numClasses, config.seed, 'student');
    const outShape = student.outputs[0].shape;
    const outputs = outShape[outShape.length - 1];
    const where = 'model' in config.student ? config.student.model : `preset "${config.student.preset}"`;
    if (outputs !== p.numClasses) {
      student.dispose();
      throw new DistillError('model', `Class counts disagree: the student (${where}) outputs ${outputs} classes, but the data and teacher have ${p.numClasses}. Give the student a last layer of ${p.numClasses} units.`, { path: ['student'] });
    }
    const inShape = student.inputs[0].shape.slice(1);
    if (inShape.some((d, i) => d !== null && d !== p.dataset.inputShape[i]) || inShape.length !== p.dataset.inputShape.length) {
      student.dispose();
      throw new DistillError('model', `Input shapes disagree: the student (${where}) expects [${inShape.join(', ')}] per sample, but the data gives [${p.dataset.inputShape.join(', ')}]. Set data.inputShape or use a matching student.`, { path: ['student'] });
    }
    return student;
  }

  private async trainOne(config: DistillConfig, runDir: string, p: Prepared, student: StudentKind): Promise<'completed' | StopReason> {
    const settings = config.training;
    const optimizer = settings.optimizer === 'sgd' ? tf.train.sgd(settings.learningRate) : tf.train.adam(settings.learningRate);
    const checkpoint = readCheckpointState(runDir, student);
    if (checkpoint?.done) {
      optimizer.dispose();
      return 'completed';
    }
    const { model, start } = checkpoint
      ? await restoreCheckpoint(runDir, student, optimizer).then(({ model, state }) => ({ model, start: state.position }))
      : { model: await loadInitialModel(runDir), start: undefined };
    if (checkpoint) this.log('info', `Resuming the ${student} student at epoch ${checkpoint.position.epoch + 1}, step ${checkpoint.position.stepInEpoch}.`);
    this.plan?.startPhase(student, start?.globalStep ?? 0);
    this.phase('training', `Training the ${student === 'kd' ? 'KD' : 'scratch baseline'} student (${settings.epochs} epochs, batch ${settings.batchSize})…`);
    const epochStart = { at: Date.now() };
    // A transfer set's scratch student learns from the labelled rows only, cycled to the KD student's step count.
    // So does a KD student at a constant α = 0 (a sweep's shared baseline): unlabelled rows would carry no loss.
    const scratch = student === 'baseline' || (config.distillation.alpha === 0 && config.distillation.schedule.type === 'constant');
    const labelledOnly = scratch && p.baselineTrain !== undefined;
    const modelThreads = threadsForModel(p.threads, model, student === 'kd' ? 'KD student' : 'scratch student');
    if (modelThreads.note) this.log('info', modelThreads.note);
    try {
      const outcome = await train({
        role: student,
        model,
        optimizer,
        data: labelledOnly ? p.baselineTrain! : p.train,
        settings,
        distillation: config.distillation,
        alphaOverride: student === 'baseline' ? 0 : undefined,
        seed: config.seed,
        threads: modelThreads.threads,
        stepsPerEpoch: labelledOnly ? stepsPerEpoch(p.train.count, settings.batchSize!) : undefined,
        start,
        onSteps: (records, progress) => this.onSteps(records, progress),
        onEpochEnd: async (epoch, trainStats, position) => {
          await this.endEpoch(p, model, student, epoch, trainStats, (Date.now() - epochStart.at) / 1000, settings.epochs);
          epochStart.at = Date.now();
          await writeCheckpoint(runDir, model, optimizer, { student, position, done: false, savedAt: new Date().toISOString() });
        },
        shouldStop: () => this.stopReason !== undefined,
      });
      if (outcome.kind === 'stopped') {
        await writeCheckpoint(runDir, model, optimizer, { student, position: outcome.position, done: false, savedAt: new Date().toISOString() });
        const at = outcome.position;
        this.stoppedWhere = `while training the ${student === 'kd' ? 'KD student' : 'baseline'} (epoch ${at.epoch + 1} of ${settings.epochs}, step ${at.stepInEpoch})`;
        this.status = { ...this.status, student, epoch: at.epoch + 1, totalEpochs: settings.epochs };
        return this.stopReason ?? 'stopped';
      }
      this.phase('writing', `Saving the ${student} student…`);
      await saveLayersModel(model, path.join(runDir, student === 'kd' ? RUN_FILES.student : RUN_FILES.baseline));
      markCheckpointDone(runDir, student);
      return 'completed';
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  }

  private async endEpoch(p: Prepared, model: tfl.LayersModel, student: StudentKind, epoch: number, trainStats: EpochTrainStats, seconds: number, totalEpochs: number) {
    const layers: LoadedModel = { kind: 'layers', model };
    const val = p.val.count ? validationMetrics(await predictLogits(layers, p.val.x, p.inferenceBatch), p.val.labels, p.val.teacher, p.numClasses) : undefined;
    const { rows: seen, ...train } = trainStats;
    const record: EpochRecord = { kind: 'epoch', student, epoch, ...(val ? { val } : {}), train, rows: seen, seconds };
    this.writer.appendMetrics([record]);
    const probeLogits = await predictLogits(layers, p.probe.x, p.inferenceBatch);
    const soft: SoftLabelRecord = { kind: 'student', student, epoch, logits: rows(probeLogits, p.numClasses) };
    this.writer.appendSoftLabels(soft);
    this.status = { ...this.status, epoch, student, totalEpochs, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
    this.writer.writeStatus(this.status);
    const progress: Progress = this.withRun({ student, epoch, totalEpochs, step: 0, stepsPerEpoch: 0 });
    this.send({ type: 'epoch', record, progress });
    this.send({ type: 'softLabels', record: soft });
    const v = record.val;
    const valText = v ? `, val accuracy ${(v.accuracy * 100).toFixed(2)}%, agreement ${(v.agreement * 100).toFixed(2)}%, KL ${v.klToTeacher.toFixed(4)}` : `, train accuracy ${(trainStats.accuracy * 100).toFixed(2)}%`;
    this.log('info', `[${student}] epoch ${epoch}/${totalEpochs}: loss ${trainStats.loss.toFixed(4)}${valText}`);
  }

  private async writeProbeFiles(p: Prepared): Promise<void> {
    const probeTeacher = p.probe.teacher;
    const info: ProbeInfo = {
      indices: p.probe.indices,
      ...(p.probe.split === 'train' ? { split: 'train' as const } : {}),
      labels: p.probe.labels,
      classNames: p.dataset.classNames,
      inputShape: p.dataset.inputShape,
      thumbnails: thumbnails((await p.probe.x.data()) as Float32Array, p.probe.indices.length, p.dataset.inputShape),
    };
    this.writer.writeProbe(info);
    const norm = p.dataset.normalization;
    const perFeature = norm.method === 'minmax' || norm.method === 'standard';
    this.writer.writeInputSpec({
      inputShape: p.dataset.inputShape,
      classNames: p.dataset.classNames,
      normalization: { method: norm.method, ...(perFeature ? { shift: Array.from(norm.shift), scale: Array.from(norm.scale) } : {}) },
    });
    const teacher: SoftLabelRecord = { kind: 'teacher', logits: rows(probeTeacher, p.numClasses) };
    this.writer.appendSoftLabels(teacher);
    this.send({ type: 'softLabels', record: teacher });
  }

  /** Step records go to metrics.jsonl and to the host, with where the whole run stands. */
  private onSteps(records: StepRecord[], progress: Progress): void {
    if (records.length) this.writer.appendMetrics(records);
    this.send({ type: 'steps', records, progress: this.withRun(progress) });
  }

  /** The progress with the whole run's fraction and ETA; an epoch's message (no step count) means the epoch is done. */
  private withRun(progress: Progress): Progress {
    const role = progress.student;
    // A compression stage's fine-tuning is not one of the plan's phases (yet): it reports its own progress.
    if (role === 'compress' || !this.plan?.roles.includes(role)) return progress;
    const run = progress.stepsPerEpoch ? this.plan.update(role, (progress.epoch - 1) * progress.stepsPerEpoch + progress.step) : this.plan.epochDone(role, progress.epoch);
    return { ...progress, run };
  }

  /** The run's training phases: the teacher's (when it trains in this run), then the students'. */
  private async makePlan(config: DistillConfig, inputShape: number[], numClasses: number, trainCount: number, teacher?: Omit<PlannedPhase, 'role'>): Promise<RunPlan> {
    const student = 'model' in config.student ? await loadStudentModel(config.student.model) : buildPreset(config.student, inputShape, numClasses, config.seed, 'student');
    const macs = forwardMacs(student);
    student.dispose();
    const perEpoch = stepsPerEpoch(trainCount, batchSizeOf(config.training));
    const phases: PlannedPhase[] = [];
    if (teacher) {
      phases.push({ role: 'teacher', ...teacher });
    }
    const studentPhase = { steps: perEpoch * config.training.epochs, stepsPerEpoch: perEpoch, costPerStep: macs * batchSizeOf(config.training) };
    phases.push({ role: 'kd', ...studentPhase });
    if (config.compare.baseline) phases.push({ role: 'baseline', ...studentPhase });
    return new RunPlan(phases);
  }

  /** A model's training (re)starts at `position` (none: from scratch): its records after that point are dropped. */
  private rewindRole(role: TrainedRole, position: TrainPosition | undefined): void {
    const keepStep = (epoch: number, step: number) => !!position && (epoch < position.epoch + 1 || (epoch === position.epoch + 1 && step <= position.stepInEpoch));
    this.writer.truncateAfterCheckpoint((r: MetricsRecord) => r.student !== role || (r.kind === 'step' ? keepStep(r.epoch, r.step) : !!position && r.epoch <= position.epoch));
  }

  /** Resume replays from the checkpoint: records written after it (a crash mid-epoch) are dropped. */
  private rewindToCheckpoints(runDir: string, students: StudentKind[]): void {
    const at = new Map(students.map((s) => [s, readCheckpointState(runDir, s)]));
    const keepStep = (student: StudentKind, epoch: number, step: number) => {
      const cp = at.get(student);
      if (!cp) return false;
      if (cp.done) return true;
      return epoch < cp.position.epoch + 1 || (epoch === cp.position.epoch + 1 && step <= cp.position.stepInEpoch);
    };
    const keepEpoch = (student: StudentKind, epoch: number) => {
      const cp = at.get(student);
      return !!cp && (cp.done || epoch <= cp.position.epoch);
    };
    this.writer.truncateAfterCheckpoint((r: MetricsRecord) => r.student === 'teacher' || (r.kind === 'step' ? keepStep(r.student, r.epoch, r.step) : keepEpoch(r.student, r.epoch)));
    this.writer.truncateSoftLabels((r) => r.kind === 'teacher' || keepEpoch(r.student, r.epoch));
  }

  private async summarize(config: DistillConfig, runDir: string, p: Prepared, backend: BackendReport, seconds: number): Promise<Summary> {
    const C = p.numClasses;
    const shape = p.dataset.inputShape;
    const latency = config.evaluation.latency;
    const facts = await p.teacher.facts(latency);
    const teacherBase = { ...modelReport(p.test.teacher, p.test.labels, C, facts), ...(facts.runtime ? { runtime: facts.runtime } : {}) };
    const evaluate = async (model: tfl.LayersModel, sizeBytes: number): Promise<ModelReport> => {
      const loaded: LoadedModel = { kind: 'layers', model };
      const logits = await predictLogits(loaded, p.test.x, p.inferenceBatch);
      return modelReport(logits, p.test.labels, C, {
        teacher: p.test.teacher,
        teacherAccuracy: teacherBase.accuracy,
        params: model.countParams(),
        sizeBytes,
        latencyMs: latency ? await measureLatency(loaded, shape) : undefined,
      });
    };
    const studentReport = async (dir: string): Promise<ModelReport> => {
      const model = await loadStudentModel(path.join(dir, 'model.json'));
      try {
        const { diskBytes, gzipBytes } = folderBytes(dir);
        return { ...(await evaluate(model, weightBytes(model))), diskBytes, gzipBytes };
      } finally {
        model.dispose();
      }
    };
    const student = await studentReport(path.join(runDir, RUN_FILES.student));
    const compression = plannedStages(config.compress).length
      ? await compressionReports(runDir, config, evaluate, { student, teacherBytes: teacherBase.sizeBytes })
      : undefined;
    return {
      runId: this.status.runId,
      status: 'completed',
      backend,
      classNames: p.dataset.classNames,
      testSamples: p.test.labels.length,
      seconds,
      teacher: teacherBase,
      student,
      baseline: config.compare.baseline ? await studentReport(path.join(runDir, RUN_FILES.baseline)) : undefined,
      transfer: p.transfer,
      compression,
    };
  }

  private finish(status: Exclude<RunStatus, 'running'>, reason?: string, summary?: Summary): Finished {
    this.status = { ...this.status, status, reason, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
    this.writer.writeStatus(this.status);
    // The reason travels in `finished`, which every host prints or logs once; logging it here too doubled it.
    const message: Finished = { type: 'finished', status, reason, summary };
    this.send(message);
    return message;
  }

  /** Time spent on the run so far, across resumes (not counting the time it sat stopped). */
  private activeSeconds(): number {
    return this.priorSeconds + (Date.now() - this.sessionStart) / 1000;
  }

  private phase(phase: Extract<EngineToHost, { type: 'phase' }>['phase'], message: string) {
    this.send({ type: 'phase', phase, message });
  }

  private log(level: LogLevel, message: string) {
    this.send({ type: 'log', level, message });
  }
}

/** A helper process's writer: the run's own process writes the records it is sent; checkpoints are written here. */
class SentOnlyWriter extends RunWriter {
  override writeConfig(): void {}
  override appendMetrics(): void {}
  override appendSoftLabels(): void {}
  override writeProbe(): void {}
  override writeStatus(): void {}
  override writeSummary(): void {}
}

/** A failed file-system call (disk full, permissions, a path that became a file) in words, with the path; else undefined. */
function systemErrorReason(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || !err.syscall) return undefined;
  const what: Record<string, string> = { ENOSPC: 'the disk is full', EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'the file system is read-only', ENOTDIR: 'a part of the path is a file, not a folder', EISDIR: 'it is a folder', ENAMETOOLONG: 'the path is too long', EMFILE: 'too many open files', EEXIST: 'it already exists' };
  return `Could not ${err.syscall} ${err.path ?? 'a file'}: ${what[err.code] ?? err.code}. Free space or fix the permissions and paths (output.runsDir, output.cacheDir), then resume or start the run again.`;
}

/** One training step of the configured student on a tiny random batch: proves the backend has every kernel. */
async function probeTraining(config: DistillConfig): Promise<void> {
  const inputShape = config.data.inputShape ?? (config.data.format === 'idx' ? [28, 28, 1] : undefined);
  if (!inputShape && !('model' in config.student)) return;
  const model = 'model' in config.student ? await loadStudentModel(config.student.model) : buildPreset(config.student, inputShape!, 3, 0, 'student');
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  const shape = model.inputs[0].shape.slice(1).map((d) => d ?? 1);
  const optimizer = tf.train.adam(1e-3);
  try {
    tf.tidy(() => {
      const x = tf.randomUniform([2, ...shape]);
      const y = tf.tensor1d([0, 1 % classes], 'int32');
      const t = tf.randomNormal([2, classes]) as tf.Tensor2D;
      optimizer.minimize(() => kdLoss(model.apply(x, { training: true }) as tf.Tensor2D, t, y, { temperature: 2, alpha: 0.5, divergence: config.distillation.divergence }).loss, false, model.trainableWeights.map((w) => w.read() as tf.Variable));
    });
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

function disposePrepared(p: Prepared) {
  tf.dispose([p.train.x, p.train.y, p.train.teacherLogits, p.val.x, p.test.x, p.probe.x]);
  if (p.baselineTrain) tf.dispose([p.baselineTrain.x, p.baselineTrain.y, p.baselineTrain.teacherLogits]);
  p.teacher.dispose();
}

const rows = (flat: Float32Array, classes: number): number[][] =>
  Array.from({ length: flat.length / classes }, (_, i) => Array.from(flat.subarray(i * classes, (i + 1) * classes), (v) => Math.round(v * 1e4) / 1e4));

/** 8-bit thumbnails of image-like probe samples, rescaled per sample to the full grey range. */
function thumbnails(data: Float32Array, count: number, inputShape: number[]): ProbeInfo['thumbnails'] {
  if (inputShape.length !== 3 || ![1, 3].includes(inputShape[2])) return undefined;
  const [height, width, channels] = inputShape;
  const size = height * width * channels;
  const pixels: string[] = [];
  for (let i = 0; i < count; i++) {
    const row = data.subarray(i * size, (i + 1) * size);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of row) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = hi > lo ? Math.round(((row[j] - lo) / (hi - lo)) * 255) : 0;
    pixels.push(bytes.toString('base64'));
  }
  return { width, height, channels, pixels };
}
