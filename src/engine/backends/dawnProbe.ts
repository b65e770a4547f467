/**
 * Looks for a WebGPU adapter in a child process, so that what Dawn and the Vulkan loader print on the way
 * ("error: XDG_RUNTIME_DIR is invalid or not set", "Warning: vkCreateInstance: Found no drivers!", a Vulkan device
 * rejected for a missing feature, with a C++ source location) lands in a pipe instead of the user's terminal. They
 * write to file descriptor 2 from native code, which no `process.stderr` hook in this process can catch.
 *
 * Only when the child finds an adapter worth loading does the caller load Dawn in-process; a machine without a
 * usable GPU never prints a line of Dawn's. What Dawn said is kept for `distill backends --verbose` and the log.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export interface DawnAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface DawnProbeResult {
  /** The adapter Dawn would give this process, or null when it found none. */
  adapter: DawnAdapterInfo | null;
  /** Why the probe itself failed (the package did not load, the child crashed or hung); adapter is null then. */
  failure?: string;
  /** Everything Dawn and the Vulkan loader printed, trimmed; empty when they were quiet. */
  output: string;
}

/** Adapter enumeration takes well under a second; a driver that hangs must not hang the run. */
export const DAWN_PROBE_TIMEOUT_MS = 30_000;
/** Dawn's chatter is a few lines; more is kept only up to this many characters. */
const MAX_OUTPUT_CHARS = 8_000;

// Runs in the child: imports the package (ES module or CommonJS alike), asks for an adapter, prints one JSON line.
const CHILD_SCRIPT = `
(async () => {
  const m = await import(process.argv[1]);
  const create = m.create ?? m.default?.create;
  const adapter = await create([]).requestAdapter();
  const i = adapter?.info ?? {};
  const info = adapter ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } : null;
  process.stdout.write('\\n@@dawn-probe ' + JSON.stringify({ adapter: info }) + '\\n');
  process.exit(0);
})().catch((e) => {
  process.stdout.write('\\n@@dawn-probe ' + JSON.stringify({ failure: String((e && e.message) || e).split('\\n')[0] }) + '\\n');
  process.exit(0);
});
`;

/** Probes for an adapter through the `webgpu` package at `entry` (its resolved main file). */
export function probeDawn(entry: string, timeoutMs = DAWN_PROBE_TIMEOUT_MS): Promise<DawnProbeResult> {
  return new Promise((resolve) => {
    // ELECTRON_RUN_AS_NODE: the engine may itself run on VS Code's Electron, whose execPath is not plain Node.
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, pathToFileURL(entry).href], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-4 * MAX_OUTPUT_CHARS)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-MAX_OUTPUT_CHARS)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (failure?: string) => {
      clearTimeout(timer);
      const marker = stdout.lastIndexOf('\n@@dawn-probe ');
      const chatter = (marker >= 0 ? stdout.slice(0, marker) : stdout) + stderr;
      const output = chatter.trim();
      if (failure) return resolve({ adapter: null, failure, output });
      if (marker < 0)
        return resolve({ adapter: null, failure: 'the WebGPU probe ended without an answer (Dawn crashed while looking for an adapter)', output });
      try {
        const answer = JSON.parse(stdout.slice(marker + '\n@@dawn-probe '.length).split('\n')[0]) as { adapter?: DawnAdapterInfo | null; failure?: string };
        resolve({ adapter: answer.adapter ?? null, failure: answer.failure, output });
      } catch {
        resolve({ adapter: null, failure: 'the WebGPU probe gave an unreadable answer', output });
      }
    };
    child.on('error', (e) => done(`the WebGPU probe could not start (${e.message})`));
    child.on('close', () => done(timedOut ? `Dawn did not answer within ${Math.round(timeoutMs / 1000)} s while looking for an adapter` : undefined));
  });
}
