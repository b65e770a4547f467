/**
 * Composition root: construct each feature, register it, and hand every disposable to `context.subscriptions`.
 * Nothing here loads tfjs or reads large files; activation time is logged ("Distill activated in … ms").
 */
import * as vscode from 'vscode';
import { registerGpuEngineCommands } from './commands/gpuEngineCommands';
import { registerModelCommands } from './commands/modelCommands';
import { registerOnnxRuntimeCommands } from './commands/onnxRuntimeCommands';
import { registerRunCommands } from './commands/runCommands';
import { registerSweepCommands } from './commands/sweepCommands';
import { ConfigLocator } from './configs';
import { registerDashboard } from './dashboard';
import { registerSweepView } from './dashboard/sweepPanel';
import { registerConfigQuickFixes } from './configQuickFixes';
import { ConfigDiagnostics } from './diagnostics';
import { ModelCatalog } from './modelCatalog';
import { RunController } from './runController';
import { onDidChangeSettings } from './settings';
import { SweepController } from './sweepController';
import { SweepLocator } from './sweeps';
import { ModelsTreeProvider } from './views/modelsView';
import { RunsTreeProvider } from './views/runsView';

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Distill', { log: true });
  const configs = new ConfigLocator();
  const diagnostics = new ConfigDiagnostics();
  const sweepFiles = new SweepLocator();
  const runsView = new RunsTreeProvider(
    () => configs.runsDirectories(),
    () => sweepFiles.sweepsDirectories(),
  );
  // Run folders and caches hold models too (every run saves its student); they show under the run, not here.
  // Sweep folders hold their trials' runs, so the same goes for them.
  const catalog = new ModelCatalog(async () => [...(await configs.runsDirectories()), ...(await sweepFiles.sweepsDirectories())]);
  const modelsView = new ModelsTreeProvider(configs, catalog);
  const runs = new RunController(vscode.Uri.joinPath(context.extensionUri, 'dist', 'engine.js').fsPath, log, diagnostics, {
    onRunsChanged: () => void runsView.rewatch(),
    onProgress: (runDir, progress) => runsView.setActive(runDir, progress),
  });
  const dashboard = registerDashboard(context, log);
  const sweepView = registerSweepView(context, log);
  const sweeps = new SweepController(vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath, log, diagnostics, {
    onSweepsChanged: () => runsView.refresh(),
    onSweepDir: (dir) => sweepView.open(dir),
    onActive: (dir) => runsView.setActiveSweep(dir),
  });

  context.subscriptions.push(
    log,
    configs,
    diagnostics,
    runsView,
    catalog,
    modelsView,
    runs,
    sweepFiles,
    sweeps,
    registerSweepCommands({ sweeps, locator: sweepFiles, sweepView, runsView }),
    registerRunCommands({ runs, runsView, configs, dashboard, log, extensionPath: context.extensionPath }),
    registerModelCommands({ configs, catalog, modelsView }),
    registerConfigQuickFixes(),
    registerGpuEngineCommands({ extensionUri: context.extensionUri, globalStorageUri: context.globalStorageUri, log }),
    registerOnnxRuntimeCommands({ globalStorageUri: context.globalStorageUri, log }),
    configs.onDidChange(() => void runsView.rewatch()),
    sweepFiles.onDidChange(() => void runsView.rewatch()),
    onDidChangeSettings(() => void runsView.rewatch()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => log.info('Workspace trusted: runs can start.')),
  );
  void vscode.commands.executeCommand('setContext', 'distill.runActive', false);
  void vscode.commands.executeCommand('setContext', 'distill.sweepActive', false);
  log.info(`Distill activated in ${(performance.now() - started).toFixed(1)} ms${vscode.workspace.isTrusted ? '' : ' (Restricted Mode: runs are disabled)'}`);
}

export function deactivate(): void {}
