/**
 * From a `*.sweep.json` to the list of trials: the base config, the points of the grid (or the random draw), one
 * trial per point and repeat (seed), each a validated, path-resolved config, and the shared scratch baselines.
 * Every problem is one issue naming the axis and the trial, so the CLI and the editor say the same thing.
 * Node only (fs, crypto); no vscode, no tfjs.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import Ajv from 'ajv';
import type { DistillConfig } from './config';
import { ConfigError, parseJsonc, resolveConfigPaths } from './configFile';
import { DistillError, formatJsonPath } from './errors';
import { createRng } from './random';
import { COMPRESSION_STAGE_NAMES } from './records';
import { axisKey, configAxes, SweepSchema, sweepStructuralSchema, type SweepDistribution, type SweepFile } from './sweepSchema';
import { closest, validateConfig, type ConfigIssue } from './validate';

export type TrialKind = 'trial' | 'baseline';

export interface PlannedTrial {
  /** `p03-r1`: point 3, repeat 1; `b00`: the first shared baseline. Stable across reruns of the same sweep. */
  id: string;
  kind: TrialKind;
  /** Index into `points` (trials); -1 for a baseline. */
  point: number;
  repeat: number;
  params: Record<string, unknown>;
  seed: number;
  /** Validated, defaults filled in, paths absolute. */
  config: DistillConfig;
  /** The id of the scratch baseline this trial is compared with. */
  baseline?: string;
}

export interface SweepPlan {
  file: string;
  sweep: SweepFile;
  axes: string[];
  points: Record<string, unknown>[];
  trials: PlannedTrial[];
  baselines: PlannedTrial[];
  /** Same name and same hash: the same sweep, so a rerun continues it. */
  contentHash: string;
  sweepsDir: string;
  /** The base config, resolved: what best.distill.json starts from. */
  base: DistillConfig;
  /** The base before defaults, for writing configs with the user's own shape. */
  rawBase: Record<string, unknown>;
  baseDir: string;
}

const MODEL_METRICS = [
  'accuracy',
  'macroF1',
  'params',
  'sizeBytes',
  'klToTeacher',
  'agreement',
  'ece',
  'teacherAccuracyKeptPct',
  'latencyMs.batch1',
  'latencyMs.batch256',
];
/** A compression stage's row, by stage name: `compression.uint8.accuracy` (see summaryNumbers). */
const COMPRESSION_METRICS = [...MODEL_METRICS, 'nonZeroParams', 'diskBytes', 'gzipBytes', 'sizeRatioToTeacher', 'accuracyChangePts', 'sparsity.overall'];
/** The numbers of a summary.json a sweep can rank by. */
export const SUMMARY_METRICS: readonly string[] = [
  'seconds',
  ...['teacher', 'student', 'baseline'].flatMap((m) => MODEL_METRICS.map((k) => `${m}.${k}`)),
  ...COMPRESSION_STAGE_NAMES.flatMap((stage) => COMPRESSION_METRICS.map((k) => `compression.${stage}.${k}`)),
];

export const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

let structural: ReturnType<Ajv['compile']> | undefined;

