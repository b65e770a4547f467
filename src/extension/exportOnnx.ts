/**
 * The ONNX export from the extension: the engine's `distill export` run as a child process (the extension host never
 * loads tfjs or onnxruntime-node), the way the engine runs: the configured Node, ELECTRON_RUN_AS_NODE, and the
 * optional-modules folder where ONNX Runtime is installed.
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';

export interface OnnxExportOutcome {
  out: string;
  bytes: number;
  parity: { rows: number; maxAbsDiff: number; tolerance: number; runtime: string };
}

export function runOnnxExport(opts: {
  cliPath: string;
  runDir: string;
  out: string;
  nodePath?: string;
  optionalModules?: string;
  onLine?: (line: string) => void;
}): Promise<OnnxExportOutcome> {
  const child = spawn(opts.nodePath || process.execPath, [opts.cliPath, 'export', opts.runDir, '--format', 'onnx', '--out', opts.out, '--force', '--json'], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...(opts.optionalModules ? { DISTILL_OPTIONAL_MODULES: opts.optionalModules } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stdout = '';
  const stderr: string[] = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
    stderr.push(line);
    opts.onLine?.(line);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`Could not start ${opts.nodePath || process.execPath}: ${e.message}`)));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as OnnxExportOutcome);
      else
        reject(
          new Error(
            stderr
              .filter((l) => l.startsWith('distill: '))
              .map((l) => l.slice('distill: '.length))
              .join(' ') ||
              stderr.slice(-3).join(' ') ||
              `exit code ${code}`,
          ),
        );
    });
  });
}
