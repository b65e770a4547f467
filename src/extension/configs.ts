/**
 * The workspace's `*.distill.json` files, which one is active (the one the Models view shows and picks write into),
 * and the runs directories they point at. Kept current by a file-system watcher and the active editor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parse as parseJsonc } from 'jsonc-parser';
import { readSettings } from './settings';

export const CONFIG_GLOB = '**/*.distill.json';
export const CONFIG_SUFFIX = '.distill.json';
/** Folders never searched for configs or models. */
export const SEARCH_EXCLUDE = '{**/node_modules/**,**/.git/**,**/.distill-cache/**}';

export const isConfigDocument = (doc: vscode.TextDocument): boolean => doc.uri.scheme === 'file' && doc.fileName.endsWith(CONFIG_SUFFIX);

/**
 * `output.<field>` of each file (a config's runsDir, a sweep file's sweepsDir), absolute from the file's folder, or
 * `fallback` beside it; a file that does not parse still counts with the fallback. Distinct, in the files' order.
 */
export async function outputDirectories(files: readonly vscode.Uri[], field: string, fallback: string): Promise<string[]> {
  const dirs = new Set<string>();
  for (const uri of files) {
    let dir = fallback;
    try {
      const value: unknown = parseJsonc(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'));
      const configured = (value as { output?: Record<string, unknown> } | undefined)?.output?.[field];
      if (typeof configured === 'string' && configured) dir = configured;
    } catch {
      // An unreadable file still gets the default folder.
    }
    dirs.add(path.resolve(path.dirname(uri.fsPath), dir));
  }
  return [...dirs];
}

export class ConfigLocator implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the set of configs, the active one, or a config's content changes. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private cached: Promise<vscode.Uri[]> | undefined;
  private activeUri: vscode.Uri | undefined;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
    const invalidate = () => {
      this.cached = undefined;
      // The active config was deleted or renamed: fall back to the workspace's first.
      if (this.activeUri && !fs.existsSync(this.activeUri.fsPath)) this.activeUri = undefined;
      this.changed.fire();
    };
    this.disposables.push(
      watcher,
      watcher.onDidCreate(invalidate),
      watcher.onDidDelete(invalidate),
      watcher.onDidChange(() => this.changed.fire()),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && isConfigDocument(editor.document)) this.setActive(editor.document.uri);
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(invalidate),
    );
    const editor = vscode.window.activeTextEditor;
    if (editor && isConfigDocument(editor.document)) this.activeUri = editor.document.uri;
  }

  /** All configs in the workspace, sorted by path. */
  list(): Promise<vscode.Uri[]> {
    this.cached ??= Promise.resolve(vscode.workspace.findFiles(CONFIG_GLOB, SEARCH_EXCLUDE, 500)).then((uris) =>
      uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath)),
    );
    return this.cached;
  }

  setActive(uri: vscode.Uri): void {
    if (this.activeUri?.toString() === uri.toString()) return;
    this.activeUri = uri;
    this.changed.fire();
  }

  /** The config the user is working on: the last focused config editor, else the workspace's first config. */
  async active(): Promise<vscode.Uri | undefined> {
    if (this.activeUri) return this.activeUri;
    return (await this.list())[0];
  }

  /** The active config editor, else a quick pick of the workspace's configs (none needed when there is one). */
  async pick(purpose: string): Promise<vscode.Uri | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (editor && isConfigDocument(editor.document)) return editor.document.uri;
    const configs = await this.list();
    if (configs.length === 1) return configs[0];
    if (configs.length === 0) {
      const create = 'New Config';
      const choice = await vscode.window.showInformationMessage(`Distill: no *.distill.json in this workspace to ${purpose}. Create one?`, create);
      if (choice === create) await vscode.commands.executeCommand('distill.newConfig');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      configs.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri })),
      { placeHolder: `Which config to ${purpose}?` },
    );
    return picked?.uri;
  }

  /**
   * Where runs live: the `distill.runsDirectory` setting when set, else every config's `output.runsDir` (default
   * `runs`, relative to the config). Configs that do not parse still count with the default.
   */
  async runsDirectories(): Promise<string[]> {
    const override = readSettings().runsDirectory;
    if (override) return [override];
    return outputDirectories(await this.list(), 'runsDir', 'runs');
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
