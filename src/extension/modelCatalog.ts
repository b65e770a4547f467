/**
 * The model files in the workspace: tfjs `model.json` (Layers or Graph), ONNX models and teacher-logit files, each
 * described from its metadata (`modelInfo.ts`), and image datasets (class folders, `imageDatasets.ts`). Run directories and caches are left out: a run's outputs show under
 * the run in the Runs view. Refreshed by a file-system watcher; descriptions are cached by modification time.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  describeModelFile,
  looksLikeLogitsFile,
  pairLogitsFiles,
  type LogitsFileInfo,
  type ModelFileInfo,
  type NotAModel,
  type OnnxFileInfo,
  type TfjsModelInfo,
} from './modelInfo';
import { SEARCH_EXCLUDE } from './configs';
import { IMAGE_FILE, imageDatasets, type ImageDatasetEntry } from './imageDatasets';

export interface LogitsPairEntry {
  kind: 'logits-pair';
  train: LogitsFileInfo;
  test: LogitsFileInfo;
}

export type CatalogEntry = TfjsModelInfo | OnnxFileInfo | LogitsFileInfo | LogitsPairEntry | ImageDatasetEntry | NotAModel;

const MAX_FILES = 300;
/** Image files searched for datasets: enough to count a Fashion-MNIST-sized folder, bounded for huge workspaces. */
export const MAX_IMAGE_FILES = 100_000;

export class ModelCatalog implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly described = new Map<string, { mtimeMs: number; info: ModelFileInfo | NotAModel }>();
  private entries: Promise<CatalogEntry[]> | undefined;

  /** @param excludedDirs folders whose files are not offered as models (the runs and cache directories). */
  constructor(private readonly excludedDirs: () => Promise<string[]>) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/{model.json,*.onnx,*.npy,*.jsonl,*.png,*.jpg,*.jpeg}');
    // Writing a dataset creates thousands of images: one rescan after they stop coming, not one per file.
    let imagesSettling: NodeJS.Timeout | undefined;
    const invalidate = (uri: vscode.Uri) => {
      if (IMAGE_FILE.test(uri.fsPath)) {
        clearTimeout(imagesSettling);
        imagesSettling = setTimeout(() => this.refresh(), 1500);
      } else if (uri.fsPath.endsWith('.json') || uri.fsPath.toLowerCase().endsWith('.onnx') || looksLikeLogitsFile(uri.fsPath)) this.refresh();
    };
    this.disposables.push(watcher, watcher.onDidCreate(invalidate), watcher.onDidDelete(invalidate), watcher.onDidChange(invalidate), {
      dispose: () => clearTimeout(imagesSettling),
    });
  }

  refresh(): void {
    this.entries = undefined;
    this.changed.fire();
  }

  list(): Promise<CatalogEntry[]> {
    this.entries ??= this.scan();
    return this.entries;
  }

  /** Describe one file (also ones outside the workspace, picked with "Browse…"). */
  async describe(file: string): Promise<ModelFileInfo | NotAModel> {
    let mtimeMs = -1;
    try {
      mtimeMs = (await fs.stat(file)).mtimeMs;
    } catch {
      return { kind: 'invalid', file, reason: 'the file does not exist' };
    }
    const hit = this.described.get(file);
    if (hit && hit.mtimeMs === mtimeMs) return hit.info;
    const info = await describeModelFile(file);
    this.described.set(file, { mtimeMs, info });
    return info;
  }

  private async scan(): Promise<CatalogEntry[]> {
    const [models, onnx, arrays, images, excluded] = await Promise.all([
      vscode.workspace.findFiles('**/model.json', SEARCH_EXCLUDE, MAX_FILES),
      vscode.workspace.findFiles('**/*.onnx', SEARCH_EXCLUDE, MAX_FILES),
      vscode.workspace.findFiles('**/*.{npy,jsonl}', SEARCH_EXCLUDE, MAX_FILES),
      vscode.workspace.findFiles('**/*.{png,jpg,jpeg,PNG,JPG,JPEG}', SEARCH_EXCLUDE, MAX_IMAGE_FILES),
      this.excludedDirs(),
    ]);
    const inExcluded = (file: string) => excluded.some((dir) => file === dir || file.startsWith(dir + path.sep));
    const modelFiles = [...models, ...onnx].map((u) => u.fsPath).filter((f) => !inExcluded(f));
    const logitFiles = arrays.map((u) => u.fsPath).filter((f) => !inExcluded(f) && looksLikeLogitsFile(f));

    const described = await Promise.all([...modelFiles, ...logitFiles].map((f) => this.describe(f)));
    const logits = described.filter((d): d is LogitsFileInfo => d.kind === 'logits');
    const { pairs, unpaired } = pairLogitsFiles(logits.map((l) => l.file));
    const byFile = new Map(logits.map((l) => [l.file, l]));
    const entries: CatalogEntry[] = [
      ...described.filter(
        (d) =>
          d.kind === 'tfjs-model' ||
          d.kind === 'onnx-model' ||
          (d.kind === 'invalid' && (d.file.endsWith('model.json') || d.file.toLowerCase().endsWith('.onnx'))),
      ),
      ...pairs.map((p): LogitsPairEntry => ({ kind: 'logits-pair', train: byFile.get(p.train)!, test: byFile.get(p.test)! })),
      ...unpaired.map((f) => byFile.get(f)!),
      ...imageDatasets(images.map((u) => u.fsPath).filter((f) => !inExcluded(f))),
    ];
    return entries.sort((a, b) => entryFile(a).localeCompare(entryFile(b)));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

export const entryFile = (entry: CatalogEntry): string =>
  entry.kind === 'logits-pair' ? entry.train.file : entry.kind === 'image-folders' ? entry.train.dir : entry.file;