/** Read, check and expand a sweep file. Throws a ConfigError listing every problem. */
export function loadSweepFile(file: string, options: { sweepsDir?: string } = {}): SweepPlan {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new DistillError(
      'usage',
      `Cannot read sweep file ${abs}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      { file: abs },
    );
  }
  return planSweepText(text, abs, options);
}

export function planSweepText(text: string, file: string, options: { sweepsDir?: string } = {}): SweepPlan {
  const { value, problems } = parseJsonc(text);
  if (problems.length) {
    const p = problems[0];
    throw new ConfigError(file, [{ path: [], message: `invalid JSON at line ${p.line}, column ${p.column}: ${p.message}` }], p);
  }
  const result = planSweep(value, file, options);
  if (!result.ok) throw new ConfigError(file, result.issues);
  return result.plan;
}

/** The sweep's own fields, before any trial is looked at. */
function checkStructure(raw: unknown): ConfigIssue[] {
  structural ??= new Ajv({ allErrors: true, strict: false }).compile(sweepStructuralSchema());
  if (structural(raw)) return [];
  return (structural.errors ?? []).map((e) => {
    const at = e.instancePath
      .slice(1)
      .split('/')
      .filter(Boolean)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const p = e.params as Record<string, unknown>;
    const where = formatJsonPath(at) || 'the sweep';
    const message =
      e.keyword === 'additionalProperties'
        ? `${formatJsonPath([...at, p.additionalProperty as string])} is not a known field (known: ${Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}).join(', ')})`
        : e.keyword === 'required'
          ? `${formatJsonPath([...at, p.missingProperty as string])} is required`
          : `${where} ${e.message}`;
    return { path: e.keyword === 'additionalProperties' ? [...at, p.additionalProperty as string] : at, message };
  });
}

export function planSweep(
  raw: unknown,
  file: string,
  options: { sweepsDir?: string } = {},
): { ok: true; plan: SweepPlan } | { ok: false; issues: ConfigIssue[] } {
  const structuralIssues = checkStructure(raw);
  if (structuralIssues.length) return { ok: false, issues: structuralIssues };
  const sweep = Value.Default(SweepSchema, structuredClone(raw)) as SweepFile;
  const dir = path.dirname(path.resolve(file));
  const issues: ConfigIssue[] = [];

  if (!!sweep.grid === !!sweep.random)
    return { ok: false, issues: [{ path: [], message: 'a sweep needs exactly one of "grid" (every combination) or "random" (a number of drawn points)' }] };
  if (!SUMMARY_METRICS.includes(sweep.objective.metric)) {
    issues.push({
      path: ['objective', 'metric'],
      message: `objective.metric "${sweep.objective.metric}" is not a number of summary.json (known: ${SUMMARY_METRICS.filter((m) => !m.includes('latency')).join(', ')}, …)`,
    });
  }

  // The base: a file (relative to the sweep file) or inline.
  let rawBase: Record<string, unknown>;
  let baseDir = dir;
  let baseLabel = 'base';
  if (typeof sweep.base === 'string') {
    const baseFile = path.resolve(dir, sweep.base);
    baseLabel = `base (${baseFile})`;
    let text: string;
    try {
      text = fs.readFileSync(baseFile, 'utf8');
    } catch {
      return {
        ok: false,
        issues: [
          ...issues,
          { path: ['base'], message: `base: the config file ${baseFile} does not exist. Fix the path (relative paths start at this sweep file's folder).` },
        ],
      };
    }
    const parsed = parseJsonc(text);
    if (parsed.problems.length)
      return {
        ok: false,
        issues: [...issues, { path: ['base'], message: `${baseLabel}: invalid JSON at line ${parsed.problems[0].line}: ${parsed.problems[0].message}` }],
      };
    rawBase = parsed.value as Record<string, unknown>;
    baseDir = path.dirname(baseFile);
  } else {
    rawBase = sweep.base;
  }
  const baseResult = validateConfig(rawBase);
  if (!baseResult.ok) {
    const at = typeof sweep.base === 'string' ? () => ['base'] : (p: (string | number)[]) => ['base', ...p];
    return { ok: false, issues: [...issues, ...baseResult.issues.map((i) => ({ path: at(i.path), message: `${baseLabel}: ${i.message}` }))] };
  }
  const base = resolveConfigPaths(baseResult.config, baseDir);

  // The axes must be config paths.
  const known = configAxes();
  const axes = Object.keys(sweep.grid ?? sweep.random!.space);
  const axisRoot = sweep.grid ? ['grid'] : ['random', 'space'];
  if (axes.length === 0)
    issues.push({ path: axisRoot, message: `${formatJsonPath(axisRoot)} names no axis: add a config path such as "distillation.temperature"` });
  for (const axis of axes) {
    if (!known.has(axisKey(axis))) {
      const near = closest(
        axis,
        [...known.keys()].filter((k) => !k.includes('[]')),
        3,
      );
      issues.push({ path: [...axisRoot, axis], message: `axis "${axis}" is not a config path${near ? `: did you mean "${near}"?` : ''}` });
    }
  }
  if (issues.length) return { ok: false, issues };

  const points = sweep.grid ? gridPoints(sweep.grid, axes) : randomPoints(sweep.random!, axes, sweep.random!.seed ?? base.seed);
  const trials: PlannedTrial[] = [];
  const reported = new Set<string>();
  const width = String(points.length - 1).length;
  points.forEach((params, point) => {
    for (let repeat = 0; repeat < sweep.repeats; repeat++) {
      const id = `p${String(point).padStart(Math.max(2, width), '0')}-r${repeat}`;
      const candidate = structuredClone(rawBase);
      for (const [axis, v] of Object.entries(params)) setPath(candidate, axis, v);
      const seed = (typeof params.seed === 'number' ? params.seed : base.seed) + repeat;
      candidate.seed = seed;
      candidate.name = `${sweep.name}-${id}`;
      const r = validateConfig(candidate);
      if (!r.ok) {
        for (const issue of r.issues) {
          const axis = axes.find((a) => formatJsonPath(issue.path).startsWith(formatJsonPath(a.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)))));
          const key = `${axis ?? ''}\0${issue.message}`;
          if (reported.has(key)) continue;
          reported.add(key);
          const shown = Object.entries(params)
            .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
            .join(', ');
          issues.push({
            path: axis ? [...axisRoot, axis] : axisRoot,
            message: `${axis ? `axis "${axis}"` : 'the combination'}, trial ${id} (${shown}): ${issue.message}`,
          });
        }
        continue;
      }
      const config = resolveConfigPaths(r.config, baseDir);
      if (sweep.baseline) config.compare.baseline = false;
      trials.push({ id, kind: 'trial', point, repeat, params, seed, config });
    }
  });
  if (issues.length) return { ok: false, issues };

  const baselines: PlannedTrial[] = [];
  if (sweep.baseline) {
    const byKey = new Map<string, PlannedTrial>();
    for (const t of trials) {
      const key = baselineKey(t.config);
      let b = byKey.get(key);
      if (!b) {
        const id = `b${String(byKey.size).padStart(2, '0')}`;
        // A scratch student is the reference for distillation, not for compression: its config keeps no
        // `compress` stages (they would prune and quantize a model nobody ranks), and its params no compress axes.
        const { compress: _compress, ...trained } = structuredClone(t.config);
        const config: DistillConfig = {
          ...trained,
          name: `${sweep.name}-${id}`,
          distillation: { temperature: 1, alpha: 0, divergence: 'forward-kl', schedule: { type: 'constant' } },
          compare: { baseline: false },
        };
        const params = Object.fromEntries(Object.entries(t.params).filter(([k]) => !/^(distillation|compress)(\.|$)/.test(k)));
        b = { id, kind: 'baseline', point: -1, repeat: t.repeat, params, seed: t.seed, config };
        byKey.set(key, b);
        baselines.push(b);
      }
      t.baseline = b.id;
    }
  }

  const contentHash = sha256(JSON.stringify({ name: sweep.name, base, baseline: sweep.baseline, trials: trials.map((t) => [t.id, t.params, t.seed]) }));
  const sweepsDir = options.sweepsDir ? path.resolve(options.sweepsDir) : path.resolve(dir, sweep.output.sweepsDir);
  return { ok: true, plan: { file: path.resolve(file), sweep, axes, points, trials, baselines, contentHash, sweepsDir, base, rawBase, baseDir } };
}

