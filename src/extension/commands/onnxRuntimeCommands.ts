/**
 * Install ONNX Runtime: npm-installs onnxruntime-node (CPU; CUDA when asked) into the optional-modules folder (the
 * one distill.engine.optionalModules names, else the GPU engine's folder in the extension's global storage), checks it
 * loads, and points the setting at that folder. The work is src/install/onnxRuntime.ts, shared with
 * `distill install onnx`; this file is the UI around it.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { isInstallCancelled } from '../../install/stagedInstall';
import { installOnnxRuntime, type OnnxInstallResult } from '../../install/onnxRuntime';
import { readSettings } from '../settings';

export const INSTALL_ONNX_COMMAND = 'distill.installOnnxRuntime';
const OPEN_LOG = 'Open Log';

interface Choice extends vscode.QuickPickItem {
  cuda: boolean;
}

const CHOICES: Choice[] = [
  {
    cuda: false,
    label: 'CPU',
    description: 'recommended · from the npm registry alone',
    detail: 'onnxruntime-node: about 113 MB to download, 300 MB on disk. Runs ONNX teachers on the CPU (and WebGPU where it ships).',
  },
  {
    cuda: true,
    label: 'CPU + CUDA 12',
    description: 'NVIDIA GPU with CUDA 12 and cuDNN 9',
    detail: 'Also downloads the CUDA execution provider from NuGet (outside the npm registry) during the install.',
  },
];

export function registerOnnxRuntimeCommands(deps: { globalStorageUri: vscode.Uri; log: vscode.LogOutputChannel }): vscode.Disposable {
  const { globalStorageUri, log } = deps;
  let installing = false;
  const showLogOn = (choice: string | undefined) => {
    if (choice === OPEN_LOG) log.show();
  };

  const install = async (): Promise<OnnxInstallResult | undefined> => {
    if (installing) {
      void vscode.window.showWarningMessage('Distill is already installing ONNX Runtime. Wait for it to finish, or cancel it from its notification.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(CHOICES, {
      title: 'Distill: Install ONNX Runtime',
      placeHolder: 'Which ONNX Runtime should run ONNX teachers?',
      matchOnDetail: true,
    });
    if (!picked || installing) return undefined;
    const { nodePath, optionalModules } = readSettings();
    const dir = optionalModules || vscode.Uri.joinPath(globalStorageUri, 'gpu-engine').fsPath;
    installing = true;
    log.info(`Installing ONNX Runtime (${picked.label}) into ${dir}`);
    try {
      fs.mkdirSync(globalStorageUri.fsPath, { recursive: true });
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Distill: installing ONNX Runtime (${picked.label})`, cancellable: true },
        (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return installOnnxRuntime({
            dir,
            cuda: picked.cuda,
            nodePath,
            signal: abort.signal,
            onLog: (line) => log.info(`[install] ${line}`),
            onProgress: (p) => progress.report(p),
          });
        },
      );
      await vscode.workspace.getConfiguration('distill').update('engine.optionalModules', result.dir, vscode.ConfigurationTarget.Global);
      const text = `ONNX Runtime ${result.runtime.version} installed (providers: ${result.runtime.providers.join(', ')}). ONNX teachers and ONNX exports work now.`;
      log.info(text);
      void vscode.window.showInformationMessage(`Distill: ${text}`, OPEN_LOG).then(showLogOn);
      return result;
    } catch (e) {
      if (isInstallCancelled(e)) {
        log.info(e.message);
        void vscode.window.showInformationMessage('Distill: ONNX Runtime installation cancelled; nothing was changed.');
        return undefined;
      }
      log.error(`Installing ONNX Runtime failed: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`Distill: installing ONNX Runtime failed. ${errorMessage(e)}`, OPEN_LOG).then(showLogOn);
      return undefined;
    } finally {
      installing = false;
    }
  };
  return vscode.commands.registerCommand(INSTALL_ONNX_COMMAND, install);
}

/** Whether a run's failure reason is ONNX Runtime missing: the notification then offers to install it. */
export const needsOnnxRuntime = (reason: string | undefined) => !!reason && /need ONNX Runtime \(onnxruntime-node\), which is not installed/.test(reason);
