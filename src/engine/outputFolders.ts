/**
 * The config's output folders (runsDir, cacheDir), checked before a run writes anything: a path that runs into a
 * file, or a folder that cannot be created, is one config error naming the field, not `ENOTDIR … mkdir` later.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from '../shared/config';
import { DistillError } from '../shared/errors';

/** Throws a config error for the first output folder that is not, and cannot become, a folder. */
export function checkOutputFolders(config: DistillConfig): void {
  for (const field of ['runsDir', 'cacheDir'] as const) checkFolder(config.output[field], field);
}

function checkFolder(dir: string, field: 'runsDir' | 'cacheDir'): void {
  const fail = (why: string) =>
    new DistillError('config', `output.${field} is ${dir}, but ${why}. Point output.${field} at a folder (it is created if missing).`, {
      path: ['output', field],
    });
  // The nearest part of the path that exists must be a folder; everything below it will be created.
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') continue;
      if (code !== 'ENOENT') throw fail(`${p} cannot be read (${code ?? (e as Error).message})`);
    }
    if (stat) {
      if (!stat.isDirectory()) throw fail(p === path.resolve(dir) ? 'that is a file, not a folder' : `${p} is a file, not a folder`);
      try {
        fs.accessSync(p, fs.constants.W_OK);
      } catch {
        throw fail(`${p} is not writable`);
      }
      return;
    }
    if (path.dirname(p) === p) return;
  }
}
