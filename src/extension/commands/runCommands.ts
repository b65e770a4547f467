/**
 * Commands on runs: Start, Stop, Resume, Open Dashboard, Compare, Export Student, Reveal, Delete, Show Engine Log.
 * Each accepts what its menus pass (a Runs-view node, a run directory, a config URI) and asks with a quick pick when
 * called from the palette without one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { readRun, type RunSnapshot } from '../../shared/runDir';
import type { ConfigLocator } from '../configs';
import type { DashboardController } from '../dashboard';
import type { RunController } from '../runController';
import { exportableModels } from '../exportable';
import { canResume, exportStudent, ExportTargetExists, hasStudentModel } from '../runFiles';
import { runDescription, runLabel } from '../runText';
import type { RunNode, RunsNode, RunsTreeProvider } from '../views/runsView';
import { runOnnxExport } from '../exportOnnx';
import { readSettings } from '../settings';
import { INSTALL_ONNX_COMMAND, needsOnnxRuntime } from './onnxRuntimeCommands';
import { panelOpeningOf } from '../panelOpening';

/** What run commands receive: a node from the Runs view, a run directory, or nothing (then they ask). */
export type RunArgument = RunsNode | string | vscode.Uri | undefined;

export function runDirOf(arg: RunArgument): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  // A sweep node is no run: its commands are the sweep commands.
  return arg.type === 'sweep' ? undefined : arg.run.dir;
}

