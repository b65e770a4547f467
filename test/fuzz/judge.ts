/**
 * What counts as handling a bad input well (issue 11): the expected exit code (2 config, 1 data or model), one
 * message naming the file or JSON path, no stack trace, no "Internal error", no completed summary.json, and no
 * allocation out of proportion to the files. Pure: the worker and the tests share it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FuzzCase } from './cases';

export type Outcome = 'pass' | 'crash' | 'hang' | 'false-success';

export interface CaseResult {
  index: number;
  what: string;
  outcome: Outcome;
  /** Why it is not a pass, with the output's first lines. */
  detail?: string;
  seconds?: number;
}

/** A peak-RSS rise beyond this during one case means something allocated by a claimed size (the files are KBs). */
export const ALLOCATION_LIMIT_KB = 768 * 1024;

const STACK_LINE = /^\s+at .+[(:]\S+:\d+(:\d+)?\)?$/m;

/** Every completed summary.json under the case's runs folder. */
function completedSummaries(dir: string): string[] {
  const runs = path.join(dir, 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs.readdirSync(runs).filter((id) => fs.existsSync(path.join(runs, id, 'summary.json')));
}

function statusOf(dir: string): string | undefined {
  const runs = path.join(dir, 'runs');
  if (!fs.existsSync(runs)) return undefined;
  const [id] = fs.readdirSync(runs);
  if (!id) return undefined;
  try {
    return (JSON.parse(fs.readFileSync(path.join(runs, id, 'status.json'), 'utf8')) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

export function judge(
  c: FuzzCase,
  out: { code: number; stdout: string; stderr: string },
  dir: string,
  cost: { seconds: number; peakRssGrowthKb: number },
): CaseResult {
  const text = out.stderr + out.stdout;
  const head = text.split('\n').slice(0, 6).join('\n').slice(0, 600);
  const result = (outcome: Outcome, why?: string): CaseResult => ({
    index: c.index,
    what: c.what,
    outcome,
    detail: why ? `${why}; exit ${out.code}; output: ${head}` : undefined,
    seconds: cost.seconds,
  });
  if (cost.peakRssGrowthKb > ALLOCATION_LIMIT_KB) return result('crash', `peak memory grew by ${Math.round(cost.peakRssGrowthKb / 1024)} MiB`);
  if (STACK_LINE.test(text) || /UNCAUGHT/.test(text)) return result('crash', 'a stack trace');
  if (/Internal error/i.test(text)) return result('crash', '"Internal error"');
  if (c.expect === 0) {
    if (out.code !== 0) return result('crash', 'a valid input failed');
    return completedSummaries(dir).length === 1 ? result('pass') : result('crash', 'completed without a summary.json');
  }
  if (out.code === 0) return result('false-success', 'exit 0 for a bad input');
  if (completedSummaries(dir).length) return result('false-success', 'a summary.json was written');
  if (out.code !== c.expect) return result('crash', `exit ${out.code}, expected ${c.expect}`);
  const failure = out.stderr.split('\n').filter((l) => /^(distill: |Run failed: )/.test(l));
  if (failure.length !== 1) return result('crash', `${failure.length} failure lines, expected one`);
  // The message names the file (an absolute path inside the case folder or the base) or, for a config, the config file.
  if (!/\/(case-\d+|base)\//.test(failure[0]) && !failure[0].includes('fuzz.distill.json')) return result('crash', 'the message names no file');
  if (c.expect === 1 && statusOf(dir) !== undefined && statusOf(dir) !== 'failed') return result('crash', `the run is marked ${statusOf(dir)}, not failed`);
  return result('pass');
}
