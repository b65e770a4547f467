/**
 * Quick Fixes (Ctrl+.) for a config's missing files: pick the file, or, for Fashion-MNIST data files, use the copy
 * Debian's dataset-fashion-mnist installs (one fix for the file, one for every missing data file at once).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { configRelativePath } from './configEdit';
import { SYSTEM_FASHION_MNIST_DIR } from './configTemplate';
import { MISSING_FILE } from './diagnostics';

interface MissingFile {
  diagnostic: vscode.Diagnostic;
  file: string;
}

export class MissingFileFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const missing = context.diagnostics.flatMap((d) => missingFileOf(d));
    const actions: vscode.CodeAction[] = [];
    for (const m of missing) {
      const pick = new vscode.CodeAction(`Pick the ${path.basename(m.file)} file…`, vscode.CodeActionKind.QuickFix);
      pick.diagnostics = [m.diagnostic];
      pick.command = { command: 'distill.pickMissingFile', title: 'Pick the file', arguments: [doc.uri, m.diagnostic.range, m.file] };
      const system = path.join(SYSTEM_FASHION_MNIST_DIR, path.basename(m.file));
      if (fs.existsSync(system)) {
        const use = new vscode.CodeAction(`Use ${system} (Fashion-MNIST, installed)`, vscode.CodeActionKind.QuickFix);
        use.diagnostics = [m.diagnostic];
        use.isPreferred = true;
        use.edit = new vscode.WorkspaceEdit();
        use.edit.replace(doc.uri, m.diagnostic.range, JSON.stringify(system));
        actions.push(use);
      }
      actions.push(pick);
    }
    // Every missing data file that Debian's Fashion-MNIST has, in one edit.
    const all = allMissingInDocument(doc).filter((m) => fs.existsSync(path.join(SYSTEM_FASHION_MNIST_DIR, path.basename(m.file))));
    if (all.length > 1 && missing.length) {
      const fixAll = new vscode.CodeAction(`Use the installed Fashion-MNIST for all ${all.length} missing data files`, vscode.CodeActionKind.QuickFix);
      fixAll.diagnostics = all.map((m) => m.diagnostic);
      fixAll.edit = new vscode.WorkspaceEdit();
      for (const m of all) fixAll.edit.replace(doc.uri, m.diagnostic.range, JSON.stringify(path.join(SYSTEM_FASHION_MNIST_DIR, path.basename(m.file))));
      actions.push(fixAll);
    }
    return actions;
  }
}

function missingFileOf(d: vscode.Diagnostic): MissingFile[] {
  if (d.source !== 'distill' || typeof d.code !== 'object' || d.code.value !== MISSING_FILE) return [];
  return [{ diagnostic: d, file: d.code.target.fsPath }];
}

const allMissingInDocument = (doc: vscode.TextDocument): MissingFile[] => vscode.languages.getDiagnostics(doc.uri).flatMap((d) => missingFileOf(d));

/** The "Pick the file…" fix: an open dialog, then the string replaced with the path relative to the config. */
export async function pickMissingFile(uri: vscode.Uri, range: vscode.Range, missing: string): Promise<void> {
  const dir = fs.existsSync(path.dirname(missing)) ? path.dirname(missing) : path.dirname(uri.fsPath);
  const [picked] =
    (await vscode.window.showOpenDialog({
      title: `Distill: instead of ${path.basename(missing)}`,
      defaultUri: vscode.Uri.file(dir),
      canSelectMany: false,
      openLabel: 'Use This File',
    })) ?? [];
  if (!picked) return;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, range, JSON.stringify(configRelativePath(uri.fsPath, picked.fsPath)));
  await vscode.workspace.applyEdit(edit);
}

export function registerConfigQuickFixes(): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.languages.registerCodeActionsProvider({ pattern: '**/*.distill.json' }, new MissingFileFixes(), { providedCodeActionKinds: MissingFileFixes.kinds }),
    vscode.commands.registerCommand('distill.pickMissingFile', pickMissingFile),
  );
}
