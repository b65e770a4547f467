/**
 * Installs the optional GPU backends (WebGPU through Dawn, or tfjs-node-gpu for CUDA) into a folder the engine's
 * ladder reads through DISTILL_OPTIONAL_MODULES. Used by the extension's "Install GPU Engine" command and by
 * `distill install-gpu`, so nothing here imports vscode or tfjs.
 *
 * The folder in use is never modified in place: npm installs into a staging folder beside it, the engine's CLI checks
 * that the backend loads from there, and only then does the staging folder replace the old one. A failure or a
 * cancellation deletes the staging folder and leaves the old one as it was.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
// The version module alone, not the package: the extension host bundles this file and must not carry tfjs. It is the
// module tfjs-core's `version_core` is exported from (a unit test keeps the two equal).
import { version as tfjsCoreVersion } from '@tensorflow/tfjs-core/dist/version';
import type { ConcreteBackend } from '../shared/config';
import { DistillError, errorMessage } from '../shared/errors';
import type { BackendSurveyEntry } from '../shared/records';

/** The ladder's OPTIONAL_MODULES_ENV, repeated: importing the ladder would pull tfjs into the extension host. */
export const OPTIONAL_MODULES_ENV = 'DISTILL_OPTIONAL_MODULES';

export type GpuTarget = 'webgpu' | 'tensorflow-gpu';
export const GPU_TARGETS: readonly GpuTarget[] = ['webgpu', 'tensorflow-gpu'];

/** npm package name → exact version. */
export type Dependencies = Record<string, string>;

export interface GpuTargetSpec {
  /** The ladder rung the packages provide. */
  backend: ConcreteBackend;
  packages: Dependencies;
  /** What the machine needs for the backend to run once installed, for the "installed but cannot run here" warning. */
  needs: string;
}

/**
 * The packages of each target. tfjs' own packages must be the version bundled into the engine: the WebGPU backend
 * declares tfjs-core as an exact peer dependency, and tfjs-node-gpu registers kernels into the bundled engine.
 */
export function gpuTargetSpecs(tfjsVersion: string = tfjsCoreVersion): Record<GpuTarget, GpuTargetSpec> {
  return {
    webgpu: {
      backend: 'webgpu',
      packages: { webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': tfjsVersion },
      needs: 'a GPU with a Vulkan, Metal or D3D12 driver',
    },
    'tensorflow-gpu': {
      backend: 'tensorflow-gpu',
      packages: { '@tensorflow/tfjs-node-gpu': tfjsVersion },
      needs: 'an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 installed (libcudart.so.11.0, libcudnn.so.8 on the library path)',
    },
  };
}

export function isGpuTarget(value: string): value is GpuTarget {
  return (GPU_TARGETS as readonly string[]).includes(value);
}

/**
 * The dependencies of the folder after installing `wanted`: everything it already has is kept (installing CUDA after
 * WebGPU keeps WebGPU), `wanted` wins where both name a package, and any package of our own table that is kept is
 * moved to the table's version, since an older tfjs package does not fit the tfjs bundled now.
 */
export function mergeDependencies(existing: Dependencies, wanted: Dependencies, table: Record<GpuTarget, GpuTargetSpec> = gpuTargetSpecs()): Dependencies {
  const known: Dependencies = Object.assign({}, ...Object.values(table).map((t) => t.packages));
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
    throw new DistillError('usage', `${dir} is not empty and has no package.json, so it is not a folder npm installed into; replacing it could lose its files. Choose another folder, or empty or remove this one.`, { file: dir });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch (e) {
    throw new DistillError('usage', `${manifest} is not valid JSON (${errorMessage(e)}). Fix it, or remove the folder ${dir} to install afresh.`, { file: manifest });
  }
  const deps = (parsed as { dependencies?: unknown })?.dependencies ?? {};
  if (typeof deps !== 'object' || deps === null || Array.isArray(deps) || Object.values(deps).some((v) => typeof v !== 'string')) {
    throw new DistillError('usage', `${manifest}: "dependencies" must be an object of package names to version strings. Fix it, or remove the folder ${dir} to install afresh.`, { file: manifest, path: ['dependencies'] });
  }
  return deps as Dependencies;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading npm's output

/** A short progress message for one line of npm's output (with --loglevel=http --foreground-scripts), if it says one. */
export function npmLineProgress(line: string): string | undefined {
  const fetch = /^npm http (?:fetch GET \d{3}|cache) (?:\S+@)?(https?:\/\/\S+|file:\S+)/.exec(line);
  if (fetch) {
    const url = fetch[1];
    const tarball = /\/((?:@[^/]+\/)?[^/]+)\/-\/[^/]+?-(\d[^/]*)\.tgz$/.exec(url);
    if (tarball) return `Downloading ${tarball[1]} ${tarball[2]}`;
    if (url.startsWith('file:')) return undefined;
    try {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      return name ? `Resolving ${name}` : undefined;
    } catch {
      return undefined;
    }
  }
  // The header npm prints before a package's install script when scripts run in the foreground.
  const script = /^> ((?:@[^/\s]+\/)?[^@\s]+)@(\S+) (preinstall|install|postinstall)$/.exec(line);
  if (script) {
    const downloadsLibtensorflow = /^@tensorflow\/tfjs-node(-gpu)?$/.test(script[1]);
    return `Running the ${script[3]} script of ${script[1]}${downloadsLibtensorflow ? ' (it downloads libtensorflow, about 400 MB)' : ''}`;
  }
  return undefined;
}

/** npm's own noise in an error report: the debug-log pointer, stack frames, the error object's fields. */
const NOISE = [
  /^A complete log of this run can be found in/,
  /^\s*at /,
  /^(code|errno|syscall|path|command|type|requiredBy|address|port|hostname)\b/,
  /^\s*(code|errno|syscall|address|port|hostname|type|requiredBy): /,
  /^[{}]$/,
  /^\s*throw er;/,
  /^\s*\^\s*$/,
  /^node:events:\d+/,
  /^Node\.js v\d/,
  /^Emitted 'error' event/,
  /^command failed$/,
];

/** npm's error lines without their prefix and the noise: what a person needs to read. */
export function meaningfulNpmErrorLines(lines: readonly string[], max = 6): string[] {
  const kept = lines
    .filter((l) => l.startsWith('npm error') || l.startsWith('npm ERR!'))
    .map((l) => l.replace(/^npm (error|ERR!)\s?/, '').trimEnd())
    .filter((l) => l.trim() && !NOISE.some((re) => re.test(l.trim())));
  return kept.slice(-max);
}

/** The output of an install script that failed in the foreground: the lines after its `> pkg@version install` header. */
function scriptOutput(lines: readonly string[], pkg: string): string[] {
  let start = -1;
  lines.forEach((l, i) => {
    if (l.startsWith(`> ${pkg}@`) && /(preinstall|install|postinstall)$/.test(l)) start = i;
  });
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith('npm ')) break;
    if (l.startsWith('> ') || !l.trim() || NOISE.some((re) => re.test(l.trim()))) continue;
    out.push(l.trimEnd());
  }
  return out;
}

