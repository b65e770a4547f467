/**
 * One distillation run, start to finish: backend, data, teacher logits, the KD student, the scratch baseline, the
 * test report. Knows nothing of VS Code: it talks through `send` (IPC in the child process, a callback in the CLI
 * and tests) and the run directory, which is the source of truth.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { inferenceBatchSize, resolveBatchSizes, type ConcreteBackend, type DistillConfig } from '../shared/config';
import { DistillError, errorMessage } from '../shared/errors';
import type { EngineToHost, LogLevel, Progress } from '../shared/protocol';
import type { BackendReport, EpochRecord, MetricsRecord, ModelReport, ProbeInfo, RunStatus, SoftLabelRecord, StatusFile, StudentKind, Summary } from '../shared/records';
import { readJson, RUN_FILES, RunWriter } from '../shared/runDir';
import { selectBackend } from './backends/ladder';
import { gatherSamples, loadDataset, selectProbe, stratifiedSplit, type Dataset } from './data';
import { compressionReports, folderBytes, plannedStages, runCompression } from './compress';
import { countParams, loadedWeightBytes, measureLatency, modelReport, validationMetrics } from './eval/report';
import { kdLoss } from './kd/losses';
import { loadStudentModel, predictLogits, saveLayersModel, type LoadedModel } from './models/modelFiles';
import { buildPreset, weightBytes } from './models/presets';
import { PARALLEL_ENV, parallelStudentsDecision, startStudentHelper, type StudentHelper } from './parallelStudents';
import { teacherLogits, TeacherTrainingStopped } from './teacher';
import { hasInitialModel, loadInitialModel, readCheckpointState, restoreCheckpoint, saveInitialModel, writeCheckpoint, type CheckpointState } from './train/checkpoint';
import { resolveThreads } from './train/threads';
import { NonFiniteLossError, train } from './train/trainer';
import { checkOutputFolders } from './outputFolders';

export type Send = (message: EngineToHost) => void;
type Finished = Extract<EngineToHost, { type: 'finished' }>;

/** Why training ends early: the user's stop, or the parent process going away. */
export type StopReason = 'stopped' | 'interrupted';

