/**
 * Starting, stopping and resuming runs from VS Code. One run at a time: a second Start or Resume while one is
 * active is refused with a message that says which run is active and offers to stop it (queueing would hide a
 * long wait behind a click). The engine runs in a child process (`engineClient.ts`); this class turns its
 * messages into one progress notification for the whole run (a determinate bar over teacher, KD student and
 * baseline; cancel = Stop), log lines, and the final message. There is no status-bar item of our own: VS Code shows
 * the notification's progress in the status bar when it is hidden, and a second item beside it said the same twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillConfig } from '../shared/config';
import { errorMessage } from '../shared/errors';
import type { EnginePhase, EngineToHost, HostToEngine, Progress } from '../shared/protocol';
import { newRunId, readRun } from '../shared/runDir';
import { backendCanStart, INSTALL_GPU_ENGINE_COMMAND } from './backendCheck';
import { needsGpuEngine } from '../shared/backendCheck';
import { INSTALL_ONNX_COMMAND, needsOnnxRuntime } from './commands/onnxRuntimeCommands';
import type { ConfigDiagnostics } from './diagnostics';
import { EngineProcess, type EngineExit } from './engineClient';
import { canResume, describeExit, resumeFromNotification, settleRunAfterExit } from './runFiles';
import { completionText, progressPercent, progressText } from './runText';
import { readSettings } from './settings';
import { requireTrust } from './trust';
import { configFileModule, configModule } from './lazy';

/** How long a stopping engine gets to finish its step and write a checkpoint before it is killed. */
export const STOP_GRACE_MS = 30_000;
/** Progress updates reach the UI at most this often. */
const UI_INTERVAL_MS = 250;

export interface ActiveRun {
  runDir: string;
  title: string;
  engine: EngineProcess;
  progress?: Progress;
  phase?: string;
  stopping?: boolean;
}

export interface RunEvents {
  /** The run list changed on disk (a run started or ended). */
  onRunsChanged(): void;
  /** The run being trained and its latest progress (`runDir` undefined: none is). */
  onProgress(runDir: string | undefined, progress?: Progress): void;
}

export class RunController implements vscode.Disposable {
  private activeRun: ActiveRun | undefined;

  constructor(
    private readonly enginePath: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly diagnostics: ConfigDiagnostics,
    private readonly events: RunEvents,
  ) {}

  get active(): ActiveRun | undefined {
    return this.activeRun;
  }

