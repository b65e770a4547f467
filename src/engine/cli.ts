/**
 * `distill` — the engine, headless. The same DistillEngine as the extension's child process, run in-process.
 *
 *   distill run <config> [--runs-dir D] [--backend B] [--json] [--verbose]
 *   distill resume <runDir> [--json]
 *   distill sweep <file.sweep.json> [--sweeps-dir D] [--new] [--concurrency N|auto] [--queue redis://…] [--json]
 *   distill worker --queue redis://host:6379 [--concurrency N] [--work-dir D]
 *   distill validate <config>
 *   distill backends [--json] [--verbose]
 *   distill install-gpu [webgpu|tensorflow-gpu] [--dir D] [--npm P] [--verbose]
 *   distill install onnx|webgpu|tensorflow-gpu [--dir D] [--cuda] [--npm P] [--verbose]
 *   distill export <runDir> [--format onnx|tfjs] [--out F] [--force] [--json]
 *
 * Exit codes: 0 completed, 1 the run (or install) failed, 2 bad config or usage, 130 stopped (Ctrl-C).
 */
import { reportVerdict, type VerdictTone } from '../shared/reportVerdict';
import * as os from 'node:os';
import * as path from 'node:path';
import { Argument, Command, Option } from 'commander';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { loadConfigFile } from '../shared/configFile';
import { errorMessage, isDistillError } from '../shared/errors';
import type { EngineToHost } from '../shared/protocol';
import { compressionLabel } from '../shared/compression';
import { isCompressionSkipped, type BackendSurveyEntry, type ModelReport, type Summary } from '../shared/records';
import { newRunId } from '../shared/runDir';
import { surveyBackends } from './backends/ladder';
import { BACKENDS, OPTIONAL_MODULES_ENV, type Backend } from '../shared/backends';
import { formatBytes, modelName } from '../shared/format';
import { formatSeconds, parseConcurrency, runSweepCommand, type SweepCliOptions } from '../sweep/cli';
import { DistillEngine } from './engine';
import { installGpuEngine, isInstallCancelled, type InstallProgress } from '../install/gpuEngine';
import { GPU_TARGETS, isGpuTarget, targetsInWords, type GpuTarget } from '../install/targets';
import { installOnnxRuntime, ONNX_RUNTIME_PACKAGE } from '../install/onnxRuntime';
import { defaultExportPath, EXPORT_FORMATS, exportStudent, type ExportFormat } from './export';

/** BullMQ and ioredis load only for `sweep --queue` and `worker`. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: only these two commands need Redis
const redisModule = (): typeof import('../sweep/redis') => require('../sweep/redis');

const EXIT = { completed: 0, failed: 1, usage: 2, stopped: 130 } as const;

interface OutputOptions {
  json?: boolean;
  /** Print debug lines too: what native backends printed while probed, the stack of an internal error. */
  verbose?: boolean;
}

/** Renders engine messages: a progress bar on a TTY, plain lines otherwise, JSON lines with --json. */
class Reporter {
  private multibar?: MultiBar;
  /** One bar per model in training: the KD and scratch students can train at once (parallelStudents.ts). */
  private bars = new Map<string, { bar: SingleBar; epoch: number }>();

  constructor(
    private readonly json: boolean,
    private readonly verbose = false,
  ) {}

