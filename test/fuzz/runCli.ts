/** `distill <args>` run in this process through the CLI's own `main`, with what it prints captured. */
import { main } from '../../src/engine/cli';

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliOutput> {
  let stdout = '';
  let stderr = '';
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    // main never throws; if it does, that is a crash the judge must see.
    stderr += `UNCAUGHT ${(e as Error)?.stack ?? String(e)}`;
    code = -1;
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}
