/**
 * A staged npm install: the folder in use is never modified in place. npm installs into a staging folder beside it,
 * a check runs on the staging folder, and only then does it replace the old one. A failure or a cancellation deletes
 * the staging folder and leaves the old one as it was. Generic: the targets (targets.ts) say what to install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { OPTIONAL_MODULES_ENV, OPTIONAL_MODULES_SETTING } from '../shared/backends';
import { DistillError, errorMessage } from '../shared/errors';
import { explainNpmFailure, npmLineProgress } from './npmOutput';

/** npm package name → exact version. */
export type Dependencies = Record<string, string>;

/**
 * The dependencies of the folder after installing `wanted`: everything it already has is kept (installing CUDA after
 * WebGPU keeps WebGPU), `wanted` wins where both name a package, and any package of `managed` (the install targets'
 * own, see targets.ts managedPackages) that is kept is moved to its version there, since an older tfjs package does
 * not fit the tfjs bundled now.
 */
export function mergeDependencies(existing: Dependencies, wanted: Dependencies, managed: Dependencies = {}): Dependencies {
  const known = managed;
  const merged: Dependencies = {};
  for (const [name, version] of Object.entries(existing)) merged[name] = name in known ? known[name] : version;
  for (const [name, version] of Object.entries(wanted)) merged[name] = version;
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** What a folder's package.json already depends on; {} for a folder that does not exist yet. */
export function readInstalledDependencies(dir: string): Dependencies {
  const manifest = path.join(dir, 'package.json');
  if (!fs.existsSync(dir)) return {};
  if (!fs.existsSync(manifest)) {
    if (fs.readdirSync(dir).length === 0) return {};
    throw new DistillError(
      'usage',
      `${dir} is not empty and has no package.json, so it is not a folder npm installed into; replacing it could lose its files. Choose another folder, or empty or remove this one.`,
      { file: dir },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch (e) {
    throw new DistillError('usage', `${manifest} is not valid JSON (${errorMessage(e)}). Fix it, or remove the folder ${dir} to install afresh.`, {
      file: manifest,
    });
  }
  const deps = (parsed as { dependencies?: unknown })?.dependencies ?? {};
  if (typeof deps !== 'object' || deps === null || Array.isArray(deps) || Object.values(deps).some((v) => typeof v !== 'string')) {
    throw new DistillError(
      'usage',
      `${manifest}: "dependencies" must be an object of package names to version strings. Fix it, or remove the folder ${dir} to install afresh.`,
      { file: manifest, path: ['dependencies'] },
    );
  }
  return deps as Dependencies;
}

export interface InstallProgress {
  message: string;
  /** Percent of the whole install done since the previous report (the increments add up to at most 100). */
  increment?: number;
}

export interface PackageInstallOptions<T> {
  /** The folder to install into (an `npm install --prefix` target). Created when missing. */
  dir: string;
  /** The packages to add; what the folder already has is kept. */
  packages: Dependencies;
  /** Packages whose versions are ours: moved to these versions when kept (see mergeDependencies). */
  managed?: Dependencies;
  /** The npm executable. Default: `npm` from PATH. */
  npmPath?: string;
  /** Extra environment for npm (tests point it at a registry that is not there). */
  env?: NodeJS.ProcessEnv;
  /** Each line npm and the install scripts print, both streams. */
  onLog?: (line: string) => void;
  onProgress?: (progress: InstallProgress) => void;
  /** Abort to cancel: npm is killed, the staging folder deleted, and `dir` left as it was. */
  signal?: AbortSignal;
  /**
   * Runs on the staging folder once npm has succeeded, before it replaces `dir`; throwing keeps `dir` as it was.
   * What it returns is handed back.
   */
  verify?: (stagingDir: string, signal: AbortSignal | undefined) => Promise<T>;
}

export interface PackageInstallResult<T> {
  dir: string;
  dependencies: Dependencies;
  verified: T;
}

/** Thrown when the install was cancelled; `dir` is as it was. */
export class InstallCancelled extends DistillError {
  constructor(dir: string) {
    super('runtime', `Installation cancelled; ${dir} was not changed.`, { file: dir });
  }
}

export const isInstallCancelled = (e: unknown): e is InstallCancelled => e instanceof InstallCancelled;

/** Reports progress as percentages of the whole install, so that the increments never add up to more than 100. */
class ProgressMeter {
  private done = 0;
  constructor(private readonly report: ((p: InstallProgress) => void) | undefined) {}

  get percent(): number {
    return this.done;
  }

  to(percent: number, message: string): void {
    const increment = Math.max(0, Math.min(100, percent) - this.done);
    this.done += increment;
    this.report?.({ message, increment });
  }

  /** A step of unknown length: advance a little of what is left before `ceiling`. */
  toward(ceiling: number, message: string): void {
    this.to(this.done + Math.max(0, ceiling - this.done) * 0.03, message);
  }
}

const NPM_SPAN = [5, 80] as const;
const NPM_RESOLVED = 35;

/**
 * npm-installs `packages` (with what `dir` already has) into a staging folder beside `dir`, runs `verify` on it, then
 * swaps it into place. On any failure or cancellation the staging folder is deleted and `dir` is untouched.
 */
export async function installPackages<T = undefined>(options: PackageInstallOptions<T>): Promise<PackageInstallResult<T>> {
  const dir = path.resolve(options.dir);
  const { signal } = options;
  const progress = new ProgressMeter(options.onProgress);
  const log = options.onLog ?? (() => undefined);
  if (signal?.aborted) throw new InstallCancelled(dir);

  progress.to(1, `Preparing ${dir}`);
  const dependencies = mergeDependencies(readInstalledDependencies(dir), options.packages, options.managed);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.installing-`);
  try {
    writeManifest(staging, dependencies);
    // The lock file keeps the packages already there at the versions that work; npm adds the new ones to it.
    const lock = path.join(dir, 'package-lock.json');
    if (fs.existsSync(lock)) fs.copyFileSync(lock, path.join(staging, 'package-lock.json'));

    log(
      `Installing ${Object.entries(dependencies)
        .map(([n, v]) => `${n}@${v}`)
        .join(', ')} into ${staging}`,
    );
    progress.to(NPM_SPAN[0], 'Resolving packages');
    await runNpm(staging, options, (line) => {
      log(line);
      const message = npmLineProgress(line);
      if (!message) return;
      // npm resolves every package, then downloads them, then runs install scripts: each phase its share.
      if (message.startsWith('Running')) progress.to(Math.max(progress.percent, NPM_SPAN[1] - 5), message);
      else progress.toward(message.startsWith('Resolving') ? NPM_RESOLVED : NPM_SPAN[1] - 5, message);
    });
    if (signal?.aborted) throw new InstallCancelled(dir);

    progress.to(NPM_SPAN[1], options.verify ? 'Checking the installed packages' : 'npm is done');
    const verified = options.verify ? await options.verify(staging, signal) : (undefined as T);
    if (signal?.aborted) throw new InstallCancelled(dir);

    progress.to(97, `Moving the installed packages into ${dir}`);
    carryOverOtherFiles(dir, staging);
    swapInto(staging, dir);
    progress.to(100, 'Installed');
    return { dir, dependencies, verified };
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (signal?.aborted && !isInstallCancelled(e)) throw new InstallCancelled(dir);
    throw e;
  }
}

function writeManifest(dir: string, dependencies: Dependencies): void {
  const manifest = {
    name: 'distill-optional-modules',
    private: true,
    description: `Optional Distill engine backends; the engine reads this folder through ${OPTIONAL_MODULES_ENV} (setting ${OPTIONAL_MODULES_SETTING}).`,
    dependencies,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** Files a person put into the folder beside npm's own survive the swap. */
function carryOverOtherFiles(dir: string, staging: string): void {
  if (!fs.existsSync(dir)) return;
  const npmOwned = new Set(['node_modules', 'package.json', 'package-lock.json']);
  for (const entry of fs.readdirSync(dir)) {
    if (!npmOwned.has(entry)) fs.cpSync(path.join(dir, entry), path.join(staging, entry), { recursive: true });
  }
}

/** Old folder aside, staging into place, old folder deleted; a failed second rename puts the old folder back. */
function swapInto(staging: string, dir: string): void {
  let aside: string | undefined;
  if (fs.existsSync(dir)) {
    aside = `${dir}.old-${process.pid}-${Date.now()}`;
    try {
      fs.renameSync(dir, aside);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'EBUSY' || code === 'EACCES') {
        throw new DistillError(
          'runtime',
          `${dir} is in use and cannot be replaced (${code}): a run may be using the GPU engine from it. Stop runs that use it and install again.`,
          { file: dir },
        );
      }
      throw e;
    }
  }
  try {
    fs.renameSync(staging, dir);
  } catch (e) {
    if (aside) fs.renameSync(aside, dir);
    throw new DistillError('runtime', `Could not move the installed packages into ${dir}: ${errorMessage(e)}. ${dir} was not changed.`, { file: dir });
  }
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}

const NPM_ARGS = ['install', '--no-audit', '--no-fund', '--loglevel=http', '--foreground-scripts', '--no-update-notifier'];

/** Runs `npm install` in `staging`, each output line to `onLine`; rejects with one clear message on failure. */
async function runNpm(staging: string, options: PackageInstallOptions<unknown>, onLine: (line: string) => void): Promise<void> {
  const npm = options.npmPath ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
  const args = [...NPM_ARGS, '--prefix', staging];
  // Windows runs npm.cmd only through a shell, which needs the arguments quoted.
  const windowsShell = process.platform === 'win32' && /\.(cmd|bat)$/i.test(npm);
  let child: ChildProcess;
  try {
    child = spawn(windowsShell ? `"${npm}"` : npm, windowsShell ? args.map((a) => `"${a}"`) : args, {
      cwd: staging,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: windowsShell,
      windowsHide: true,
      // Its own process group on POSIX, so that cancelling kills the install scripts npm started as well.
      detached: process.platform !== 'win32',
    });
  } catch (e) {
    throw npmSpawnError(npm, e, options.npmPath);
  }

  const lines: string[] = [];
  const collect = (line: string) => {
    lines.push(line);
    onLine(line);
  };
  const streamsDone = [child.stdout!, child.stderr!].map(
    (stream) => new Promise<void>((resolve) => readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', collect).on('close', resolve)),
  );
  const onAbort = () => killTree(child);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const { code, signal, error } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, error }));
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    if (error) throw npmSpawnError(npm, error, options.npmPath);
    await Promise.all(streamsDone);
    if (options.signal?.aborted) throw new InstallCancelled(path.resolve(options.dir));
    if (code !== 0) throw new DistillError('runtime', explainNpmFailure(lines, code, signal));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function npmSpawnError(npm: string, e: unknown, explicit: string | undefined): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') {
    return new DistillError(
      'runtime',
      explicit
        ? `The npm executable ${explicit} does not exist. Give the path of npm (e.g. /usr/bin/npm), or leave it out to use npm from PATH.`
        : `npm was not found on PATH: the GPU engine is installed with npm. Install Node.js 18 or newer, which includes npm (https://nodejs.org), ` +
            `and restart VS Code or the terminal so that it sees the new PATH; or name the npm executable with the npmPath option (CLI: --npm <path>).`,
    );
  }
  return new DistillError('runtime', `Could not start ${npm}: ${errorMessage(e)}.`);
}

/** Ends npm and every install script it started; the caller waits for npm's exit before deleting its folder. */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (process.platform === 'win32') {
    spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'], { windowsHide: true });
    return;
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  const hard = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, 5000);
  hard.unref();
  child.once('close', () => clearTimeout(hard));
}