const NETWORK_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH'];

/**
 * One message for a failed `npm install`, naming what failed and the fix, from npm's output (both streams, in order).
 * Pure, so each case is tested on npm's real text.
 */
export function explainNpmFailure(lines: readonly string[], exitCode: number | null, signal: NodeJS.Signals | null = null): string {
  const text = lines.join('\n');
  const failedPath = /^npm (?:error|ERR!) path (.*)$/m.exec(text)?.[1]?.trim();
  const failedPackage = failedPath ? /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)$/.exec(failedPath)?.[1]?.replace(/\\/g, '/') : undefined;
  const how = signal ? `npm was killed (${signal})` : `npm exited with code ${exitCode}`;

  // tfjs-node(-gpu) fetches libtensorflow from Google's storage in its install script, outside the npm registry.
  const libtensorflowUrl = /https:\/\/storage\.googleapis\.com\/\S*libtensorflow\S*/.exec(text)?.[0];
  const tfjsNodeFailed = !!failedPackage && /^@tensorflow\/tfjs-node(-gpu)?$/.test(failedPackage);
  if ((tfjsNodeFailed && /storage\.googleapis\.com|libtensorflow/.test(text)) || (libtensorflowUrl && /Downloading libtensorflow/.test(text))) {
    const pkg = failedPackage ?? '@tensorflow/tfjs-node-gpu';
    const cause = /Error: (getaddrinfo \w+ \S+|connect \w+ \S+|\w+ (?:ETIMEDOUT|ECONNRESET)[^\n]*|[^\n]*(?:ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EAI_AGAIN|certificate)[^\n]*)/.exec(text)?.[1];
    const detail = cause ?? [...scriptOutput(lines, pkg), ...meaningfulNpmErrorLines(lines, 3)].slice(-3).join(' | ');
    return (
      `${pkg} came from the npm registry, but its install script could not download libtensorflow (about 400 MB) from ` +
      `${libtensorflowUrl ?? 'storage.googleapis.com'}${detail ? `: ${detail}` : ''}. That download happens during npm install and needs ` +
      `storage.googleapis.com to be reachable (directly or through the proxy in npm config / HTTPS_PROXY), not only the npm registry. ` +
      `Allow it and install again, or install the WebGPU engine instead: it needs no such download. (${how}.)`
    );
  }

  // The registry (or its proxy) cannot be reached.
  const network = /request to (\S+) failed, reason: (.*)/.exec(text);
  const networkCode = NETWORK_CODES.find((c) => new RegExp(`\\b${c}\\b`).test(text));
  if (network || (networkCode && /^npm (?:error|ERR!) (?:code|errno) /m.test(text) && !failedPackage)) {
    let registry = 'the npm registry';
    if (network) {
      try {
        registry = new URL(network[1]).origin;
      } catch {
        // Keep the generic name.
      }
    }
    const reason = network?.[2]?.trim() ?? networkCode;
    return (
      `npm could not reach the registry ${registry} (${reason}). Check the network connection and any proxy ` +
      `(npm config get proxy, npm config get https-proxy), and that \`npm config get registry\` names a registry this machine can reach. (${how}.)`
    );
  }

  const code = /^npm (?:error|ERR!) code (\S+)/m.exec(text)?.[1];
  if (code === 'ETARGET' || code === 'E404') {
    const what = meaningfulNpmErrorLines(lines, 2)[0]?.replace(/^(notarget|404)\s+/, '') ?? code;
    return `npm cannot find a package or version: ${what} Check \`npm config get registry\`: it must be the npm registry or a mirror of it. (${how}.)`;
  }
  if (code === 'ENOSPC') return `The disk is full: npm could not write the packages. Free some space and install again. (${how}.)`;
  if (code === 'EACCES' || code === 'EPERM') {
    return `npm was not allowed to write a file: ${meaningfulNpmErrorLines(lines, 3).join(' ')} Check the permissions of the folder and of npm's cache (npm config get cache). (${how}.)`;
  }

  if (failedPackage) {
    const output = scriptOutput(lines, failedPackage);
    const detail = (output.length ? output : meaningfulNpmErrorLines(lines)).slice(-4).join(' | ');
    return `The install script of ${failedPackage} failed${detail ? `: ${detail}` : ''}. (${how}.)`;
  }
  const detail = meaningfulNpmErrorLines(lines).join(' | ');
  return `npm install failed${detail ? `: ${detail}` : ''}. The full output is in the log. (${how}.)`;
}

