/**
 * The Sweep view's panels: one webview per sweep folder, same bundle and CSP as the run dashboard (its page says
 * `app: 'sweep'`). Answers `ready` with the sweep read from disk (sweepSource.ts), then posts it again whenever
 * sweep.json, results.jsonl or a trial's status.json changes (watchers, debounced, and a slow poll as a safety net),
 * only while visible and only when it changed. Restored after a reload by its own panel serializer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RUN_FILES } from '../../shared/runDir';
import { SWEEP_FILES } from '../../shared/sweepDir';
import { isSweepViewState, OPENABLE_SWEEP_FILES, type HostToSweepView, type SweepData, type SweepViewToHost } from '../../shared/sweepProtocol';
import { webviewOptions } from './dashboardPanel';
import { dashboardHtml, newNonce } from './html';
import { readSweepData } from './sweepSource';
import { panelShowOptions, type PanelOpening } from '../panelOpening';

export const SWEEP_VIEW_TYPE = 'distill.sweep';
const SAFETY_POLL_MS = 2000;
const WATCH_DEBOUNCE_MS = 100;

export interface SweepViewController {
  /** Show a sweep folder's Sweep view, revealing it if it is open. */
  open(sweepDir: string, opening?: PanelOpening): void;
}

const sweepTitle = (sweepDir: string, data?: SweepData) => `Distill sweep: ${data?.name ?? path.basename(sweepDir)}`;

class SweepPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private watchers: vscode.Disposable[] = [];
  private live = false;
  private lastPosted = '';
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    readonly sweepDir: string,
    private readonly log: vscode.LogOutputChannel | undefined,
    private readonly onDisposed: (p: SweepPanel) => void,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = {
      light: vscode.Uri.joinPath(extensionUri, 'media', 'dashboard-light.svg'),
      dark: vscode.Uri.joinPath(extensionUri, 'media', 'dashboard-dark.svg'),
    };
    panel.title = sweepTitle(sweepDir);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: SweepViewToHost) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.goQuiet();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    const webview = panel.webview;
    const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', file)).toString();
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      scriptUri: asset('webview.js'),
      styleUri: asset('webview.css'),
      title: panel.title,
      app: 'sweep',
    });
  }

  private onMessage(m: SweepViewToHost): void {
    switch (m.type) {
      case 'ready':
        this.live = true;
        this.lastPosted = '';
        this.postNow();
        this.watch();
        this.pollTimer ??= setInterval(() => this.postNow(), SAFETY_POLL_MS);
        return;
      case 'openTrial': {
        const trial = readSweepData(this.sweepDir)?.trials.find((t) => t.id === m.trial);
        if (!trial) return;
        if (!fs.existsSync(path.join(trial.runDir, RUN_FILES.status))) {
          void vscode.window.showInformationMessage(`Distill: trial ${trial.id} has not started yet; its dashboard opens once it runs.`);
          return;
        }
        void vscode.commands.executeCommand('distill.openDashboard', trial.runDir);
        return;
      }
      case 'openFile': {
        if (!OPENABLE_SWEEP_FILES.includes(m.file)) return;
        const file = path.join(this.sweepDir, SWEEP_FILES[m.file]);
        if (!fs.existsSync(file)) {
          void vscode.window.showInformationMessage(`Distill: ${SWEEP_FILES[m.file]} does not exist yet in ${this.sweepDir}.`);
          return;
        }
        void vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
        return;
      }
      case 'error':
        this.log?.error(`Sweep view: ${m.message}`);
        return;
    }
  }

  private watch(): void {
    if (this.watchers.length) return;
    const base = vscode.Uri.file(this.sweepDir);
    const onEvent = () => this.schedule();
    this.watchers = [
      vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, '*.{json,jsonl}')),
      vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${SWEEP_FILES.trials}/*/${RUN_FILES.status}`)),
    ].flatMap((w) => [w, w.onDidChange(onEvent), w.onDidCreate(onEvent), w.onDidDelete(onEvent)]);
  }

  private schedule(): void {
    if (!this.live || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.postNow();
    }, WATCH_DEBOUNCE_MS);
  }

  /** Reads the sweep and posts it if anything changed since the last post. */
  private postNow(): void {
    if (!this.live) return;
    let data: SweepData | undefined;
    try {
      data = readSweepData(this.sweepDir);
    } catch (e) {
      this.log?.warn(`Sweep view: reading ${this.sweepDir} failed: ${(e as Error).message}`);
      return;
    }
    const message: HostToSweepView = { type: 'sweep', data };
    const text = JSON.stringify(message);
    if (text === this.lastPosted) return;
    this.lastPosted = text;
    this.panel.title = sweepTitle(this.sweepDir, data);
    void this.panel.webview.postMessage(message);
  }

  private goQuiet(): void {
    this.live = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.goQuiet();
    if (this.debounce) clearTimeout(this.debounce);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.onDisposed(this);
  }
}

/** Registers the Sweep view's serializer (pushed to `context.subscriptions`) and returns what the commands call. */
export function registerSweepView(context: vscode.ExtensionContext, log?: vscode.LogOutputChannel): SweepViewController {
  const panels = new Set<SweepPanel>();
  const forget = (p: SweepPanel) => panels.delete(p);
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(SWEEP_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        if (!isSweepViewState(state)) {
          panel.dispose();
          return;
        }
        panels.add(new SweepPanel(panel, context.extensionUri, state.sweepDir, log, forget));
      },
    }),
    { dispose: () => [...panels].forEach((p) => p.dispose()) },
  );
  return {
    open(sweepDir, opening = {}) {
      const { viewColumn, preserveFocus } = panelShowOptions(opening);
      const existing = [...panels].find((p) => path.resolve(p.sweepDir) === path.resolve(sweepDir));
      if (existing) {
        existing.panel.reveal(viewColumn, preserveFocus);
        return;
      }
      const panel = vscode.window.createWebviewPanel(
        SWEEP_VIEW_TYPE,
        sweepTitle(sweepDir),
        { viewColumn, preserveFocus },
        webviewOptions(context.extensionUri),
      );
      panels.add(new SweepPanel(panel, context.extensionUri, sweepDir, log, forget));
    },
  };
}
