/**
 * `npm run fuzz`: the seeded fuzz suite over the real CLI and engine (test/fuzz/). Prints one line per case that
 * is not a pass, then `N cases, P pass, C crashes, H hangs, F false successes`; exits 1 unless C, H and F are 0.
 *
 *   npm run fuzz -- [--cases 2000] [--seed 11] [--workers 2] [--timeout 120] [--verbose]
 */
import { runFuzz } from '../test/fuzz/harness';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number (got ${process.argv[i + 1]})`);
  return v;
}

async function main(): Promise<void> {
  const seed = option('seed', 11);
  const cases = option('cases', 2000);
  const workers = option('workers', 2);
  const verbose = process.argv.includes('--verbose');
  const started = Date.now();
  let done = 0;
  process.stderr.write(`Fuzzing the CLI and engine: ${cases} cases, seed ${seed}, ${workers} workers…\n`);
  const summary = await runFuzz({
    seed,
    cases,
    workers,
    timeoutSeconds: option('timeout', 120),
    onResult: (r) => {
      done++;
      if (r.outcome !== 'pass') process.stdout.write(`#${r.index} ${r.outcome}: ${r.what}\n    ${r.detail?.replace(/\n/g, '\n    ')}\n`);
      else if (verbose) process.stdout.write(`#${r.index} pass: ${r.what}\n`);
      if (done % 100 === 0) process.stderr.write(`  ${done}/${cases} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    },
  });
  process.stdout.write(`${summary.line} (seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s)\n`);
  const c = summary.counts;
  process.exitCode = c.crashes || c.hangs || c.falseSuccesses ? 1 : 0;
}

void main();
