/**
 * The notifications of a run: one that follows it while it trains (a determinate bar over the whole run: teacher,
 * KD student and scratch student; its Cancel button stops the run), and one when it ends, saying how, with the
 * buttons that make sense then (Open Log, Resume, Open Dashboard, Export Student, Install ONNX Runtime, Install GPU Engine). There is no
 * status-bar item of our own: VS Code shows the notification's progress in the status bar when it is hidden, and a
 * second item beside it said the same twice.
 */
import * as vscode from 'vscode';
import type { Progress } from '../shared/protocol';
import { readRun } from '../shared/runDir';
import { needsGpuEngine } from '../shared/backendCheck';
import { INSTALL_GPU_ENGINE_COMMAND } from './backendCheck';
import { INSTALL_ONNX_COMMAND, needsOnnxRuntime } from './commands/onnxRuntimeCommands';
import type { EngineExit, EngineProcess } from './engineClient';
import { canResume } from './runFiles';
import { runStateText } from './runLaunch';
import { completionText, progressPercent } from './runText';

/** What the notifications show of a run. */
export interface ShownRun {
  runDir: string;
  title: string;
  progress?: Progress;
  phase?: string;
  stopping?: boolean;
}

/** Progress updates reach the UI at most this often. */
const UI_INTERVAL_MS = 250;

/**
 * A notification that follows the run until its engine exits. `onTick` runs at most every UI_INTERVAL_MS, whatever
 * the engine's rate, for the other views of the run (the Runs view).
 */
export function showRunProgress(run: ShownRun & { engine: EngineProcess }, hooks: { stop(): void; onTick(): void }): void {
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Distill: ${run.title}`, cancellable: true },
    (progress, token) =>
      new Promise<void>((resolve) => {
        token.onCancellationRequested(() => hooks.stop());
        let last = '';
        // The bar is determinate: `increment`s add up to the run's percentage (whole run, not per model).
        let reported = 0;
        const update = () => {
          const text = runStateText(run);
          const percent = run.progress ? Math.floor(progressPercent(run.progress)) : 0;
          const increment = percent > reported ? percent - reported : undefined;
          if (text !== last || increment) progress.report({ message: text, increment });
          if (increment) reported = percent;
          last = text;
          hooks.onTick();
        };
        update();
        const timer = setInterval(update, UI_INTERVAL_MS);
        void run.engine.exited.then(() => {
          clearInterval(timer);
          resolve();
        });
      }),
  );
}

/** The end-of-run message, by how the engine ended; `reason` is describeExit's sentence for it. */
export async function reportRunEnd(run: ShownRun, exit: EngineExit, reason: string, actions: { showLog(): void; resume(): Promise<void> }): Promise<void> {
  const openLog = 'Open Log';
  const resume = 'Resume';
  const dashboard = 'Open Dashboard';
  const exportStudent = 'Export Student';
  const snapshot = readRun(run.runDir);
  const resumable = snapshot ? canResume(snapshot) : false;
  let choice: string | undefined;
  if (exit.spawnError) {
    const settings = 'Open Settings';
    choice = await vscode.window.showErrorMessage(
      `Distill: ${reason}. Check the setting "distill.engine.nodePath" (empty uses VS Code's own Node).`,
      settings,
      openLog,
    );
    if (choice === settings) void vscode.commands.executeCommand('workbench.action.openSettings', 'distill.engine.nodePath');
  } else if (exit.finished?.status === 'completed') {
    const summary = exit.finished.summary ?? snapshot?.summary;
    choice = await vscode.window.showInformationMessage(
      `Distill: "${run.title}" completed. ${summary ? completionText(summary) : ''}`,
      dashboard,
      exportStudent,
    );
  } else if (exit.finished?.status === 'stopped') {
    choice = await vscode.window.showInformationMessage(
      `Distill: "${run.title}" stopped${exit.finished.reason ? ` ${stopWhere(exit.finished.reason)}` : ''}${resumable ? '; Resume continues from its checkpoint' : ''}.`,
      ...(resumable ? [resume] : []),
      dashboard,
    );
  } else if (exit.finished) {
    const installOnnx = needsOnnxRuntime(exit.finished.reason) ? ['Install ONNX Runtime'] : [];
    // A resumed run names its backend in its own config.json, which the check before a start does not see.
    const installGpu = needsGpuEngine(exit.finished.reason) ? ['Install GPU Engine'] : [];
    choice = await vscode.window.showErrorMessage(
      `Distill: "${run.title}" ${exit.finished.status}: ${exit.finished.reason ?? 'no reason given'}`,
      ...installOnnx,
      ...installGpu,
      openLog,
      ...(resumable ? [resume] : []),
    );
    if (choice === 'Install ONNX Runtime') void vscode.commands.executeCommand(INSTALL_ONNX_COMMAND);
    if (choice === 'Install GPU Engine') void vscode.commands.executeCommand(INSTALL_GPU_ENGINE_COMMAND);
  } else if (exit.killedAfterTimeout) {
    choice = await vscode.window.showWarningMessage(
      `Distill: "${run.title}": ${reason}. Metrics written so far are kept${resumable ? '; Resume continues from the last checkpoint' : ''}.`,
      openLog,
      ...(resumable ? [resume] : []),
    );
  } else {
    choice = await vscode.window.showErrorMessage(
      `Distill: the engine stopped unexpectedly during "${run.title}": ${reason}. The run is marked ${snapshot?.status ?? 'interrupted'}; metrics written so far are kept.`,
      openLog,
      ...(resumable ? [resume] : []),
    );
  }
  if (choice === openLog) actions.showLog();
  if (choice === resume) await actions.resume();
  if (choice === dashboard) void vscode.commands.executeCommand('distill.openDashboard', run.runDir);
  if (choice === exportStudent) void vscode.commands.executeCommand('distill.exportStudent', run.runDir);
}

/** "while training the teacher (epoch 2 of 3, step 10)" from the engine's stop reason, when it says where. */
const stopWhere = (reason: string): string => /^Stopped (while [^;]*)/.exec(reason)?.[1] ?? '';
