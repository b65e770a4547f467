/** Run directories for the tests: synthetic ones written with the engine's own RunWriter, and real ones copied from fixtures. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES, RunWriter } from '../../src/shared/runDir';
import { syntheticRun, type SyntheticOptions, type SyntheticRun } from './synthetic';
import { tempDir } from '../support/tempDirs';

export const REAL_RUN_FIXTURE = path.join(__dirname, 'fixtures', 'real-small-run');

export const tempRunsDir = (): string => tempDir('distill-dashboard-');

export function writeRunDir(dir: string, run: SyntheticRun): string {
  const w = RunWriter.create(dir, run.config, run.status);
  w.writeProbe(run.probe);
  for (const r of run.softLabels) w.appendSoftLabels(r);
  w.appendMetrics(run.metrics);
  if (run.summary) w.writeSummary(run.summary);
  return dir;
}

export function writeSyntheticRunDir(runsDir: string, options: Partial<SyntheticOptions> = {}): string {
  const run = syntheticRun(options);
  return writeRunDir(path.join(runsDir, run.status.runId), run);
}

/** A copy of a real engine run (a fixture), so tests can append to it or cut it. */
export function copyRealRun(runsDir: string, name = path.basename(REAL_RUN_FIXTURE)): string {
  const dir = path.join(runsDir, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of Object.values(RUN_FILES)) {
    const from = path.join(REAL_RUN_FIXTURE, f);
    if (fs.existsSync(from) && fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(dir, f));
  }
  return dir;
}
