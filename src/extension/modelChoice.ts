/**
 * Picking a teacher or student and writing it into a config: the quick pick of discovered files, presets and
 * "Browse…", and the `WorkspaceEdit` that puts the pick into the file (undoable, formatting and comments kept).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelPreset } from '../shared/config';
import { configRelativePath, setModelInConfig, type ModelChoice, type ModelRole, type TextEdit } from './configEdit';
import { errorMessage } from '../shared/errors';
import { summarizeModel, type ModelFileInfo, type NotAModel } from './modelInfo';
import { configModule } from './lazy';
import { entryFile, type CatalogEntry, type ModelCatalog } from './modelCatalog';

const PRESET_NOTES: Record<ModelPreset, string> = {
  mlp: 'dense layers; any input',
  'cnn-small': 'the reference student (~0.2M params)',
  'cnn-medium': 'a teacher that trains quickly on CPU',
  'cnn-large': 'a bigger teacher; best on a GPU',
};

interface ChoiceItem extends vscode.QuickPickItem {
  choice?: ModelChoice;
  browse?: boolean;
}

/** Why `info` cannot serve as `role`, or undefined when it can. */
export function unusableAs(role: ModelRole, info: ModelFileInfo | NotAModel): string | undefined {
  if (info.kind === 'invalid') return `${path.basename(info.file)} cannot be used: ${info.reason}.`;
  if (role === 'student' && info.kind === 'logits') return 'A student must be a trainable model; logits can only be a teacher.';
  if (role === 'student' && info.kind === 'onnx-model')
    return `${path.basename(info.file)} is an ONNX model, which Distill runs but cannot train. Use it as the teacher; give the student as a tfjs LayersModel or a preset.`;
  if (role === 'student' && info.kind === 'tfjs-model' && info.format === 'graph') {
    return `${info.file} is a GraphModel, which cannot be trained. Give the student as a tfjs LayersModel, or pick a preset.`;
  }
  return undefined;
}

function itemFor(role: ModelRole, entry: CatalogEntry): ChoiceItem | undefined {
  if (entry.kind === 'image-folders') return undefined;
  const detail = vscode.workspace.asRelativePath(entryFile(entry));
  if (entry.kind === 'logits-pair') {
    if (role === 'student') return undefined;
    return {
      label: `$(table) ${path.basename(entry.train.file)} + ${path.basename(entry.test.file)}`,
      description: summarizeModel(entry.train),
      detail,
      choice: { logits: { train: entry.train.file, test: entry.test.file } },
    };
  }
  if (unusableAs(role, entry)) return undefined;
  if (entry.kind === 'logits') return undefined; // A lone logits file needs its partner: offered through "Browse…".
  if (entry.kind === 'onnx-model')
    return { label: `$(symbol-interface) ${path.basename(entry.file)}`, description: summarizeModel(entry), detail, choice: { model: entry.file } };
  if (entry.kind !== 'tfjs-model') return undefined;
  return {
    label: `$(symbol-class) ${path.basename(path.dirname(entry.file))}/model.json`,
    description: summarizeModel(entry),
    detail,
    choice: { model: entry.file },
  };
}

/** Quick pick of the discovered models that fit `role`, the presets, and "Browse…". Paths in the result are absolute. */
export async function pickModel(role: ModelRole, catalog: ModelCatalog): Promise<ModelChoice | undefined> {
  const discovered = (await catalog.list()).map((e) => itemFor(role, e)).filter((i): i is ChoiceItem => !!i);
  const items: ChoiceItem[] = [
    ...(discovered.length ? [{ label: 'In this workspace', kind: vscode.QuickPickItemKind.Separator }, ...discovered] : []),
    { label: role === 'teacher' ? 'Presets, trained by the engine' : 'Presets', kind: vscode.QuickPickItemKind.Separator },
    ...configModule().MODEL_PRESETS.map((preset) => ({ label: `$(gear) ${preset}`, description: PRESET_NOTES[preset], choice: { preset } })),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    {
      label: '$(folder-opened) Browse…',
      description: role === 'teacher' ? 'an .onnx or model.json, or teacher logits (.npy, .jsonl)' : 'a model.json (tfjs LayersModel)',
      browse: true,
    },
  ];
  const picked = await vscode.window.showQuickPick(items, { placeHolder: `Select the ${role} model`, matchOnDescription: true, matchOnDetail: true });
  if (!picked) return undefined;
  if (!picked.browse) return picked.choice;
  return browseModel(role, catalog);
}

