/**
 * Installs the optional GPU backends (WebGPU through Dawn, or tfjs-node-gpu for CUDA) into a folder the engine's
 * ladder reads through DISTILL_OPTIONAL_MODULES, and checks with the engine's own ladder that the backend loads from
 * there before it replaces the folder in use. Used by the extension's "Install GPU Engine" command and by
 * `distill install-gpu`, so nothing here (or in src/install/) imports vscode or tfjs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { OPTIONAL_MODULES_ENV, type ConcreteBackend } from '../shared/backends';
import { DistillError, errorMessage } from '../shared/errors';
import type { BackendSurveyEntry } from '../shared/records';
import { InstallCancelled, installPackages, type Dependencies, type InstallProgress } from './stagedInstall';
import { GPU_TARGETS, gpuTargetSpecs, managedPackages, type GpuTarget } from './targets';

export { isInstallCancelled, type InstallProgress } from './stagedInstall';

export interface GpuInstallOptions {
  target: GpuTarget;
  dir: string;
  /** The engine's CLI bundle (dist/cli.js): `backends --json` on it says whether the installed backend loads. */
  cliPath: string;
  /** The Node that runs the check, as the engine will run: the `distill.engine.nodePath` setting. Default: this process's own. */
  nodePath?: string;
  npmPath?: string;
  onLog?: (line: string) => void;
  onProgress?: (progress: InstallProgress) => void;
  signal?: AbortSignal;
}

export interface GpuInstallResult {
  target: GpuTarget;
  dir: string;
  /** Every package the folder now holds. */
  dependencies: Dependencies;
  /** The ladder's view of the target backend, loaded from the new folder. */
  backend: BackendSurveyEntry;
  /** Set when the packages installed but the backend cannot run on this machine: why, and what it needs. */
  warning?: string;
}

/** Installs the packages of `target`, checks the backend loads from them with the engine's own ladder, swaps them in. */
export async function installGpuEngine(options: GpuInstallOptions): Promise<GpuInstallResult> {
  const spec = gpuTargetSpecs()[options.target];
  if (!spec) throw new DistillError('usage', `Unknown GPU engine "${options.target}": choose one of ${GPU_TARGETS.join(', ')}.`);
  if (!fs.existsSync(options.cliPath)) {
    throw new DistillError(
      'runtime',
      `The engine's CLI bundle ${options.cliPath} is missing, so the install cannot be checked. Reinstall Distill (in a development checkout: npm run build).`,
    );
  }
  const { dir, dependencies, verified } = await installPackages({
    dir: options.dir,
    packages: spec.packages,
    managed: managedPackages(),
    npmPath: options.npmPath,
    onLog: options.onLog,
    onProgress: options.onProgress,
    signal: options.signal,
    verify: async (staging, signal) => {
      options.onProgress?.({ message: `Checking that ${spec.backend} loads` });
      const entry = await checkBackend({
        dir: staging,
        backend: spec.backend,
        cliPath: options.cliPath,
        nodePath: options.nodePath,
        onLog: options.onLog,
        signal,
      });
      // Installed but not found at all is a broken install, not a machine without a GPU.
      if (!entry.available && /is not installed/.test(entry.detail)) {
        throw new DistillError('runtime', `npm finished, but the engine cannot find ${spec.backend}'s packages in ${staging}: ${entry.detail}.`);
      }
      return entry;
    },
  });
  return {
    target: options.target,
    dir,
    dependencies,
    backend: verified,
    warning: verified.available
      ? undefined
      : `${spec.backend} is installed but cannot run on this machine: ${verified.detail}. It needs ${spec.needs}. Until then the ladder skips it.`,
  };
}

const CHECK_TIMEOUT_MS = 120_000;

export interface BackendCheckOptions {
  /** The folder holding the optional packages, handed to the engine as DISTILL_OPTIONAL_MODULES. */
  dir: string;
  backend: ConcreteBackend;
  /** The engine's CLI bundle (dist/cli.js). */
  cliPath: string;
  /** The Node to run it with; default this process's own (as plain Node under Electron). */
  nodePath?: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * What the engine's ladder says of `backend` with the packages of `dir`: `backends --json` of the CLI bundle, run
 * the way the engine runs (same Node, ELECTRON_RUN_AS_NODE), so a native module that does not load in that Node
 * shows here. Throws when the check itself crashes: a backend whose loading kills the process would kill every
 * `auto` run as well.
 */
export async function checkBackend(options: BackendCheckOptions): Promise<BackendSurveyEntry> {
  const { signal } = options;
  const dir = path.resolve(options.dir);
  const node = options.nodePath || process.execPath;
  const child = spawn(node, [options.cliPath, 'backends', '--json'], {
    // Not the workspace: the ladder also looks in the current folder, which must not stand in for `dir`.
    cwd: dir,
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', [OPTIONAL_MODULES_ENV]: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stdout = '';
  const stderr: string[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    stderr.push(line);
    options.onLog?.(`[check] ${line}`);
  });
  const kill = () => child.kill('SIGKILL');
  const timer = setTimeout(kill, CHECK_TIMEOUT_MS);
  signal?.addEventListener('abort', kill, { once: true });
  if (signal?.aborted) kill();
  const { code, sig, error } = await new Promise<{ code: number | null; sig: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, sig: null, error }));
    child.on('close', (code, sig) => resolve({ code, sig }));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted) throw new InstallCancelled(dir);
  if (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DistillError(
      'runtime',
      missing
        ? `The Node executable ${node} does not exist (setting distill.engine.nodePath). Fix the setting, or clear it to use VS Code's own.`
        : `Could not start ${node} to check the install: ${errorMessage(error)}.`,
    );
  }
  const json = stdout
    .split('\n')
    .reverse()
    .find((l) => l.trim().startsWith('['));
  if (code !== 0 || !json) {
    const how = sig ? `was killed by ${sig}${sig === 'SIGKILL' ? ` (or ran past ${CHECK_TIMEOUT_MS / 1000} s)` : ''}` : `exited with code ${code}`;
    throw new DistillError(
      'runtime',
      `Loading the packages in ${dir} ${how} (${node} ${options.cliPath} backends --json): ${stderr.slice(-3).join(' | ') || 'no output'}. ` +
        `A backend that crashes the engine as it loads would crash every run, so it is not installed; runs keep working as before.`,
    );
  }
  const survey = JSON.parse(json) as BackendSurveyEntry[];
  for (const entry of survey) options.onLog?.(`[check] ${entry.name}: ${entry.available ? 'available' : 'unavailable'}, ${entry.detail}`);
  const entry = survey.find((e) => e.name === options.backend);
  if (!entry)
    throw new DistillError(
      'runtime',
      `The engine's backend survey does not list ${options.backend}; is ${options.cliPath} an older build? Rebuild or reinstall Distill.`,
    );
  return entry;
}
