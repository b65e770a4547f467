/**
 * "Distill: New Config": asks what the experiment starts from (Fashion-MNIST where it is installed or in the
 * workspace, a data folder or file to pick, or an existing teacher model), then writes a config that validates and
 * whose first run ends in about a minute (see `configTemplate`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DataConfig, StudentConfig, TeacherConfig } from '../../shared/config';
import { configRelativePath, type ModelChoice } from '../configEdit';
import { configFileName, configTemplate, fashionMnistData, SYSTEM_FASHION_MNIST_DIR } from '../configTemplate';
import { detectDataInFolder } from '../dataDetect';
import { SEARCH_EXCLUDE, type ConfigLocator } from '../configs';
import type { ModelCatalog } from '../modelCatalog';
import { pickModel, relativeChoice } from '../modelChoice';

export interface NewConfigPrefill {
  teacher?: ModelChoice;
  student?: ModelChoice;
}

/** A dataset found without asking, with the words for the pick and the config's comment. */
interface FoundData {
  data: DataConfig;
  label: string;
  detail: string;
  source: string;
}

interface StartItem extends vscode.QuickPickItem {
  start: 'data' | 'pick-data' | 'teacher';
  found?: FoundData;
}

export async function newConfig(configs: ConfigLocator, catalog: ModelCatalog, prefill: NewConfigPrefill = {}): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const folder = folders.length > 1 ? (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Where should the new config go?' }))?.uri : folders[0]?.uri;
  const found = await findData();
  const items: StartItem[] = [
    ...found.map((f): StartItem => ({ label: `$(database) ${f.label}`, detail: f.detail, start: 'data', found: f })),
    { label: '$(folder-opened) A data folder or file…', detail: 'IDX images and labels, a train and a test .csv, or x/y .npy arrays', start: 'pick-data' },
    ...(prefill.teacher
      ? []
      : [
          {
            label: '$(mortar-board) An existing teacher model…',
            detail: 'A tfjs model.json or precomputed logits; the data comes next',
            start: 'teacher',
          } as StartItem,
        ]),
  ];
  const start = await vscode.window.showQuickPick(items, {
    title: 'Distill: New Config',
    placeHolder: 'What should the experiment start from?',
    ignoreFocusOut: true,
  });
  if (!start) return undefined;
  let teacher = prefill.teacher;
  if (start.start === 'teacher') {
    teacher = await pickModel('teacher', catalog);
    if (!teacher) return undefined;
  }
  const data = start.found ?? (start.start === 'pick-data' || !found.length ? await pickData() : await pickFound(found));
  if (!data) return undefined;

  const name = await vscode.window.showInputBox({
    title: 'Distill: New Config',
    prompt: 'A short name for the experiment (run ids start with it)',
    value: data.label.startsWith('Fashion-MNIST') ? 'fashion-kd' : 'my-kd',
    validateInput: (v) => (v.trim() ? undefined : 'Give the experiment a name.'),
    ignoreFocusOut: true,
  });
  if (!name) return undefined;
  let uri: vscode.Uri | undefined = folder ? vscode.Uri.joinPath(folder, configFileName(name.trim())) : undefined;
  if (!uri) {
    uri = await vscode.window.showSaveDialog({ filters: { 'Distill config': ['distill.json'] }, saveLabel: 'Create Config' });
    if (!uri) return undefined;
  }
  if (fs.existsSync(uri.fsPath)) {
    void vscode.window.showErrorMessage(`Distill: ${uri.fsPath} already exists. Choose another name, or open it.`);
    return undefined;
  }
  const file = uri.fsPath;
  const text = configTemplate({
    name: name.trim(),
    teacher: teacher ? (relativeChoice(file, teacher) as TeacherConfig) : undefined,
    student: prefill.student ? (relativeChoice(file, prefill.student) as StudentConfig) : undefined,
    data: relativeData(file, data.data),
    dataSource: data.source,
  });
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  configs.setActive(uri);
  await vscode.window.showTextDocument(uri);
  return uri;
}

/** Fashion-MNIST as Debian installs it, and IDX datasets already in the workspace. */
async function findData(): Promise<FoundData[]> {
  const out: FoundData[] = [];
  const system = path.join(SYSTEM_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz');
  if (fs.existsSync(system)) {
    out.push({
      data: fashionMnistData(SYSTEM_FASHION_MNIST_DIR, (d, f) => path.join(d, f)),
      label: 'Fashion-MNIST',
      detail: `Installed at ${SYSTEM_FASHION_MNIST_DIR} (Debian's dataset-fashion-mnist): 60,000 training and 10,000 test images of clothes`,
      source: `Fashion-MNIST, as Debian's dataset-fashion-mnist installs it in ${SYSTEM_FASHION_MNIST_DIR}`,
    });
  }
  for (const images of await vscode.workspace.findFiles('**/train-images{-,.}idx3-ubyte{,.gz}', SEARCH_EXCLUDE, 5)) {
    const dir = path.dirname(images.fsPath);
    if (dir === SYSTEM_FASHION_MNIST_DIR) continue;
    const detected = detectDataInFolder(dir, fs.readdirSync(dir), (d, f) => path.join(d, f));
    if (!('data' in detected)) continue;
    const fashion = /fashion/i.test(dir);
    out.push({
      data: fashion ? { ...detected.data, classNames: fashionMnistData(dir).classNames } : detected.data,
      label: `${fashion ? 'Fashion-MNIST' : 'IDX dataset'} in ${vscode.workspace.asRelativePath(dir)}`,
      detail: `The four IDX files in ${dir}`,
      source: `the IDX files in ${vscode.workspace.asRelativePath(dir)}`,
    });
  }
  return out;
}

async function pickFound(found: FoundData[]): Promise<FoundData | undefined> {
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((f) => ({ label: f.label, detail: f.detail, f })),
    { title: 'Distill: New Config', placeHolder: 'Which data should the teacher be distilled on?', ignoreFocusOut: true },
  );
  return picked?.f;
}

/** A folder with a dataset in it, or one of its files (its folder is searched). */
export async function pickData(): Promise<FoundData | undefined> {
  for (;;) {
    const [picked] =
      (await vscode.window.showOpenDialog({
        title: 'Distill: the data to distil on',
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: 'Use This Data',
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      })) ?? [];
    if (!picked) return undefined;
    const dir = fs.statSync(picked.fsPath).isDirectory() ? picked.fsPath : path.dirname(picked.fsPath);
    const detected = detectDataInFolder(dir, fs.readdirSync(dir), (d, f) => path.join(d, f));
    if ('data' in detected) {
      return {
        data: detected.data,
        label: `${detected.what} in ${dir}`,
        detail: dir,
        source: `the ${detected.what} in ${vscode.workspace.asRelativePath(dir)}`,
      };
    }
    const again = 'Pick Again';
    if ((await vscode.window.showErrorMessage(`Distill: ${detected.error}`, again)) !== again) return undefined;
  }
}

/** The data's paths relative to the config's folder, except the system-wide Fashion-MNIST, which stays absolute. */
function relativeData(configFile: string, data: DataConfig): DataConfig {
  const rel = (p: string) => (p.startsWith(SYSTEM_FASHION_MNIST_DIR) ? p : configRelativePath(configFile, p));
  const split = (s: Record<string, string>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, rel(v)]));
  return { ...data, train: split(data.train as unknown as Record<string, string>), test: split(data.test as unknown as Record<string, string>) } as DataConfig;
}
