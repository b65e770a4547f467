/**
 * The PyTorch peer: `shared/bench/torch_kd_student.py` (a sibling of the repository) runs the same student, teacher,
 * KD loss and batch in PyTorch, on the CPU or on a CUDA GPU. Run in a child process while this one sits idle, so
 * the two never share the cores or the GPU.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TorchPeer {
  kdTrainSamplesPerSec: number;
  teacherInferSamplesPerSec: number;
  version: string;
  python: string;
}

/** Where PyTorch runs: the script's `--device`. */
export type TorchDevice = 'cpu' | 'cuda';
export const TORCH_DEVICES: readonly TorchDevice[] = ['cpu', 'cuda'];

/** Interpreters tried in order: the `python3` on PATH may lack torch where the system one has it (Debian). */
const PYTHONS = ['python3', '/usr/bin/python3'];

/** The peer script, found from the repository root (the nearest folder above `from` with a package.json). */
export function torchScript(from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      const script = path.resolve(dir, '..', 'shared', 'bench', 'torch_kd_student.py');
      return fs.existsSync(script) ? script : undefined;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function findTorchPython(): { python: string; version: string } | undefined {
  for (const python of PYTHONS) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

/** Runs the peer script; throws with its stderr when it fails or prints something unexpected. */
export function runTorchPeer(
  script: string,
  python: { python: string; version: string },
  opts: { batch: number; seconds: number; threads: number; device: TorchDevice },
): TorchPeer {
  const args = [script, '--device', opts.device, '--batch', String(opts.batch), '--seconds', String(opts.seconds), '--threads', String(opts.threads)];
  // Training for `seconds`, inference for half that, plus importing torch and warm-up steps.
  const run = spawnSync(python.python, args, { encoding: 'utf8', timeout: (opts.seconds * 3 + 120) * 1000 });
  const lastLine = run.stdout?.trim().split('\n').pop() ?? '';
  if (run.status !== 0) {
    throw new Error(
      `${python.python} ${args.join(' ')} exited with ${run.status ?? run.signal}: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()}`,
    );
  }
  let parsed: { kd_train_samples_per_s?: unknown; teacher_infer_samples_per_s?: unknown };
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    throw new Error(`${script} printed "${lastLine}", not the JSON line it should end with`);
  }
  const { kd_train_samples_per_s: kd, teacher_infer_samples_per_s: infer } = parsed;
  if (typeof kd !== 'number' || typeof infer !== 'number') {
    throw new Error(`${script} printed ${lastLine}, without numeric kd_train_samples_per_s and teacher_infer_samples_per_s`);
  }
  return { kdTrainSamplesPerSec: kd, teacherInferSamplesPerSec: infer, version: python.version, python: python.python };
}