interface Prepared {
  /** What later stages need of the dataset; its large arrays are not kept once they live in tensors. */
  dataset: Pick<Dataset, 'inputShape' | 'classNames'>;
  numClasses: number;
  /** Rows per forward pass when computing logits: larger on a GPU. */
  inferenceBatch: number;
  /** Threads each training step is split over (engine.threads, resolved for the backend). */
  threads: number;
  /** Training rows after the validation split. */
  train: { x: tf.Tensor; y: tf.Tensor1D; teacherLogits: tf.Tensor2D; count: number };
  val: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array };
  test: { x: tf.Tensor; labels: Int32Array; teacher: Float32Array };
  probe: { x: tf.Tensor; indices: number[] };
  teacherModel?: LoadedModel;
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
      prepared = await this.prepare(config, inferenceBatchSize(backend.name), resolveThreads(config.engine.threads, backend.name).threads);
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
    if (previous.status === 'failed' && !hasInitialModel(runDir)) {
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
      const threads = resolveThreads(config.engine.threads, backend.name);
      if (threads.filled) config.engine.threads = threads.threads;
      if (filled) this.log('info', filled);
      this.log('info', `Threads: ${threads.threads} (${threads.reason})`);
      if (filled || threads.filled) this.writer.writeConfig(config);
      prepared = await this.prepare(config, inferenceBatchSize(backend.name), threads.threads);
      const outcome = await this.trainStudents(config, runDir, prepared, resumed);
      const compressed = outcome === 'completed' ? await this.compress(config, runDir, prepared) : outcome;
      if (compressed !== 'completed') return this.finish(compressed, compressed === 'stopped' ? 'Stopped by the user; resume continues from the checkpoint.' : 'The parent process went away; resume continues from the checkpoint.');
      this.phase('evaluating', 'Evaluating teacher and students on the test split…');
      const summary = await this.summarize(config, runDir, prepared, backend, this.activeSeconds());
      this.writer.writeSummary(summary);
      return this.finish('completed', undefined, summary);
    } catch (e) {
      if (e instanceof TeacherTrainingStopped) return this.finish(this.stopReason === 'interrupted' ? 'interrupted' : 'stopped', e.message);
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
    const dataset = await loadDataset(config.data, (m) => this.log('info', m));
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
        threads,
        log: (m) => this.log('info', m),
        phase: (p, m) => this.phase(p, m),
        progress: (p) => this.send({ type: 'steps', records: [], progress: p }),
        shouldStop: () => this.stopReason !== undefined,
      });
      this.log('info', `Teacher: ${teacher.source}`);
      const pick = (all: Float32Array, idx: Int32Array) => {
        const out = new Float32Array(idx.length * numClasses);
        idx.forEach((r, i) => out.set(all.subarray(r * numClasses, (r + 1) * numClasses), i * numClasses));
        return out;
      };
      const valTeacher = pick(teacher.train, split.valIdx);
      const probeIdx = selectProbe(valRows.y, numClasses, Math.min(config.evaluation.probeSize, valRows.count), config.seed);
      const probeRows = gatherSamples(valRows, probeIdx, sample);
      return {
        dataset: { inputShape: dataset.inputShape, classNames: dataset.classNames },
        numClasses,
        inferenceBatch,
        threads,
        train: { x: xTrain, y: yTrain, teacherLogits: tf.tensor2d(pick(teacher.train, split.trainIdx), [trainRows.count, numClasses]), count: trainRows.count },
        val: { x: toX(valRows), labels: valRows.y, teacher: valTeacher },
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

  /** Train the KD student, then the scratch baseline, each from its checkpoint when resuming. */
  private async trainStudents(config: DistillConfig, runDir: string, p: Prepared, resumed: boolean): Promise<'completed' | StopReason> {
    const students: StudentKind[] = config.compare.baseline ? ['kd', 'baseline'] : ['kd'];
    // A run stopped before its first checkpoint (during the teacher's training) starts its students afresh.
    if (!resumed || !hasInitialModel(runDir)) {
      await this.writeProbeFiles(p);
      const initial = await this.buildStudent(config, p);
      await saveInitialModel(runDir, initial);
      initial.dispose();
    } else {
      this.rewindToCheckpoints(runDir, students);
    }
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
      prepared = await this.prepare(config, inferenceBatchSize(backend), resolveThreads(config.engine.threads, backend).threads);
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
    this.phase('training', `Training the ${student === 'kd' ? 'KD' : 'scratch baseline'} student (${settings.epochs} epochs, batch ${settings.batchSize})…`);
    const epochStart = { at: Date.now() };
    try {
      const outcome = await train({
        role: student,
        model,
        optimizer,
        data: p.train,
        settings,
        distillation: config.distillation,
        alphaOverride: student === 'baseline' ? 0 : undefined,
        seed: config.seed,
        threads: p.threads,
        start,
        onSteps: (records, progress) => {
          this.writer.appendMetrics(records);
          this.send({ type: 'steps', records, progress });
        },
        onEpochEnd: async (epoch, trainStats, position) => {
          await this.endEpoch(p, model, student, epoch, trainStats, (Date.now() - epochStart.at) / 1000, settings.epochs);
          epochStart.at = Date.now();
          await writeCheckpoint(runDir, model, optimizer, { student, position, done: false, savedAt: new Date().toISOString() });
        },
        shouldStop: () => this.stopReason !== undefined,
      });
      if (outcome.kind === 'stopped') {
        await writeCheckpoint(runDir, model, optimizer, { student, position: outcome.position, done: false, savedAt: new Date().toISOString() });
        return this.stopReason ?? 'stopped';
      }
      this.phase('writing', `Saving the ${student} student…`);
      await saveLayersModel(model, path.join(runDir, student === 'kd' ? RUN_FILES.student : RUN_FILES.baseline));
      const state = readCheckpointState(runDir, student);
      fs.writeFileSync(path.join(runDir, 'checkpoints', student, 'state.json'), JSON.stringify({ ...state, done: true } satisfies Partial<CheckpointState>, null, 2));
      return 'completed';
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  }

  private async endEpoch(p: Prepared, model: tfl.LayersModel, student: StudentKind, epoch: number, trainStats: { loss: number; accuracy: number }, seconds: number, totalEpochs: number) {
    const layers: LoadedModel = { kind: 'layers', model };
    const valLogits = await predictLogits(layers, p.val.x, p.inferenceBatch);
    const record: EpochRecord = { kind: 'epoch', student, epoch, val: validationMetrics(valLogits, p.val.labels, p.val.teacher, p.numClasses), train: trainStats, seconds };
    this.writer.appendMetrics([record]);
    const probeLogits = await predictLogits(layers, p.probe.x, p.inferenceBatch);
    const soft: SoftLabelRecord = { kind: 'student', student, epoch, logits: rows(probeLogits, p.numClasses) };
    this.writer.appendSoftLabels(soft);
    this.status = { ...this.status, epoch, student, totalEpochs, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
    this.writer.writeStatus(this.status);
    const progress: Progress = { student, epoch, totalEpochs, step: 0, stepsPerEpoch: 0 };
    this.send({ type: 'epoch', record, progress });
    this.send({ type: 'softLabels', record: soft });
    const v = record.val;
    this.log('info', `[${student}] epoch ${epoch}/${totalEpochs}: loss ${trainStats.loss.toFixed(4)}, val accuracy ${(v.accuracy * 100).toFixed(2)}%, agreement ${(v.agreement * 100).toFixed(2)}%, KL ${v.klToTeacher.toFixed(4)}`);
  }

  private async writeProbeFiles(p: Prepared): Promise<void> {
    const valTeacher = p.val.teacher;
    const probeTeacher = new Float32Array(p.probe.indices.length * p.numClasses);
    p.probe.indices.forEach((r, i) => probeTeacher.set(valTeacher.subarray(r * p.numClasses, (r + 1) * p.numClasses), i * p.numClasses));
    const info: ProbeInfo = {
      indices: p.probe.indices,
      labels: p.probe.indices.map((i) => p.val.labels[i]),
      classNames: p.dataset.classNames,
      inputShape: p.dataset.inputShape,
      thumbnails: thumbnails((await p.probe.x.data()) as Float32Array, p.probe.indices.length, p.dataset.inputShape),
    };
    this.writer.writeProbe(info);
    const teacher: SoftLabelRecord = { kind: 'teacher', logits: rows(probeTeacher, p.numClasses) };
    this.writer.appendSoftLabels(teacher);
    this.send({ type: 'softLabels', record: teacher });
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
    this.writer.truncateAfterCheckpoint((r: MetricsRecord) => (r.kind === 'step' ? keepStep(r.student, r.epoch, r.step) : keepEpoch(r.student, r.epoch)));
    this.writer.truncateSoftLabels((r) => r.kind === 'teacher' || keepEpoch(r.student, r.epoch));
  }

  private async summarize(config: DistillConfig, runDir: string, p: Prepared, backend: BackendReport, seconds: number): Promise<Summary> {
    const C = p.numClasses;
    const shape = p.dataset.inputShape;
    const latency = config.evaluation.latency;
    const teacherBase = modelReport(p.test.teacher, p.test.labels, C, {
      params: p.teacherModel ? countParams(p.teacherModel) : null,
      sizeBytes: p.teacherModel ? loadedWeightBytes(p.teacherModel) : undefined,
      latencyMs: latency && p.teacherModel ? await measureLatency(p.teacherModel, shape) : undefined,
    });
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
  p.teacherModel?.model.dispose();
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
