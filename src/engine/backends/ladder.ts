/**
 * The backend ladder: picks the compute backend once, at engine start, and says why.
 *
 * `auto` walks tensorflow-gpu → webgpu → tensorflow → wasm → cpu and takes the first backend that loads and, when
 * the caller passes a probe (one training step of the real model on a tiny batch), runs it. The native and GPU
 * backends are optional packages that are never bundled: they are required at run time (see `requireOptional` for
 * where from), and a missing one is reported with the exact reason. wasm and cpu are always there.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
// A named import: the package marks its node entry free of side effects, so a bare import is dropped by esbuild,
// and with it the registration of the cpu backend.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { probeDawn, type DawnAdapterInfo } from './dawnProbe';
import { registerBackendKernels } from './kernels';
import { BACKEND_INFO, LADDER, OPTIONAL_MODULES_ENV, type Backend, type ConcreteBackend } from '../../shared/backends';
import { DistillError, errorMessage, isDistillError } from '../../shared/errors';
import type { BackendReport, BackendSurveyEntry } from '../../shared/records';

export interface LadderOptions {
  /** Progress lines: what was tried and why it was skipped. */
  log?: (message: string) => void;
  /** Lines for the log only, not the terminal: what a backend's native code printed while it was probed. */
  debug?: (message: string) => void;
  /** A trial run on the freshly selected backend; a missing kernel makes the ladder move on (under `auto`). */
  probe?: () => Promise<void> | void;
}

/** A backend that loaded: the tfjs backend name to activate, and what to say about it once it is active. */
interface Loaded {
  tfName: string;
  describe: () => Promise<string> | string;
}

/**
 * How hard to try. `auto` wants a backend worth using: a software WebGPU adapter (SwiftShader, llvmpipe, WARP)
 * emulates a GPU on the CPU and trains far slower than wasm, so it only counts when asked for by name.
 */
type LoadMode = 'auto' | 'explicit';

/** Why a backend cannot be used here, and what the user can do about it. */
class Unavailable extends Error {
  constructor(
    readonly reason: string,
    readonly fix: string,
    readonly output?: string,
  ) {
    super(reason);
  }
}

/** Skipped by `auto` only (a software WebGPU adapter): a config that names the backend gets it. */
class SkippedByAuto extends Unavailable {}

/** What a backend's native code printed while it was looked at, for the log. */
let probeOutput: Partial<Record<ConcreteBackend, string>> = {};
const nativeOutputLine = (name: ConcreteBackend, output: string) =>
  `What ${name === 'webgpu' ? 'Dawn and the Vulkan loader' : name} printed while probing:\n${output}`;

const FIXES: Record<ConcreteBackend, string> = Object.fromEntries(LADDER.map((b) => [b, BACKEND_INFO[b].fix])) as Record<ConcreteBackend, string>;

export async function selectBackend(requested: Backend, opts: LadderOptions = {}): Promise<BackendReport> {
  const log = opts.log ?? (() => undefined);
  const debug = opts.debug ?? (() => undefined);
  probeOutput = {};
  const flushOutput = () => {
    for (const [name, output] of Object.entries(probeOutput)) if (output) debug(nativeOutputLine(name as ConcreteBackend, output));
    probeOutput = {};
  };
  try {
    return await selectFrom(requested, opts, log);
  } finally {
    flushOutput();
  }
}

async function selectFrom(requested: Backend, opts: LadderOptions, log: (message: string) => void): Promise<BackendReport> {
  if (requested !== 'auto') {
    const detail = await activateExplicit(requested, opts.probe);
    return { name: requested, reason: `${detail}: requested by engine.backend`, skipped: [] };
  }

  const skipped: BackendReport['skipped'] = [];
  const skippedText = () => skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  for (const name of LADDER) {
    try {
      const detail = await activate(name, 'auto');
      const missing = opts.probe ? await probeForMissingKernel(name, opts.probe) : null;
      if (missing) throw new Unavailable(missing, FIXES[name]);
      return { name, reason: skipped.length ? `${detail}: first available; skipped ${skippedText()}` : `${detail}: first available`, skipped };
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      skipped.push({ name, reason: e.reason });
      log(`Backend ${name} skipped: ${e.reason}`);
    }
  }
  throw new DistillError('runtime', `No backend can train this model here: ${skippedText()}.`, { path: ['engine', 'backend'] });
}

