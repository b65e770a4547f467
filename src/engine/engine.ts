/**
 * One distillation run, start to finish: backend, data, teacher logits, the KD student, the scratch baseline, the
 * test report. Knows nothing of VS Code: it talks through `send` (IPC in the child process, a callback in the CLI
 * and tests) and the run directory, which is the source of truth.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchSizeOf, FEATURE_DEFAULT_WEIGHT, inferenceBatchSize, resolveBatchSizes, type ConcreteBackend, type DistillConfig } from '../shared/config';
import { DistillError, errorMessage } from '../shared/errors';
import { modelName } from '../shared/format';
import type { EngineToHost, LogLevel, Progress } from '../shared/protocol';
import type {
  BackendReport,
  EpochRecord,
  MetricsRecord,
  ModelReport,
  RunStatus,
  SoftLabelRecord,
  StatusFile,
  StepRecord,
  StudentKind,
  Summary,
  TrainedRole,
} from '../shared/records';
import { listRuns, readJson, readJsonLines, RUN_FILES, RunWriter } from '../shared/runDir';
import { defaultRunName } from '../shared/runName';
import { selectBackend } from './backends/ladder';
import { probeTraining } from './backends/probe';
import { compressionReports, folderBytes, plannedStages, runCompression } from './compress';
import { loadDataset } from './data';
import { measureLatency, modelReport, validationMetrics } from './eval/report';
import { loadStudentModel, predictLogits, saveLayersModel, type LoadedModel } from './models/modelFiles';
import { buildPreset, weightBytes } from './models/presets';
import { PARALLEL_ENV, parallelStudentsDecision, startStudentHelper, type StudentHelper } from './parallelStudents';
import { disposePrepared, prepareData, type Prepared } from './prepare';
import { probeFiles, softLabelRows } from './probeFiles';
import { TeacherTrainingStopped } from './teachers';
import { ensembleReports } from './teachers/ensemble';
import { checkFeatureTeacher, FeatureDistiller } from './train/features';
import {
  hasInitialModel,
  loadInitialModel,
  markCheckpointDone,
  readCheckpointExtras,
  readCheckpointState,
  restoreCheckpoint,
  saveInitialModel,
  writeCheckpoint,
  type TrainPosition,
} from './train/checkpoint';
import { makeOptimizer } from './train/optimizer';
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

/** The threads a student of the run in `runDir` trains on out of `threads`: its architecture decides (threadsForModel). */
async function studentThreads(runDir: string, threads: number): Promise<number> {
  const initial = await loadInitialModel(runDir);
  try {
    return threadsForModel(threads, initial, 'student').threads;
  } finally {
    initial.dispose();
  }
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
    this.log(
      'info',
      reason === 'stopped' ? 'Stop requested: finishing the current step and writing a checkpoint…' : 'The parent process is gone: checkpointing and exiting…',
    );
  }

  async start(config: DistillConfig, runDir: string): Promise<Finished> {
    const runId = path.basename(runDir);
    checkOutputFolders(config);
    // A name people can tell runs apart by: the config's, plus what differs from the previous run (shared/runName.ts).
    config.runName ??= defaultRunName(
      config,
      listRuns(path.dirname(runDir)).flatMap((r) => (r.config ? [r.config] : [])),
    );
    this.status = {
      status: 'running',
      runId,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      totalEpochs: config.training.epochs,
    };
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

  /**
   * What a trial's preparation reads first, done ahead in a sweep's pool child: the backend started and the dataset
   * read into the engine's kept one (data/index.ts), where the trial's `loadDataset` finds it.
   */
  async loadData(config: DistillConfig): Promise<void> {
    await selectBackend(config.engine.backend, { log: (m: string) => this.log('info', m) });
    await loadDataset(config.data, (m) => this.log('info', m), { cacheDir: config.output.cacheDir, warn: (m) => this.log('warn', m) });
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
      // Before any teacher is trained or run: a teacher without layers cannot give features.
      checkFeatureTeacher(config);
      prepared = await this.prepare(config, inferenceBatchSize(backend.name), threads.threads);
      const outcome = await this.trainStudents(config, runDir, prepared);
      const compressed = outcome === 'completed' ? await this.compress(config, runDir, prepared) : outcome;
      if (compressed !== 'completed')
        return this.finish(
          compressed,
          compressed === 'stopped'
            ? `Stopped ${this.stoppedWhere ?? 'by the user'}; resume continues from the checkpoint.`
            : 'The parent process went away; resume continues from the checkpoint.',
        );
      this.phase('evaluating', 'Evaluating teacher and students on the test split…');
      const summary = await this.summarize(config, runDir, prepared, backend, this.activeSeconds());
      this.writer.writeSummary(summary);
      return this.finish('completed', undefined, summary);
    } catch (e) {
      if (e instanceof TeacherTrainingStopped) {
        this.status = { ...this.status, student: 'teacher', epoch: e.epoch, totalEpochs: e.totalEpochs };
        return this.finish(this.stopReason === 'interrupted' ? 'interrupted' : 'stopped', e.message);
      }
      const reason = e instanceof DistillError || e instanceof NonFiniteLossError ? e.message : (systemErrorReason(e) ?? `Internal error: ${errorMessage(e)}`);
      // The stack is for whoever fixes the bug: the log (and the CLI's --verbose), not the user's terminal.
      if (!(e instanceof DistillError) && !(e instanceof NonFiniteLossError)) this.log('debug', (e as Error)?.stack ?? String(e));
      return this.finish('failed', reason);
    } finally {
      if (prepared) disposePrepared(prepared);
    }
  }

  private prepare(config: DistillConfig, inferenceBatch: number, threads: number): Promise<Prepared> {
    return prepareData(config, inferenceBatch, threads, {
      log: (m) => this.log('info', m),
      warn: (m) => this.log('warn', m),
      phase: (p, m) => this.phase(p, m),
      runDir: (this.writer as RunWriter | undefined)?.dir,
      teacherTrainingStarts: async (model, totalSteps, position, data, settings) => {
        if (!this.writer) return;
        this.rewindRole('teacher', position);
        const teacherCost = forwardMacs(model) * batchSizeOf(settings);
        this.plan = await this.makePlan(config, data.inputShape, data.numClasses, data.trainRows, {
          steps: totalSteps,
          stepsPerEpoch: totalSteps / settings.epochs,
          costPerStep: teacherCost,
        });
      },
      teacherSteps: (records, progress) => (this.writer ? this.onSteps(records, progress) : this.send({ type: 'steps', records: [], progress })),
      teacherEpoch: async (epoch, train, seconds, totalEpochs, validation) => {
        if (!this.writer) return;
        const val = await validation();
        const record: EpochRecord = { kind: 'epoch', student: 'teacher', epoch, ...(val ? { val } : {}), train, seconds };
        this.writer.appendMetrics([record]);
        this.status = { ...this.status, epoch, student: 'teacher', totalEpochs, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
        this.writer.writeStatus(this.status);
        this.send({ type: 'epoch', record, progress: this.withRun({ student: 'teacher', epoch, totalEpochs, step: 0, stepsPerEpoch: 0 }) });
      },
      validationRows: (count, note) => {
        // Only a run has a status file; preparing a sweep's teacher (prepareTeacher) has none.
        if (!this.writer || !this.status) return;
        this.status = { ...this.status, validationRows: count, ...(note ? { note } : {}) };
        this.writer.writeStatus(this.status);
      },
      shouldStop: () => this.stopReason !== undefined,
    });
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
    let decision: { parallel: boolean; why: string } | undefined;
    if (students.length === 2) {
      // A student on several threads (engine.threads) already uses the cores; a second process only when forced.
      // A dense-only one trains on 1 thread whatever engine.threads says (threadsForModel), which leaves a core free.
      const threads = p.threads > 1 ? await studentThreads(runDir, p.threads) : 1;
      decision =
        threads > 1 && process.env[PARALLEL_ENV] !== '1'
          ? { parallel: false, why: `each trains on ${threads} threads (engine.threads)` }
          : await parallelStudentsDecision(this.backendName);
    }
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
    const student =
      'model' in config.student
        ? await loadStudentModel(config.student.model)
        : buildPreset(config.student, p.dataset.inputShape, p.numClasses, config.seed, 'student');
    const outShape = student.outputs[0].shape;
    const outputs = outShape[outShape.length - 1];
    const where = 'model' in config.student ? config.student.model : `preset "${config.student.preset}"`;
    if (outputs !== p.numClasses) {
      student.dispose();
      throw new DistillError(
        'model',
        `Class counts disagree: the student (${where}) outputs ${outputs} classes, but the data and teacher have ${p.numClasses}. Give the student a last layer of ${p.numClasses} units.`,
        { path: ['student'] },
      );
    }
    const inShape = student.inputs[0].shape.slice(1);
    if (inShape.some((d, i) => d !== null && d !== p.dataset.inputShape[i]) || inShape.length !== p.dataset.inputShape.length) {
      student.dispose();
      throw new DistillError(
        'model',
        `Input shapes disagree: the student (${where}) expects [${inShape.join(', ')}] per sample, but the data gives [${p.dataset.inputShape.join(', ')}]. Set data.inputShape or use a matching student.`,
        { path: ['student'] },
      );
    }
    return student;
  }

  private async trainOne(config: DistillConfig, runDir: string, p: Prepared, student: StudentKind): Promise<'completed' | StopReason> {
    const settings = config.training;
    const optimizer = makeOptimizer(settings);
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
    this.phase('training', `Training the ${modelName(student)} (${settings.epochs} epochs, batch ${settings.batchSize})…`);
    const epochStart = { at: Date.now() };
    // A transfer set's scratch student learns from the labelled rows only, cycled to the KD student's step count.
    // So does a KD student at a constant α = 0 (a sweep's shared baseline): unlabelled rows would carry no loss.
    const scratch = student === 'baseline' || (config.distillation.alpha === 0 && config.distillation.schedule.type === 'constant');
    const labelledOnly = scratch && p.baselineTrain !== undefined;
    const modelThreads = threadsForModel(p.threads, model, student === 'kd' ? 'KD student' : 'scratch student');
    if (modelThreads.note) this.log('info', modelThreads.note);
    let features: FeatureDistiller | undefined;
    try {
      const pairs = student === 'kd' ? config.distillation.features : undefined;
      if (pairs?.length) {
        // Names, ranks and sizes are checked on one training row before the first step; the adapters come back
        // from the checkpoint when resuming.
        const sample = tf.slice(p.train.x, 0, 1);
        try {
          features = await FeatureDistiller.create(pairs, model, p.teacherMembers?.map((m) => m.teacher) ?? [p.teacher], sample, config.seed);
        } finally {
          sample.dispose();
        }
        if (checkpoint) {
          const saved = readCheckpointExtras(runDir, student);
          try {
            features.load(saved);
          } finally {
            saved.forEach((t) => t.dispose());
          }
        }
        this.log(
          'info',
          `Feature distillation: ${pairs.map((f, i) => `${f.teacher}${p.teacherMembers ? ` of teacher ${f.teacherIndex ?? 0}` : ''} → ${f.student} (${f.loss}, weight ${features!.weights[i]})`).join('; ')}; the teacher's features are computed per batch.`,
        );
      }
      const outcome = await train({
        role: student,
        features,
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
          await writeCheckpoint(runDir, model, optimizer, { student, position, done: false, savedAt: new Date().toISOString() }, features?.namedTensors());
        },
        shouldStop: () => this.stopReason !== undefined,
      });
      if (outcome.kind === 'stopped') {
        await writeCheckpoint(
          runDir,
          model,
          optimizer,
          { student, position: outcome.position, done: false, savedAt: new Date().toISOString() },
          features?.namedTensors(),
        );
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
      features?.dispose();
      model.dispose();
      optimizer.dispose();
    }
  }

  private async endEpoch(
    p: Prepared,
    model: tfl.LayersModel,
    student: StudentKind,
    epoch: number,
    trainStats: EpochTrainStats,
    seconds: number,
    totalEpochs: number,
  ) {
    const layers: LoadedModel = { kind: 'layers', model };
    const val = p.val.count ? validationMetrics(await predictLogits(layers, p.val.x, p.inferenceBatch), p.val.labels, p.val.teacher, p.numClasses) : undefined;
    const { rows: seen, ...train } = trainStats;
    const record: EpochRecord = { kind: 'epoch', student, epoch, ...(val ? { val } : {}), train, rows: seen, seconds };
    this.writer.appendMetrics([record]);
    const probeLogits = await predictLogits(layers, p.probe.x, p.inferenceBatch);
    const soft: SoftLabelRecord = { kind: 'student', student, epoch, logits: softLabelRows(probeLogits, p.numClasses) };
    this.writer.appendSoftLabels(soft);
    this.status = { ...this.status, epoch, student, totalEpochs, updatedAt: new Date().toISOString(), activeSeconds: this.activeSeconds() };
    this.writer.writeStatus(this.status);
    const progress: Progress = this.withRun({ student, epoch, totalEpochs, step: 0, stepsPerEpoch: 0 });
    this.send({ type: 'epoch', record, progress });
    this.send({ type: 'softLabels', record: soft });
    const v = record.val;
    const valText = v
      ? `, val accuracy ${(v.accuracy * 100).toFixed(2)}%, agreement ${(v.agreement * 100).toFixed(2)}%, KL ${v.klToTeacher.toFixed(4)}`
      : `, train accuracy ${(trainStats.accuracy * 100).toFixed(2)}%`;
    this.log(
      'info',
      `[${student}] epoch ${epoch}/${totalEpochs}: loss ${trainStats.loss.toFixed(4)}${trainStats.feature !== undefined ? ` (feature term ${trainStats.feature.toFixed(4)})` : ''}${valText}`,
    );
  }

  private async writeProbeFiles(p: Prepared): Promise<void> {
    const { info, teacher, inputSpec } = await probeFiles(p);
    this.writer.writeProbe(info);
    this.writer.writeInputSpec(inputSpec);
    this.writer.writeTeacherSoftLabels(teacher);
    for (const record of teacher) this.send({ type: 'softLabels', record });
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
    const run = progress.stepsPerEpoch
      ? this.plan.update(role, (progress.epoch - 1) * progress.stepsPerEpoch + progress.step)
      : this.plan.epochDone(role, progress.epoch);
    return { ...progress, run };
  }

  /** The run's training phases: the teacher's (when it trains in this run), then the students'. */
  private async makePlan(
    config: DistillConfig,
    inputShape: number[],
    numClasses: number,
    trainCount: number,
    teacher?: Omit<PlannedPhase, 'role'>,
  ): Promise<RunPlan> {
    const student =
      'model' in config.student ? await loadStudentModel(config.student.model) : buildPreset(config.student, inputShape, numClasses, config.seed, 'student');
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
    const keepStep = (epoch: number, step: number) =>
      !!position && (epoch < position.epoch + 1 || (epoch === position.epoch + 1 && step <= position.stepInEpoch));
    this.writer.truncateAfterCheckpoint(
      (r: MetricsRecord) => r.student !== role || (r.kind === 'step' ? keepStep(r.epoch, r.step) : !!position && r.epoch <= position.epoch),
    );
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
    this.writer.truncateAfterCheckpoint(
      (r: MetricsRecord) => r.student === 'teacher' || (r.kind === 'step' ? keepStep(r.student, r.epoch, r.step) : keepEpoch(r.student, r.epoch)),
    );
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
      ...(p.teacherMembers ? await ensembleReports(config, p.teacherMembers, p.test, C, latency) : {}),
      student,
      baseline: config.compare.baseline ? await studentReport(path.join(runDir, RUN_FILES.baseline)) : undefined,
      transfer: p.transfer,
      ...(config.distillation.features?.length ? { features: this.featureSummary(config) } : {}),
      compression,
    };
  }

  /** The feature pairs with their weights, and the KD student's feature term in its first and last epoch. */
  private featureSummary(config: DistillConfig): NonNullable<Summary['features']> {
    const epochs = readJsonLines<MetricsRecord>(path.join(this.writer.dir, RUN_FILES.metrics)).flatMap((r) =>
      r.kind === 'epoch' && r.student === 'kd' && r.train.feature !== undefined ? [r.train.feature] : [],
    );
    const pairs = config.distillation.features!.map((f) => ({
      teacher: f.teacher,
      student: f.student,
      loss: f.loss,
      weight: f.weight ?? FEATURE_DEFAULT_WEIGHT[f.loss],
      ...(Array.isArray(config.teacher) ? { teacherIndex: f.teacherIndex ?? 0 } : {}),
    }));
    return { pairs, ...(epochs.length ? { firstEpoch: epochs[0], lastEpoch: epochs[epochs.length - 1] } : {}) };
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
  override writeTeacherSoftLabels(): void {}
  override writeProbe(): void {}
  override writeStatus(): void {}
  override writeSummary(): void {}
}

/** A failed file-system call (disk full, permissions, a path that became a file) in words, with the path; else undefined. */
function systemErrorReason(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || !err.syscall) return undefined;
  const what: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EISDIR: 'it is a folder',
    ENAMETOOLONG: 'the path is too long',
    EMFILE: 'too many open files',
    EEXIST: 'it already exists',
  };
  return `Could not ${err.syscall} ${err.path ?? 'a file'}: ${what[err.code] ?? err.code}. Free space or fix the permissions and paths (output.runsDir, output.cacheDir), then resume or start the run again.`;
}
