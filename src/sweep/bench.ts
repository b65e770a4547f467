/**
 * `npm run bench:sweep`: sweep throughput, trials per minute with 1 and with 2 (… N) local engine processes, measured
 * side by side on the same sweep of real Fashion-MNIST trials (the teacher prepared and cached before any timing).
 * Rounds alternate the process counts, so a change in the machine's load hits all of them alike; the load average is
 * printed with the figures, since on a shared machine they say as much about the neighbours as about Distill.
 * Not a test: it reports.
 *
 * Usage: node dist/sweepBench.js [--workers 1,2] [--trials 24] [--rounds 1] [--rows 60000] [--epochs 3] [--json]
 *
 * The default sweep is a 4 × 3 grid with 2 repeats (24 trials), each trial the demo's student on the whole training
 * file (60,000 rows, 3 epochs: about 6 s in one engine here). Each measured sweep starts its own engine processes,
 * which are then kept from trial to trial (src/sweep/engineTask.ts).
 *
 * On Linux it also prints the CPU time of the engine processes per trial, all their threads (/proc/self/stat's
 * reaped-children times), and the ratio the cores allow at that CPU a trial: min(N, cores) cores kept busy.
 *
 * What keeps 2 processes under 2× on 2 cores, measured here (December 2026, a 2-core VM) with each engine's CPU time by
 * task (/proc):
 * - V8 compiles the engine's hot code afresh in every process: 170, 80, 40, 26, 16 … functions in its first trials
 *   (--trace-opt), about 4 CPU-s in all. A lone engine does it on the idle core; two engines on the cores their trials
 *   need. Short sweeps weigh it most: 24 trials of 12,000 rows (1.2 s each) gave 1.46-1.51×, 72 of them 1.92×.
 * - a sweep's CPU a trial with two engines: from the same as with one (72 trials of 12,000 rows: 1.31 against 1.36
 *   CPU-s) to 17% more (24 trials of 60,000 rows: 6.71 against 5.73, of which the second engine's compiling is ~0.2),
 *   from one round to the next. The cores share the memory system with each other and with the VM's neighbours; the
 *   memory-copy figure printed last says what it allowed two processes that only copy memory during the run.
 * - one engine alone keeps ~1.04 cores busy (its compiler and garbage collector on the other core);
 * - the last trial of one engine runs while the other has none left.
 * On the default trials, 2 ÷ 1 was 1.59-1.97× over seven rounds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { planSweepText } from '../shared/sweepPlan';
import { SweepCoordinator } from './coordinator';
import { LocalExecutor } from './executor';
import { memoryCopyScaling } from './memoryCopy';

const FASHION = '/usr/share/datasets/fashion-mnist';

interface Row {
  workers: number;
  round: number;
  trials: number;
  seconds: number;
  trialsPerMinute: number;
  /** CPU time of the sweep's engine processes per trial, all their threads; absent where /proc is not. */
  cpuSecondsPerTrial?: number;
  loadAvg1: number;
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces), so that index 0 is field 3, the
 * state; undefined where there is no such file (off Linux, or the process is gone).
 */
function procStat(pid: string): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used by this process's children that have exited and been reaped: cutime + cstime (fields 16 and 17),
 * in the kernel's fixed USER_HZ of 100 ticks a second. Undefined off Linux.
 */
