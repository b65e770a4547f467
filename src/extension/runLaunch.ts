/**
 * What a run is launched with, decided without VS Code: the settings applied to the config (runs directory, backend
 * override), the run directory, the engine's environment, and the words for a run's state. Pure, so unit tests
 * check it; runController.ts does the launching.
 */
import * as path from 'node:path';
import { BACKENDS, OPTIONAL_MODULES_ENV, type Backend } from '../shared/backends';
import type { DistillConfig } from '../shared/config';
import type { EnginePhase, HostToEngine, Progress } from '../shared/protocol';
import { newRunId } from '../shared/runDir';
import { progressText } from './runText';
import type { DistillSettings } from './settings';

/** A start the settings allow: what to send the engine, and where the run goes. */
export interface StartPlan {
  request: Extract<HostToEngine, { type: 'start' }>;
  runDir: string;
}

/** A start the settings forbid: the message, and the setting to open. */
export interface StartRefused {
  refused: string;
  setting: string;
}

/**
 * The start request for `config` under the user's settings: `distill.runsDirectory` replaces `output.runsDir`, and
 * `distill.engine.backend` (when set, and a backend) replaces `engine.backend`. `config` is changed in place.
 */
export function planStart(config: DistillConfig, settings: Pick<DistillSettings, 'runsDirectory' | 'backend'>, now = new Date()): StartPlan | StartRefused {
  if (settings.runsDirectory) config.output.runsDir = settings.runsDirectory;
  if (settings.backend) {
    if (!(BACKENDS as readonly string[]).includes(settings.backend)) {
      return {
        refused: `the setting "distill.engine.backend" is "${settings.backend}", which is not a backend. Use one of ${BACKENDS.join(', ')}, or leave it empty to use the config's.`,
        setting: 'distill.engine.backend',
      };
    }
    config.engine.backend = settings.backend as Backend;
  }
  const runDir = path.join(config.output.runsDir, newRunId(config.name, now));
  return { request: { type: 'start', config, runDir }, runDir };
}

/** The engine's extra environment: where the backend ladder looks first for the optional backends. */
export function engineEnv(optionalModules: string | undefined): NodeJS.ProcessEnv | undefined {
  return optionalModules ? { [OPTIONAL_MODULES_ENV]: optionalModules } : undefined;
}

/** What a run is doing, in a few words: for the progress notification and the status bar's tooltip. */
export function runStateText(state: { stopping?: boolean; phase?: string; progress?: Progress }): string {
  if (state.stopping) return 'Stopping: finishing the step and writing a checkpoint…';
  return state.phase ?? (state.progress ? progressText(state.progress) : 'Starting the engine…');
}

/** The words for an engine phase that came without its own message. */
export const PHASES: Record<EnginePhase, string> = {
  'loading-data': 'Loading data…',
  'teacher-training': 'Training the teacher…',
  'teacher-logits': 'Computing teacher logits…',
  training: 'Training…',
  compressing: 'Compressing the student…',
  evaluating: 'Evaluating…',
  writing: 'Writing results…',
};
