/**
 * The Runs view: the history in the runs directories, newest first, read from disk (`listRuns`) and refreshed by
 * file-system watchers on each run's `status.json` and `summary.json` (no polling). A run's context value is
 * `distill:run+<status>` plus modifiers (`+resumable`, `+student`), which the manifest's menus match by regex.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Progress } from '../../shared/protocol';
import type { RunStatus } from '../../shared/records';
import { RUN_FILES, listRuns, type RunSnapshot } from '../../shared/runDir';
import { formatBytes } from '../../shared/format';
import { canResume, hasStudentModel } from '../runFiles';
import { formatDuration, resultRows, runDescription, runLabel, type ResultRow } from '../runText';
import { SWEEP_FILES } from '../../shared/sweepDir';
import { readSweepNodes, sweepItem, sweepTrialRuns, type SweepNode } from './sweepNodes';
import { OPENED_FROM_TREE_ROW } from '../panelOpening';

export interface RunNode {
  type: 'run';
  run: RunSnapshot;
  /** A sweep's trial: the sweep's folder, and the trial's line (its parameters and objective). */
  sweepDir?: string;
  description?: string;
}
export interface ResultNode {
  type: 'result';
  run: RunSnapshot;
  row: ResultRow;
  /** The row's deployable model (`student/` or `baseline/`), when the run saved one. */
  modelFile?: string;
}
export type RunsNode = RunNode | ResultNode | SweepNode;
export type { SweepNode } from './sweepNodes';

const REFRESH_DEBOUNCE_MS = 250;

