/**
 * Sweeps in the Runs view: one collapsible node per sweep folder (status, trials done, best objective), its trials'
 * runs under it. Context values `distill:sweep+<status>[+active][+stoppable]`, matched by the manifest's menus.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { isProcessAlive, readRun, type RunSnapshot } from '../../shared/runDir';
import { listSweeps, type SweepState } from '../../shared/sweepDir';
import type { SweepData } from '../../shared/sweepProtocol';
import { formatObjective } from '../../shared/sweepView';
import { readSweepData } from '../dashboard/sweepSource';
import { formatParams, listedTrials, sweepDescription, trialDescription } from '../sweepText';
import { OPENED_FROM_TREE_ROW } from '../panelOpening';

export interface SweepNode {
  type: 'sweep';
  dir: string;
  state: SweepState;
  data: SweepData;
}

const STATUS_ICONS: Record<SweepData['status'], [string, string | undefined]> = {
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass-filled', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  stopped: ['debug-stop', 'disabledForeground'],
  interrupted: ['warning', 'problemsWarningIcon.foreground'],
};

/** Every sweep in these folders, newest first. */
export function readSweepNodes(sweepsDirs: readonly string[]): SweepNode[] {
  const out: SweepNode[] = [];
  for (const d of sweepsDirs) {
    for (const { dir, state } of listSweeps(d)) {
      const data = readSweepData(dir);
      if (data) out.push({ type: 'sweep', dir, state, data });
    }
  }
  return out;
}

/** The started trials of a sweep as run snapshots, in the order the view lists them, with their Runs-view line. */
export function sweepTrialRuns(node: SweepNode): { run: RunSnapshot; description: string }[] {
  return listedTrials(node.data)
    .map((t) => ({ run: readRun(t.runDir), description: trialDescription(t, node.data.objective.metric) }))
    .filter((r): r is { run: RunSnapshot; description: string } => !!r.run);
}

export function sweepItem(node: SweepNode, active: boolean): vscode.TreeItem {
  const { data, state } = node;
  const item = new vscode.TreeItem(data.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `distill.runs/sweep/${node.dir}`;
  item.description = sweepDescription(data, state.best);
  const [icon, color] = STATUS_ICONS[data.status];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  // Stoppable: run by this window, or by a coordinator process on this machine (a terminal's `distill sweep`).
  const stoppable = active || (data.status === 'running' && state.host === os.hostname() && isProcessAlive(state.pid));
  item.contextValue = `distill:sweep+${[data.status, ...(active ? ['active'] : []), ...(stoppable ? ['stoppable'] : [])].join('+')}`;
  const md = new vscode.MarkdownString('', true);
  md.appendMarkdown(`**Sweep ${data.name}** — ${data.status}\n\n`);
  md.appendMarkdown(
    `Objective: ${data.objective.metric} (${data.objective.goal === 'max' ? 'higher' : 'lower'} is better) · axes: ${data.axes.map((a) => a.path).join(' × ')} · ${data.repeats} repeat${data.repeats === 1 ? '' : 's'} · ${data.executor}\n\n`,
  );
  if (state.best)
    md.appendMarkdown(`Best: ${formatParams(state.best.params)} → ${formatObjective(state.best.mean, data.objective.metric)} (n = ${state.best.n})\n\n`);
  if (data.reason) md.appendMarkdown(`${data.reason}\n\n`);
  md.appendMarkdown(`\`${node.dir}\``);
  item.tooltip = md;
  item.resourceUri = vscode.Uri.file(node.dir);
  item.command = { command: 'distill.openSweep', title: 'Open Sweep View', arguments: [node, OPENED_FROM_TREE_ROW] };
  return item;
}