async function browseModel(role: ModelRole, catalog: ModelCatalog): Promise<ModelChoice | undefined> {
  const filters: Record<string, string[]> =
    role === 'teacher' ? { 'Models (ONNX, TensorFlow.js)': ['onnx', 'json'], 'Teacher logits': ['npy', 'jsonl'] } : { 'TensorFlow.js model': ['json'] };
  const [uri] = (await vscode.window.showOpenDialog({ canSelectMany: false, filters, openLabel: `Use as ${role}` })) ?? [];
  return uri ? choiceForFile(role, uri.fsPath, catalog) : undefined;
}

/**
 * The choice a file makes for `role`, after checking it can serve (a student must be a LayersModel). A logits file
 * needs its train/test partner: found by name, else asked for.
 */
export async function choiceForFile(role: ModelRole, file: string, catalog: ModelCatalog): Promise<ModelChoice | undefined> {
  const info = await catalog.describe(file);
  const problem = unusableAs(role, info);
  if (problem) {
    void vscode.window.showErrorMessage(`Distill: ${problem}`);
    return undefined;
  }
  if (info.kind !== 'logits') return { model: file };
  const isTest = /test/i.test(path.basename(file)) && !/train/i.test(path.basename(file));
  const wanted = isTest ? 'train' : 'test';
  const guess = path.join(path.dirname(file), path.basename(file).replace(isTest ? /test/i : /train/i, wanted));
  let partner = guess !== file && (await catalog.describe(guess)).kind === 'logits' ? guess : undefined;
  if (!partner) {
    const [uri] =
      (await vscode.window.showOpenDialog({
        canSelectMany: false,
        defaultUri: vscode.Uri.file(path.dirname(file)),
        filters: { 'Teacher logits': ['npy', 'jsonl'] },
        title: `Teacher logits for the ${wanted} rows (to go with ${path.basename(file)})`,
        openLabel: `Use for ${wanted}`,
      })) ?? [];
    if (!uri) return undefined;
    partner = uri.fsPath;
  }
  return { logits: isTest ? { train: partner, test: file } : { train: file, test: partner } };
}

/** The choice with its paths made relative to the config file, as it is written. */
export function relativeChoice(configFile: string, choice: ModelChoice): ModelChoice {
  if ('model' in choice) return { model: configRelativePath(configFile, choice.model) };
  if ('logits' in choice)
    return { logits: { train: configRelativePath(configFile, choice.logits.train), test: configRelativePath(configFile, choice.logits.test) } };
  return choice;
}

/** Write the pick into the config as one undoable edit; saves the file when it had no unsaved changes before. */
export function writeModelChoice(configUri: vscode.Uri, role: ModelRole, choice: ModelChoice): Promise<boolean> {
  return editConfig(configUri, (text) => setModelInConfig(text, role, relativeChoice(configUri.fsPath, choice), configUri.fsPath).edit, `${role} set`);
}

/**
 * Apply the edit `makeEdit` computes from the config's current text as one undoable `WorkspaceEdit`; saves the file
 * when it had no unsaved changes before. `done` goes into the status bar ("… in fashion.distill.json").
 */
export async function editConfig(configUri: vscode.Uri, makeEdit: (text: string) => TextEdit, done: string): Promise<boolean> {
  const doc = await vscode.workspace.openTextDocument(configUri);
  let edit: TextEdit;
  try {
    edit = makeEdit(doc.getText());
  } catch (e) {
    void vscode.window.showErrorMessage(`Distill: ${errorMessage(e)}`);
    return false;
  }
  const wasDirty = doc.isDirty;
  const workspaceEdit = new vscode.WorkspaceEdit();
  workspaceEdit.replace(configUri, new vscode.Range(doc.positionAt(edit.offset), doc.positionAt(edit.offset + edit.length)), edit.content);
  if (!(await vscode.workspace.applyEdit(workspaceEdit))) {
    void vscode.window.showErrorMessage(`Distill: could not edit ${configUri.fsPath}. Is it read-only?`);
    return false;
  }
  if (!wasDirty) await doc.save();
  vscode.window.setStatusBarMessage(`Distill: ${done} in ${path.basename(configUri.fsPath)}`, 4000);
  return true;
}
