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
    title: 'Scenario 1 of 2 — every training row labelled: teacher, scratch student, KD student.',
    shows: 'With every label, KD brings this 25k-parameter student closer to its teacher (agreement, KL); at this size it need not beat scratch in accuracy.',
    verdict: (s) => `Measured: KD vs scratch ${points(s.student.accuracy - s.baseline.accuracy)} accuracy; agreement with the teacher ${pct(s.student.agreement)} vs ${pct(s.baseline.agreement)}, KL ${s.student.klToTeacher.toFixed(3)} vs ${s.baseline.klToTeacher.toFixed(3)}.`,
  },
  {
    config: 'few-labels.distill.json',
    title: 'Scenario 2 of 2 — labels on 1,000 rows (100 per class), the teacher\u2019s soft labels on all of the training rows.',
    shows: 'Where distillation pays: the teacher labels data the student has no labels for; the scratch student has only the 1,000 labelled rows (as many optimizer steps).',
    verdict: (s) => `Measured: KD on the transfer set vs scratch on ${s.transfer.labeled.toLocaleString('en-US')} labels ${points(s.student.accuracy - s.baseline.accuracy)} accuracy (${pct(s.student.accuracy)} vs ${pct(s.baseline.accuracy)}).`,
  },
];

const pct = (v) => `${(v * 100).toFixed(2)}%`;
const points = (d) => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(2)} points`;

/** One `distill run`, its output passed through; resolves to [exit code, run directory]. */
function run(config) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'run', path.join(examples, config), ...extra], { stdio: ['inherit', 'inherit', 'pipe'] });
    let runDir;
    let pending = '';
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) runDir ??= /^Run \S+(?: \(resumed\))? → (.+)$/.exec(line)?.[1];
    });
    child.on('close', (code) => resolve([code ?? 1, runDir]));
  });
}

const started = Date.now();
const closing = [];
for (const s of scenarios) {
  process.stdout.write(`\n${s.title}\n${s.shows}\n\n`);
  const [code, runDir] = await run(s.config);
  if (code !== 0) process.exit(code);
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
