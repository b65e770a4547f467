/** The `distill.*` settings, read in one place. */
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface DistillSettings {
  /** Absolute runs directory overriding the config's `output.runsDir`, or undefined to use the config's. */
  runsDirectory?: string;
  /** Backend overriding the config's `engine.backend`, or undefined to use the config's. Checked when a run starts. */
  backend?: string;
  /** Node executable for the engine, or undefined for the extension host's own. */
  nodePath?: string;
  /** A node_modules folder holding optional backends (tfjs-node, tfjs-node-gpu, webgpu), or undefined. */
  optionalModules?: string;
}

export function readSettings(scope?: vscode.Uri): DistillSettings {
  const config = vscode.workspace.getConfiguration('distill', scope);
  const runsDirectory = config.get<string>('runsDirectory')?.trim();
  const backend = config.get<string>('engine.backend')?.trim();
  const nodePath = config.get<string>('engine.nodePath')?.trim();
  const optionalModules = config.get<string>('engine.optionalModules')?.trim();
  // A relative runs directory is taken against the folder of the file it applies to, else the first workspace folder.
  const base = (scope && vscode.workspace.getWorkspaceFolder(scope)?.uri.fsPath) ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  return {
    runsDirectory: runsDirectory ? path.resolve(base, runsDirectory) : undefined,
    backend: backend || undefined,
    nodePath: nodePath || undefined,
    optionalModules: optionalModules ? path.resolve(base, optionalModules) : undefined,
  };
}

export const onDidChangeSettings = (listener: () => void): vscode.Disposable =>
  vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('distill')) listener();
  });