// ---------------------------------------------------------------------------------------------------------------
// Installing

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
  /** The table whose packages are moved to its versions when kept (see mergeDependencies). */
  table?: Record<GpuTarget, GpuTargetSpec>;
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
  const dependencies = mergeDependencies(readInstalledDependencies(dir), options.packages, options.table);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.installing-`);
  try {
    writeManifest(staging, dependencies);
    // The lock file keeps the packages already there at the versions that work; npm adds the new ones to it.
    const lock = path.join(dir, 'package-lock.json');
    if (fs.existsSync(lock)) fs.copyFileSync(lock, path.join(staging, 'package-lock.json'));

    log(`Installing ${Object.entries(dependencies).map(([n, v]) => `${n}@${v}`).join(', ')} into ${staging}`);
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
    description: 'Optional Distill engine backends; the engine reads this folder through DISTILL_OPTIONAL_MODULES (setting distill.engine.optionalModules).',
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
        throw new DistillError('runtime', `${dir} is in use and cannot be replaced (${code}): a run may be using the GPU engine from it. Stop runs that use it and install again.`, { file: dir });
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

// ---------------------------------------------------------------------------------------------------------------
// The GPU engine

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
    throw new DistillError('runtime', `The engine's CLI bundle ${options.cliPath} is missing, so the install cannot be checked. Reinstall Distill (in a development checkout: npm run build).`);
  }
  const { dir, dependencies, verified } = await installPackages({
    dir: options.dir,
    packages: spec.packages,
    npmPath: options.npmPath,
    onLog: options.onLog,
    onProgress: options.onProgress,
    signal: options.signal,
    verify: async (staging, signal) => {
      options.onProgress?.({ message: `Checking that ${spec.backend} loads` });
      const entry = await checkBackend({ dir: staging, backend: spec.backend, cliPath: options.cliPath, nodePath: options.nodePath, onLog: options.onLog, signal });
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
    warning: verified.available ? undefined : `${spec.backend} is installed but cannot run on this machine: ${verified.detail}. It needs ${spec.needs}. Until then the ladder skips it.`,
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
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
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
      missing ? `The Node executable ${node} does not exist (setting distill.engine.nodePath). Fix the setting, or clear it to use VS Code's own.` : `Could not start ${node} to check the install: ${errorMessage(error)}.`,
    );
  }
  const json = stdout.split('\n').reverse().find((l) => l.trim().startsWith('['));
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
  if (!entry) throw new DistillError('runtime', `The engine's backend survey does not list ${options.backend}; is ${options.cliPath} an older build? Rebuild or reinstall Distill.`);
  return entry;
}
