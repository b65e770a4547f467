/**
 * One dashboard webview panel: answers the webview's `ready` with a snapshot read from the run directories, then
 * tails them (file watcher events, and a slow poll as a safety net) and posts batched deltas while the panel is
 * visible. A hidden panel's webview is destroyed (no `retainContextWhenHidden`); when it is shown again it posts
 * `ready` and gets a fresh snapshot, so nothing is queued while hidden.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillConfig } from '../../shared/config';
import { readJson, RUN_FILES } from '../../shared/runDir';
import { runDisplayName } from '../../shared/runName';
import {
  OPENABLE_RUN_FILES,
  type DashboardView,
  type HostToWebview,
  type RunDelta,
  type WebviewRequest,
  type WebviewRequests,
  type WebviewToHost,
} from '../../shared/webviewProtocol';
import { DeltaBatcher } from './deltaBatcher';
import { dashboardHtml, newNonce } from './html';
import { isListedRun, listSiblingRuns, RunSource } from './runSource';

export const DASHBOARD_VIEW_TYPE = 'distill.dashboard';

/** While a run is shown, disk is polled this often too: watcher events can be dropped or excluded by settings. */
const SAFETY_POLL_MS = 2000;
/** Watcher events arrive per write; polling the sources once per burst is enough. */
const WATCH_DEBOUNCE_MS = 30;

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    // Only the bundle and the media folder; run data reaches the webview as messages, never as workspace files.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** The tab title: the run's name (its run name, else its config's), never its id. */
export const dashboardTitle = (view: DashboardView, runDirs: readonly string[]) =>
  view === 'compare' && runDirs.length > 1
    ? `Distill: compare ${runDirs.length} runs`
    : `Distill: ${runDisplayName({ runId: path.basename(runDirs[0]), config: readJson<DistillConfig>(path.join(runDirs[0], RUN_FILES.config)) })}`;

export class DashboardPanel implements vscode.Disposable {
  private readonly sources = new Map<string, RunSource>();
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly batcher: DeltaBatcher;
  /** True between the webview's `ready` and its panel being hidden: only then can it receive messages. */
  private live = false;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private view: DashboardView,
    runDirs: readonly string[],
    private readonly log: vscode.LogOutputChannel | undefined,
    private readonly onDisposed: (panel: DashboardPanel) => void,
  ) {
    for (const dir of runDirs) this.sources.set(dir, new RunSource(dir));
    this.batcher = new DeltaBatcher((deltas) => this.post({ type: 'delta', deltas }));
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = {
      light: vscode.Uri.joinPath(extensionUri, 'media', 'dashboard-light.svg'),
      dark: vscode.Uri.joinPath(extensionUri, 'media', 'dashboard-dark.svg'),
    };
    panel.title = dashboardTitle(view, runDirs);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: WebviewToHost) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.goQuiet();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    panel.webview.html = this.html();
  }

  get runDirs(): string[] {
    return [...this.sources.keys()];
  }

  shows(view: DashboardView, runDirs: readonly string[]): boolean {
    const mine = this.runDirs;
    return this.view === view && mine.length === runDirs.length && runDirs.every((d, i) => path.resolve(d) === path.resolve(mine[i]));
  }

  private html(): string {
    const webview = this.panel.webview;
    const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', file)).toString();
    return dashboardHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      scriptUri: asset('webview.js'),
      styleUri: asset('webview.css'),
      title: this.panel.title,
    });
  }

  private onMessage(message: WebviewToHost): void {
    switch (message.type) {
      case 'ready':
        this.sendSnapshot();
        return;
      case 'request':
        this.answer(message.id, message);
        return;
      case 'openFile':
        void this.openFile(message.runDir, message.file);
        return;
      case 'error':
        this.log?.error(`Dashboard: ${message.message}`);
        return;
    }
  }

  private sendSnapshot(): void {
    this.batcher.clear();
    const runs = [...this.sources.values()].map((s) => s.snapshot());
    this.live = true;
    this.post({ type: 'snapshot', view: this.view, runs });
    for (const dir of this.sources.keys()) this.watch(dir);
    this.pollTimer ??= setInterval(() => this.pollNow(), SAFETY_POLL_MS);
  }

  private answer(id: number, request: WebviewRequest): void {
    try {
      const result = this.handle(request);
      this.post({ type: 'reply', id, ok: true, result });
    } catch (e) {
      this.post({ type: 'reply', id, ok: false, error: (e as Error).message });
    }
  }

  private handle(request: WebviewRequest): WebviewRequests[typeof request.method]['result'] {
    switch (request.method) {
      case 'listRuns':
        return listSiblingRuns(this.runDirs[0]);
      case 'addRun': {
        const { runDir } = request.params;
        if (!isListedRun(runDir, listSiblingRuns(this.runDirs[0]))) {
          throw new Error(`${runDir} is not a run in ${path.dirname(this.runDirs[0])}; pick one from the list.`);
        }
        let source = this.sources.get(runDir);
        if (!source) this.sources.set(runDir, (source = new RunSource(runDir)));
        this.view = 'compare';
        this.panel.title = dashboardTitle(this.view, this.runDirs);
        const data = source.snapshot();
        if (this.live) this.watch(runDir);
        return data;
      }
      case 'removeRun': {
        const { runDir } = request.params;
        if (runDir !== this.runDirs[0] && this.sources.delete(runDir)) {
          this.watchers.get(runDir)?.dispose();
          this.watchers.delete(runDir);
          this.panel.title = dashboardTitle(this.view, this.runDirs);
        }
        return null;
      }
    }
  }

  private async openFile(runDir: string, file: (typeof OPENABLE_RUN_FILES)[number]): Promise<void> {
    if (!this.sources.has(runDir) || !OPENABLE_RUN_FILES.includes(file)) return;
    const uri = vscode.Uri.file(path.join(runDir, RUN_FILES[file]));
    try {
      await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not open ${uri.fsPath}: ${(e as Error).message}. Check that the run directory still exists.`);
    }
  }

  private watch(runDir: string): void {
    if (this.watchers.has(runDir)) return;
    // Non-recursive: the run's record files sit at its top level. Works for folders outside the workspace too.
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runDir), '*.{json,jsonl}'));
    const onEvent = () => this.schedulePoll();
    this.watchers.set(runDir, vscode.Disposable.from(watcher, watcher.onDidChange(onEvent), watcher.onDidCreate(onEvent), watcher.onDidDelete(onEvent)));
  }

  private schedulePoll(): void {
    if (!this.live || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.pollNow();
    }, WATCH_DEBOUNCE_MS);
  }

  private pollNow(): void {
    if (!this.live) return;
    for (const source of this.sources.values()) {
      let delta: RunDelta | undefined;
      try {
        delta = source.poll();
      } catch (e) {
        this.log?.warn(`Dashboard: reading ${source.runDir} failed: ${(e as Error).message}`);
      }
      if (delta) this.batcher.push(delta);
    }
  }

  /** The webview is gone until it is shown again; stop reading and drop what was pending. */
  private goQuiet(): void {
    this.live = false;
    this.batcher.clear();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
  }

  private post(message: HostToWebview): void {
    if (!this.live) return;
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.goQuiet();
    if (this.debounce) clearTimeout(this.debounce);
    this.batcher.dispose();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.onDisposed(this);
  }
}