export function registerRunCommands(deps: {
  runs: RunController;
  runsView: RunsTreeProvider;
  configs: ConfigLocator;
  dashboard: DashboardController;
  log: vscode.LogOutputChannel;
  /** The extension's folder: its dist/cli.js runs the ONNX export. */
  extensionPath: string;
}): vscode.Disposable {
  const { runs, runsView, configs, dashboard, log, extensionPath } = deps;

  /** The student as one ONNX file, through `distill export` in a child process, with progress. */
  const exportOnnx = async (run: RunSnapshot): Promise<string | undefined> => {
    const target = await vscode.window.showSaveDialog({
      title: `Export the student of ${run.runId} as ONNX`,
      saveLabel: 'Export',
      filters: { ONNX: ['onnx'] },
      defaultUri: vscode.Uri.file(path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(run.dir), `${run.runId}-student.onnx`)),
    });
    if (!target) return undefined;
    const { nodePath, optionalModules } = readSettings();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Distill: exporting ${run.runId} as ONNX` },
        (progress) =>
          runOnnxExport({
            cliPath: path.join(extensionPath, 'dist', 'cli.js'),
            runDir: run.dir,
            out: target.fsPath,
            nodePath,
            optionalModules,
            onLine: (line) => {
              log.info(`[export] ${line}`);
              progress.report({ message: line });
            },
          }),
      );
      const text = `exported the student to ${result.out}: it gives the tfjs student's logits on ${result.parity.rows} test rows within ${result.parity.maxAbsDiff.toExponential(1)} (${result.parity.runtime}).`;
      log.info(`Distill: ${text}`);
      const reveal = 'Reveal';
      void vscode.window.showInformationMessage(`Distill: ${text}`, reveal).then((c) => {
        if (c === reveal) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.out));
      });
      return result.out;
    } catch (e) {
      const install = needsOnnxRuntime(errorMessage(e)) ? ['Install ONNX Runtime'] : [];
      const choice = await vscode.window.showErrorMessage(`Distill: ONNX export failed: ${errorMessage(e)}`, ...install);
      if (choice) void vscode.commands.executeCommand(INSTALL_ONNX_COMMAND);
      return undefined;
    }
  };

  /** The run the argument names, else a quick pick of the runs that pass `filter`. */
  const resolveRun = async (arg: RunArgument, purpose: string, filter: (r: RunSnapshot) => boolean = () => true): Promise<RunSnapshot | undefined> => {
    const dir = runDirOf(arg);
    if (dir) {
      const run = readRun(dir);
      if (!run) void vscode.window.showErrorMessage(`Distill: ${dir} is not a run directory (it has no status.json).`);
      return run;
    }
    const candidates = (await runsView.allRuns()).filter(filter);
    if (!candidates.length) {
      void vscode.window.showInformationMessage(`Distill: there is no run to ${purpose}.`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      candidates.map((run) => ({ label: runLabel(run), description: runDescription(run), detail: run.runId, run })),
      { placeHolder: `Which run to ${purpose}?`, matchOnDetail: true },
    );
    return picked?.run;
  };

  const pickRuns = async (purpose: string, exclude: string[] = []): Promise<string[]> => {
    const candidates = (await runsView.allRuns()).filter((r) => !exclude.includes(r.dir));
    const picked = await vscode.window.showQuickPick(
      candidates.map((run) => ({ label: runLabel(run), description: runDescription(run), detail: run.runId, dir: run.dir })),
      { placeHolder: purpose, canPickMany: true, matchOnDetail: true },
    );
    return picked?.map((p) => p.dir) ?? [];
  };

  return vscode.Disposable.from(
    vscode.commands.registerCommand('distill.startRun', async (uri?: vscode.Uri) => {
      const config = uri instanceof vscode.Uri ? uri : await configs.pick('run');
      if (!config) return undefined;
      const runDir = await runs.start(config);
      if (runDir) await runsView.rewatch();
      return runDir;
    }),

    vscode.commands.registerCommand('distill.stopRun', () => runs.stop()),

    vscode.commands.registerCommand('distill.resumeRun', async (arg?: RunArgument) => {
      const run = await resolveRun(arg, 'resume', canResume);
      return run ? runs.resume(run.dir) : undefined;
    }),

    vscode.commands.registerCommand('distill.openDashboard', async (arg?: RunArgument, opening?: unknown) => {
      const dir = runDirOf(arg) ?? runs.active?.runDir ?? (await resolveRun(undefined, 'open'))?.dir;
      if (dir) dashboard.open(dir, panelOpeningOf(opening));
    }),

    vscode.commands.registerCommand('distill.compareRuns', async (_clicked?: RunArgument, selected?: RunsNode[]) => {
      // From the Runs view with several runs selected: compare those. Otherwise ask.
      const chosen = (selected ?? []).filter((n): n is RunNode => n.type === 'run').map((n) => n.run.dir);
      const dirs = chosen.length >= 2 ? chosen : await pickRuns('Select the runs to compare (two or more)');
      if (dirs.length === 1) void vscode.window.showInformationMessage('Distill: pick at least two runs to compare.');
      else if (dirs.length > 1) dashboard.compare(dirs);
    }),

    vscode.commands.registerCommand('distill.compareWith', async (arg?: RunArgument) => {
      const run = await resolveRun(arg, 'compare');
      if (!run) return;
      const others = await pickRuns(`Compare ${runLabel(run)} with…`, [run.dir]);
      if (others.length) dashboard.compare([run.dir, ...others]);
    }),

    vscode.commands.registerCommand('distill.exportStudent', async (arg?: RunArgument, format?: 'onnx' | 'tfjs') => {
      const run = await resolveRun(arg, 'export the student of', (r) => hasStudentModel(r.dir));
      if (!run) return undefined;
      // A run with compression stages offers each stage's model beside the float32 student.
      const models = exportableModels(run.dir);
      const model =
        models.length > 1
          ? (
              await vscode.window.showQuickPick(
                models.map((m) => ({ label: m.label, description: path.relative(run.dir, m.dir), id: m.id })),
                { placeHolder: 'Which model to export?' },
              )
            )?.id
          : 'student';
      if (!model) return undefined;
      // The ONNX exporter converts the float32 student; compression stages export as tfjs.
      const picked =
        model !== 'student'
          ? 'tfjs'
          : (format ??
            (
              await vscode.window.showQuickPick(
                [
                  {
                    label: 'ONNX',
                    description: 'one .onnx file for ONNX Runtime, PyTorch tooling, TensorRT…',
                    detail:
                      'Converted from the tfjs student and checked against it on the test split (logits within 1e-4) before it is written. Needs ONNX Runtime (Distill: Install ONNX Runtime).',
                    format: 'onnx' as const,
                  },
                  {
                    label: 'TensorFlow.js',
                    description: 'model.json + weights, as trained',
                    detail: "A copy of the run's student folder, for tfjs in Node or the browser.",
                    format: 'tfjs' as const,
                  },
                ],
                { title: `Export the student of ${run.runId}`, placeHolder: 'Which format?' },
              )
            )?.format);
      if (!picked) return undefined;
      if (picked === 'onnx') return exportOnnx(run);
      const [folder] =
        (await vscode.window.showOpenDialog({
          canSelectFiles: false,
          canSelectFolders: true,
          canSelectMany: false,
          openLabel: 'Export Here',
          title: `Export the student of ${run.runId} (a TensorFlow.js model, T = 1)`,
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        })) ?? [];
      if (!folder) return undefined;
      let target: string;
      try {
        target = await exportStudent(run, folder.fsPath, false, model).catch(async (e) => {
          if (!(e instanceof ExportTargetExists)) throw e;
          const replace = 'Replace';
          if ((await vscode.window.showWarningMessage(`${e.target} already exists. Replace it?`, { modal: true }, replace)) !== replace) throw e;
          return exportStudent(run, folder.fsPath, true, model);
        });
      } catch (e) {
        if (!(e instanceof ExportTargetExists)) void vscode.window.showErrorMessage(`Distill: export failed: ${errorMessage(e)}`);
        return undefined;
      }
      log.info(`Exported the student of ${run.runId} to ${target}`);
      const inWorkspace = !!vscode.workspace.getWorkspaceFolder(vscode.Uri.file(target));
      const reveal = inWorkspace ? 'Show in Explorer' : 'Reveal';
      void vscode.window
        .showInformationMessage(
          `Distill: exported the student to ${target}: the model, distill-model.json (classes, input shape, scaling) and a README on loading it.`,
          reveal,
        )
        .then((c) => {
          if (c !== reveal) return;
          // A folder inside the workspace is shown in VS Code's Explorer; one outside in the system's file manager
          // (which a remote window such as code-server does not have).
          if (inWorkspace) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path.join(target, 'README.md')));
          else void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path.join(target, 'model.json')));
        });
      return target;
    }),

    vscode.commands.registerCommand('distill.revealRun', async (arg?: RunArgument) => {
      const run = await resolveRun(arg, 'reveal');
      if (!run) return;
      const uri = vscode.Uri.file(run.dir);
      // Inside the workspace: the Explorer; outside it: the OS file manager.
      const inWorkspace = !!vscode.workspace.getWorkspaceFolder(uri);
      await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
    }),

    vscode.commands.registerCommand('distill.deleteRun', async (arg?: RunArgument, selected?: RunsNode[]) => {
      // The Delete key in the Runs view (a keybinding) acts on the view's selection, like the Explorer's.
      if (!arg && !selected && runsView.view.visible && runsView.view.selection.length) {
        selected = [...runsView.view.selection];
        arg = selected[0];
      }
      const chosen = (selected ?? []).filter((n): n is RunNode => n.type === 'run').map((n) => n.run);
      const targets = chosen.length > 1 ? chosen : [await resolveRun(arg, 'delete')].filter((r): r is RunSnapshot => !!r);
      if (!targets.length) return false;
      const busy = targets.find((r) => r.dir === runs.active?.runDir);
      if (busy) {
        void vscode.window.showWarningMessage(`Distill: ${busy.runId} is running. Stop it before deleting it.`);
        return false;
      }
      const what = targets.length === 1 ? `run ${targets[0].runId}` : `${targets.length} runs`;
      const del = 'Delete';
      const answer = await vscode.window.showWarningMessage(
        `Delete ${what}? Its metrics, checkpoints and exported student go with it.`,
        { modal: true, detail: targets.map((r) => r.dir).join('\n') },
        del,
      );
      if (answer !== del) return false;
      let permanently = false;
      for (const [i, run] of targets.entries()) {
        if (!permanently) {
          try {
            await vscode.workspace.fs.delete(vscode.Uri.file(run.dir), { recursive: true, useTrash: true });
            log.info(`Moved ${run.dir} to the trash`);
            continue;
          } catch (e) {
            // No trash on this system (common on servers and in remote windows): the user agreed to a recoverable
            // delete, so ask before making it a permanent one.
            const rest = targets.length - i === 1 ? run.runId : `the ${targets.length - i} remaining runs`;
            const permanent = 'Delete Permanently';
            const choice = await vscode.window.showWarningMessage(
              `The trash is not available here (${trashFailure(e)}). Delete ${rest} permanently? This cannot be undone.`,
              { modal: true },
              permanent,
            );
            if (choice !== permanent) break;
            permanently = true;
          }
        }
        try {
          await fs.promises.rm(run.dir, { recursive: true, force: true });
          log.info(`Deleted ${run.dir} permanently`);
        } catch (e) {
          log.error(`Deleting ${run.dir} failed: ${errorMessage(e)}`);
          void vscode.window.showErrorMessage(`Distill: deleting ${run.runId} failed: ${errorMessage(e)}. Part of its folder may remain: ${run.dir}`);
          break;
        }
      }
      runsView.refresh();
      return true;
    }),

    vscode.commands.registerCommand('distill.refreshRuns', () => runsView.rewatch()),
    vscode.commands.registerCommand('distill.showLog', () => log.show()),
  );
}

/** The file service's reason, without its remote-authority prefix (vscode-remote://host:port) or final full stop. */
function trashFailure(e: unknown): string {
  return errorMessage(e)
    .replace(/vscode-remote:\/\/[^/]+/g, '')
    .replace(/\.\s*$/, '');
}