async function activateExplicit(name: ConcreteBackend, probe: LadderOptions['probe']): Promise<string> {
  try {
    const detail = await activate(name, 'explicit');
    const missing = probe ? await probeForMissingKernel(name, probe) : null;
    if (missing) throw new Unavailable(missing, 'Set engine.backend to "auto" so that the ladder picks a backend that has it.');
    return detail;
  } catch (e) {
    if (!(e instanceof Unavailable)) throw e;
    throw new DistillError('runtime', `engine.backend is "${name}", but it cannot be used here: ${e.reason}. ${e.fix}`, { path: ['engine', 'backend'] });
  }
}

/**
 * Every rung of the ladder as `auto` sees it here, fastest first: what it is, or why it cannot be used and the fix.
 * Activates each backend in turn, so it leaves the last one (cpu) active: meant for a process of its own, such as
 * `distill backends`.
 */
export async function surveyBackends(): Promise<BackendSurveyEntry[]> {
  const entries: BackendSurveyEntry[] = [];
  for (const name of LADDER) {
    try {
      entries.push({ name, available: true, detail: await activate(name, 'auto') });
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      entries.push({ name, available: false, detail: e.reason, fix: e.fix, ...(e instanceof SkippedByAuto ? { byName: true } : {}) });
    }
    const output = probeOutput[name];
    if (output) entries[entries.length - 1].output = output;
  }
  probeOutput = {};
  return entries;
}

/** Loads, registers and activates one backend; throws Unavailable with the reason when it cannot. */
async function activate(name: ConcreteBackend, mode: LoadMode): Promise<string> {
  const loaded = await load(name, mode);
  let ok: boolean;
  try {
    ok = await tf.setBackend(loaded.tfName);
    await tf.ready();
  } catch (e) {
    throw new Unavailable(`it failed to initialise (${firstLine(e)})`, FIXES[name]);
  }
  if (!ok || tf.getBackend() !== loaded.tfName) throw new Unavailable("it failed to initialise (see the log for the backend's own message)", FIXES[name]);
  // Our kernels go in once the backend is chosen and up, before any probe runs on it.
  registerBackendKernels(loaded.tfName);
  return loaded.describe();
}

/**
 * Runs the probe on the active backend. A kernel the backend lacks means this backend cannot train the model, and
 * is returned as the reason. Any other failure is the model's or the data's, would fail the same way on every
 * backend, and propagates unchanged.
 */
async function probeForMissingKernel(name: ConcreteBackend, probe: NonNullable<LadderOptions['probe']>): Promise<string | null> {
  try {
    await probe();
    return null;
  } catch (e) {
    const kernel = missingKernel(e);
    if (kernel === null || isDistillError(e)) throw e;
    return `kernel ${kernel} is not implemented on ${name}`;
  }
}

/** The kernel named by tfjs's "Kernel 'X' not registered for backend 'y'" error, or null for any other error. */
export function missingKernel(e: unknown): string | null {
  const match = /Kernel '([^']+)' not registered for backend/.exec(errorMessage(e));
  return match ? match[1] : null;
}

async function load(name: ConcreteBackend, mode: LoadMode): Promise<Loaded> {
  switch (name) {
    case 'tensorflow-gpu':
      return loadNode(name, '@tensorflow/tfjs-node-gpu', 'CUDA');
    case 'tensorflow':
      return loadNode(name, '@tensorflow/tfjs-node', 'native CPU');
    case 'webgpu':
      return loadWebGpu(mode);
    case 'wasm':
      return loadWasm();
    case 'cpu':
      return { tfName: 'cpu', describe: () => `cpu (pure JavaScript, tfjs ${version_cpu})` };
  }
}

