/**
 * What the extension does to run directories on disk: settle the status of a run whose engine died without saying
 * so, tell whether a run can be resumed, export the student. No vscode import, so it is unit-tested directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportModelFolder, ExportTargetExists } from './modelExport';
import type { StatusFile } from '../shared/records';
import { exportableModels } from './exportable';
import { RUN_FILES, readJson, readRun, writeJsonAtomic, type RunSnapshot } from '../shared/runDir';
import type { EngineExit } from './engineClient';

/** Signals another process sends to end the engine (the user, the OOM killer, a shutdown), as opposed to a fault. */
const EXTERNAL_SIGNALS: readonly NodeJS.Signals[] = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP'];

/** Words for how the engine ended, for messages and `status.json`'s `reason`. */
export function describeExit(exit: EngineExit, graceMs?: number): string {
  if (exit.spawnError) return `the engine could not be started: ${exit.spawnError.message}`;
  if (exit.killedAfterTimeout) return `the engine did not stop within ${Math.round((graceMs ?? 0) / 1000)} s and was killed`;
  if (exit.signal) return `the engine was ended by ${exit.signal}${exit.signal === 'SIGKILL' ? ' (killed, possibly out of memory)' : ''}`;
  return `the engine exited with code ${exit.code} without finishing the run`;
}

/**
 * After the engine exits: if it left its run marked `running`, it died without recording why; record it, so the
 * Runs view and resume see the truth. A kill from outside reads as `interrupted` (resumable from the last
 * checkpoint); a fault (non-zero exit, SIGSEGV, SIGABRT) as `failed`. Metrics already written are not touched.
 * Returns the status written, or undefined when the engine had settled it itself (or never created the run).
 */
export function settleRunAfterExit(runDir: string, exit: EngineExit, reason: string): StatusFile | undefined {
  const file = path.join(runDir, RUN_FILES.status);
  const current = readJson<StatusFile>(file);
  if (!current || current.status !== 'running') return undefined;
  const killedFromOutside = exit.killedAfterTimeout || (exit.signal !== null && EXTERNAL_SIGNALS.includes(exit.signal));
  const settled: StatusFile = {
    ...current,
    status: killedFromOutside || exit.code === 0 ? 'interrupted' : 'failed',
    updatedAt: new Date().toISOString(),
    reason,
  };
  writeJsonAtomic(file, settled);
  return settled;
}

/** A run can be resumed when it did not complete and its engine left a checkpoint. */
export function canResume(run: Pick<RunSnapshot, 'dir' | 'status'>): boolean {
  if (run.status === 'completed' || run.status === 'running') return false;
  try {
    return fs.readdirSync(path.join(run.dir, RUN_FILES.checkpoints)).length > 0;
  } catch {
    return false;
  }
}

/** What a notification's Resume button should do: resume the run, or say why there is nothing to resume. */
export type ResumeFromNotification = { resume: true } | { resume: false; message: string; runExists: boolean };

/**
 * A notification cannot be taken back (VS Code has no API to close one), so its Resume button may be clicked long
 * after it was shown: by then the run may have been resumed from the Runs view, have completed, or be gone. Read the
 * run as it is now; resume only a run that still can be, and otherwise say what became of it.
 * @param activeRunDir the run this window's engine is training, if any.
 */
export function resumeFromNotification(runDir: string, title: string, activeRunDir: string | undefined): ResumeFromNotification {
  const run = readRun(runDir);
  if (!run) return { resume: false, runExists: false, message: `"${title}" cannot be resumed: its run folder ${runDir} is gone.` };
  const nothingToResume = (what: string): ResumeFromNotification => ({
    resume: false,
    runExists: true,
    message: `"${title}" ${what}. There is nothing to resume.`,
  });
  if (activeRunDir !== undefined && path.resolve(activeRunDir) === path.resolve(runDir))
    return nothingToResume('is already running again: it was resumed after it stopped');
  if (run.status === 'completed') return nothingToResume('has since been resumed and completed');
  if (run.status === 'running') return nothingToResume(`is running in another window (engine pid ${run.statusFile?.pid ?? '?'})`);
  if (!canResume(run)) return { resume: false, runExists: true, message: `"${title}" has no checkpoint to resume from any more. Start a new run instead.` };
  return { resume: true };
}

/** Whether the run holds a deployable student (`student/model.json`). */
export const hasStudentModel = (runDir: string): boolean => fs.existsSync(path.join(runDir, RUN_FILES.student, 'model.json'));

/**
 * Export the run's deployable student (T = 1), or one of its compression stages (`model`: a stage name from
 * `exportableModels`), as a self-describing folder (modelExport.ts): `targetParent/<runId>-student`
 * (`<runId>-<stage>`). Refuses to overwrite unless `overwrite`; returns the folder written.
 */
export async function exportStudent(run: Pick<RunSnapshot, 'dir' | 'runId'>, targetParent: string, overwrite = false, model = 'student'): Promise<string> {
  if (model === 'student') return exportModelFolder({ runDir: run.dir, role: 'student', targetParent, overwrite });
  const source = exportableModels(run.dir).find((m) => m.id === model)?.dir;
  if (!source || !fs.existsSync(path.join(source, 'model.json'))) {
    const available = exportableModels(run.dir).map((m) => m.id);
    throw new Error(`Run ${run.runId} has no "${model}" model to export${available.length ? `; it has: ${available.join(', ')}` : ''}.`);
  }
  return exportModelFolder({ runDir: run.dir, role: 'student', stage: model, sourceDir: source, targetParent, overwrite });
}

export { ExportTargetExists };
