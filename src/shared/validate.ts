/**
 * Config validation with ajv against the schema from `config.ts`, with one readable message per problem:
 * `distillation.alpha must be between 0 and 1 (got 1.5)`. Pure: no file system, so the extension host can run it
 * on an unsaved editor buffer.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, configJsonSchema, type DistillConfig } from './config';
import { formatJsonPath } from './errors';

export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

let compiled: ValidateFunction | undefined;
let schemaJson: Record<string, unknown> | undefined;
const configSchemaJson = () => (schemaJson ??= configJsonSchema());
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    compiled = ajv.compile(configSchemaJson());
  }
  return compiled;
}

/**
 * Validates a parsed config and fills in its defaults. TypeBox fills them (ajv skips defaults inside unions, and
 * most of ours sit in one); ajv then checks and gives the errors. Paths are still as written: see `resolveConfigPaths`.
 */
export function validateConfig(raw: unknown): { ok: true; config: DistillConfig } | { ok: false; issues: ConfigIssue[] } {
  // Checked before the defaults: TypeBox would fill `[]` in place of a section object with its defaults (an array
  // is an object to it), and JSON's 1e999 parses as Infinity, which ajv counts as an integer.
  const early = [...nonFiniteNumbers(raw), ...arraysForObjects(configSchemaJson(), raw)];
  if (early.length) return { ok: false, issues: early };
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  const validate = validator();
  if (validate(withDefaults)) return { ok: true, config: withDefaults as DistillConfig };
  return { ok: false, issues: explain(validate.errors ?? [], raw) };
}

/** Every number that JSON wrote but a double cannot hold (1e999 reads as Infinity). */
function nonFiniteNumbers(value: unknown, at: (string | number)[] = []): ConfigIssue[] {
  if (typeof value === 'number')
    return Number.isFinite(value) ? [] : [{ path: at, message: `${label(at)} is a number too large to represent (it reads as ${value}); give a finite value` }];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFiniteNumbers(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => nonFiniteNumbers(v, [...at, k]));
  return [];
}

/** Arrays given where the schema wants an object (a section such as `"distillation": []`), at any depth. */
function arraysForObjects(schema: Record<string, unknown>, value: unknown, at: (string | number)[] = []): ConfigIssue[] {
  if (value === undefined) return [];
  const branches = (schema.anyOf as Record<string, unknown>[] | undefined) ?? [];
  const wantsObject = schema.type === 'object' || (branches.length > 0 && branches.every((b) => b.type === 'object'));
  if (wantsObject && Array.isArray(value))
    return [{ path: at, message: `${label(at)} must be an object { … }, not an array (got ${show(value).slice(0, 40)})` }];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const issues: ConfigIssue[] = [];
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (props) for (const [k, sub] of Object.entries(props)) issues.push(...arraysForObjects(sub, (value as Record<string, unknown>)[k], [...at, k]));
  // In a union, the branches that have the value's keys (e.g. the preset teacher's `train`).
  for (const b of branches) {
    const bProps = b.properties as Record<string, Record<string, unknown>> | undefined;
    if (!bProps) continue;
    for (const [k, sub] of Object.entries(bProps))
      if (k in value && !props?.[k]) issues.push(...arraysForObjects(sub, (value as Record<string, unknown>)[k], [...at, k]));
  }
  return issues.filter((i, n) => issues.findIndex((j) => j.message === i.message) === n);
}

const pathOf = (instancePath: string): (string | number)[] =>
  instancePath === ''
    ? []
    : instancePath
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: unknown = root;
  for (const p of path) v = v != null && typeof v === 'object' ? (v as Record<string, unknown>)[p as string] : undefined;
  return v;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));

/**
 * Turn ajv's errors into one issue each. Unions (`anyOf`) report every branch's failures; we keep the branch the
 * user evidently meant: not one whose discriminating literal (`format`, `type`) failed, and then the one with the
 * fewest complaints. A union none of whose branches fits gets one message listing the accepted shapes.
 */
const UNION_HINT = 'distill:unionHint';

