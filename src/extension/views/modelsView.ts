/**
 * The Models view: the active config's teacher and student, and the model files found in the workspace, each with
 * its kind, input shape, classes and parameter count. Items carry context values (`distill:modelFile+layers`) that
 * the manifest's menus match ("Use as Teacher", "Use as Student").
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findNodeAtLocation, parse as parseJsonc, parseTree } from 'jsonc-parser';
import type { ModelRole } from '../configEdit';
import { detailModel, summarizeModel, type ModelFileInfo, type NotAModel } from '../modelInfo';
import type { ConfigLocator } from '../configs';
import { describeImageDataset, type ImageDatasetEntry } from '../imageDatasets';
import { entryFile, type CatalogEntry, type ModelCatalog } from '../modelCatalog';

export interface RoleNode {
  type: 'role';
  role: ModelRole;
  configUri: vscode.Uri;
  spec: unknown;
  /** The described file, when the config names one. */
  info?: ModelFileInfo | NotAModel;
}
export interface FilesNode {
  type: 'files';
}
export interface EntryNode {
  type: 'entry';
  entry: CatalogEntry;
}
export type ModelsNode = RoleNode | FilesNode | EntryNode;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly filesNode: FilesNode = { type: 'files' };
  readonly view: vscode.TreeView<ModelsNode>;

  constructor(
    private readonly configs: ConfigLocator,
    private readonly catalog: ModelCatalog,
  ) {
    this.view = vscode.window.createTreeView('distill.models', { treeDataProvider: this, showCollapseAll: false });
    this.disposables.push(
      this.view,
      configs.onDidChange(() => this.changed.fire(undefined)),
      catalog.onDidChange(() => this.changed.fire(undefined)),
    );
  }

  refresh(): void {
    this.catalog.refresh();
  }

  async getChildren(node?: ModelsNode): Promise<ModelsNode[]> {
    if (!node) {
      const roles = await this.roleNodes();
      const files = await this.catalog.list();
      const empty = !roles.length && !files.length;
      // The manifest's welcome content follows this key: "looking…" until the first read ends, the welcome (which
      // offers New Config) only once a read has found nothing. An ungated welcome would show while the view loads,
      // saying "no config" about a workspace that has one. VS Code shows a welcome only while the message is empty.
      void vscode.commands.executeCommand('setContext', 'distill.modelsView', empty ? 'empty' : 'filled');
      this.view.message =
        roles.length || empty
          ? undefined
          : 'No *.distill.json in this workspace yet. Create one with "Distill: New Config"; the models below can then be picked as teacher or student.';
      return empty ? [] : [...roles, this.filesNode];
    }
    if (node.type === 'files') return (await this.catalog.list()).map((entry): EntryNode => ({ type: 'entry', entry }));
    return [];
  }

  private async roleNodes(): Promise<RoleNode[]> {
    const configUri = await this.configs.active();
    this.view.description = configUri ? path.basename(configUri.fsPath) : undefined;
    if (!configUri) return [];
    let value: unknown;
    try {
      value = parseJsonc(Buffer.from(await vscode.workspace.fs.readFile(configUri)).toString('utf8'));
    } catch {
      value = undefined;
    }
    const config = isRecord(value) ? value : {};
    return Promise.all(
      (['teacher', 'student'] as const).map(async (role): Promise<RoleNode> => {
        const spec = config[role];
        const file =
          isRecord(spec) && typeof spec.model === 'string'
            ? spec.model
            : isRecord(spec) && isRecord(spec.logits) && typeof spec.logits.train === 'string'
              ? spec.logits.train
              : undefined;
        const info = file ? await this.catalog.describe(path.resolve(path.dirname(configUri.fsPath), file)) : undefined;
        return { type: 'role', role, configUri, spec, info };
      }),
    );
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  getTreeItem(node: ModelsNode): vscode.TreeItem {
    if (node.type === 'files') {
      const item = new vscode.TreeItem('Model files in the workspace', vscode.TreeItemCollapsibleState.Expanded);
      item.id = 'distill.models/files';
      item.contextValue = 'distill:modelFiles';
      item.tooltip =
        'TensorFlow.js model.json files (Layers or Graph), ONNX models (teachers, e.g. from PyTorch), teacher-logit files (.npy, .jsonl whose name says "logits" or "teacher") and image datasets (a folder per class). Run folders are not listed here: their models show under each run.';
      return item;
    }
    if (node.type === 'role') return roleItem(node);
    return entryItem(node.entry);
  }
}

