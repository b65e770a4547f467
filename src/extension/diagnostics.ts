/**
 * Problems in open `*.distill.json` and `*.sweep.json` documents, in the Problems panel at the JSON position they are about. Checked
 * on open and on each change (debounced), and by Start Run before anything starts.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { isConfigDocument } from './configs';
import { configDiagnosticsModule, sweepDiagnosticsModule } from './lazy';

const isSweepDocument = (doc: vscode.TextDocument) => doc.uri.scheme === 'file' && doc.fileName.endsWith('.sweep.json');
const isChecked = (doc: vscode.TextDocument) => isConfigDocument(doc) || isSweepDocument(doc);

const DEBOUNCE_MS = 300;

/** The diagnostic code of a file the config names that does not exist (Quick Fixes key on it). */
export const MISSING_FILE = 'missing-file';

export class ConfigDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('distill');
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((doc) => this.checkIfConfig(doc)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.cancel(doc);
        this.collection.delete(doc.uri);
      }),
    );
    for (const doc of vscode.workspace.textDocuments) this.checkIfConfig(doc);
  }

  /** Check a config now and publish its problems; returns the errors (empty when it may run). */
  check(doc: vscode.TextDocument): vscode.Diagnostic[] {
    this.cancel(doc);
    const diagnose = isSweepDocument(doc) ? sweepDiagnosticsModule().diagnoseSweepText : configDiagnosticsModule().diagnoseConfigText;
    const problems = diagnose(doc.getText(), doc.uri.fsPath, (file) => fs.existsSync(file));
    const diagnostics = problems.map((p) => {
      const range = new vscode.Range(doc.positionAt(p.offset), doc.positionAt(p.offset + p.length));
      const d = new vscode.Diagnostic(range, p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'distill';
      // A missing file's code links to where it was looked for; the Quick Fixes read the path from there.
      d.code = p.code === 'missing-file' && p.file ? { value: MISSING_FILE, target: vscode.Uri.file(p.file) } : p.code;
      return d;
    });
    // JSON syntax errors are the editor's JSON service's to show (it does, for every .json); repeating them here
    // would put each one twice in the Problems panel. They still stop Start Run.
    this.collection.set(
      doc.uri,
      diagnostics.filter((d) => d.code !== 'syntax'),
    );
    return diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  }

  private checkIfConfig(doc: vscode.TextDocument): void {
    if (isChecked(doc)) this.check(doc);
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isChecked(doc)) return;
    this.cancel(doc);
    this.pending.set(
      doc.uri.toString(),
      setTimeout(() => this.check(doc), DEBOUNCE_MS),
    );
  }

  private cancel(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    for (const d of this.disposables) d.dispose();
  }
}
