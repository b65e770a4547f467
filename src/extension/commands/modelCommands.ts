/**
 * Commands on models and configs: Select Teacher/Student Model (quick pick), Use as Teacher/Student (from the
 * Models view, the Runs view or the Explorer), and New Config.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DataConfig, StudentConfig, TeacherConfig } from '../../shared/config';
import { configRelativePath, type ModelChoice, type ModelRole } from '../configEdit';
import { configFileName, configTemplate } from '../configTemplate';
import { SEARCH_EXCLUDE, type ConfigLocator } from '../configs';
import type { ModelCatalog } from '../modelCatalog';
import { choiceForFile, pickModel, relativeChoice, writeModelChoice } from '../modelChoice';
import type { ModelsNode, ModelsTreeProvider } from '../views/modelsView';
import type { RunsNode } from '../views/runsView';

/** What "Use as …" receives: a Models-view node, a run's result node, or a file from the Explorer. */
type ModelArgument = ModelsNode | RunsNode | vscode.Uri | undefined;

export interface NewConfigPrefill {
  teacher?: ModelChoice;
  student?: ModelChoice;
}

export function registerModelCommands(deps: { configs: ConfigLocator; catalog: ModelCatalog; modelsView: ModelsTreeProvider }): vscode.Disposable {
  const { configs, catalog, modelsView } = deps;

  /** Write `choice` into the active config; with no config yet, offer to create one around it. */
  const apply = async (role: ModelRole, choice: ModelChoice, configUri?: vscode.Uri): Promise<boolean> => {
    const target = configUri ?? (await configs.active());
    if (!target) {
      const create = 'New Config';
      const answer = await vscode.window.showInformationMessage(`Distill: there is no *.distill.json to put the ${role} in. Create one with it?`, create);
      if (answer === create) await vscode.commands.executeCommand('distill.newConfig', { [role]: choice } satisfies NewConfigPrefill);
      return false;
    }
    return writeModelChoice(target, role, choice);
  };

  const choiceFromArgument = async (role: ModelRole, arg: ModelArgument): Promise<ModelChoice | undefined> => {
    if (!arg) return pickModel(role, catalog);
    if (arg instanceof vscode.Uri) return choiceForFile(role, arg.fsPath, catalog);
    if (arg.type === 'result') {
      if (arg.modelFile) return choiceForFile(role, arg.modelFile, catalog);
      void vscode.window.showErrorMessage(`Distill: the ${arg.row.label.toLowerCase()} of ${arg.run.runId} was not saved as a model file.`);
      return undefined;
    }
    if (arg.type === 'entry') {
      const e = arg.entry;
      if (e.kind === 'logits-pair') return role === 'teacher' ? { logits: { train: e.train.file, test: e.test.file } } : choiceForFile(role, e.train.file, catalog);
      return choiceForFile(role, e.file, catalog);
    }
    return pickModel(role, catalog);
  };

  const select = (role: ModelRole) => async (configUri?: vscode.Uri) => {
    const target = configUri instanceof vscode.Uri ? configUri : await configs.pick(`set the ${role} in`);
    if (!target) return false;
    configs.setActive(target);
    const choice = await pickModel(role, catalog);
    return choice ? apply(role, choice, target) : false;
  };

  const useAs = (role: ModelRole) => async (arg?: ModelArgument) => {
    const choice = await choiceFromArgument(role, arg);
    return choice ? apply(role, choice) : false;
  };

  return vscode.Disposable.from(
    vscode.commands.registerCommand('distill.selectTeacher', select('teacher')),
    vscode.commands.registerCommand('distill.selectStudent', select('student')),
    vscode.commands.registerCommand('distill.useAsTeacher', useAs('teacher')),
    vscode.commands.registerCommand('distill.useAsStudent', useAs('student')),
    vscode.commands.registerCommand('distill.newConfig', (prefill?: NewConfigPrefill) => newConfig(configs, prefill)),
    vscode.commands.registerCommand('distill.refreshModels', () => modelsView.refresh()),
  );
}

async function newConfig(configs: ConfigLocator, prefill: NewConfigPrefill = {}): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const folder = folders.length > 1 ? (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Where should the new config go?' }))?.uri : folders[0]?.uri;
  const name = await vscode.window.showInputBox({
    title: 'Distill: New Config',
    prompt: 'A short name for the experiment (run ids start with it)',
    value: 'fashion-kd',
    validateInput: (v) => (v.trim() ? undefined : 'Give the experiment a name.'),
  });
  if (!name) return undefined;
  let uri: vscode.Uri | undefined = folder ? vscode.Uri.joinPath(folder, configFileName(name.trim())) : undefined;
  if (!uri) {
    uri = await vscode.window.showSaveDialog({ filters: { 'Distill config': ['distill.json'] }, saveLabel: 'Create Config' });
    if (!uri) return undefined;
  }
  try {
    await vscode.workspace.fs.stat(uri);
    void vscode.window.showErrorMessage(`Distill: ${uri.fsPath} already exists. Choose another name, or open it.`);
    return undefined;
  } catch {
    // Does not exist yet: good.
  }
  const file = uri.fsPath;
  const text = configTemplate({
    name: name.trim(),
    teacher: prefill.teacher ? (relativeChoice(file, prefill.teacher) as TeacherConfig) : undefined,
    student: prefill.student ? (relativeChoice(file, prefill.student) as StudentConfig) : undefined,
    data: await findIdxData(file),
  });
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  configs.setActive(uri);
  await vscode.window.showTextDocument(uri);
  return uri;
}

/** IDX train and test files already in the workspace (e.g. Fashion-MNIST), as data for a new config. */
async function findIdxData(configFile: string): Promise<DataConfig | undefined> {
  const [trainImages] = await vscode.workspace.findFiles('**/train-images-idx3-ubyte{,.gz}', SEARCH_EXCLUDE, 1);
  if (!trainImages) return undefined;
  const dir = path.dirname(trainImages.fsPath);
  const gz = trainImages.fsPath.endsWith('.gz') ? '.gz' : '';
  const rel = (f: string) => configRelativePath(configFile, path.join(dir, f + gz));
  for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.file(path.join(dir, f + gz)));
    } catch {
      return undefined;
    }
  }
  return {
    format: 'idx',
    train: { images: rel('train-images-idx3-ubyte'), labels: rel('train-labels-idx1-ubyte') },
    test: { images: rel('t10k-images-idx3-ubyte'), labels: rel('t10k-labels-idx1-ubyte') },
    validationSplit: 0.1,
    normalize: 'auto',
  };
}
