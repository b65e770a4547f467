/** The status-bar item of the run being trained: who, which epoch, how far; a click opens its dashboard. */
import * as vscode from 'vscode';
import { modelName } from '../shared/format';
import type { Progress } from '../shared/protocol';
import { runStateText } from './runLaunch';
import { progressPercent } from './runText';

export interface ShownRun {
  runDir: string;
  title: string;
  progress?: Progress;
  phase?: string;
  stopping?: boolean;
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('distill.run', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'Distill run';
  }

  show(run: ShownRun): void {
    const p = run.progress;
    this.item.text = p ? `$(sync~spin) Distill ${modelName(p.student, { short: true })} ${p.epoch}/${p.totalEpochs} · ${progressPercent(p).toFixed(0)}%` : '$(sync~spin) Distill';
    this.item.tooltip = `${run.title}: ${runStateText(run)}\nClick to open the dashboard.`;
    this.item.command = { command: 'distill.openDashboard', title: 'Open Dashboard', arguments: [run.runDir] };
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
