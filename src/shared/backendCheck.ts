/**
 * Before a run starts: can the backend it names load here? `distill backends --json` surveys the ladder; this file
 * reads that survey for one named backend, words the problem, and edits the config to `"auto"` when the user
 * picks that. Pure (no vscode, no fs): the extension runs the survey and shows the message.
 */
import { modify, type EditResult, type FormattingOptions } from 'jsonc-parser';
import type { Backend, ConcreteBackend } from './config';
import type { BackendSurveyEntry } from './records';

/** Backends that may not load on a machine (optional packages, a GPU): worth a survey before a run names one. */
export const needsBackendCheck = (backend: Backend): backend is Exclude<ConcreteBackend, 'wasm' | 'cpu'> =>
  backend !== 'auto' && backend !== 'wasm' && backend !== 'cpu';

/** The GPU backends the GPU-engine installer provides. */
export const installableBackend = (backend: Backend): boolean => backend === 'webgpu' || backend === 'tensorflow-gpu';

export interface BackendProblem {
  backend: ConcreteBackend;
  /** Why it cannot load here (the ladder's words). */
  detail: string;
  /** What `auto` takes instead: the first backend of the ladder that loads. */
  autoUses?: ConcreteBackend;
}

/**
 * The problem with running on `backend`, per the survey, or undefined when it loads. A backend that only `auto`
 * skips (a software WebGPU adapter) loads when named, so it is no problem. A survey that does not list the backend
 * (an older engine) is no problem either: the engine itself still reports it.
 */
export function backendProblem(survey: readonly BackendSurveyEntry[], backend: ConcreteBackend): BackendProblem | undefined {
  const entry = survey.find((e) => e.name === backend);
  if (!entry || entry.available || entry.byName) return undefined;
  return { backend, detail: entry.detail, autoUses: survey.find((e) => e.available)?.name };
}

/** The message for a run that would fail on its backend, naming where the backend was set. */
export function backendProblemMessage(problem: BackendProblem, where: { configName: string; setting: boolean }): string {
  const source = where.setting
    ? `The setting "distill.engine.backend" is "${problem.backend}"`
    : `${where.configName} sets engine.backend to "${problem.backend}"`;
  const auto = problem.autoUses ? ` "auto" would use ${problem.autoUses}.` : '';
  const install = installableBackend(problem.backend) ? ' Install GPU Engine installs it (the GPU still needs its driver).' : '';
  return `Distill: ${source}, but it cannot run on this machine: ${problem.detail}. The run did not start.${auto}${install}`;
}

/** The edits that set `engine.backend` to "auto" in a config's text, keeping its comments and formatting. */
export function useAutoBackendEdits(text: string, formattingOptions: FormattingOptions = { insertSpaces: true, tabSize: 2 }): EditResult {
  return modify(text, ['engine', 'backend'], 'auto', { formattingOptions });
}

/** A run that failed because a GPU backend it named cannot load (the engine's words, backends/ladder.ts). */
export const needsGpuEngine = (reason: string | undefined): boolean =>
  /^engine\.backend is "(webgpu|tensorflow-gpu)", but it cannot be used here/.test(reason ?? '');