function roleItem(node: RoleNode): vscode.TreeItem {
  const title = node.role === 'teacher' ? 'Teacher' : 'Student';
  const item = new vscode.TreeItem(title, vscode.TreeItemCollapsibleState.None);
  item.id = `distill.models/role/${node.role}`;
  item.contextValue = `distill:role+${node.role}`;
  item.iconPath = new vscode.ThemeIcon(node.role === 'teacher' ? 'mortar-board' : 'beaker');
  const spec = isRecord(node.spec) ? node.spec : undefined;
  const tooltip = new vscode.MarkdownString(`**${title}** in \`${path.basename(node.configUri.fsPath)}\`\n\n`);
  if (!spec) {
    item.description = 'not set — pick one';
    tooltip.appendMarkdown('Not set. Use the pencil button, or "Use as ' + title + '" on a model file.');
  } else if (typeof spec.preset === 'string') {
    item.description = `preset ${spec.preset}${node.role === 'teacher' ? ' (trained by the engine)' : ''}`;
    tooltip.appendMarkdown(`Built-in preset \`${spec.preset}\`.`);
  } else if (node.info && node.info.kind !== 'invalid') {
    const shown = typeof spec.model === 'string' ? spec.model : isRecord(spec.logits) ? `${String(spec.logits.train)} + ${String(spec.logits.test)}` : '';
    item.description = `${shown} · ${summarizeModel(node.info)}`;
    tooltip.appendMarkdown(detailModel(node.info).join('\n\n'));
  } else if (node.info) {
    item.description = `⚠ ${node.info.reason}`;
    item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    tooltip.appendMarkdown(`\`${node.info.file}\`: ${node.info.reason}.`);
  }
  item.tooltip = tooltip;
  item.command = { command: 'vscode.open', title: 'Open Config', arguments: [node.configUri, { selection: rangeOf(node.configUri, node.role) }] };
  return item;
}

/** Where the role sits in the config, so clicking the item lands on it. Read from the open document if there is one. */
function rangeOf(uri: vscode.Uri, role: ModelRole): vscode.Range | undefined {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (!doc) return undefined;
  const node = findNodeAtLocation(parseTree(doc.getText()) ?? { type: 'null', offset: 0, length: 0 }, [role]);
  const key = node?.parent?.children?.[0];
  return key ? new vscode.Range(doc.positionAt(key.offset), doc.positionAt(key.offset + key.length)) : undefined;
}

function imageDatasetItem(entry: ImageDatasetEntry): vscode.TreeItem {
  const item = new vscode.TreeItem(vscode.workspace.asRelativePath(entry.train.dir));
  item.id = `distill.models/images/${entry.train.dir}`;
  item.resourceUri = vscode.Uri.file(entry.train.dir);
  item.iconPath = new vscode.ThemeIcon('file-media');
  item.description = describeImageDataset(entry);
  item.contextValue = 'distill:imageFolder';
  const classes = entry.train.classes;
  item.tooltip = new vscode.MarkdownString(
    `\`${vscode.workspace.asRelativePath(entry.train.dir)}\`: images in one folder per class (torchvision's ImageFolder layout)\n\n` +
      `Classes: ${classes.slice(0, 12).join(', ')}${classes.length > 12 ? `, … (${classes.length})` : ''}\n\n` +
      (entry.test
        ? `Test split: \`${vscode.workspace.asRelativePath(entry.test.dir)}\` (${entry.test.images.toLocaleString('en-US')} images)\n\n`
        : 'No test/ or val/ folder beside it: "Use as Data" asks for one.\n\n') +
      '"Use as Data" points the config\'s `data` at these folders (`format: "images"`).',
  );
  return item;
}

function entryItem(entry: CatalogEntry): vscode.TreeItem {
  if (entry.kind === 'image-folders') return imageDatasetItem(entry);
  const file = entryFile(entry);
  const rel = vscode.workspace.asRelativePath(file);
  // A model is named by its folder (the file is always model.json); a logits pair by its train file.
  const label =
    entry.kind === 'tfjs-model' || (entry.kind === 'invalid' && path.basename(file) === 'model.json')
      ? vscode.workspace.asRelativePath(path.dirname(file))
      : rel;
  const item = new vscode.TreeItem(label);
  item.id = `distill.models/file/${file}`;
  item.resourceUri = vscode.Uri.file(file);
  if (entry.kind === 'invalid') {
    item.description = `not usable: ${entry.reason}`;
    item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    item.contextValue = 'distill:modelFile+invalid';
    item.tooltip = `${file}\n\n${entry.reason}.`;
    return item;
  }
  const info = entry.kind === 'logits-pair' ? entry.train : entry;
  const tooltip = new vscode.MarkdownString(`\`${rel}\`\n\n${detailModel(info).join('\n\n')}`);
  item.description = summarizeModel(info);
  if (entry.kind === 'logits-pair') {
    item.description = `+ ${path.basename(entry.test.file)} · ${item.description}`;
    tooltip.appendMarkdown(`\n\nTest rows: \`${vscode.workspace.asRelativePath(entry.test.file)}\` (${entry.test.rows.toLocaleString('en-US')} rows)`);
  }
  item.tooltip = tooltip;
  if (entry.kind === 'onnx-model') {
    item.iconPath = new vscode.ThemeIcon('symbol-interface');
    item.contextValue = 'distill:modelFile+onnx';
  } else if (entry.kind === 'tfjs-model') {
    item.iconPath = new vscode.ThemeIcon('symbol-class');
    item.contextValue = `distill:modelFile+${entry.format}`;
    item.command = { command: 'vscode.open', title: 'Open model.json', arguments: [vscode.Uri.file(file)] };
  } else {
    item.iconPath = new vscode.ThemeIcon('table');
    item.contextValue = entry.kind === 'logits-pair' ? 'distill:logits+pair' : 'distill:logits';
  }
  return item;
}
