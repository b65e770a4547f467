/**
 * "Use as Data": an image dataset (a Models-view entry, or a folder from the Explorer) written into the active
 * config's `data` as one undoable edit. A train folder without a test sibling asks for the test folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { configRelativePath, setImageDataInConfig } from './configEdit';
import { errorMessage } from '../shared/errors';
import type { ConfigLocator } from './configs';
import { editConfig } from './modelChoice';
import { findImageFolders, IMAGE_FILE, type ImageDatasetEntry } from './imageDatasets';
import type { ModelsNode } from './views/modelsView';

/** An Explorer folder as a dataset, read from disk: it must hold one subfolder of images per class. */
function datasetFromFolder(dir: string): ImageDatasetEntry | undefined {
  const files: string[] = [];
  for (const sub of fs.readdirSync(dir, { withFileTypes: true })) {
    if (sub.isDirectory()) for (const f of fs.readdirSync(path.join(dir, sub.name))) if (IMAGE_FILE.test(f)) files.push(path.join(dir, sub.name, f));
    if (sub.isFile() && IMAGE_FILE.test(sub.name)) files.push(path.join(dir, sub.name));
  }
  const [folder] = findImageFolders(files).filter((f) => f.dir === dir);
  return folder ? { kind: 'image-folders', train: folder } : undefined;
}

export async function useAsData(configs: ConfigLocator, arg?: ModelsNode | vscode.Uri): Promise<boolean> {
  let entry: ImageDatasetEntry | undefined;
  if (arg instanceof vscode.Uri) {
    try {
      entry = datasetFromFolder(arg.fsPath);
    } catch (e) {
      void vscode.window.showErrorMessage(`Distill: cannot read ${arg.fsPath}: ${errorMessage(e)}`);
      return false;
    }
    if (!entry) {
      void vscode.window.showErrorMessage(
        `Distill: ${arg.fsPath} is not an image dataset. Put each class's PNG or JPEG images in a subfolder named after the class (${path.join(arg.fsPath, 'cat', '1.png')}); at least two classes.`,
      );
      return false;
    }
  } else if (arg?.type === 'entry' && arg.entry.kind === 'image-folders') {
    entry = arg.entry;
  } else {
    void vscode.window.showInformationMessage(
      'Distill: "Use as Data" works on an image dataset in the Models view, or on a folder of class folders in the Explorer.',
    );
    return false;
  }
  const target = await configs.active();
  if (!target) {
    void vscode.window.showInformationMessage('Distill: there is no *.distill.json to put the data in. Create one with "Distill: New Config" first.');
    return false;
  }
  let testDir = entry.test?.dir;
  if (!testDir) {
    const [uri] =
      (await vscode.window.showOpenDialog({
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        defaultUri: vscode.Uri.file(path.dirname(entry.train.dir)),
        title: `The test images for ${path.basename(entry.train.dir)} (same class folders)`,
        openLabel: 'Use as test data',
      })) ?? [];
    if (!uri) return false;
    testDir = uri.fsPath;
  }
  const train = configRelativePath(target.fsPath, entry.train.dir);
  const test = configRelativePath(target.fsPath, testDir);
  return editConfig(target, (text) => setImageDataInConfig(text, { train, test }, target.fsPath).edit, `data set to ${train}`);
}
