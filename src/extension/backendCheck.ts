/**
 * Before a run starts on a backend named in the config or the settings (webgpu, tensorflow-gpu, tensorflow): ask
 * the engine's own ladder whether it loads here (`dist/cli.js backends --json`, run with the engine's Node and
 * optional-modules folder), so that a backend that cannot load is found before a run directory exists, with the
 * fixes offered: "Use auto" (edits the config, then starts), "Install GPU Engine", or the setting that named it.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backendProblem, backendProblemMessage, installableBackend, needsBackendCheck, useAutoBackendEdits } from '../shared/backendCheck';
import type { Backend } from '../shared/config';
import { errorMessage } from '../shared/errors';
import type { BackendSurveyEntry } from '../shared/records';
import { readSettings } from './settings';

const SURVEY_TIMEOUT_MS = 60_000;
export const INSTALL_GPU_ENGINE_COMMAND = 'distill.installGpuEngine';

/** Surveys in which a named backend loaded, by Node and optional-modules folder: a second start needs no new one. */
const loadedBefore = new Map<string, Set<string>>();

/** The engine ladder's survey, as the engine would see it. Undefined (and logged) when the survey itself fails. */
function survey(cliPath: string, log: vscode.LogOutputChannel): Promise<BackendSurveyEntry[] | undefined> {
  const { nodePath, optionalModules } = readSettings();
  const node = nodePath || process.execPath;
  const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...(optionalModules ? { DISTILL_OPTIONAL_MODULES: optionalModules } : {}) };
  return new Promise((resolve) => {
    execFile(node, [cliPath, 'backends', '--json'], { env, timeout: SURVEY_TIMEOUT_MS, windowsHide: true, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      const json = stdout
        .split('\n')
        .reverse()
        .find((l) => l.trim().startsWith('['));
      if (error || !json) {
        log.warn(
          `Could not survey the backends before the run (${node} ${cliPath} backends --json): ${error ? errorMessage(error) : 'no output'} ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
        resolve(undefined);
        return;
      }
      try {
        resolve(JSON.parse(json) as BackendSurveyEntry[]);
      } catch (e) {
        log.warn(`The backend survey printed something other than JSON: ${errorMessage(e)}`);
        resolve(undefined);
      }
    });
  });
}

export interface BackendCheckRequest {
  backend: Backend;
  /** The backend came from the setting distill.engine.backend, not the config. */
  fromSetting: boolean;
  configUri: vscode.Uri;
  /** The engine bundle (dist/engine.js); the CLI bundle sits beside it. */
  enginePath: string;
  log: vscode.LogOutputChannel;
  /** Called when the user fixed the config ("Use auto"): start again. */
  startAgain(): void;
}

/**
 * True when the run may start: its backend is `auto`, always there (wasm, cpu), or loads here (or the survey could
 * not say, and the engine will). Otherwise shows the problem with its fixes and returns false; nothing is written.
 */
export async function backendCanStart(request: BackendCheckRequest): Promise<boolean> {
  const { backend, log } = request;
  if (!needsBackendCheck(backend)) return true;
  const { nodePath, optionalModules } = readSettings();
  const key = `${nodePath ?? ''}\0${optionalModules ?? ''}`;
  if (loadedBefore.get(key)?.has(backend)) return true;
  const cliPath = path.join(path.dirname(request.enginePath), 'cli.js');
  const entries = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Distill: checking that ${backend} loads…` }, () =>
    survey(cliPath, log),
  );
  if (!entries) return true;
  const problem = backendProblem(entries, backend);
  if (!problem) {
    loadedBefore.set(key, new Set([...(loadedBefore.get(key) ?? []), backend]));
    return true;
  }
  const message = backendProblemMessage(problem, { configName: path.basename(request.configUri.fsPath), setting: request.fromSetting });
  log.warn(message);
  const fix = request.fromSetting ? 'Open Settings' : 'Use auto';
  const install = 'Install GPU Engine';
  const openLog = 'Open Log';
  void vscode.window.showErrorMessage(message, fix, ...(installableBackend(backend) ? [install] : []), openLog).then(async (choice) => {
    if (choice === openLog) log.show();
    if (choice === install) void vscode.commands.executeCommand(INSTALL_GPU_ENGINE_COMMAND);
    if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'distill.engine.backend');
    if (choice === 'Use auto' && (await setAutoBackend(request.configUri, log))) request.startAgain();
  });
  return false;
}

/** Sets engine.backend to "auto" in the config as one undoable edit, and saves it. */
async function setAutoBackend(configUri: vscode.Uri, log: vscode.LogOutputChannel): Promise<boolean> {
  const doc = await vscode.workspace.openTextDocument(configUri);
  const edit = new vscode.WorkspaceEdit();
  for (const e of useAutoBackendEdits(doc.getText()))
    edit.replace(configUri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
  if (!(await vscode.workspace.applyEdit(edit)) || !(await doc.save())) {
    void vscode.window.showErrorMessage(`Distill: could not set engine.backend to "auto" in ${configUri.fsPath}. Is it read-only?`);
    return false;
  }
  log.info(`Set engine.backend to "auto" in ${configUri.fsPath}`);
  return true;
}