  /**
   * Validate the config (problems go to the Problems panel and stop the start), then start a run of it.
   * Returns the new run's directory, or undefined when nothing started.
   */
  async start(configUri: vscode.Uri): Promise<string | undefined> {
    if (!requireTrust('start a run') || this.refuseSecondRun()) return undefined;
    const doc = await vscode.workspace.openTextDocument(configUri);
    const errors = this.diagnostics.check(doc);
    if (errors.length) {
      const show = 'Show Problems';
      void vscode.window
        .showErrorMessage(
          `Distill: ${path.basename(configUri.fsPath)} has ${errors.length} problem${errors.length > 1 ? 's' : ''}, so the run did not start. First: line ${errors[0].range.start.line + 1}: ${errors[0].message}`,
          show,
        )
        .then((c) => c === show && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return undefined;
    }
    const { parseConfigText, ConfigError } = configFileModule();
    let config: DistillConfig;
    try {
      config = parseConfigText(doc.getText(), configUri.fsPath);
    } catch (e) {
      void vscode.window.showErrorMessage(`Distill: ${e instanceof ConfigError ? e.message : `cannot read the config: ${errorMessage(e)}`}`);
      return undefined;
    }
    const settings = readSettings(configUri);
    if (settings.runsDirectory) config.output.runsDir = settings.runsDirectory;
    if (settings.backend) {
      const backends: readonly string[] = configModule().BACKENDS;
      if (!backends.includes(settings.backend)) {
        const open = 'Open Settings';
        void vscode.window
          .showErrorMessage(`Distill: the setting "distill.engine.backend" is "${settings.backend}", which is not a backend. Use one of ${backends.join(', ')}, or leave it empty to use the config's.`, open)
          .then((c) => c === open && vscode.commands.executeCommand('workbench.action.openSettings', 'distill.engine.backend'));
        return undefined;
      }
      config.engine.backend = settings.backend as DistillConfig['engine']['backend'];
    }
    // A named backend that cannot load here is found now, before a run directory exists (backendCheck.ts).
    const startAgain = () => void this.start(configUri);
    if (!(await backendCanStart({ backend: config.engine.backend, fromSetting: !!settings.backend, configUri, enginePath: this.enginePath, log: this.log, startAgain }))) return undefined;
    const runDir = path.join(config.output.runsDir, newRunId(config.name));
    return this.launch({ type: 'start', config, runDir }, runDir, config.name);
  }

  /** Continue a stopped, interrupted or failed run from its last checkpoint. */
  async resume(runDir: string): Promise<string | undefined> {
    if (!requireTrust('resume a run') || this.refuseSecondRun()) return undefined;
    const run = readRun(runDir);
    if (!run) {
      void vscode.window.showErrorMessage(`Distill: ${runDir} is not a run directory (it has no status.json).`);
      return undefined;
    }
    if (!canResume(run)) {
      void vscode.window.showErrorMessage(
        run.status === 'completed'
          ? `Distill: run ${run.runId} already completed; there is nothing to resume. Start a new run instead.`
          : run.status === 'running'
            ? `Distill: run ${run.runId} is still running (engine pid ${run.statusFile?.pid ?? '?'}); it cannot be resumed twice.`
            : `Distill: run ${run.runId} has no checkpoint to resume from: it ended before it could write one. Start a new run instead.`,
      );
      return undefined;
    }
    return this.launch({ type: 'resume', runDir }, runDir, run.config?.name ?? run.runId);
  }

  /** Ask the active run to stop (checkpoint first); kill it if it has not stopped after `STOP_GRACE_MS`. */
  async stop(): Promise<void> {
    const active = this.activeRun;
    if (!active) {
      void vscode.window.showInformationMessage('Distill: no run is active.');
      return;
    }
    active.stopping = true;
    this.log.info(`Stopping ${active.runDir}`);
    await active.engine.stop(STOP_GRACE_MS);
  }

  private refuseSecondRun(): boolean {
    const active = this.activeRun;
    if (!active) return false;
    const stop = 'Stop Active Run';
    const open = 'Open Its Dashboard';
    void vscode.window
      .showWarningMessage(`Distill runs one experiment at a time, and "${active.title}" is still running. Stop it first, or wait until it ends.`, stop, open)
      .then((c) => {
        if (c === stop) void this.stop();
        if (c === open) void vscode.commands.executeCommand('distill.openDashboard', active.runDir);
      });
    return true;
  }

  private launch(request: HostToEngine, runDir: string, title: string): string | undefined {
    // Checked again here: validation awaited, and another start may have won meanwhile.
    if (this.refuseSecondRun()) return undefined;
    if (!fs.existsSync(this.enginePath)) {
      void vscode.window.showErrorMessage(`Distill: the engine bundle ${this.enginePath} is missing. Reinstall the extension (in a development checkout: npm run build).`);
      return undefined;
    }
    const { nodePath, optionalModules } = readSettings();
    const engine = EngineProcess.fork({
      enginePath: this.enginePath,
      nodePath,
      // The engine's backend ladder looks here first for tfjs-node(-gpu) and webgpu (see backends/ladder.ts).
      env: optionalModules ? { DISTILL_OPTIONAL_MODULES: optionalModules } : undefined,
      onOutput: (stream, line) => (stream === 'stderr' ? this.log.warn(`[engine] ${line}`) : this.log.info(`[engine] ${line}`)),
    });
    const active: ActiveRun = { runDir, title, engine };
    this.activeRun = active;
    void vscode.commands.executeCommand('setContext', 'distill.runActive', true);
    this.log.info(`${request.type === 'start' ? 'Starting' : 'Resuming'} ${runDir} (engine pid ${engine.pid ?? '?'}, Node ${nodePath || process.execPath})`);
    engine.onMessage((m) => this.onEngineMessage(active, m));
    engine.send(request);
    this.events.onProgress(runDir);
    this.showProgress(active);
    void engine.exited.then((exit) => this.onEngineExit(active, exit));
    return runDir;
  }

  private onEngineMessage(active: ActiveRun, message: EngineToHost): void {
    switch (message.type) {
      case 'started':
        // The engine logs the backend choice itself; this line ties the run to the window's log.
        this.log.info(`Run ${message.runId} ${message.resumed ? 'resumed' : 'started'} on ${message.backend.name}`);
        this.events.onRunsChanged();
        break;
      case 'phase':
        active.phase = message.message || PHASES[message.phase];
        break;
      case 'steps':
      case 'epoch':
        // Shown by the UI loop in `showProgress`, at most every UI_INTERVAL_MS whatever the engine's rate.
        active.progress = message.progress;
        active.phase = undefined;
        break;
      case 'log':
        this.log[message.level](message.message);
        break;
      case 'finished':
        this.log.info(`Run finished: ${message.status}${message.reason ? ` (${message.reason})` : ''}`);
        break;
      case 'softLabels':
        break;
    }
  }

  /** A notification that follows the run until it ends; its Cancel button stops the run. */
  private showProgress(active: ActiveRun): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Distill: ${active.title}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          token.onCancellationRequested(() => void this.stop());
          let last = '';
          let lastProgress: Progress | undefined;
          // The bar is determinate: `increment`s add up to the run's percentage (whole run, not per model).
          let reported = 0;
          const update = () => {
            const text = statusText(active);
            const percent = active.progress ? Math.floor(progressPercent(active.progress)) : 0;
            const increment = percent > reported ? percent - reported : undefined;
            if (text !== last || increment) progress.report({ message: text, increment });
            if (increment) reported = percent;
            last = text;
            if (active.progress !== lastProgress) this.events.onProgress(active.runDir, active.progress);
            lastProgress = active.progress;
          };
          update();
          const timer = setInterval(update, UI_INTERVAL_MS);
          void active.engine.exited.then(() => {
            clearInterval(timer);
            resolve();
          });
        }),
    );
  }

  private onEngineExit(active: ActiveRun, exit: EngineExit): void {
    if (this.activeRun === active) this.activeRun = undefined;
    void vscode.commands.executeCommand('setContext', 'distill.runActive', false);
    this.events.onProgress(undefined);
    const reason = describeExit(exit, STOP_GRACE_MS);
    this.log.info(`Engine exited (code ${exit.code}, signal ${exit.signal ?? 'none'})`);
    // A run the engine could not settle (killed, crashed) is settled here, so the Runs view tells the truth.
    const settled = exit.finished ? undefined : settleRunAfterExit(active.runDir, exit, reason);
    if (settled) this.log.warn(`Marked ${active.runDir} as ${settled.status}: ${reason}`);
    this.events.onRunsChanged();
    void this.report(active, exit, reason);
  }

  private async report(active: ActiveRun, exit: EngineExit, reason: string): Promise<void> {
    const openLog = 'Open Log';
    const resume = 'Resume';
    const dashboard = 'Open Dashboard';
    const exportStudent = 'Export Student';
    const run = readRun(active.runDir);
    const resumable = run ? canResume(run) : false;
    let choice: string | undefined;
    if (exit.spawnError) {
      const settings = 'Open Settings';
      choice = await vscode.window.showErrorMessage(`Distill: ${reason}. Check the setting "distill.engine.nodePath" (empty uses VS Code's own Node).`, settings, openLog);
      if (choice === settings) void vscode.commands.executeCommand('workbench.action.openSettings', 'distill.engine.nodePath');
    } else if (exit.finished?.status === 'completed') {
      const summary = exit.finished.summary ?? run?.summary;
      choice = await vscode.window.showInformationMessage(`Distill: "${active.title}" completed. ${summary ? completionText(summary) : ''}`, dashboard, exportStudent);
    } else if (exit.finished?.status === 'stopped') {
      choice = await vscode.window.showInformationMessage(
        `Distill: "${active.title}" stopped${exit.finished.reason ? ` ${stopWhere(exit.finished.reason)}` : ''}${resumable ? '; Resume continues from its checkpoint' : ''}.`,
        ...(resumable ? [resume] : []),
        dashboard,
      );
    } else if (exit.finished) {
      const installOnnx = needsOnnxRuntime(exit.finished.reason) ? ['Install ONNX Runtime'] : [];
      // A resumed run names its backend in its own config.json, which the check before a start does not see.
      const installGpu = needsGpuEngine(exit.finished.reason) ? ['Install GPU Engine'] : [];
      choice = await vscode.window.showErrorMessage(`Distill: "${active.title}" ${exit.finished.status}: ${exit.finished.reason ?? 'no reason given'}`, ...installOnnx, ...installGpu, openLog, ...(resumable ? [resume] : []));
      if (choice === 'Install ONNX Runtime') void vscode.commands.executeCommand(INSTALL_ONNX_COMMAND);
      if (choice === 'Install GPU Engine') void vscode.commands.executeCommand(INSTALL_GPU_ENGINE_COMMAND);
    } else if (exit.killedAfterTimeout) {
      choice = await vscode.window.showWarningMessage(`Distill: "${active.title}": ${reason}. Metrics written so far are kept${resumable ? '; Resume continues from the last checkpoint' : ''}.`, openLog, ...(resumable ? [resume] : []));
    } else {
      choice = await vscode.window.showErrorMessage(
        `Distill: the engine stopped unexpectedly during "${active.title}": ${reason}. The run is marked ${run?.status ?? 'interrupted'}; metrics written so far are kept.`,
        openLog,
        ...(resumable ? [resume] : []),
      );
    }
    if (choice === openLog) this.log.show();
    if (choice === resume) await this.resumeFromNotification(active);
    if (choice === dashboard) void vscode.commands.executeCommand('distill.openDashboard', active.runDir);
    if (choice === exportStudent) void vscode.commands.executeCommand('distill.exportStudent', active.runDir);
  }

  /** The Resume button of an earlier notification: the run may have moved on since, so it is read again first. */
  private async resumeFromNotification(ended: ActiveRun): Promise<void> {
    const decision = resumeFromNotification(ended.runDir, ended.title, this.activeRun?.runDir);
    if (decision.resume) {
      await this.resume(ended.runDir);
      return;
    }
    const dashboard = 'Open Dashboard';
    const choice = await vscode.window.showInformationMessage(`Distill: ${decision.message}`, ...(decision.runExists ? [dashboard] : []));
    if (choice === dashboard) void vscode.commands.executeCommand('distill.openDashboard', ended.runDir);
  }

  /**
   * On shutdown, ask the engine to stop: it writes a checkpoint and ends as `stopped`. It is not killed, which would
   * lose that checkpoint; if the host vanishes first, the engine notices its parent is gone and stops on its own.
   */
  dispose(): void {
    this.activeRun?.engine.send({ type: 'stop' });
  }
}

/** "while training the teacher (epoch 2 of 3, step 10)" from the engine's stop reason, when it says where. */
const stopWhere = (reason: string): string => /^Stopped (while [^;]*)/.exec(reason)?.[1] ?? '';

const statusText = (active: ActiveRun): string =>
  active.stopping
    ? 'Stopping: finishing the step and writing a checkpoint…'
    : active.phase ?? (active.progress ? progressText(active.progress) : 'Starting the engine…');

const PHASES: Record<EnginePhase, string> = {
  'loading-data': 'Loading data…',
  'teacher-training': 'Training the teacher…',
  'teacher-logits': 'Computing teacher logits…',
  training: 'Training…',
  compressing: 'Compressing the student…',
  evaluating: 'Evaluating…',
  writing: 'Writing results…',
};
