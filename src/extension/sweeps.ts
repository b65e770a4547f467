/**
 * The workspace's `*.sweep.json` files and the sweeps directories they write to (`output.sweepsDir`, default
 * `sweeps` beside the file, as `distill sweep` resolves it). Kept current by a file-system watcher.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { outputDirectories, SEARCH_EXCLUDE } from './configs';

export const SWEEP_GLOB = '**/*.sweep.json';
export const SWEEP_SUFFIX = '.sweep.json';

export const isSweepFile = (uri: vscode.Uri | undefined): uri is vscode.Uri => !!uri && uri.scheme === 'file' && uri.fsPath.endsWith(SWEEP_SUFFIX);

export class SweepLocator implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a sweep file appears, disappears or changes (its sweepsDir may have). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private cached: Promise<vscode.Uri[]> | undefined;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(SWEEP_GLOB);
    const invalidate = () => {
      this.cached = undefined;
      this.changed.fire();
    };
    this.disposables.push(
      watcher,
      watcher.onDidCreate(invalidate),
      watcher.onDidDelete(invalidate),
      watcher.onDidChange(invalidate),
      vscode.workspace.onDidChangeWorkspaceFolders(invalidate),
    );
  }

  list(): Promise<vscode.Uri[]> {
    this.cached ??= Promise.resolve(vscode.workspace.findFiles(SWEEP_GLOB, SEARCH_EXCLUDE, 500)).then((uris) =>
      uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath)),
    );
    return this.cached;
  }

  /** The active sweep editor, else a quick pick of the workspace's sweep files (none needed when there is one). */
  async pick(purpose: string): Promise<vscode.Uri | undefined> {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (isSweepFile(active)) return active;
    const files = await this.list();
    if (files.length === 1) return files[0];
    if (!files.length) {
      void vscode.window.showInformationMessage(
        `Distill: no *.sweep.json in this workspace to ${purpose}. A sweep file names a base config and the values to try, e.g. { "name": "t-alpha", "base": "fashion.distill.json", "grid": { "distillation.temperature": [2, 4], "distillation.alpha": [0.5, 0.9] } }.`,
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      files.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri })),
      { placeHolder: `Which sweep to ${purpose}?` },
    );
    return picked?.uri;
  }

  /** Every sweep file's sweeps directory; a file that does not parse still counts with the default. */
  async sweepsDirectories(): Promise<string[]> {
    return outputDirectories(await this.list(), 'sweepsDir', 'sweeps');
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
