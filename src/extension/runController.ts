/**
 * Starting, stopping and resuming runs from VS Code. One run at a time: a second Start or Resume while one is
 * active is refused with a message that says which run is active and offers to stop it (queueing would hide a
 * long wait behind a click). The engine runs in a child process (`engineClient.ts`); this class owns its lifecycle
 * and turns its messages into log lines and the state that the progress notification and the end-of-run message
 * (runNotifications.ts) show. What a start sends is decided in runLaunch.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillConfig } from '../shared/config';
import { errorMessage } from '../shared/errors';
import type { EngineToHost, HostToEngine, Progress } from '../shared/protocol';
import { readRun } from '../shared/runDir';
import { backendCanStart } from './backendCheck';
import type { ConfigDiagnostics } from './diagnostics';
import { EngineProcess, type EngineExit } from './engineClient';
import { canResume, describeExit, resumeFromNotification, settleRunAfterExit } from './runFiles';
import { engineEnv, PHASES, planStart } from './runLaunch';
import { reportRunEnd, showRunProgress } from './runNotifications';
import { readSettings } from './settings';
import { requireTrust } from './trust';
import { configFileModule } from './lazy';

/** How long a stopping engine gets to finish its step and write a checkpoint before it is killed. */
export const STOP_GRACE_MS = 30_000;

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
    const plan = planStart(config, settings);
    if ('refused' in plan) {
      const open = 'Open Settings';
      void vscode.window
        .showErrorMessage(`Distill: ${plan.refused}`, open)
        .then((c) => c === open && vscode.commands.executeCommand('workbench.action.openSettings', plan.setting));
      return undefined;
    }
    // A named backend that cannot load here is found now, before a run directory exists (backendCheck.ts).
    const startAgain = () => void this.start(configUri);
    if (
      !(await backendCanStart({
        backend: config.engine.backend,
        fromSetting: !!settings.backend,
        configUri,
        enginePath: this.enginePath,
        log: this.log,
        startAgain,
      }))
    )
      return undefined;
    return this.launch(plan.request, plan.runDir, config.name);
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
      void vscode.window.showErrorMessage(
        `Distill: the engine bundle ${this.enginePath} is missing. Reinstall the extension (in a development checkout: npm run build).`,
      );
      return undefined;
    }
    const { nodePath, optionalModules } = readSettings();
    const engine = EngineProcess.fork({
      enginePath: this.enginePath,
      nodePath,
      // The engine's backend ladder looks here first for tfjs-node(-gpu) and webgpu (see backends/ladder.ts).
      env: engineEnv(optionalModules),
      onOutput: (stream, line) => (stream === 'stderr' ? this.log.warn(`[engine] ${line}`) : this.log.info(`[engine] ${line}`)),
    });
    const active: ActiveRun = { runDir, title, engine };
    let lastProgress: Progress | undefined;
    this.activeRun = active;
    void vscode.commands.executeCommand('setContext', 'distill.runActive', true);
    this.log.info(`${request.type === 'start' ? 'Starting' : 'Resuming'} ${runDir} (engine pid ${engine.pid ?? '?'}, Node ${nodePath || process.execPath})`);
    engine.onMessage((m) => this.onEngineMessage(active, m));
    engine.send(request);
    this.events.onProgress(runDir);
    showRunProgress(active, {
      stop: () => void this.stop(),
      onTick: () => {
        if (active.progress !== lastProgress) this.events.onProgress(active.runDir, active.progress);
        lastProgress = active.progress;
      },
    });
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
    void reportRunEnd(active, exit, reason, { showLog: () => this.log.show(), resume: () => this.resumeFromNotification(active) });
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
