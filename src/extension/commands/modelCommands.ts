/**
 * Commands on models and configs: Select Teacher/Student Model (quick pick), Use as Teacher/Student (from the
 * Models view, the Runs view or the Explorer), Use as Data (an image dataset), and New Config (./newConfig.ts).
 */
import * as vscode from 'vscode';
import type { ModelChoice, ModelRole } from '../configEdit';
import type { ConfigLocator } from '../configs';
import { newConfig, type NewConfigPrefill } from './newConfig';
import type { ModelCatalog } from '../modelCatalog';
import { choiceForFile, pickModel, writeModelChoice } from '../modelChoice';
import { useAsData } from '../dataChoice';
import type { ModelsNode, ModelsTreeProvider } from '../views/modelsView';
import type { RunsNode } from '../views/runsView';

/** What "Use as …" receives: a Models-view node, a run's result node, or a file from the Explorer. */
type ModelArgument = ModelsNode | RunsNode | vscode.Uri | undefined;

export type { NewConfigPrefill };

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
      if (e.kind === 'logits-pair')
        return role === 'teacher' ? { logits: { train: e.train.file, test: e.test.file } } : choiceForFile(role, e.train.file, catalog);
      if (e.kind === 'image-folders') {
        void vscode.window.showErrorMessage(`Distill: ${e.train.dir} is an image dataset, not a model. Use "Use as Data" on it.`);
        return undefined;
      }
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
    vscode.commands.registerCommand('distill.newConfig', (prefill?: NewConfigPrefill) => newConfig(configs, catalog, prefill)),
    vscode.commands.registerCommand('distill.useAsData', (arg?: ModelsNode | vscode.Uri) => useAsData(configs, arg)),
    vscode.commands.registerCommand('distill.refreshModels', () => modelsView.refresh()),
  );
}
