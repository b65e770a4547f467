#!/usr/bin/env node
/**
 * `npm run demo`: two scenarios on real Fashion-MNIST, each one `distill run`, each introduced by one line saying
 * what it shows and closed by one line with what this run measured.
 *
 *   1. Every label: teacher, scratch student and KD student (fashion.distill.json).
 *   2. Labels on 1,000 rows, the teacher's soft labels on all of them, against a scratch student on the 1,000
 *      (few-labels.distill.json). Both scenarios share the cached cnn-medium teacher.
 *
 * Extra arguments go to both runs (e.g. `npm run demo -- --backend wasm`). Exits with the first failing run's code.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const examples = path.join(root, 'examples', 'fashion-mnist');
const extra = process.argv.slice(2);

const scenarios = [
  {
    config: 'fashion.distill.json',
    name: 'fashion-mnist-kd',
    title: 'Scenario 1 of 2 — every training row labelled: teacher, scratch student, KD student.',
    shows: 'With every label, KD brings this 25k-parameter student closer to its teacher (agreement, KL); at this size it need not beat scratch in accuracy.',
    verdict: (s) =>
      `Measured: KD vs scratch ${points(s.student.accuracy - s.baseline.accuracy)} accuracy; agreement with the teacher ${pct(s.student.agreement)} vs ${pct(s.baseline.agreement)}, KL ${s.student.klToTeacher.toFixed(3)} vs ${s.baseline.klToTeacher.toFixed(3)}.`,
  },
  {
    config: 'few-labels.distill.json',
    name: 'fashion-mnist-1000-labels',
    title: 'Scenario 2 of 2 — labels on 1,000 rows (100 per class), the teacher\u2019s soft labels on all of the training rows.',
    shows:
      'Where distillation pays: the teacher labels data the student has no labels for; the scratch student has only the 1,000 labelled rows (as many optimizer steps).',
    verdict: (s) =>
      `Measured: KD on the transfer set vs scratch on ${s.transfer.labeled.toLocaleString('en-US')} labels ${points(s.student.accuracy - s.baseline.accuracy)} accuracy (${pct(s.student.accuracy)} vs ${pct(s.baseline.accuracy)}).`,
  },
];

const pct = (v) => `${(v * 100).toFixed(2)}%`;
const points = (d) => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(2)} points`;

/** Where runs go: `--runs-dir D` among the extra arguments, else the example configs' own `runs/`. */
const runsDir = (() => {
  const i = extra.indexOf('--runs-dir');
  return i >= 0 && extra[i + 1] ? path.resolve(extra[i + 1]) : path.join(examples, 'runs');
})();

/** The newest run directory of `name` begun since `since` (run ids start with the config's name). */
function newestRun(name, since) {
  if (!fs.existsSync(runsDir)) return undefined;
  return fs
    .readdirSync(runsDir)
    .filter((d) => d.startsWith(`${name}-`))
    .map((d) => ({ dir: path.join(runsDir, d), at: fs.statSync(path.join(runsDir, d)).mtimeMs }))
    .filter((r) => r.at >= since - 1000)
    .sort((a, b) => b.at - a.at)[0]?.dir;
}

/** One `distill run` with the terminal as is (progress bars on a TTY); resolves to its exit code. */
function run(config) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'run', path.join(examples, config), ...extra], { stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const started = Date.now();
const closing = [];
for (const s of scenarios) {
  process.stdout.write(`\n${s.title}\n${s.shows}\n\n`);
  const since = Date.now();
  const code = await run(s.config);
  if (code !== 0) process.exit(code);
  const runDir = newestRun(s.name, since);
  const summaryFile = runDir && path.join(runDir, 'summary.json');
  const summary = summaryFile && fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : undefined;
  if (summary?.baseline) {
    const line = s.verdict(summary);
    closing.push(`${s.title.split(' — ')[0]}: ${line}`);
    process.stdout.write(`${line}\n`);
  }
}
const minutes = (Date.now() - started) / 60000;
process.stdout.write(`\n${closing.join('\n')}\nThe demo took ${minutes.toFixed(1)} minutes.\n`);