/** What a scratch student's training depends on: not the distillation settings, not the name. */
function baselineKey(c: DistillConfig): string {
  return sha256(JSON.stringify({ data: c.data, student: c.student, training: c.training, seed: c.seed, engine: c.engine, evaluation: c.evaluation }));
}

function gridPoints(grid: Record<string, unknown[]>, axes: string[]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const axis of axes) out = out.flatMap((p) => grid[axis].map((v) => ({ ...p, [axis]: v })));
  return out;
}

const round4 = (v: number) => Number(v.toPrecision(4));

function randomPoints(random: NonNullable<SweepFile['random']>, axes: string[], seed: number): Record<string, unknown>[] {
  const rng = createRng(seed);
  const draw = (d: SweepDistribution): unknown => {
    const u = rng();
    if ('uniform' in d) return round4(d.uniform[0] + u * (d.uniform[1] - d.uniform[0]));
    if ('logUniform' in d) return round4(Math.exp(Math.log(d.logUniform[0]) + u * (Math.log(d.logUniform[1]) - Math.log(d.logUniform[0]))));
    if ('intUniform' in d) return d.intUniform[0] + Math.min(Math.floor(u * (d.intUniform[1] - d.intUniform[0] + 1)), d.intUniform[1] - d.intUniform[0]);
    return structuredClone(d.choice[Math.min(Math.floor(u * d.choice.length), d.choice.length - 1)]);
  };
  return Array.from({ length: random.trials }, () => Object.fromEntries(axes.map((a) => [a, draw(random.space[a])])));
}

/** Set `a.b.0.c` in a raw config, creating objects (or arrays, before a numeric segment) on the way. */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node: Record<string, unknown> = target;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) {
      node[part] = structuredClone(value);
      return;
    }
    const next = node[part];
    if (next === null || typeof next !== 'object') node[part] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[part] as Record<string, unknown>;
  });
}

/** A dotted path's value in a summary or a config. */
export function getPath(source: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), source);
}