const STATUS_ICONS: Record<RunStatus, [string, string | undefined]> = {
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass-filled', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  stopped: ['debug-stop', 'disabledForeground'],
  interrupted: ['warning', 'problemsWarningIcon.foreground'],
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<RunsNode>;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watchers: vscode.Disposable[] = [];
  private watchedDirs = '';
  private nodes = new Map<string, RunNode>();
  private sweepNodes = new Map<string, SweepNode>();
  /** The sweep this window's `distill sweep` child runs. */
  private activeSweep: string | undefined;
  /** The run this window's engine is training, and its latest progress. */
  private active: { runDir: string; progress?: Progress } | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runsDirectories: () => Promise<string[]>,
    /** Where sweeps are written (each sweep file's output.sweepsDir): their trials are grouped under them. */
    private readonly sweepsDirectories: () => Promise<string[]> = async () => [],
  ) {
    this.view = vscode.window.createTreeView('distill.runs', { treeDataProvider: this, canSelectMany: true, showCollapseAll: true });
    this.disposables.push(this.view);
    void this.rewatch();
  }

  /** Re-read the runs (debounced: a finishing run writes several files at once). */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.changed.fire(undefined), REFRESH_DEBOUNCE_MS);
  }

  /** Watch the current runs directories, e.g. after configs or the runs-directory setting changed. */
  async rewatch(): Promise<void> {
    const dirs = await this.runsDirectories();
    const sweepDirs = await this.sweepsDirectories();
    const key = [...dirs, '', ...sweepDirs].join('\0');
    if (key !== this.watchedDirs) {
      this.watchedDirs = key;
      for (const w of this.watchers) w.dispose();
      // Run and sweep folders appearing or vanishing, and the files that change a run's row or a sweep's line.
      this.watchers = [
        ...dirs.flatMap((dir) => this.watchEntries(dir, [RUN_FILES.status, RUN_FILES.summary])),
        ...sweepDirs.flatMap((dir) => this.watchEntries(dir, [SWEEP_FILES.sweep, SWEEP_FILES.results])),
      ];
    }
    this.refresh();
  }

  /** Refreshes when a folder appears in or vanishes from `dir`, or one of `files` changes in any of its folders. */
  private watchEntries(dir: string, files: string[]): vscode.Disposable[] {
    const base = vscode.Uri.file(dir);
    const folders = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, '*'), false, true, false);
    const entries = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `*/{${files.join(',')}}`));
    const refresh = () => this.refresh();
    return [
      folders,
      entries,
      folders.onDidCreate(refresh),
      folders.onDidDelete(refresh),
      entries.onDidCreate(refresh),
      entries.onDidChange(refresh),
      entries.onDidDelete(refresh),
    ];
  }

  /** Mark the run this window is training and show its latest progress on its row (`undefined`: none is). */
  setActive(runDir: string | undefined, progress?: Progress): void {
    const previous = this.active?.runDir;
    this.active = runDir ? { runDir, progress } : undefined;
    const node = this.nodes.get(runDir ?? previous ?? '');
    // A row not read yet (the run has just started) arrives with the next refresh.
    if (node) this.changed.fire(node);
    else this.refresh();
  }

  /** Mark the sweep this window runs (`undefined`: none), so its node offers Stop. */
  setActiveSweep(dir: string | undefined): void {
    this.activeSweep = dir;
    this.refresh();
  }

  async allRuns(): Promise<RunSnapshot[]> {
    const dirs = await this.runsDirectories();
    return dirs.flatMap((dir) => listRuns(dir)).sort((a, b) => (b.statusFile?.startedAt ?? '').localeCompare(a.statusFile?.startedAt ?? ''));
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) {
      const runs = await this.allRuns();
      const sweeps = readSweepNodes(await this.sweepsDirectories());
      // The manifest's welcome says "reading…" until this first answer, and "No runs yet" only after it.
      void vscode.commands.executeCommand('setContext', 'distill.runsView', runs.length || sweeps.length ? 'filled' : 'empty');
      this.nodes = new Map(runs.map((run) => [run.dir, { type: 'run', run }]));
      this.sweepNodes = new Map(sweeps.map((s) => [s.dir, s]));
      // Sweeps and runs together, newest first.
      const started = (n: RunNode | SweepNode) => (n.type === 'sweep' ? n.state.createdAt : (n.run.statusFile?.startedAt ?? ''));
      return [...sweeps, ...this.nodes.values()].sort((a, b) => started(b).localeCompare(started(a)));
    }
    if (node.type === 'sweep') {
      const trials = sweepTrialRuns(node).map(({ run, description }): RunNode => ({ type: 'run', run, sweepDir: node.dir, description }));
      for (const t of trials) this.nodes.set(t.run.dir, t);
      return trials;
    }
    if (node.type === 'result' || !node.run.summary) return [];
    return resultRows(node.run.summary).map((row): ResultNode => {
      const folder = row.kind === 'kd' ? RUN_FILES.student : row.kind === 'baseline' ? RUN_FILES.baseline : undefined;
      const modelFile = folder ? path.join(node.run.dir, folder, 'model.json') : undefined;
      return { type: 'result', run: node.run, row, modelFile: modelFile && fs.existsSync(modelFile) ? modelFile : undefined };
    });
  }

  getParent(node: RunsNode): RunsNode | undefined {
    if (node.type === 'result') return this.nodes.get(node.run.dir);
    if (node.type === 'run' && node.sweepDir) return this.sweepNodes.get(node.sweepDir);
    return undefined;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const d of [...this.watchers, ...this.disposables]) d.dispose();
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.type === 'sweep') return sweepItem(node, !!this.activeSweep && this.activeSweep === node.dir);
    return node.type === 'run' ? this.runItem(node.run, node.description) : resultItem(node);
  }

  private runItem(run: RunSnapshot, description?: string): vscode.TreeItem {
    const item = new vscode.TreeItem(runLabel(run), run.summary ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `distill.runs/${run.dir}`;
    const isActive = this.active?.runDir === run.dir;
    const live = isActive ? this.active?.progress : undefined;
    item.description = description ?? runDescription(run, live);
    const [icon, color] = STATUS_ICONS[run.status];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    // `active`: trained by this window, so Stop applies; a run from the CLI shows `running` without it.
    const modifiers = [run.status, ...(isActive ? ['active'] : []), ...(canResume(run) ? ['resumable'] : []), ...(hasStudentModel(run.dir) ? ['student'] : [])];
    item.contextValue = `distill:run+${modifiers.join('+')}`;
    item.tooltip = runTooltip(run);
    item.resourceUri = vscode.Uri.file(run.dir);
    item.command = { command: 'distill.openDashboard', title: 'Open Dashboard', arguments: [{ type: 'run', run } satisfies RunNode, OPENED_FROM_TREE_ROW] };
    return item;
  }
}

