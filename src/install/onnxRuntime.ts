/**
 * Installs ONNX Runtime (onnxruntime-node), which runs ONNX teachers and checks exported ONNX students, into the
 * optional-modules folder the engine reads through DISTILL_OPTIONAL_MODULES (the GPU engine's folder: one folder for
 * every optional package). The staged install, check and swap are the GPU engine's (`installPackages`); what is
 * ONNX's own is the package, its CUDA download, and the check that the binding loads.
 *
 * onnxruntime-node's postinstall downloads a CUDA 12 provider from outside the npm registry on Linux x64; it is
 * skipped (ONNXRUNTIME_NODE_INSTALL=skip) unless the user asks for CUDA, so a plain install needs the registry only.
 * Nothing here imports vscode or tfjs: the CLI and the extension both use it.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { DistillError, errorMessage } from '../shared/errors';
import { installPackages, InstallCancelled, type Dependencies, type InstallProgress } from './stagedInstall';

export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-node';
/** The version Distill is tested with (its devDependency). */
export const ONNX_RUNTIME_VERSION = '1.30.0';

export interface OnnxInstallOptions {
  dir: string;
  /** Also download the CUDA 12 execution provider (from outside the npm registry: NuGet). */
  cuda?: boolean;
  /** The Node that runs the check, as the engine will: the `distill.engine.nodePath` setting. Default: this process's. */
  nodePath?: string;
  npmPath?: string;
  /** Tests: install this spec (a `file:` tarball) instead of the registry's package. */
  packageSpec?: string;
  /** Extra environment for npm (tests). */
  env?: NodeJS.ProcessEnv;
  onLog?: (line: string) => void;
  onProgress?: (progress: InstallProgress) => void;
  signal?: AbortSignal;
}

export interface OnnxRuntimeCheck {
  version: string;
  /** Execution providers the installed binding has, e.g. `cpu`, `webgpu`, `cuda`. */
  providers: string[];
}

export interface OnnxInstallResult {
  dir: string;
  dependencies: Dependencies;
  runtime: OnnxRuntimeCheck;
}

export async function installOnnxRuntime(options: OnnxInstallOptions): Promise<OnnxInstallResult> {
  const { dir, dependencies, verified } = await installPackages<OnnxRuntimeCheck>({
    dir: options.dir,
    packages: { [ONNX_RUNTIME_PACKAGE]: options.packageSpec ?? ONNX_RUNTIME_VERSION },
    npmPath: options.npmPath,
    env: { ...options.env, ONNXRUNTIME_NODE_INSTALL: options.cuda ? 'cuda12' : 'skip' },
    onLog: options.onLog,
    onProgress: options.onProgress,
    signal: options.signal,
    verify: async (staging, signal) => {
      options.onProgress?.({ message: `Checking that ${ONNX_RUNTIME_PACKAGE} loads` });
      const check = await checkOnnxRuntime(staging, options.nodePath, signal);
      if (options.cuda && !check.providers.includes('cuda')) {
        options.onLog?.(`The CUDA provider was asked for but is not among ${check.providers.join(', ')}.`);
      }
      return check;
    },
  });
  return { dir, dependencies, runtime: verified };
}

const CHECK = `
const { createRequire } = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const req = createRequire(process.argv[1] + '/noop.js');
const ort = req('onnxruntime-node');
// Providers shipped in the package, plus CUDA when its library was downloaded (it is listed either way, as not bundled).
const bin = path.join(path.dirname(req.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
const cuda = fs.existsSync(bin) && fs.readdirSync(bin).some((f) => /providers_cuda/.test(f));
const providers = (ort.listSupportedBackends ? ort.listSupportedBackends() : [{ name: 'cpu', bundled: true }]).filter((b) => b.bundled || (b.name === 'cuda' && cuda)).map((b) => b.name);
process.stdout.write(JSON.stringify({ version: (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown', providers }) + '\\n');
`;

/** Loads onnxruntime-node from `dir` in a separate Node (as the engine runs), so a binding that crashes kills only the check. */
export async function checkOnnxRuntime(dir: string, nodePath: string | undefined, signal?: AbortSignal): Promise<OnnxRuntimeCheck> {
  const node = nodePath || process.execPath;
  const child = spawn(node, ['-e', CHECK, path.resolve(dir)], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });
  const timer = setTimeout(kill, 60_000);
  const { code, error } = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted) throw new InstallCancelled(dir);
  if (error) throw new DistillError('runtime', `Could not start ${node} to check ONNX Runtime: ${errorMessage(error)}.`);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) {
    const lines = stderr.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
    const detail = (
      lines
        .filter((l) => /^\w*Error\b/.test(l))
        .slice(0, 2)
        .join(' | ') || lines.slice(0, 3).join(' | ')
    ).replace(/^Error: /, '');
    throw new DistillError(
      'runtime',
      `npm installed ${ONNX_RUNTIME_PACKAGE}, but it does not load in ${node}: ${detail || `exit code ${code}`}. Nothing was changed.`,
    );
  }
  return JSON.parse(line) as OnnxRuntimeCheck;
}