function explain(errors: ErrorObject[], root: unknown): ConfigIssue[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  let kept = errors.filter((e) => e.keyword !== 'anyOf');
  // Innermost unions first, so a union inside a union branch is settled before its parent.
  for (const u of [...unions].sort((a, b) => b.schemaPath.length - a.schemaPath.length)) {
    const prefix = u.schemaPath.replace(/\/anyOf$/, '/anyOf/');
    const byBranch = new Map<number, ErrorObject[]>();
    for (const e of kept) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const branch = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    if (byBranch.size === 0) continue;
    kept = kept.filter((e) => !e.schemaPath.startsWith(prefix));
    // A branch is not the one meant when its discriminating literal is wrong or its identifying key is absent.
    const meant = [...byBranch.values()]
      .filter((es) => !es.some((e) => e.keyword === 'const' || (e.keyword === 'required' && e.instancePath === u.instancePath)))
      .sort((a, b) => a.length - b.length);
    // Nor, when another is left, one whose type the value is not (an array given where a branch wants an object).
    const typed = meant.filter((es) => !es.some((e) => e.keyword === 'type' && e.instancePath === u.instancePath));
    const chosen = typed.length ? typed : meant.length === byBranch.size ? meant : [];
    if (chosen.length) kept.push(...chosen[0]);
    // Kept as an error at the union's own schema path, so that an enclosing union drops it with the branch it is in.
    else kept.push({ ...u, keyword: UNION_HINT, message: unionHint(u, [...byBranch.values()], root) });
  }
  const issues = kept.map((e) => (e.keyword === UNION_HINT ? { path: pathOf(e.instancePath), message: e.message! } : describe(e, root)));
  // One message per path and text.
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = formatJsonPath(i.path) + '\0' + i.message;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function unionHint(u: ErrorObject, branches: ErrorObject[][], root: unknown): string {
  const path = pathOf(u.instancePath);
  const v = valueAt(root, path);
  // A discriminated union (`format`, `type`): every branch failed on the same literal, so name the literals.
  const consts = branches.map((es) => es.find((e) => e.keyword === 'const'));
  if (consts.every((c) => c && c.instancePath === consts[0]!.instancePath)) {
    const at = pathOf(consts[0]!.instancePath);
    const allowed = consts.map((c) => show((c!.params as { allowedValue: unknown }).allowedValue)).join(', ');
    return `${label(at)} must be one of ${allowed} (got ${show(valueAt(root, at))})`;
  }
  const parent = u.parentSchema as { anyOf?: { type?: string; required?: string[]; properties?: Record<string, { enum?: unknown[] }> }[] } | undefined;
  // A union of objects that also takes a list of them (`teacher`): named after the objects.
  const objects = (parent?.anyOf ?? []).filter((b) => b.type !== 'array');
  const list = objects.length < (parent?.anyOf ?? []).length ? ', or a list of these' : '';
  const shapes = objects.map((b) => `{ ${(b.required ?? []).map((r) => `"${r}": …`).join(', ')} }`);
  const got =
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.keys(v).length
        ? `{ ${Object.keys(v)
            .map((k) => `"${k}"`)
            .join(', ')} }`
        : '{}'
      : show(v);
  // Name what each shape's key takes: `"preset": one of "mlp", "cnn-small", …` or `"model": a path`.
  const keys = objects.flatMap((b) => (b.required?.length === 1 ? [b] : []));
  if (keys.length === objects.length && keys.length > 1) {
    const ways = keys.map((b) => {
      const key = b.required![0];
      const values = b.properties?.[key]?.enum;
      return values ? `"${key}" (one of ${values.map(show).join(', ')})` : `"${key}"`;
    });
    return `${label(path)} needs ${ways.slice(0, -1).join(', ')} or ${ways[ways.length - 1]}${list} (got ${got})`;
  }
  return `${label(path)} must be one of ${shapes.join(' or ')}${list} (got ${got})`;
}

const label = (path: (string | number)[]) => (path.length ? formatJsonPath(path) : 'the config');

function describe(e: ErrorObject, root: unknown): ConfigIssue {
  const path = pathOf(e.instancePath);
  const got = valueAt(root, path);
  const p = e.params as Record<string, unknown>;
  const schema = e.parentSchema;
  switch (e.keyword) {
    case 'required': {
      const full = [...path, p.missingProperty as string];
      return { path, message: `${formatJsonPath(full)} is required` };
    }
    case 'additionalProperties': {
      const name = p.additionalProperty as string;
      const known = Object.keys((schema?.properties as object) ?? {});
      const near = closest(name, known);
      return {
        path: [...path, name],
        message: `${formatJsonPath([...path, name])} is not a known field${near ? `: did you mean "${near}"?` : ''} (known: ${known.join(', ')})`,
      };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const lo = schema?.minimum ?? schema?.exclusiveMinimum;
      const hi = schema?.maximum ?? schema?.exclusiveMaximum;
      const loOpen = schema?.exclusiveMinimum !== undefined;
      const hiOpen = schema?.exclusiveMaximum !== undefined;
      let range: string;
      if (lo !== undefined && hi !== undefined && !loOpen && !hiOpen) range = `between ${lo} and ${hi}`;
      else if (lo !== undefined && hi !== undefined) range = `${loOpen ? '>' : '≥'} ${lo} and ${hiOpen ? '<' : '≤'} ${hi}`;
      else if (lo !== undefined) range = `${loOpen ? '>' : '≥'} ${lo}`;
      else range = `${hiOpen ? '<' : '≤'} ${hi}`;
      return { path, message: `${label(path)} must be ${range} (got ${show(got)})` };
    }
    case 'type':
      return { path, message: `${label(path)} must be ${p.type === 'integer' ? 'an integer' : `of type ${String(p.type)}`} (got ${show(got)})` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(show).join(', ');
      const near = typeof got === 'string' ? closest(got, (p.allowedValues as unknown[]).map(String)) : undefined;
      return { path, message: `${label(path)} must be one of ${allowed} (got ${show(got)})${near ? `: did you mean "${near}"?` : ''}` };
    }
    case 'const':
      return { path, message: `${label(path)} must be ${show(p.allowedValue)} (got ${show(got)})` };
    case 'minItems':
      return { path, message: `${label(path)} must have at least ${String(p.limit)} item(s)` };
    case 'maxItems':
      return { path, message: `${label(path)} must have at most ${String(p.limit)} item(s)` };
    case 'minLength':
      return { path, message: `${label(path)} must not be empty` };
    case 'maxLength':
      return { path, message: `${label(path)} must be at most ${String(p.limit)} characters long (got ${String(got).length})` };
    default:
      return { path, message: `${label(path)} ${e.message ?? 'is invalid'}` };
  }
}

/**
 * The known name meant, for "did you mean": one of which the input is a whole part ("kl" → "forward-kl", the first
 * in the list's order, which puts the usual choice first), else the nearest within edit distance `within`.
 */
export function closest(name: string, candidates: string[], within = 2): string | undefined {
  const lower = name.toLowerCase();
  const part =
    lower.length >= 2
      ? candidates.find((c) =>
          c
            .toLowerCase()
            .split(/[-_\s]/)
            .includes(lower),
        )
      : undefined;
  if (part) return part;
  let best: string | undefined;
  let bestD = within + 1;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
