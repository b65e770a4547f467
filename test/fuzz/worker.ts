/**
 * A fuzz worker: a child process that runs cases through the real CLI (`main` of src/engine/cli.ts, in-process,
 * so a case costs milliseconds, not a Node start) and reports what a user would have seen. The harness kills it
 * when a case hangs and starts another.
 *
 * Protocol (IPC): the parent sends { seed, index }; the worker answers { index, result }. It first sends
 * { ready: true } once its base files exist.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeBase, type FileSet } from './base';
import { fuzzCase } from './cases';
import { judge, type CaseResult } from './judge';
import { runCli } from './runCli';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-fuzz-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(1));
// The harness went away (killed, or done): so does the worker.
process.on('disconnect', () => process.exit(0));

async function runCase(base: FileSet, baseDir: string, seed: number, index: number): Promise<CaseResult> {
  const c = fuzzCase(seed, index, base);
  const dir = path.join(root, `case-${index}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(baseDir, path.join(dir, 'base'), 'dir');
  for (const [rel, bytes] of Object.entries(c.files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), bytes);
  }
  const configFile = path.join(dir, 'fuzz.distill.json');
  fs.writeFileSync(configFile, c.configText);
  const rssBefore = process.resourceUsage().maxRSS;
  const started = Date.now();
  const out = await runCli(['run', configFile, ...(c.args ?? [])]);
  const result = judge(c, out, dir, { seconds: (Date.now() - started) / 1000, peakRssGrowthKb: process.resourceUsage().maxRSS - rssBefore });
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

async function start(): Promise<void> {
  const baseDir = path.join(root, 'base');
  const base = await writeBase(baseDir);
  process.on('message', (m: { seed: number; index: number }) => {
    void runCase(base, baseDir, m.seed, m.index).then(
      (result) => process.send!({ index: m.index, result }),
      (e) =>
        process.send!({
          index: m.index,
          result: { index: m.index, what: '(the harness failed)', outcome: 'crash', detail: `harness: ${(e as Error)?.stack ?? e}` } satisfies CaseResult,
        }),
    );
  });
  process.send!({ ready: true });
}

void start();
