/**
 * Starting and stopping sweeps from VS Code, the way RunController runs a run: the sweep file is checked (problems
 * go to the Problems panel and stop the start), saved, and run by the CLI's `distill sweep` in a child process
 * (sweepProcess.ts); a progress notification follows the trials with an ETA, and its Cancel stops the sweep at a
 * step boundary with checkpoints, so that starting it again resumes it. The Sweep view opens as soon as the sweep
 * folder is known. One sweep at a time per window; a sweep started from a terminal on this machine can be stopped
 * too (its coordinator gets SIGINT, its Ctrl-C).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { isProcessAlive } from '../shared/runDir';
import { readSweepState } from '../shared/sweepDir';
import type { SweepEvent } from '../sweep/coordinator';
import type { ConfigDiagnostics } from './diagnostics';
import { formatObjective } from '../shared/sweepView';
import { readSettings } from './settings';
import { formatParams } from './sweepText';
import { SweepProcess, SweepProgressModel, sweepProgressText, type SweepExit } from './sweepProcess';
import { requireTrust } from './trust';

/** How long a stopping sweep gets for every trial to finish its step and checkpoint before it is killed. */
export const SWEEP_STOP_GRACE_MS = 60_000;
const UI_INTERVAL_MS = 500;

export interface ActiveSweep {
  file: string;
  title: string;
  process: SweepProcess;
  progress: SweepProgressModel;
  dir?: string;
  stopping?: boolean;
}

export interface SweepEvents {
  /** Sweeps or their trials changed on disk (one started, a trial finished, the sweep ended). */
  onSweepsChanged(): void;
  /** The sweep folder of a sweep this window started is known: show it. */
  onSweepDir(dir: string): void;
  /** The active sweep's folder (undefined: none runs in this window). */
  onActive(dir: string | undefined): void;
}

export class SweepController implements vscode.Disposable {
  private activeSweep: ActiveSweep | undefined;

  constructor(
    private readonly cliPath: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly diagnostics: ConfigDiagnostics,
    private readonly events: SweepEvents,
  ) {}

  get active(): ActiveSweep | undefined {
    return this.activeSweep;
  }

