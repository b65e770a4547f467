/**
 * Commands on sweeps: Start Sweep (a `*.sweep.json` from the editor title, the Explorer or the palette), Stop Sweep
 * (the Runs view's sweep node, or this window's sweep) and Open Sweep View (a sweep node, a sweep folder, or a sweep
 * file: its newest sweep). They ask with a quick pick when called from the palette without an argument.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SweepViewController } from '../dashboard/sweepPanel';
import type { SweepController } from '../sweepController';
import { isSweepFile, SWEEP_SUFFIX, type SweepLocator } from '../sweeps';
import { sweepDescription } from '../sweepText';
import { readSweepNodes, type SweepNode } from '../views/sweepNodes';
import type { RunsTreeProvider } from '../views/runsView';
import { panelOpeningOf } from '../panelOpening';

export type SweepArgument = SweepNode | string | vscode.Uri | undefined;

export function registerSweepCommands(deps: {
  sweeps: SweepController;
  locator: SweepLocator;
  sweepView: SweepViewController;
  runsView: RunsTreeProvider;
}): vscode.Disposable {
  const { sweeps, locator, sweepView, runsView } = deps;

  const allSweeps = async () => readSweepNodes(await locator.sweepsDirectories()).sort((a, b) => b.state.createdAt.localeCompare(a.state.createdAt));

  /** The sweep folder an argument names; a sweep file names its newest sweep. Else a quick pick. */
  const resolveSweep = async (arg: SweepArgument, purpose: string, filter: (s: SweepNode) => boolean = () => true): Promise<string | undefined> => {
    if (typeof arg === 'string') return arg;
    if (arg && !(arg instanceof vscode.Uri) && arg.type === 'sweep') return arg.dir;
    const all = (await allSweeps()).filter(filter);
    if (arg instanceof vscode.Uri) {
      // A folder (the Explorer's): taken as a sweep folder.
      if (!arg.fsPath.endsWith(SWEEP_SUFFIX)) return arg.fsPath;
      const mine = all.find((s) => path.resolve(s.state.file) === path.resolve(arg.fsPath));
      if (!mine) void vscode.window.showInformationMessage(`Distill: ${path.basename(arg.fsPath)} has not been run yet. Start Sweep runs it.`);
      return mine?.dir;
    }
    if (!all.length) {
      void vscode.window.showInformationMessage(`Distill: there is no sweep to ${purpose}.`);
      return undefined;
    }
    if (all.length === 1) return all[0].dir;
    const picked = await vscode.window.showQuickPick(
      all.map((s) => ({ label: s.data.name, description: sweepDescription(s.data, s.state.best), detail: s.dir, dir: s.dir })),
      { placeHolder: `Which sweep to ${purpose}?`, matchOnDetail: true },
    );
    return picked?.dir;
  };

  return vscode.Disposable.from(
    vscode.commands.registerCommand('distill.startSweep', async (uri?: vscode.Uri) => {
      const file = isSweepFile(uri) ? uri : await locator.pick('start');
      if (!file) return undefined;
      const active = await sweeps.start(file);
      return active ? file.fsPath : undefined;
    }),
    vscode.commands.registerCommand('distill.stopSweep', async (arg?: SweepArgument) => {
      if (!arg && sweeps.active) return sweeps.stop();
      const dir = await resolveSweep(arg, 'stop', (s) => s.data.status === 'running');
      if (dir) await sweeps.stop(dir);
      runsView.refresh();
    }),
    vscode.commands.registerCommand('distill.openSweep', async (arg?: SweepArgument, opening?: unknown) => {
      const dir = arg === undefined && sweeps.active?.dir ? sweeps.active.dir : await resolveSweep(arg, 'open');
      if (dir) sweepView.open(dir, panelOpeningOf(opening));
      return dir;
    }),
  );
}