/** tfjs-node and tfjs-node-gpu both register the backend 'tensorflow'; only the library behind it differs. */
async function loadNode(name: ConcreteBackend, pkg: string, device: string): Promise<Loaded> {
  await requireOptional(name, pkg);
  let version = '';
  try {
    version = ` ${((await requireOptional(name, `${pkg}/package.json`)) as { version?: string }).version ?? ''}`.trimEnd();
  } catch {
    // The version is only decoration.
  }
  return { tfName: 'tensorflow', describe: () => `${name} (${device}, ${pkg}${version})` };
}

interface GpuAdapterLike {
  info?: DawnAdapterInfo;
}
interface WebGpuPackage {
  create: (options: string[]) => { requestAdapter: () => Promise<GpuAdapterLike | null> };
  globals: Record<string, unknown>;
}

/** The webgpu backend once it loaded: a second Dawn instance per activation would only cost adapter enumeration. */
let webGpuLoaded: (Loaded & { software: boolean }) | undefined;

/** Adapters that run on the CPU: WebGPU's own flag, or the names of the usual software rasterisers. */
export function isSoftwareAdapter(info: NonNullable<GpuAdapterLike['info']>): boolean {
  if (info.isFallbackAdapter) return true;
  const names = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|microsoft basic render/i.test(names);
}

async function loadWebGpu(mode: LoadMode): Promise<Loaded> {
  if (webGpuLoaded && (mode === 'explicit' || !webGpuLoaded.software)) return webGpuLoaded;
  // Only look for the packages here: importing the backend must wait until the globals below exist, which are set
  // only once an adapter is found, so that a machine without a GPU keeps its globals untouched.
  const entry = await resolveOptional('webgpu', 'webgpu');
  await requireOptional('webgpu', '@tensorflow/tfjs-backend-webgpu/package.json');
  // First in a child process, whose native chatter is caught (see dawnProbe.ts): a machine without a usable GPU
  // never loads Dawn here, and prints nothing of it.
  const probe = await probeDawn(entry);
  if (probe.output) probeOutput.webgpu = probe.output;
  if (probe.failure) throw new Unavailable(`the WebGPU probe failed: ${probe.failure}`, FIXES.webgpu, probe.output);
  const noAdapter = () =>
    new Unavailable(
      'no WebGPU adapter was found (no Vulkan, Metal or D3D12 GPU, or its driver is missing)',
      'Install or update the GPU driver: on Linux, the Vulkan loader (libvulkan1) and the vendor\u2019s Vulkan driver (NVIDIA\u2019s driver includes it; check with `vulkaninfo --summary`). Or set engine.backend to "auto".',
      probe.output,
    );
  if (!probe.adapter) throw noAdapter();
  const describeDevice = (info: DawnAdapterInfo) =>
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'adapter without a name';
  if (isSoftwareAdapter(probe.adapter) && mode === 'auto') {
    throw new SkippedByAuto(
      `only a software WebGPU adapter was found (${describeDevice(probe.adapter)}): it emulates a GPU on the CPU and trains slower than wasm`,
      'Set engine.backend to "webgpu" to use it anyway (useful for testing shaders), or install the GPU\u2019s Vulkan, Metal or D3D12 driver.',
      probe.output,
    );
  }
  const dawn = (await requireOptional('webgpu', 'webgpu')) as WebGpuPackage;
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw noAdapter();
  const info = adapter.info ?? {};
  const device = describeDevice(info);
  const software = isSoftwareAdapter(info);
  if (software && mode === 'auto') {
    throw new SkippedByAuto(
      `only a software WebGPU adapter was found (${device}): it emulates a GPU on the CPU and trains slower than wasm`,
      'Set engine.backend to "webgpu" to use it anyway (useful for testing shaders), or install the GPU\u2019s Vulkan, Metal or D3D12 driver.',
    );
  }
  // The tfjs WebGPU backend looks for a browser: the WebGPU globals, `navigator.gpu` and `window` must exist
  // before it is imported. Node 21+ has its own `navigator`, which only needs `gpu` added.
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(dawn.globals)) if (!(key in g)) g[key] = value;
  if (!g.navigator) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  if (!g.window) g.window = globalThis;
  // Its own copy of tfjs-core registers into the same global engine and kernel registry as the bundled one.
  await requireOptional('webgpu', '@tensorflow/tfjs-backend-webgpu');
  webGpuLoaded = { tfName: 'webgpu', software, describe: () => `webgpu (${device}${software ? ', a software adapter' : ''})` };
  return webGpuLoaded;
}