  handle = (m: EngineToHost): void => {
    if (this.json) {
      process.stdout.write(JSON.stringify(m) + '\n');
      return;
    }
    switch (m.type) {
      case 'started':
        this.line(`Run ${m.runId}${m.resumed ? ' (resumed)' : ''} → ${m.runDir}`);
        break;
      case 'phase':
        this.line(m.message);
        break;
      case 'log':
        if (m.level === 'debug' && !this.verbose) break;
        this.line(m.level === 'info' ? m.message : `${m.level}: ${m.message}`);
        break;
      case 'steps':
      case 'epoch': {
        const p = m.progress;
        if (!process.stderr.isTTY || p.stepsPerEpoch === 0) break;
        this.multibar ??= new MultiBar(
          {
            format: ' {who} epoch {epoch}/{epochs} |{bar}| {value}/{total} steps · loss {loss} · ETA {eta_run}',
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          Presets.shades_classic,
        );
        let entry = this.bars.get(p.student);
        if (!entry) {
          entry = { bar: this.multibar.create(p.stepsPerEpoch, 0), epoch: p.epoch };
          this.bars.set(p.student, entry);
        } else if (entry.epoch !== p.epoch) {
          entry.bar.setTotal(p.stepsPerEpoch);
          entry.epoch = p.epoch;
        }
        entry.bar.update(p.step, {
          who: modelName(p.student),
          epoch: p.epoch,
          epochs: p.totalEpochs,
          loss: p.loss?.toFixed(4) ?? '…',
          eta_run: p.etaSeconds !== undefined ? formatSeconds(p.etaSeconds) : '…',
        });
        break;
      }
      case 'finished':
        this.stopBar();
        if (m.summary) process.stdout.write('\n' + summaryTable(m.summary) + '\n');
        this.line(
          m.status === 'completed'
            ? 'Done.'
            : `Run ${m.status}: ${m.reason ?? ''}${m.status === 'failed' && !this.verbose && m.reason?.startsWith('Internal error') ? ' (run again with --verbose for the stack)' : ''}`,
        );
        break;
      case 'softLabels':
        break;
    }
  };

  private line(text: string) {
    if (this.multibar) this.multibar.log(text + '\n');
    else process.stderr.write(text + '\n');
  }

  stopBar() {
    this.multibar?.stop();
    this.multibar = undefined;
    this.bars.clear();
  }
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
const num = (v: number | undefined | null, digits = 4) => (v === undefined || v === null ? '–' : v.toFixed(digits));

export function summaryTable(s: Summary): string {
  const rows: [string, ModelReport | undefined][] = [
    [modelName('teacher', { capital: true }), s.teacher],
    ...(s.teachers ?? []).map((t, i): [string, ModelReport] => [`  teacher ${i + 1} (w ${t.weight.toFixed(2)})`, t]),
    [modelName('baseline', { capital: true }), s.baseline],
    [modelName('kd', { capital: true }), s.student],
  ];
  const skipped: string[] = [];
  for (const c of s.compression ?? []) {
    if (isCompressionSkipped(c)) skipped.push(`${c.stage} skipped: ${c.skipped}`);
    else rows.push([`  ${compressionLabel(c)}`, c]);
  }
  const teacherBytes = s.teacher.sizeBytes;
  const header = ['model', 'accuracy', 'macro-F1', 'KL→teacher', 'agreement', 'ECE', 'params', 'size', '÷ teacher', 'ms/sample b1', 'ms/sample b256', 'kept'];
  const body = rows
    .filter(([, r]) => r)
    .map(([name, r]) => [
      name,
      pct(r!.accuracy),
      num(r!.macroF1),
      r === s.teacher ? '–' : num(r!.klToTeacher),
      r === s.teacher ? '–' : pct(r!.agreement),
      num(r!.ece),
      r!.params === null ? '–' : r!.params.toLocaleString('en-US'),
      formatBytes(r!.sizeBytes),
      teacherBytes && r!.sizeBytes ? `${(teacherBytes / r!.sizeBytes).toFixed(1)}×` : '–',
      num(r!.latencyMs?.batch1, 3),
      num(r!.latencyMs?.batch256, 4),
      r!.teacherAccuracyKeptPct === undefined ? '–' : `${r!.teacherAccuracyKeptPct.toFixed(1)}%`,
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const count = (n: number) => n.toLocaleString('en-US');
  const transfer = s.transfer
    ? [
        `Training rows: ${count(s.transfer.labeled)} labelled + ${count(s.transfer.unlabeled)} unlabelled (learnt from the teacher only)${s.baseline ? `; the scratch student trained on the ${count(s.transfer.labeled)} labelled rows, as many steps` : ''}.`,
      ]
    : [];
  const ensemble = s.teachers
    ? [
        `Teacher: an ensemble of ${s.teachers.length} (${s.ensemble?.mode === 'probabilities' ? `mean of the probabilities at T = ${s.ensemble.temperature}` : 'mean of the logits'}); each teacher's KL→teacher and agreement are to the ensemble. ${s.teachers.map((t, i) => `${i + 1}: ${t.name}`).join('; ')}.`,
      ]
    : [];
  const f = s.features;
  const features = f
    ? [
        `Feature distillation: ${f.pairs.map((p) => `${p.teacher}${p.teacherIndex !== undefined ? ` (teacher ${p.teacherIndex + 1})` : ''} → ${p.student} (${p.loss}, weight ${p.weight})`).join('; ')}${f.firstEpoch !== undefined && f.lastEpoch !== undefined ? `; feature term ${num(f.firstEpoch, 4)} in the first epoch, ${num(f.lastEpoch, 4)} in the last` : ''}.`,
      ]
    : [];
  return [
    `Test split: ${s.testSamples} samples · backend ${s.backend.name} · ${formatSeconds(s.seconds)}`,
    ...transfer,
    ...features,
    ...ensemble,
    fmt(header),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...body.map(fmt),
    ...(s.compression?.length
      ? ['', "Compressed rows: size = weight shards on disk; ÷ teacher = how many times smaller than the teacher; kept = % of the teacher's accuracy."]
      : []),
    ...skipped,
    '',
    ...reportVerdict(s).map((l) => `${VERDICT_MARK[l.tone]} ${l.text}`),
  ].join('\n');
}

const VERDICT_MARK: Record<VerdictTone, string> = { good: '✓', bad: '✗', warn: '!', neutral: '·' };

async function runEngine(task: (engine: DistillEngine) => Promise<{ status: string }>, options: OutputOptions): Promise<number> {
  const reporter = new Reporter(!!options.json, !!options.verbose);
  const engine = new DistillEngine(reporter.handle);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) engine.requestStop('stopped');
    else process.exit(EXIT.stopped);
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await task(engine);
    return result.status === 'completed' ? EXIT.completed : result.status === 'failed' ? EXIT.failed : EXIT.stopped;
  } finally {
    reporter.stopBar();
    process.off('SIGINT', onSigint);
  }
}

/** `distill backends` without --json: one block per rung, the fix indented under an unavailable one. */
export function backendsTable(survey: readonly BackendSurveyEntry[], verbose = false): string {
  const width = Math.max(...survey.map((e) => e.name.length));
  const indent = ' '.repeat(width + 15);
  return survey
    .map((e) => {
      let text = `${e.name.padEnd(width)}  ${e.available ? 'available  ' : 'unavailable'}  ${e.detail}`;
      if (e.fix && !e.available) text += `\n${indent}fix: ${e.fix}`;
      if (verbose && e.output)
        text += `\n${indent}printed while probing:\n${e.output
          .split('\n')
          .map((l) => `${indent}  ${l}`)
          .join('\n')}`;
      return text;
    })
    .join('\n');
}

/** The shell line that points the engine at a folder, for the shell this machine most likely uses. */
export function optionalModulesAssignment(dir: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return `$env:${OPTIONAL_MODULES_ENV} = "${dir}"`;
  return `export ${OPTIONAL_MODULES_ENV}=${/^[\w@%+=:,./-]+$/.test(dir) ? dir : `'${dir.replace(/'/g, `'\\''`)}'`}`;
}

