/**
 * What the machine's shared memory system gives `n` processes at once: each copies a 64 MB buffer into another for
 * `seconds`; the mean GB/s a process. A training step misses the caches often enough (V8's young generation, the
 * tensors) to need more CPU beside a neighbour that does nothing but copy memory (measured on a 2-core VM: +21-31% CPU
 * a sweep trial, against none beside one that only computes), so this, more than the number of cores, bounds what a
 * second engine process or training thread adds. The benchmarks print it beside their 2 ÷ 1 figures.
 */
import { spawn } from 'node:child_process';

async function memoryCopyGBps(n: number, seconds: number): Promise<number> {
  const script = `const a = new Float64Array(8 << 20).fill(1), b = new Float64Array(8 << 20);
    const start = Date.now(); let bytes = 0;
    while (Date.now() - start < ${seconds * 1000}) { b.set(a); bytes += 2 * a.byteLength; }
    process.stdout.write(String(bytes / ((Date.now() - start) / 1000) / 1e9));`;
  const rates = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`the memory-copy probe exited with ${code}`))));
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0) / n;
}

/** `n` processes copying memory at once against one alone: how many times the bytes one moves they move together. */
export async function memoryCopyScaling(n: number, seconds: number): Promise<{ processes: number; aloneGBps: number; eachGBps: number; together: number }> {
  const aloneGBps = await memoryCopyGBps(1, seconds);
  const eachGBps = await memoryCopyGBps(n, seconds);
  return { processes: n, aloneGBps, eachGBps, together: (n * eachGBps) / aloneGBps };
}