  async start(uri: vscode.Uri, extraArgs: string[] = []): Promise<ActiveSweep | undefined> {
    if (!requireTrust('start a sweep')) return undefined;
    if (this.refuseSecond()) return undefined;
    const doc = await vscode.workspace.openTextDocument(uri);
    const errors = this.diagnostics.check(doc);
    if (errors.length) {
      const show = 'Show Problems';
      void vscode.window
        .showErrorMessage(
          `Distill: ${path.basename(uri.fsPath)} has ${errors.length} problem${errors.length > 1 ? 's' : ''}, so the sweep did not start. First: line ${errors[0].range.start.line + 1}: ${errors[0].message}`,
          show,
        )
        .then((c) => c === show && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return undefined;
    }
    // The CLI reads the file from disk: what the editor shows is what runs.
    if (doc.isDirty && !(await doc.save())) {
      void vscode.window.showErrorMessage(`Distill: ${path.basename(uri.fsPath)} could not be saved, so the sweep did not start.`);
      return undefined;
    }
    if (this.refuseSecond()) return undefined;
    if (!fs.existsSync(this.cliPath)) {
      void vscode.window.showErrorMessage(
        `Distill: the CLI bundle ${this.cliPath} is missing. Reinstall the extension (in a development checkout: npm run build).`,
      );
      return undefined;
    }
    const { nodePath, optionalModules } = readSettings(uri);
    const progress = new SweepProgressModel();
    const title = path.basename(uri.fsPath, '.sweep.json');
    let active: ActiveSweep | undefined;
    const process = SweepProcess.start({
      cliPath: this.cliPath,
      file: uri.fsPath,
      nodePath,
      args: extraArgs,
      env: optionalModules ? { DISTILL_OPTIONAL_MODULES: optionalModules } : undefined,
      onEvent: (e) => active && this.onEvent(active, e),
      onStderr: (line) => this.log.info(`[sweep] ${line}`),
    });
    active = { file: uri.fsPath, title, process, progress };
    this.activeSweep = active;
    void vscode.commands.executeCommand('setContext', 'distill.sweepActive', true);
    this.log.info(`Starting sweep ${uri.fsPath} (pid ${process.pid ?? '?'}, Node ${nodePath || globalThis.process.execPath})`);
    this.showProgress(active);
    void process.exited.then((exit) => this.onExit(active!, exit));
    return active;
  }

  /** Stop the sweep in `dir` (or this window's): at a step boundary, every trial with a checkpoint. */
  async stop(dir?: string): Promise<void> {
    const active = this.activeSweep;
    if (active && (!dir || (active.dir && path.resolve(active.dir) === path.resolve(dir)))) {
      active.stopping = true;
      this.log.info(`Stopping sweep ${active.dir ?? active.file}`);
      await active.process.stop(SWEEP_STOP_GRACE_MS);
      return;
    }
    const state = dir ? readSweepState(dir) : undefined;
    if (dir && state?.status === 'running' && state.pid && state.host === os.hostname() && isProcessAlive(state.pid)) {
      // Started elsewhere on this machine (a terminal): its Ctrl-C.
      try {
        globalThis.process.kill(state.pid, 'SIGINT');
        this.log.info(`Sent SIGINT to the coordinator of ${dir} (pid ${state.pid})`);
        void vscode.window.showInformationMessage(
          `Distill: asked sweep ${state.sweepId} (process ${state.pid}) to stop; its trials checkpoint, and Start Sweep continues it.`,
        );
        this.events.onSweepsChanged();
      } catch (e) {
        void vscode.window.showErrorMessage(
          `Distill: could not stop sweep ${state.sweepId} (process ${state.pid}): ${(e as Error).message}. Press Ctrl-C in the terminal that runs it.`,
        );
      }
      return;
    }
    void vscode.window.showInformationMessage(
      state && state.status === 'running' && state.host !== os.hostname()
        ? `Distill: sweep ${state.sweepId} runs on ${state.host}; stop it there.`
        : 'Distill: no sweep is running.',
    );
  }

  private refuseSecond(): boolean {
    const active = this.activeSweep;
    if (!active) return false;
    const stop = 'Stop Sweep';
    const open = 'Open Sweep View';
    void vscode.window
      .showWarningMessage(
        `Distill runs one sweep at a time per window, and "${active.title}" is still running (it uses the cores its concurrency allows). Stop it first, or wait until it ends.`,
        stop,
        ...(active.dir ? [open] : []),
      )
      .then((c) => {
        if (c === stop) void this.stop();
        if (c === open && active.dir) this.events.onSweepDir(active.dir);
      });
    return true;
  }

  private onEvent(active: ActiveSweep, e: SweepEvent): void {
    active.progress.handle(e);
    switch (e.type) {
      case 'sweep':
        active.dir = e.dir;
        this.log.info(
          `Sweep ${e.sweepId}${e.resumed ? ` continues (${e.done} of ${e.total} trials already done)` : ` started: ${e.total} trials`} → ${e.dir} (${e.executor})`,
        );
        this.events.onActive(e.dir);
        this.events.onSweepDir(e.dir);
        this.events.onSweepsChanged();
        break;
      case 'log':
        this.log.info(`[sweep] ${e.message}`);
        break;
      case 'trialStarted':
        this.events.onSweepsChanged();
        break;
      case 'trialFinished': {
        const r = e.result;
        this.log.info(
          `Trial ${e.id}${e.outcome.resumed ? ' (resumed)' : ''}: ${r ? `${r.status}${r.objective !== undefined ? `, objective ${r.objective}` : ''}${r.reason ? ` (${r.reason})` : ''}` : e.outcome.status}`,
        );
        this.events.onSweepsChanged();
        break;
      }
      case 'trialProgress':
        break;
    }
  }

  private showProgress(active: ActiveSweep): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Distill sweep: ${active.title}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          token.onCancellationRequested(() => void this.stop());
          let reported = 0;
          let last = '';
          const update = () => {
            const view = active.progress.view();
            const text = active.stopping ? 'Stopping: every running trial finishes its step and writes a checkpoint…' : sweepProgressText(view);
            const percent = Math.floor(view.percent);
            const increment = percent > reported ? percent - reported : undefined;
            if (text !== last || increment) progress.report({ message: text, increment });
            if (increment) reported = percent;
            last = text;
          };
          update();
          const timer = setInterval(update, UI_INTERVAL_MS);
          void active.process.exited.then(() => {
            clearInterval(timer);
            resolve();
          });
        }),
    );
  }

  private onExit(active: ActiveSweep, exit: SweepExit): void {
    if (this.activeSweep === active) this.activeSweep = undefined;
    void vscode.commands.executeCommand('setContext', 'distill.sweepActive', false);
    this.events.onActive(undefined);
    this.events.onSweepsChanged();
    this.log.info(`Sweep process exited (code ${exit.code}, signal ${exit.signal ?? 'none'})`);
    void this.report(active, exit);
  }

  private async report(active: ActiveSweep, exit: SweepExit): Promise<void> {
    const openLog = 'Open Log';
    const view = 'Open Sweep View';
    const resume = 'Continue Sweep';
    const state = active.dir ? readSweepState(active.dir) : undefined;
    const v = active.progress.view();
    const views = active.dir ? [view] : [];
    let choice: string | undefined;
    // Named as the sweep file names it (the notification's title used the file name until the sweep said).
    const name = state?.name ?? active.title;
    const best = state?.best
      ? ` Best: ${formatParams(state.best.params)}: ${state.sweep.objective.metric} ${formatObjective(state.best.mean, state.sweep.objective.metric)}${state.best.n > 1 ? ` (mean of ${state.best.n})` : ''}.`
      : '';
    if (exit.spawnError) {
      choice = await vscode.window.showErrorMessage(
        `Distill: the sweep could not start: ${exit.spawnError.message}. Check the setting "distill.engine.nodePath" (empty uses VS Code's own Node).`,
        openLog,
      );
    } else if (exit.code === 0) {
      choice = await vscode.window.showInformationMessage(`Distill: sweep "${name}" completed: ${v.total} trials.${best}`, ...views);
    } else if (exit.code === 1 && state) {
      choice = await vscode.window.showWarningMessage(
        `Distill: sweep "${name}" finished, but ${v.failed || 'some'} trial${v.failed === 1 ? '' : 's'} failed (see results.jsonl and the log).${best}`,
        ...views,
        openLog,
      );
    } else if (exit.code === 130 || (exit.stopRequested && !exit.killedAfterTimeout)) {
      choice = await vscode.window.showInformationMessage(
        `Distill: sweep "${name}" stopped with ${v.done} of ${v.total} trials done; running trials wrote checkpoints. Start Sweep continues it.`,
        resume,
        ...views,
      );
    } else if (exit.killedAfterTimeout) {
      choice = await vscode.window.showWarningMessage(
        `Distill: sweep "${name}" did not stop within ${SWEEP_STOP_GRACE_MS / 1000} s and was killed; its trials checkpoint on their own. Start Sweep continues it.`,
        resume,
        openLog,
      );
    } else {
      // Exit 2: a bad sweep file or option; the CLI's message says which field and how to fix it.
      const message =
        exit.stderrTail
          .filter((l) => l.trim())
          .slice(-3)
          .join(' ') || `exit code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ''}`;
      choice = await vscode.window.showErrorMessage(`Distill: sweep "${name}" failed: ${message}`, openLog, ...views);
    }
    if (choice === openLog) this.log.show();
    if (choice === view && active.dir) this.events.onSweepDir(active.dir);
    if (choice === resume) await this.start(vscode.Uri.file(active.file));
  }

  /** On shutdown the CLI sees its IPC channel close and stops the sweep itself, with checkpoints. */
  dispose(): void {
    if (this.activeSweep) void this.activeSweep.process.stop(SWEEP_STOP_GRACE_MS);
  }
}