function loadWasm(): Loaded {
  // The bundles (dist/) carry the .wasm files next to them (esbuild.mjs copies them); from sources the package's
  // own folder is found by default. Without threads support in Node, the SIMD binary is the one that loads.
  if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) setWasmPaths(__dirname + path.sep);
  return {
    tfName: 'wasm',
    describe: async () => {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = getThreadsCount();
      return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
    },
  };
}

/**
 * Where optional packages are looked for, in order: the folder named by DISTILL_OPTIONAL_MODULES (the user's
 * deliberate choice, so it wins), next to this file (the bundle's folder, or the repository's node_modules when run
 * from sources), then the workspace (the current directory) and the folders above it.
 */
export function optionalModuleRequirers(): NodeRequire[] {
  const explicit = process.env[OPTIONAL_MODULES_ENV];
  // A file name inside the folder: resolution starts at that folder, so both a node_modules folder and a folder
  // holding one are searched.
  const fromExplicit = explicit ? [createRequire(path.join(path.resolve(explicit), 'noop.js'))] : [];
  return [...fromExplicit, require, createRequire(path.join(process.cwd(), 'package.json'))];
}

/**
 * `require`s an optional package (or a file in it) from the first location that has it. One that is installed but
 * does not load (a missing native library) is remembered and the next location tried; when none loads, the first
 * failure is the reason, e.g. the dlopen error naming libcudart.so.11.0. A package that is nowhere is reported as
 * not installed.
 */
async function requireOptional(backend: ConcreteBackend, specifier: string): Promise<unknown> {
  const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  let firstFailure: string | undefined;
  for (const req of optionalModuleRequirers()) {
    try {
      return await requireOrImport(req, specifier);
    } catch (e) {
      if (!isModuleNotFound(e, pkg)) firstFailure ??= `${pkg} failed to load: ${firstLine(e)}`;
    }
  }
  throw new Unavailable(firstFailure ?? notInstalled(pkg), FIXES[backend]);
}

/** The resolved file of an optional package (or a file in it), from the first location that has it. */
async function resolveOptional(backend: ConcreteBackend, specifier: string): Promise<string> {
  const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  for (const req of optionalModuleRequirers()) {
    try {
      return req.resolve(specifier);
    } catch (e) {
      if (!isModuleNotFound(e, pkg)) throw new Unavailable(`${pkg} failed to load: ${firstLine(e)}`, FIXES[backend]);
    }
  }
  throw new Unavailable(notInstalled(pkg), FIXES[backend]);
}

/** `webgpu` is an ES module: Node before 20.19 (and the Electron of older VS Code) cannot `require` it, only import it. */
async function requireOrImport(req: NodeRequire, specifier: string): Promise<unknown> {
  try {
    return req(specifier);
  } catch (e) {
    if ((e as { code?: string })?.code !== 'ERR_REQUIRE_ESM') throw e;
    return import(pathToFileURL(req.resolve(specifier)).href);
  }
}

function notInstalled(pkg: string): string {
  const explicit = process.env[OPTIONAL_MODULES_ENV];
  if (!explicit) return `package ${pkg} is not installed`;
  const folder = path.resolve(explicit);
  return fs.existsSync(folder)
    ? `package ${pkg} is not installed (looked in ${OPTIONAL_MODULES_ENV}=${explicit} too)`
    : `package ${pkg} is not installed, and ${OPTIONAL_MODULES_ENV}=${explicit} names a folder that does not exist`;
}

/** True when `pkg` itself is missing; a missing file inside an installed package (a native binding) is not that. */
export function isModuleNotFound(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === 'MODULE_NOT_FOUND' && new RegExp(`Cannot find module '${pkg.replace(/[/.]/g, '\\$&')}(/package\\.json)?'`).test(err.message ?? '');
}

function firstLine(e: unknown): string {
  return errorMessage(e).split('\n')[0].trim();
}
