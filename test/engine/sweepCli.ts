/** Runs `distill sweep` and `distill worker` (dist/cli.js) as a user would, for the sweep tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fashionMnistData } from '../fixtures/fashionMnist';
import type { SweepEvent } from '../../src/sweep/coordinator';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

/** Runs `distill sweep --json`; `onEvent` may return true to send SIGINT (once). */
export function sweep(
  args: string[],
  cwd: string,
  onEvent: (e: SweepEvent) => boolean = () => false,
): Promise<{ code: number | null; events: SweepEvent[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'sweep', ...args, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: SweepEvent[] = [];
    let buffer = '';
    let stderr = '';
    let signalled = false;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      const lines = (buffer + d.toString()).split('\n');
      buffer = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const e = JSON.parse(line) as SweepEvent;
        events.push(e);
        if (!signalled && onEvent(e)) {
          signalled = true;
          child.kill('SIGINT');
        }
      }
    });
    child.on('exit', (code) => resolve({ code, events, stderr }));
  });
}

/** `distill worker …`; its stderr lines go to `onLine` (and are kept). */
export function worker(
  args: string[],
  cwd: string,
  onLine: (line: string) => void = () => undefined,
): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  child.stderr!.on('data', (d: Buffer) => {
    const parts = (buffer + d.toString()).split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  });
  return { child, lines, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

/** `<dir>/base.distill.json`: a small real-data experiment (MLP teacher and student) the sweeps vary. */
export function writeBaseConfig(dir: string, training: { epochs: number; batchSize: number }): void {
  fs.writeFileSync(
    path.join(dir, 'base.distill.json'),
    JSON.stringify({
      name: 'fashion',
      seed: 5,
      data: fashionMnistData({ train: 1200, test: 400 }),
      teacher: { preset: 'mlp', hidden: [64], train: { epochs: 2, batchSize: 64 } },
      student: { preset: 'mlp', hidden: [16] },
      training: { ...training, learningRate: 0.003 },
      evaluation: { probeSize: 8, latency: false },
      engine: { backend: 'wasm' },
    }),
  );
}
