/**
 * Temp folders for tests, all removed when the run ends: a mocha root hook (loaded through .mocharc.json
 * `require`) removes every folder made here after the last test, and an exit handler does the same when a run
 * is cut short. Suites share folders across their tests (a run made in `before`, read by each `it`), so the
 * folders outlive single tests and go at the end; nothing is left in the temp dir after `npm run test:fast`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made = new Set<string>();

/** A fresh folder under the OS temp dir, removed after the test run. */
export function tempDir(prefix = 'distill-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes a folder made by tempDir now (e.g. in a suite's `after`), rather than at the end of the run. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

export function removeAllTempDirs(): void {
  for (const dir of made) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // A folder still held by a child process on a slow machine: the exit handler tries again.
    }
  }
  made.clear();
}

process.on('exit', removeAllTempDirs);

export const mochaHooks = {
  afterAll(): void {
    removeAllTempDirs();
  },
};