function runTooltip(run: RunSnapshot): vscode.MarkdownString {
  const md = new vscode.MarkdownString('', true);
  md.appendMarkdown(`**${run.runId}** — ${run.status}\n\n`);
  const c = run.config;
  if (c) {
    const teacher = Array.isArray(c.teacher)
      ? `an ensemble of ${c.teacher.length}`
      : 'preset' in c.teacher
        ? `preset ${c.teacher.preset}`
        : 'model' in c.teacher
          ? path.basename(path.dirname(c.teacher.model)) + '/model.json'
          : 'precomputed logits';
    const student = 'preset' in c.student ? `preset ${c.student.preset}` : path.basename(path.dirname(c.student.model)) + '/model.json';
    md.appendMarkdown(`Teacher: ${teacher} · Student: ${student}\n\n`);
    md.appendMarkdown(
      `T = ${c.distillation.temperature} · α = ${c.distillation.alpha} · ${c.distillation.divergence} · schedule ${c.distillation.schedule.type} · ${c.training.epochs} epochs\n\n`,
    );
  }
  const s = run.statusFile;
  if (s?.startedAt)
    md.appendMarkdown(`Started ${new Date(s.startedAt).toLocaleString()}${run.summary ? ` · took ${formatDuration(run.summary.seconds)}` : ''}\n\n`);
  if (run.summary) md.appendMarkdown(`Backend: ${run.summary.backend.name} (${run.summary.backend.reason})\n\n`);
  if (s?.reason && run.status !== 'completed') md.appendMarkdown(`Reason: ${s.reason}\n\n`);
  if (run.status === 'interrupted' && !s?.reason) md.appendMarkdown('The engine ended without finishing (VS Code closed, or the process was killed).\n\n');
  if (canResume(run)) md.appendMarkdown('Resumable from its last checkpoint.\n\n');
  md.appendMarkdown(`\`${run.dir}\``);
  return md;
}

function resultItem(node: ResultNode): vscode.TreeItem {
  const { row } = node;
  const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
  item.id = `distill.runs/${node.run.dir}/${row.kind}`;
  item.description = row.description;
  item.iconPath = new vscode.ThemeIcon(row.kind === 'teacher' ? 'mortar-board' : row.kind === 'kd' ? 'beaker' : 'circle-large-outline');
  item.contextValue = `distill:result+${row.kind}${node.modelFile ? '+model' : ''}`;
  const r = row.report;
  const md = new vscode.MarkdownString(`**${row.label}** — ${node.run.runId}\n\n`);
  md.appendMarkdown(`Accuracy ${(r.accuracy * 100).toFixed(2)}% · macro-F1 ${(r.macroF1 * 100).toFixed(2)}%\n\n`);
  if (r.params !== null) md.appendMarkdown(`${r.params.toLocaleString('en-US')} params${r.sizeBytes ? ` · ${formatBytes(r.sizeBytes)}` : ''}\n\n`);
  else md.appendMarkdown('Given as precomputed logits\n\n');
  if (r.latencyMs) md.appendMarkdown(`Latency ${r.latencyMs.batch1.toFixed(2)} ms (batch 1) · ${r.latencyMs.batch256.toFixed(2)} ms (batch 256)\n\n`);
  if (r.klToTeacher !== undefined)
    md.appendMarkdown(`KL to teacher ${r.klToTeacher.toFixed(4)}${r.agreement !== undefined ? ` · agreement ${(r.agreement * 100).toFixed(1)}%` : ''}\n\n`);
  if (r.ece !== undefined) md.appendMarkdown(`ECE ${r.ece.toFixed(4)}\n\n`);
  if (node.modelFile) md.appendMarkdown(`Model: \`${node.modelFile}\``);
  item.tooltip = md;
  return item;
}
