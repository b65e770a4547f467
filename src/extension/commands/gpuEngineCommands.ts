/**
 * Install GPU Engine: npm-installs WebGPU (Dawn) or tfjs-node-gpu into the extension's global storage, checks the
 * backend loads there with the engine's own ladder, and points the setting distill.engine.optionalModules at it.
 * The work is src/install/ (gpuEngine.ts), shared with `distill install-gpu`; this file is the UI around it.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { OPTIONAL_MODULES_SETTING } from '../../shared/backends';
import { errorMessage } from '../../shared/errors';
import { installGpuEngine, isInstallCancelled, type GpuInstallResult } from '../../install/gpuEngine';
import { GPU_TARGETS, gpuTargetSpecs, type GpuTarget } from '../../install/targets';
import { readSettings } from '../settings';

interface TargetItem extends vscode.QuickPickItem {
  target: GpuTarget;
}

const TARGET_ITEMS: TargetItem[] = GPU_TARGETS.map((target) => {
  const { label, description, detail } = gpuTargetSpecs()[target];
  return { target, label, description, detail };
});

const OPEN_LOG = 'Open Log';

export function registerGpuEngineCommands(deps: { extensionUri: vscode.Uri; globalStorageUri: vscode.Uri; log: vscode.LogOutputChannel }): vscode.Disposable {
  const { extensionUri, globalStorageUri, log } = deps;
  /** The install under way; a second one would race it for the same folder. */
  let installing: GpuTarget | undefined;

  const showLogOn = (choice: string | undefined) => {
    if (choice === OPEN_LOG) log.show();
  };

  const install = async (): Promise<GpuInstallResult | undefined> => {
    if (installing) {
      void vscode.window.showWarningMessage(
        `Distill is already installing the GPU engine (${installing}). Wait for it to finish, or cancel it from its notification.`,
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(TARGET_ITEMS, {
      title: 'Distill: Install GPU Engine',
      placeHolder: 'Which GPU backend should the engine use?',
      matchOnDetail: true,
    });
    // Checked again: another invocation may have started while this quick pick was open.
    if (!picked || installing) return undefined;

    const dir = vscode.Uri.joinPath(globalStorageUri, 'gpu-engine').fsPath;
    const cliPath = vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
    const { nodePath, optionalModules } = readSettings();
    installing = picked.target;
    log.info(`Installing the GPU engine (${picked.target}) into ${dir}, checked with Node ${nodePath || process.execPath}`);
    try {
      fs.mkdirSync(globalStorageUri.fsPath, { recursive: true });
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Distill: installing the GPU engine (${picked.label})`, cancellable: true },
        (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return installGpuEngine({
            target: picked.target,
            dir,
            cliPath,
            nodePath,
            signal: abort.signal,
            onLog: (line) => log.info(`[install] ${line}`),
            onProgress: (p) => progress.report(p),
          });
        },
      );
      if (optionalModules && optionalModules !== result.dir) log.info(`Setting ${OPTIONAL_MODULES_SETTING} was ${optionalModules}; now ${result.dir}.`);
      await vscode.workspace.getConfiguration().update(OPTIONAL_MODULES_SETTING, result.dir, vscode.ConfigurationTarget.Global);
      if (result.warning) {
        log.warn(result.warning);
        void vscode.window.showWarningMessage(`Distill: ${result.warning}`, OPEN_LOG).then(showLogOn);
      } else {
        log.info(`GPU engine installed: ${result.backend.detail}`);
        void vscode.window
          .showInformationMessage(`GPU engine installed: ${result.backend.detail}. Runs with engine.backend "auto" now use it.`, OPEN_LOG)
          .then(showLogOn);
      }
      return result;
    } catch (e) {
      if (isInstallCancelled(e)) {
        log.info(e.message);
        void vscode.window.showInformationMessage(`Distill: GPU engine installation cancelled; nothing was changed.`);
        return undefined;
      }
      log.error(`Installing the GPU engine failed: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`Distill: installing the GPU engine failed. ${errorMessage(e)}`, OPEN_LOG).then(showLogOn);
      return undefined;
    } finally {
      installing = undefined;
    }
  };

  return vscode.commands.registerCommand('distill.installGpuEngine', install);
}