function reapedChildrenCpuSeconds(): number | undefined {
  const fields = procStat('self');
  return fields && (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Waits until no child of this process is left (an engine exits shortly after its pool closes), at most `ms`. */
async function childrenGone(ms: number): Promise<void> {
  // Field 4, the parent's pid.
  const ours = () => fs.readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && Number(procStat(entry)?.[1]) === process.pid);
  for (const end = Date.now() + ms; Date.now() < end && ours();) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--workers <list>', 'process counts to compare', '1,2')
    .option('--trials <n>', 'trials per sweep', '24')
    .option('--rounds <n>', 'times each process count is measured, alternating', '1')
    .option('--rows <n>', 'training rows per trial (at most the 60,000 of the file)', '60000')
    .option('--epochs <n>', 'epochs per trial', '3')
    .option('--json', 'JSON lines only')
    .parse(process.argv)
    .opts<{ workers: string; trials: string; rounds: string; rows: string; epochs: string; json?: boolean }>();
  const counts = opts.workers.split(',').map(Number);
  const trials = Number(opts.trials);
  const say = (line: string) => !opts.json && process.stderr.write(line + '\n');
  if (!fs.existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz')))
    throw new Error(`Fashion-MNIST not found in ${FASHION} (apt-get install dataset-fashion-mnist)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-sweep-bench-'));
  try {
    const base = {
      name: 'bench',
      seed: 1,
      data: {
        format: 'idx',
        train: { images: `${FASHION}/train-images-idx3-ubyte.gz`, labels: `${FASHION}/train-labels-idx1-ubyte.gz` },
        test: { images: `${FASHION}/t10k-images-idx3-ubyte.gz`, labels: `${FASHION}/t10k-labels-idx1-ubyte.gz` },
        maxSamples: { train: Number(opts.rows), test: 1000 },
      },
      teacher: { preset: 'mlp', hidden: [128], train: { epochs: 2, batchSize: 64 } },
      student: { preset: 'mlp', hidden: [32] },
      training: { epochs: Number(opts.epochs), batchSize: 64 },
      evaluation: { probeSize: 8, latency: false },
      engine: { backend: 'wasm' },
      output: { cacheDir: path.join(dir, 'cache') },
    };
    const temperatures = Array.from({ length: trials }, (_, i) => 1 + i);
    const sweepText = (tag: string) => JSON.stringify({ name: `bench-${tag}`, base, grid: { 'distillation.temperature': temperatures }, baseline: false });
    const file = path.join(dir, 'bench.sweep.json');

    // The teacher once, before any timing; every measured sweep then finds it cached.
    say('Preparing the teacher (not timed)…');
    const warm = new LocalExecutor(1);
    await new SweepCoordinator(planSweepText(JSON.stringify({ name: 'warm', base, grid: { 'distillation.temperature': [1] }, baseline: false }), file), {
      executor: warm,
    }).run();
    await warm.close();
    // Its engine's CPU time is reaped children's time too: it must not count towards the first measured sweep.
    await childrenGone(5000);

    const rows: Row[] = [];
    for (let round = 0; round < Number(opts.rounds); round++) {
      for (const workers of counts) {
        const plan = planSweepText(sweepText(`${workers}-${round}`), file);
        // A fresh executor, so each sweep starts its engine processes as `distill sweep` does.
        const executor = new LocalExecutor(workers);
        const cpuBefore = reapedChildrenCpuSeconds();
        const started = Date.now();
        const { results } = await new SweepCoordinator(plan, { executor }).run();
        const seconds = (Date.now() - started) / 1000;
        await executor.close();
        if (cpuBefore !== undefined) await childrenGone(5000);
        const cpuAfter = reapedChildrenCpuSeconds();
        const done = results.filter((r) => r.status === 'completed').length;
        const cpuSecondsPerTrial = cpuBefore !== undefined && cpuAfter !== undefined && done ? (cpuAfter - cpuBefore) / done : undefined;
        const row: Row = { workers, round, trials: done, seconds, trialsPerMinute: (done / seconds) * 60, cpuSecondsPerTrial, loadAvg1: os.loadavg()[0] };
        rows.push(row);
        process.stdout.write(JSON.stringify({ case: 'sweep', ...row }) + '\n');
        const perTrial = results.filter((r) => r.status === 'completed').reduce((a, r) => a + (r.metrics?.seconds ?? 0), 0) / Math.max(1, done);
        const cpu =
          cpuSecondsPerTrial === undefined
            ? ''
            : `, ${cpuSecondsPerTrial.toFixed(2)} CPU-s each (${((cpuSecondsPerTrial * done) / seconds).toFixed(2)} cores busy)`;
        say(
          `  ${workers} process${workers === 1 ? '' : 'es'}: ${done} trials in ${seconds.toFixed(1)} s = ${row.trialsPerMinute.toFixed(2)} trials/min, ${perTrial.toFixed(1)} s in the engine each${cpu} (load average ${row.loadAvg1.toFixed(2)})`,
        );
      }
    }
    /** The mean of a figure over the rounds with `w` processes that have it. */
    const meanOver = (w: number, figure: (r: Row) => number | undefined) => {
      const values = rows.filter((r) => r.workers === w).flatMap((r) => figure(r) ?? []);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
    };
    const rate = (w: number) => meanOver(w, (r) => r.trialsPerMinute)!;
    const ratios = Object.fromEntries(counts.slice(1).map((w) => [`${w}v${counts[0]}`, rate(w) / rate(counts[0])]));
    // What the cores allow: w processes keep at most min(w, cores) cores busy, each trial needing its CPU seconds,
    // against the trials per minute of the first count as measured.
    const cores = os.availableParallelism();
    const ceilings = Object.fromEntries(
      counts.slice(1).flatMap((w) => {
        const cpu = meanOver(w, (r) => r.cpuSecondsPerTrial);
        return cpu ? [[`${w}v${counts[0]}`, (Math.min(w, cores) * 60) / cpu / rate(counts[0])]] : [];
      }),
    );
    // Each process count above 1 copying memory against 1 alone, one after another, after the sweeps so as not to disturb them.
    const memoryCopy = [];
    for (const w of counts.filter((n) => n > 1)) memoryCopy.push(await memoryCopyScaling(w, 1.5));
    process.stdout.write(JSON.stringify({ case: 'sweep-ratios', ratios, ceilings, memoryCopy, cores, loadAvg: os.loadavg() }) + '\n');
    for (const m of memoryCopy)
      say(
        `memory copy: 1 process ${m.aloneGBps.toFixed(1)} GB/s, ${m.processes} at once ${m.eachGBps.toFixed(1)} GB/s each, together ${m.together.toFixed(2)}× the bytes`,
      );
    for (const [k, v] of Object.entries(ratios)) {
      const ceiling = ceilings[k] === undefined ? '' : `; the cores allow ${ceilings[k].toFixed(2)}× at the CPU a trial took`;
      say(
        `trials/min ratio ${k.replace('v', ' vs ')} processes: ${v.toFixed(2)}× (target ≥ 1.8× for 2 vs 1 on 2 free cores${ceiling}; ${cores} cores here, load average ${os.loadavg()[0].toFixed(2)})`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`sweep bench: ${(e as Error).message}\n`);
  process.exit(1);
});