const DOWNLOAD_LINE_INTERVAL_MS = 1000;

/** Progress lines on stderr: every phase, and at most one "Downloading …" line a second. */
function installProgressPrinter(): (p: InstallProgress) => void {
  let percent = 0;
  let lastMessage = '';
  let lastDownloadLine = 0;
  return (p) => {
    percent = Math.min(100, percent + (p.increment ?? 0));
    if (p.message === lastMessage) return;
    const chatty = /^(Downloading|Resolving) /.test(p.message);
    if (chatty && Date.now() - lastDownloadLine < DOWNLOAD_LINE_INTERVAL_MS) return;
    if (chatty) lastDownloadLine = Date.now();
    lastMessage = p.message;
    process.stderr.write(`[${String(Math.round(percent)).padStart(3)}%] ${p.message}\n`);
  };
}

/** Runs an install with Ctrl-C as its cancel button; a cancelled install exits 130 with dir unchanged. */
async function cancellableInstall(task: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(EXIT.stopped);
    process.stderr.write('Cancelling: stopping npm and removing what it installed…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await task(abort.signal);
  } catch (e) {
    if (isInstallCancelled(e)) {
      process.stderr.write(`distill: ${e.message}\n`);
      return EXIT.stopped;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function installOnnx(opts: { dir: string; npm?: string; verbose?: boolean; cuda?: boolean }): Promise<number> {
  const dir = path.resolve(opts.dir);
  return cancellableInstall(async (signal) => {
    process.stderr.write(`Installing ONNX Runtime (${ONNX_RUNTIME_PACKAGE}${opts.cuda ? ', with the CUDA 12 provider' : ', CPU'}) into ${dir}\n`);
    const result = await installOnnxRuntime({
      dir,
      cuda: opts.cuda,
      npmPath: opts.npm,
      signal,
      onProgress: installProgressPrinter(),
      onLog: opts.verbose ? (line) => process.stderr.write(`  ${line}\n`) : undefined,
    });
    process.stderr.write(
      `ONNX Runtime ${result.runtime.version} installed; execution providers: ${result.runtime.providers.join(', ')}. ONNX teachers (teacher.model: "….onnx") and ONNX exports now work once the engine looks in ${dir}.\n`,
    );
    process.stderr.write(`To use it from the CLI, set (in VS Code, the setting distill.engine.optionalModules to ${dir}):\n`);
    process.stdout.write(optionalModulesAssignment(dir) + '\n');
    return EXIT.completed;
  });
}

async function installGpu(target: GpuTarget, opts: { dir: string; npm?: string; verbose?: boolean }): Promise<number> {
  const dir = path.resolve(opts.dir);
  return cancellableInstall(async (signal) => {
    process.stderr.write(`Installing the ${target} engine into ${dir}\n`);
    const result = await installGpuEngine({
      target,
      dir,
      // This bundle: the check runs `backends --json` on it, with the new folder.
      cliPath: __filename,
      npmPath: opts.npm,
      signal,
      onProgress: installProgressPrinter(),
      onLog: opts.verbose ? (line) => process.stderr.write(`  ${line}\n`) : undefined,
    });
    if (result.warning) process.stderr.write(`warning: ${result.warning}\n`);
    else process.stderr.write(`GPU engine installed: ${result.backend.detail}. Runs with engine.backend "auto" now use it once the engine looks in ${dir}.\n`);
    process.stderr.write(
      `Installed packages: ${Object.entries(result.dependencies)
        .map(([n, v]) => `${n}@${v}`)
        .join(', ')}\n`,
    );
    process.stderr.write(`To use it from the CLI, set (in VS Code, the setting distill.engine.optionalModules to ${dir}):\n`);
    process.stdout.write(optionalModulesAssignment(dir) + '\n');
    return EXIT.completed;
  });
}

/** The folder optional packages go into: DISTILL_OPTIONAL_MODULES when set (the engine reads it), else the default. */
const defaultOptionalModulesDir = () => process.env[OPTIONAL_MODULES_ENV] || path.join(os.homedir(), '.distill', 'gpu-engine');

const backendOption = new Option('--backend <name>', 'override engine.backend').choices(BACKENDS);

export function buildProgram(): Command {
  const program = new Command()
    .name('distill')
    .description('Knowledge distillation, headless: distill a teacher into a student and report what it learned.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('run the experiment described by a *.distill.json config')
    .argument('<config>', 'path to the config file')
    .option('--runs-dir <dir>', 'where to write the run (default: output.runsDir of the config)')
    .addOption(backendOption)
    .option('--json', 'print engine messages as JSON lines instead of progress')
    .option('--verbose', 'print debug lines too (what Dawn printed while probing, stacks of internal errors)')
    .action(async (configFile: string, opts: OutputOptions & { runsDir?: string; backend?: Backend }) => {
      const config = loadConfigFile(configFile);
      if (opts.runsDir) config.output.runsDir = path.resolve(opts.runsDir);
      if (opts.backend) config.engine.backend = opts.backend;
      const runDir = path.join(config.output.runsDir, newRunId(config.name));
      process.exitCode = await runEngine((engine) => engine.start(config, runDir), opts);
    });

  program
    .command('resume')
    .description('continue a stopped or interrupted run from its last checkpoint')
    .argument('<runDir>', 'the run directory')
    .option('--json', 'print engine messages as JSON lines instead of progress')
    .option('--verbose', 'print debug lines too (what Dawn printed while probing, stacks of internal errors)')
    .action(async (runDir: string, opts: OutputOptions) => {
      process.exitCode = await runEngine((engine) => engine.resume(path.resolve(runDir)), opts);
    });

  program
    .command('sweep')
    .description('run every trial of a *.sweep.json (grid or random search over config paths); again, it continues where it stopped')
    .argument('<file>', 'path to the sweep file')
    .option('--sweeps-dir <dir>', 'where sweeps are written (default: output.sweepsDir of the sweep file, "sweeps" beside it)')
    .option('--new', 'start a fresh sweep instead of continuing an unfinished one of the same name and content')
    .option('--concurrency <n>', 'trials at once on this machine, each in its own engine process (default: the sweep file\'s, "auto" = one per core)')
    .option('--queue <url>', 'enqueue the trials on Redis (redis://host:6379) for `distill worker`s instead of running them here')
    .option('--json', 'print sweep events as JSON lines instead of progress')
    .action(async (file: string, opts: SweepCliOptions) => {
      process.exitCode = await runSweepCommand(file, opts, async (url) => new (redisModule().RedisExecutor)(url));
    });

  program
    .command('worker')
    .description('run sweep trials from a Redis queue (`distill sweep … --queue`) until Ctrl-C; any number of machines may run one')
    .requiredOption('--queue <url>', 'the Redis URL, e.g. redis://host:6379')
    .option('--concurrency <n>', 'trials at once here, each in its own engine process ("auto" = one per core)', 'auto')
    .option(
      '--work-dir <dir>',
      'where trials run when the sweep folder is not on this machine, and where teacher files are kept',
      path.join(os.homedir(), '.distill', 'worker'),
    )
    .option('--no-shared', 'always run trials in --work-dir and send their files back, even when the sweep folder is reachable here')
    .addOption(new Option('--lock-ms <ms>', 'how long a lost worker keeps its trial before another takes it over').default('30000').hideHelp())
    .action(async (opts: { queue: string; concurrency: string; workDir: string; shared: boolean; lockMs: string }) => {
      const worker = await redisModule().runWorker({
        url: opts.queue,
        concurrency: parseConcurrency(opts.concurrency),
        workDir: path.resolve(opts.workDir),
        noShared: !opts.shared,
        lockMs: Number(opts.lockMs),
        log: (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
      });
      await new Promise<void>((resolve) => {
        const onSigint = () => {
          process.off('SIGINT', onSigint);
          process.stderr.write('Stopping: running trials checkpoint; their jobs go to other workers (or to this one, started again).\n');
          void worker.close().then(resolve);
        };
        process.on('SIGINT', onSigint);
        process.on('SIGTERM', onSigint);
      });
      process.exitCode = EXIT.stopped;
    });

  program
    .command('validate')
    .description('check a config file and print the resolved config')
    .argument('<config>', 'path to the config file')
    .action((configFile: string) => {
      process.stdout.write(JSON.stringify(loadConfigFile(configFile), null, 2) + '\n');
    });

  program
    .command('backends')
    .description('list the compute backends in ladder order and whether each loads here (and if not, why and the fix)')
    .option('--json', 'print the list as one JSON array')
    .option('--verbose', "also show what each backend's native code (Dawn, the Vulkan loader) printed while probed")
    .action(async (opts: OutputOptions) => {
      const survey = await surveyBackends();
      process.stdout.write((opts.json ? JSON.stringify(survey) : backendsTable(survey, !!opts.verbose)) + '\n');
    });

  program
    .command('install-gpu')
    .description(`install a GPU backend with npm into a folder the engine reads through ${OPTIONAL_MODULES_ENV}, and check it loads`)
    .addArgument(new Argument('[target]', targetsInWords()).choices(GPU_TARGETS as unknown as string[]).default('webgpu'))
    .option('--dir <folder>', 'where to install', path.join(os.homedir(), '.distill', 'gpu-engine'))
    .option('--npm <path>', 'the npm executable (default: npm from PATH)')
    .option('--verbose', "print npm's own output")
    .action(async (target: GpuTarget, opts: { dir: string; npm?: string; verbose?: boolean }) => {
      process.exitCode = await installGpu(target, opts);
    });

  program
    .command('export')
    .description("export a run's trained student: as ONNX (checked against the tfjs student on the test split before it is written) or as the tfjs model")
    .argument('<runDir>', 'the run directory')
    .addOption(new Option('--format <format>', 'onnx or tfjs').choices(EXPORT_FORMATS as unknown as string[]).default('onnx'))
    .option('--out <path>', 'the file (onnx) or folder (tfjs) to write (default: <runId>-student[.onnx] here)')
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print the result as one JSON line')
    .action(async (runDir: string, opts: { format: ExportFormat; out?: string; force?: boolean; json?: boolean }) => {
      const result = await exportStudent(path.resolve(runDir), {
        format: opts.format,
        out: opts.out ?? defaultExportPath(runDir, opts.format),
        overwrite: opts.force,
        log: (m) => process.stderr.write(m + '\n'),
      });
      if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
      else {
        const parity = result.parity
          ? ` It gives the tfjs student's logits on ${result.parity.rows} test rows within ${result.parity.maxAbsDiff.toExponential(1)} (≤ ${result.parity.tolerance}, ${result.parity.runtime}).`
          : '';
        process.stdout.write(
          `Exported the student as ${result.format === 'onnx' ? `ONNX (opset ${result.opset})` : 'tfjs'}: ${result.out} (${(result.bytes / 1024).toFixed(1)} KiB).${parity}\n`,
        );
      }
    });

  program
    .command('install')
    .description(`install an optional package with npm into the folder the engine reads through ${OPTIONAL_MODULES_ENV}, and check it loads`)
    .addArgument(
      new Argument(
        '<what>',
        'onnx: ONNX Runtime, for ONNX teachers and exports (about 113 MB); webgpu, tensorflow-gpu: a GPU backend (as install-gpu)',
      ).choices(['onnx', ...GPU_TARGETS]),
    )
    .option('--dir <folder>', `where to install (default: $${OPTIONAL_MODULES_ENV}, else ~/.distill/gpu-engine, the folder install-gpu uses)`)
    .option('--cuda', 'onnx: also download the CUDA 12 execution provider (from NuGet, outside the npm registry)')
    .option('--npm <path>', 'the npm executable (default: npm from PATH)')
    .option('--verbose', "print npm's own output")
    .action(async (what: string, opts: { dir?: string; cuda?: boolean; npm?: string; verbose?: boolean }) => {
      const dir = opts.dir ?? defaultOptionalModulesDir();
      process.exitCode = isGpuTarget(what) ? await installGpu(what, { ...opts, dir }) : await installOnnx({ ...opts, dir });
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e && typeof e === 'object' && 'exitCode' in e && (e as { code?: string }).code?.startsWith('commander.')) {
      const code = (e as { exitCode: number }).exitCode;
      return code === 0 ? 0 : EXIT.usage;
    }
    if (isDistillError(e)) {
      process.stderr.write(`distill: ${e.message}\n`);
      return e.kind === 'config' || e.kind === 'usage' ? EXIT.usage : EXIT.failed;
    }
    process.stderr.write(`distill: ${errorMessage(e)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
