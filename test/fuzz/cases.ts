/**
 * Seeded fuzz cases: bad configs (every field with the wrong type, out-of-range and extreme numbers, missing and
 * unknown fields, truncated JSON, binary garbage, huge and deeply nested files) and corrupt data and model files
 * (IDX, NPY, CSV, JSON-lines logits, model.json and weight shards). Case `i` of seed `s` is always the same case.
 *
 * Each case says what a user must see: exit 2 for a config problem, 1 for a data or model problem, 0 for input that
 * is odd but valid (a BOM, a flat teacher on image data).
 */
import { createRng } from '../../src/shared/random';
import { configJsonSchema, LIMITS } from '../../src/shared/config';
import { CLASSES, ROWS, SIDE, baseConfig, idxBytes, npyWithHeader, type FileSet } from './base';
import { encodeNpy } from '../../src/engine/data';

export type Expect = 0 | 1 | 2;

export interface FuzzCase {
  index: number;
  /** What was done, for the report: `config: data.validationSplit = "x" (wrong type)`. */
  what: string;
  expect: Expect;
  /** The config file's text, with paths relative to the case folder. */
  configText: string | Buffer;
  /** Files written into the case folder (the base files are at base/). */
  files: FileSet;
  /** Extra CLI arguments after `run <config>`. */
  args?: string[];
}

type Rng = () => number;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

// ------------------------------------------------------------------------------------------ the config's leaves

interface Leaf {
  path: (string | number)[];
  value: Json;
  schema: Record<string, unknown>;
}

/** The schema node for `path` in the base config (following the union branch the base config uses). */
function schemaAt(root: Record<string, unknown>, value: Json, path: (string | number)[]): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = root;
  let v: Json = value;
  for (const key of path) {
    if (!node) return undefined;
    node = branchFor(node, v);
    if (typeof key === 'number') node = node.items as Record<string, unknown> | undefined;
    else node = (node.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
    v = (v as Record<string, Json>)[key as string];
  }
  return node ? branchFor(node, v) : undefined;
}

function branchFor(node: Record<string, unknown>, v: Json): Record<string, unknown> {
  const anyOf = node.anyOf as Record<string, unknown>[] | undefined;
  if (!anyOf) return node;
  const keys = v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  return (
    anyOf.find((b) => {
      const props = b.properties as Record<string, { const?: unknown }> | undefined;
      if (!props) return typeof v === b.type || (b.type === 'integer' && Number.isInteger(v));
      return keys.every((k) => k in props) && Object.entries(props).every(([k, p]) => p.const === undefined || (v as Record<string, Json>)[k] === p.const);
    }) ?? anyOf[0]
  );
}

function leaves(value: Json, schema: Record<string, unknown>, at: (string | number)[] = []): Leaf[] {
  const here = schemaAt(schema, baseConfigJson, at) ?? {};
  const own: Leaf = { path: at, value, schema: here };
  if (Array.isArray(value)) return [own, ...value.flatMap((v, i) => leaves(v, schema, [...at, i]))];
  if (value && typeof value === 'object') return [...(at.length ? [own] : []), ...Object.entries(value).flatMap(([k, v]) => leaves(v, schema, [...at, k]))];
  return [own];
}

const baseConfigJson = baseConfig() as Json;
let cachedLeaves: Leaf[] | undefined;
const configLeaves = () => (cachedLeaves ??= leaves(baseConfigJson, configJsonSchema()));

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  const copy = clone(root);
  let node = copy as Record<string, Json>;
  for (const k of path.slice(0, -1)) node = node[k as string] as Record<string, Json>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const jsonPath = (p: (string | number)[]) =>
  p
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .slice(1);
const typeOf = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A value of another JSON type than `v`. */
function wrongType(rng: Rng, v: Json): Json {
  const options: Json[] = [
    pick(rng, ['', 'x', '12', 'true', 'null', '[]']),
    pick(rng, [0, -1, 3.5, 1e9]),
    pick(rng, [true, false]),
    null,
    pick(rng, [[], [1, 2], ['a']]),
    pick<Json>(rng, [{}, { a: 1 }]),
  ];
  const others = options.filter((o) => typeOf(o) !== typeOf(v) && !(typeof v === 'number' && typeof o === 'number'));
  return pick(rng, others);
}

/** A number outside the leaf's range, or not an integer where one is required; undefined when it has no bounds. */
function outOfRange(rng: Rng, leaf: Leaf): { value: Json; text?: string } | undefined {
  const s = leaf.schema;
  const candidates: { value: Json; text?: string }[] = [];
  const lo = (s.minimum ?? s.exclusiveMinimum) as number | undefined;
  const hi = (s.maximum ?? s.exclusiveMaximum) as number | undefined;
  if (lo !== undefined) candidates.push({ value: s.exclusiveMinimum !== undefined ? lo : lo - pick(rng, [1, 0.5, 1e6]) }, { value: -1e308 });
  if (hi !== undefined) candidates.push({ value: s.exclusiveMaximum !== undefined ? hi : hi + pick(rng, [1, 1e6]) }, { value: 1e29 }, { value: 1e308 });
  if (s.type === 'integer') candidates.push({ value: 2.5 }, { value: 0, text: '1e999' }, { value: 0, text: '-1e999' });
  if (s.type === 'number') candidates.push({ value: 0, text: '1e999' });
  return candidates.length ? pick(rng, candidates) : undefined;
}

const REQUIRED: (string | number)[][] = [
  ['name'],
  ['data'],
  ['teacher'],
  ['student'],
  ['data', 'format'],
  ['data', 'train'],
  ['data', 'test'],
  ['data', 'train', 'images'],
  ['data', 'test', 'labels'],
  ['teacher', 'model'],
  ['student', 'preset'],
];

function deepValue(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function configCase(rng: Rng, index: number): FuzzCase {
  const base = baseConfigJson;
  const op = pick(rng, [
    'wrong-type',
    'wrong-type',
    'out-of-range',
    'out-of-range',
    'missing',
    'unknown',
    'truncated',
    'garbage',
    'huge',
    'deep',
    'section-array',
    'bom',
    'shape-extreme',
  ] as const);
  const text = (v: Json) => JSON.stringify(v, null, 2);
  const numberLeaves = configLeaves().filter((l) => typeof l.value === 'number' && outOfRange(() => 0, l));
  switch (op) {
    case 'wrong-type': {
      const leaf = pick(rng, configLeaves());
      const value = wrongType(rng, leaf.value);
      return {
        index,
        what: `config: ${jsonPath(leaf.path)} = ${JSON.stringify(value)} (wrong type, was ${typeOf(leaf.value)})`,
        expect: 2,
        configText: text(setAt(base, leaf.path, value)),
        files: {},
      };
    }
    case 'out-of-range': {
      const leaf = pick(rng, numberLeaves);
      const bad = outOfRange(rng, leaf)!;
      const marker = 987654321.125;
      const body = text(setAt(base, leaf.path, bad.text ? marker : bad.value)).replace(String(marker), bad.text ?? '');
      return {
        index,
        what: `config: ${jsonPath(leaf.path)} = ${bad.text ?? (typeof bad.value === 'object' ? JSON.stringify(bad.value) : String(bad.value))} (out of range)`,
        expect: 2,
        configText: body,
        files: {},
      };
    }
    case 'missing': {
      const path = pick(rng, REQUIRED);
      return { index, what: `config: ${jsonPath(path)} missing`, expect: 2, configText: text(setAt(base, path, undefined)), files: {} };
    }
    case 'unknown': {
      const objects = configLeaves().filter((l) => l.value && typeof l.value === 'object' && !Array.isArray(l.value));
      const at = pick(rng, [{ path: [] as (string | number)[] }, ...objects]).path;
      const key = pick(rng, ['epochz', 'lr', 'Name', 'x', '__proto__', 'constructor', 'batch_size', 'validation_split']);
      // Written as text: `__proto__` must arrive as a key, not as the object's prototype.
      const body = text(setAt(base, [...at, '@@unknown@@'], 1)).replace('"@@unknown@@"', JSON.stringify(key));
      return { index, what: `config: unknown field ${[...at, key].join('.')}`, expect: 2, configText: body, files: {} };
    }
    case 'truncated': {
      const full = text(base);
      const cut = int(rng, 1, full.length - 2);
      return { index, what: `config: truncated at byte ${cut} of ${full.length}`, expect: 2, configText: full.slice(0, cut), files: {} };
    }
    case 'garbage': {
      const n = int(rng, 0, 4096);
      const bytes = Buffer.from(Array.from({ length: n }, () => int(rng, 0, 255)));
      const prefix = rng() < 0.5 ? Buffer.from(text(base).slice(0, int(rng, 0, 200))) : Buffer.alloc(0);
      return {
        index,
        what: `config: ${n} bytes of binary garbage${prefix.length ? ` after ${prefix.length} bytes of config` : ''}`,
        expect: 2,
        configText: Buffer.concat([prefix, bytes]),
        files: {},
      };
    }
    case 'huge': {
      const kind = pick(rng, ['name', 'whitespace', 'array'] as const);
      const size = int(rng, 2, 12) << 20;
      if (kind === 'name')
        return { index, what: `config: a name of ${size} characters`, expect: 2, configText: text(setAt(base, ['name'], 'n'.repeat(size))), files: {} };
      if (kind === 'array')
        return {
          index,
          what: `config: student.hidden with ${size >> 3} entries`,
          expect: 2,
          configText: text(setAt(base, ['student', 'hidden'], [])).replace('"hidden": []', `"hidden": [${'4,'.repeat(size >> 3)}4]`),
          files: {},
        };
      return { index, what: `config: ${size} bytes of whitespace, then garbage`, expect: 2, configText: ' '.repeat(size) + '{"name": ' + 'x', files: {} };
    }
    case 'deep': {
      const depth = pick(rng, [65, 100, 1000, 10000, 100000]);
      const leaf = pick(rng, configLeaves());
      const marker = '"@@deep@@"';
      const body = text(setAt(base, leaf.path, '@@deep@@')).replace(marker, deepValue(depth, pick(rng, ['array', 'object'] as const)));
      return { index, what: `config: ${jsonPath(leaf.path)} nested ${depth} deep`, expect: 2, configText: body, files: {} };
    }
    case 'section-array': {
      const section = pick(rng, [
        'distillation',
        'training',
        'compare',
        'evaluation',
        'engine',
        'output',
        'data',
        'teacher',
        'student',
        'data.train',
        'distillation.schedule',
      ] as const);
      return {
        index,
        what: `config: ${section} = [] (an array where an object belongs)`,
        expect: 2,
        configText: text(setAt(base, section.split('.'), [])),
        files: {},
      };
    }
    case 'bom':
      return {
        index,
        what: 'config: a UTF-8 BOM before a valid config',
        expect: 0,
        configText: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text(base))]),
        files: {},
      };
    case 'shape-extreme': {
      const path = pick(rng, [
        ['student', 'hidden', 0],
        ['data', 'inputShape'],
        ['evaluation', 'probeSize'],
        ['training', 'batchSize'],
        ['training', 'epochs'],
        ['data', 'maxSamples', 'train'],
      ] as (string | number)[][]);
      const value = path[1] === 'maxSamples' ? pick(rng, [1e29, 2 ** 53, LIMITS.rows + 1]) : pick(rng, [1e29, 2 ** 31, 2 ** 53, LIMITS.width + 1, 1e6 + 1]);
      const v: Json = path[1] === 'inputShape' ? [value, 1, 1] : path[1] === 'maxSamples' ? { train: value } : value;
      const p = path[1] === 'maxSamples' ? ['data', 'maxSamples'] : path;
      return { index, what: `config: ${jsonPath(p)} = ${JSON.stringify(v)} (absurdly large)`, expect: 2, configText: text(setAt(base, p, v)), files: {} };
    }
  }
}

// ------------------------------------------------------------------------------------------ corrupt files

const configWith = (patch: (c: Record<string, Json>) => void): string => {
  const c = clone(baseConfigJson) as Record<string, Json>;
  patch(c);
  return JSON.stringify(c, null, 2);
};

type DataFormat = 'idx' | 'csv' | 'npy';

/** The config for `format` whose `split` files are `over/…` (written by the case) and the rest the base's. */
function dataConfig(format: DataFormat, overridden: Partial<Record<'train' | 'test', Record<string, string>>> = {}): (c: Record<string, Json>) => void {
  return (c) => {
    const names = (split: 'train' | 'test'): Record<string, Json> =>
      format === 'idx'
        ? { images: `base/${split}-images.idx`, labels: `base/${split}-labels.idx` }
        : format === 'csv'
          ? { path: `base/${split}.csv` }
          : { x: `base/${split}-x.npy`, y: `base/${split}-y.npy` };
    c.data = { format, train: { ...names('train'), ...overridden.train }, test: { ...names('test'), ...overridden.test }, validationSplit: 0.25 };
  };
}

/** A damaged copy. `header`: how many leading bytes are header (a flipped bit there always breaks the file). */
function mutateBytes(rng: Rng, bytes: Buffer, header = 16, keepAtMost = bytes.length - 1): { bytes: Buffer; what: string } {
  const op = pick(rng, ['truncate', 'trail', 'flip', 'empty', 'zero-header'] as const);
  switch (op) {
    case 'truncate': {
      const n = int(rng, 0, keepAtMost);
      return { bytes: bytes.subarray(0, n), what: `truncated to ${n} of ${bytes.length} bytes` };
    }
    case 'trail': {
      const n = int(rng, 1, 64);
      return { bytes: Buffer.concat([bytes, Buffer.alloc(n, 7)]), what: `${n} trailing bytes` };
    }
    case 'flip': {
      const copy = Buffer.from(bytes);
      const at = int(rng, 0, Math.min(header, copy.length) - 1);
      copy[at] ^= 1 << int(rng, 0, 7);
      return { bytes: copy, what: `bit flipped in header byte ${at}` };
    }
    case 'empty':
      return { bytes: Buffer.alloc(0), what: 'empty' };
    case 'zero-header': {
      const copy = Buffer.from(bytes);
      copy.fill(0, 0, Math.min(8, copy.length));
      return { bytes: copy, what: 'first 8 bytes zeroed' };
    }
  }
}

function idxCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const split = pick(rng, ['train', 'test'] as const);
  const which = pick(rng, ['images', 'labels'] as const);
  const name = `${split}-${which}.idx`;
  const file = `over/${name}`;
  const original = base[name];
  const rows = ROWS[split];
  const op = pick(rng, ['bytes', 'billion-rows', 'huge-dims', 'zero-rows', 'count-mismatch', 'swapped', 'wrong-type', 'bad-gzip', 'label-range'] as const);
  let bytes: Buffer;
  let what: string;
  let expect: Expect = 1;
  switch (op) {
    case 'bytes':
      // Only header bits: a flipped label bit can leave a valid file.
      ({ bytes, what } = mutateBytes(rng, original, which === 'images' ? 16 : 8));
      break;
    case 'billion-rows': {
      const claimed = pick(rng, [0xffffffff, 2_000_000_000, 1e9]);
      bytes = which === 'images' ? idxBytes([claimed, SIDE, SIDE], original.subarray(16)) : idxBytes([claimed], original.subarray(8));
      what = `header claims ${claimed} rows`;
      break;
    }
    case 'huge-dims':
      bytes = which === 'images' ? idxBytes([rows, 65536, 65536], original.subarray(16)) : idxBytes([rows, 2, 2], original.subarray(8));
      what = which === 'images' ? 'header claims 65536 × 65536 images' : 'labels with 3 dimensions';
      break;
    case 'zero-rows':
      bytes = which === 'images' ? idxBytes([0, SIDE, SIDE], Buffer.alloc(0)) : idxBytes([0], Buffer.alloc(0));
      what = 'a 0-row file';
      if (which === 'labels') what += ' (labels only)';
      break;
    case 'count-mismatch':
      bytes =
        which === 'images'
          ? idxBytes([rows - 1, SIDE, SIDE], original.subarray(16, 16 + (rows - 1) * SIDE * SIDE))
          : idxBytes([rows + 1], Buffer.concat([original.subarray(8), Buffer.from([0])]));
      what = 'a row count that differs from its pair';
      break;
    case 'swapped':
      bytes = base[`${split}-${which === 'images' ? 'labels' : 'images'}.idx`];
      what = 'images and labels swapped';
      break;
    case 'wrong-type':
      bytes = Buffer.from(original);
      bytes[2] = pick(rng, [0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00]);
      what = `type code 0x${bytes[2].toString(16)}`;
      break;
    case 'bad-gzip':
      bytes = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), original.subarray(0, int(rng, 0, 40))]);
      what = 'gzip magic with a damaged stream';
      break;
    case 'label-range': {
      if (which === 'images') {
        bytes = idxBytes([rows, SIDE, SIDE, 2], Buffer.concat([original.subarray(16), original.subarray(16)]));
        what = 'images with 2 channels (train and test disagree)';
        if (split === 'train') expect = 1;
      } else {
        const body = Buffer.from(original.subarray(8));
        body[int(rng, 0, rows - 1)] = pick(rng, [3, 9, 200, 255]);
        bytes = idxBytes([rows], body);
        what = "a label beyond the teacher's classes";
      }
      break;
    }
  }
  return { index, what: `idx ${name}: ${what}`, expect, configText: configWith(dataConfig('idx', { [split]: { [which]: file } })), files: { [file]: bytes } };
}

function npyCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const split = pick(rng, ['train', 'test'] as const);
  const which = pick(rng, ['x', 'y'] as const);
  const name = `${split}-${which}.npy`;
  const file = `over/${name}`;
  const rows = ROWS[split];
  const original = base[name];
  const body = original.subarray(64 * Math.ceil(Math.min(original.length, 11 + original.readUInt16LE(8)) / 64));
  const op = pick(rng, [
    'bytes',
    'billion-rows',
    'descr',
    'fortran',
    'nan',
    'labels-float',
    'labels-negative',
    'labels-huge',
    'header-garbage',
    'rank',
  ] as const);
  let bytes: Buffer;
  let what: string;
  const shape = which === 'x' ? `(${rows}, ${SIDE * SIDE})` : `(${rows},)`;
  const descr = which === 'x' ? '<f4' : '<i4';
  switch (op) {
    case 'bytes':
      ({ bytes, what } = mutateBytes(rng, original));
      break;
    case 'billion-rows':
      bytes = npyWithHeader(
        `{'descr': '${descr}', 'fortran_order': False, 'shape': (${pick(rng, [1e9, 4294967295, 2 ** 53])}, ${which === 'x' ? SIDE * SIDE : 1}), }`,
        body,
      );
      what = 'header claims billions of rows';
      break;
    case 'descr':
      bytes = npyWithHeader(`{'descr': '${pick(rng, ['<c8', '|S4', '>f4', 'O', '<U2', '<f2'])}', 'fortran_order': False, 'shape': ${shape}, }`, body);
      what = 'unsupported dtype';
      break;
    case 'fortran':
      bytes = npyWithHeader(`{'descr': '${descr}', 'fortran_order': True, 'shape': ${shape}, }`, body);
      what = 'Fortran order';
      break;
    case 'nan': {
      const at = int(rng, 0, rows * SIDE * SIDE - 1);
      const bad = pick(rng, [NaN, Infinity, -Infinity]);
      const x = Float32Array.from({ length: rows * SIDE * SIDE }, (_, i) => (i === at ? bad : 0.5));
      const target = `${split}-x.npy`;
      return {
        index,
        what: `npy ${target}: a non-finite feature`,
        expect: 1,
        configText: configWith(dataConfig('npy', { [split]: { x: `over/${target}` } })),
        files: { [`over/${target}`]: encodeNpy(x, [rows, SIDE * SIDE]) },
      };
    }
    case 'labels-float': {
      const target = `${split}-y.npy`;
      return {
        index,
        what: `npy ${target}: float labels 0.5`,
        expect: 1,
        configText: configWith(dataConfig('npy', { [split]: { y: `over/${target}` } })),
        files: {
          [`over/${target}`]: encodeNpy(
            Float32Array.from({ length: rows }, (_, i) => (i % CLASSES) + 0.5),
            [rows],
          ),
        },
      };
    }
    case 'labels-negative':
    case 'labels-huge': {
      const target = `${split}-y.npy`;
      const v = op === 'labels-negative' ? -1 : pick(rng, [2 ** 31 - 1, 1e6, 4, 100001]);
      const labels = Int32Array.from({ length: rows }, (_, i) => (i === 3 ? v : i % CLASSES));
      return {
        index,
        what: `npy ${target}: label ${v}`,
        expect: 1,
        configText: configWith(dataConfig('npy', { [split]: { y: `over/${target}` } })),
        files: { [`over/${target}`]: encodeNpy(labels, [rows]) },
      };
    }
    case 'header-garbage':
      bytes = npyWithHeader(
        pick(rng, ["{'descr': '<f4', 'shape': (3, 'a'), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (-5, 2), }", 'garbage', '', "{'shape': (1,)}"]),
        body,
      );
      what = 'an unreadable header';
      break;
    case 'rank':
      bytes = which === 'x' ? encodeNpy(new Float32Array(rows), [rows]) : encodeNpy(new Int32Array(rows * 3), [rows, 3]);
      what = which === 'x' ? 'features of rank 1' : 'labels of shape (N, 3)';
      break;
  }
  return {
    index,
    what: `npy ${name}: ${what}`,
    expect: 1,
    configText: configWith(dataConfig('npy', { [split]: { [which]: file } })),
    files: { [file]: bytes },
  };
}

function csvCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const split = pick(rng, ['train', 'test'] as const);
  const name = `${split}.csv`;
  const file = `over/${name}`;
  const lines = base[name].toString().trimEnd().split('\n');
  const row = int(rng, 1, lines.length - 1);
  const op = pick(rng, ['cell', 'ragged', 'empty', 'header-only', 'label-column', 'binary', 'huge-number', 'bad-label'] as const);
  let text: string;
  let what: string;
  let patch: (c: Record<string, Json>) => void = () => {};
  switch (op) {
    case 'cell': {
      const cells = lines[row].split(',');
      const bad = pick(rng, ['abc', 'NaN', '', '1e999', '--1', 'Infinity', '1,5']);
      cells[int(rng, 1, cells.length - 1)] = bad;
      lines[row] = cells.join(',');
      text = lines.join('\n');
      what = `cell ${JSON.stringify(bad)} on line ${row + 1}`;
      break;
    }
    case 'ragged':
      lines[row] = rng() < 0.5 ? lines[row] + ',1,2' : lines[row].split(',').slice(0, -2).join(',');
      text = lines.join('\n');
      what = `line ${row + 1} has a different number of cells`;
      break;
    case 'empty':
      text = pick(rng, ['', '\n\n', '   ']);
      what = 'empty file';
      break;
    case 'header-only':
      text = lines[0] + '\n';
      what = 'a header and no rows';
      break;
    case 'label-column':
      text = lines.join('\n');
      patch = (c) => ((c.data as Record<string, Json>).labelColumn = pick(rng, ['lable', 'p99', 500] as Json[]));
      what = 'data.labelColumn names no column';
      break;
    case 'binary':
      text = Buffer.from(Array.from({ length: 2000 }, () => int(rng, 0, 255))).toString('latin1');
      what = 'binary garbage';
      break;
    case 'huge-number': {
      const cells = lines[row].split(',');
      cells[int(rng, 1, cells.length - 1)] = pick(rng, ['1e39', '-1e39', '3.5e38']);
      lines[row] = cells.join(',');
      text = lines.join('\n');
      what = `a value beyond float32 on line ${row + 1}`;
      break;
    }
    case 'bad-label': {
      const cells = lines[row].split(',');
      cells[0] = pick(rng, ['-1', '1.5', 'cat', '99999999999']);
      lines[row] = cells.join(',');
      text = lines.join('\n');
      what = `label ${cells[0]} on line ${row + 1}`;
      break;
    }
  }
  const config = configWith((c) => {
    dataConfig('csv', { [split]: { path: file } })(c);
    patch(c);
  });
  return { index, what: `csv ${name}: ${what}`, expect: 1, configText: config, files: { [file]: Buffer.from(text, op === 'binary' ? 'latin1' : 'utf8') } };
}

function logitsCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const split = pick(rng, ['train', 'test'] as const);
  const kind = pick(rng, ['npy', 'jsonl'] as const);
  const name = `${split}-logits.${kind}`;
  const file = `over/${name}`;
  const rows = ROWS[split];
  const op = pick(rng, ['rows', 'classes', 'nan', 'bytes', 'line'] as const);
  let bytes: Buffer;
  let what: string;
  switch (op) {
    case 'rows':
      bytes =
        kind === 'npy'
          ? encodeNpy(new Float32Array((rows + 1) * CLASSES), [rows + 1, CLASSES])
          : Buffer.from(
              base[name]
                .toString()
                .split('\n')
                .slice(0, rows - 1)
                .join('\n'),
            );
      what = 'a row count that differs from the data';
      break;
    case 'classes':
      bytes =
        kind === 'npy'
          ? encodeNpy(new Float32Array(rows * (CLASSES + 1)), [rows, CLASSES + 1])
          : Buffer.from(Array.from({ length: rows }, () => '[1, 2]').join('\n'));
      what = 'a class count that differs from the data';
      break;
    case 'nan':
      bytes =
        kind === 'npy'
          ? encodeNpy(
              Float32Array.from({ length: rows * CLASSES }, (_, i) => (i === 5 ? NaN : 0)),
              [rows, CLASSES],
            )
          : Buffer.from(base[name].toString().replace(/^\[[^\]]*\]/, pick(rng, ['[NaN, 1, 2]', '[1e999, 0, 0]', '[null, 0, 0]'])));
      what = 'a non-finite logit';
      break;
    case 'bytes':
      // Cutting only the final newline of JSON lines leaves every row intact: cut into the last row at least.
      ({ bytes, what } = mutateBytes(rng, base[name], 10, base[name].length - (kind === 'jsonl' ? 2 : 1)));
      if (kind === 'jsonl' && /trailing|bit flipped/.test(what)) {
        bytes = Buffer.concat([base[name], Buffer.from('{"not": "an array"}\n')]);
        what = 'a line that is not an array';
      }
      break;
    case 'line':
      bytes =
        kind === 'jsonl'
          ? Buffer.from(base[name].toString().replace('\n', '\n[1, 2, \n'))
          : npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${CLASSES}, 2), }`, Buffer.alloc(rows * CLASSES * 8));
      what = kind === 'jsonl' ? 'a truncated line' : 'logits of rank 3';
      break;
  }
  const config = configWith((c) => {
    c.teacher = { logits: { train: `base/train-logits.${kind}`, test: `base/test-logits.${kind}`, [split]: file } };
  });
  return { index, what: `logits ${name}: ${what}`, expect: 1, configText: config, files: { [file]: bytes } };
}

function modelCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const json = JSON.parse(base['teacher/model.json'].toString()) as Record<string, Json>;
  const weights = base['teacher/weights.bin'];
  const role = pick(rng, ['teacher', 'student'] as const);
  const op = pick(rng, [
    'null',
    'not-object',
    'topology-string',
    'topology-missing',
    'no-paths',
    'weights-string',
    'paths-numbers',
    'huge-shape',
    'dtype',
    'shard-missing',
    'shard-short',
    'shard-trailing',
    'unknown-layer',
    'units-huge',
    'deep',
    'not-json',
    'flat-mismatch',
    'manifest-entry',
  ] as const);
  let modelJson: Buffer | undefined;
  let shard: Buffer | undefined = weights;
  let what: string;
  const manifest = json.weightsManifest as { paths: Json; weights: Record<string, Json>[] }[];
  const topology = json.modelTopology as Record<string, Json>;
  const layers = (topology.config as Record<string, Json>).layers as unknown as { class_name: Json; config: Record<string, Json> }[];
  switch (op) {
    case 'null':
      modelJson = Buffer.from('null');
      what = 'null';
      break;
    case 'not-object':
      modelJson = Buffer.from(pick(rng, ['[]', '"model"', '42', 'true', '[{"modelTopology": {}}]']));
      what = `not an object (${modelJson.toString()})`;
      break;
    case 'topology-string':
      json.modelTopology = pick(rng, ['sequential', '', '{}']);
      what = 'modelTopology is a string';
      break;
    case 'topology-missing':
      delete json[pick(rng, ['modelTopology', 'weightsManifest'])];
      what = 'modelTopology or weightsManifest missing';
      break;
    case 'no-paths':
      delete (manifest[0] as Record<string, unknown>).paths;
      what = 'a weightsManifest group without paths';
      break;
    case 'weights-string':
      (manifest[0] as Record<string, unknown>).weights = pick(rng, ['weights', 5, null]);
      what = 'weightsManifest weights is not a list';
      break;
    case 'paths-numbers':
      manifest[0].paths = pick(rng, [[1], 'weights.bin', [null], [''], [{}]] as Json[]);
      what = 'weightsManifest paths is not a list of names';
      break;
    case 'huge-shape':
      manifest[0].weights[0].shape = pick(rng, [[1e9, 1e9], [4294967296], [-1, 8], [2 ** 53], ['16', 8], [Infinity]] as Json[]);
      what = `a weight of shape ${JSON.stringify(manifest[0].weights[0].shape)}`;
      break;
    case 'dtype':
      manifest[0].weights[0].dtype = pick(rng, ['float64', 'complex64', 'string', 7, null] as Json[]);
      what = `a weight of dtype ${JSON.stringify(manifest[0].weights[0].dtype)}`;
      break;
    case 'shard-missing':
      shard = undefined;
      what = 'its shard missing';
      break;
    case 'shard-short':
      shard = weights.subarray(0, int(rng, 0, weights.length - 1));
      what = `a shard of ${shard.length} of ${weights.length} bytes`;
      break;
    case 'shard-trailing':
      shard = Buffer.concat([weights, Buffer.alloc(int(rng, 1, 4096), 1)]);
      what = `a shard ${shard.length - weights.length} bytes longer than its manifest`;
      break;
    case 'unknown-layer':
      layers[int(rng, 0, layers.length - 1)].class_name = pick(rng, ['Frobnicate', 'MyCustomLayer', '', 'Lambda']);
      what = 'an unknown layer class';
      break;
    case 'units-huge':
      layers[1].config.units = pick(rng, [1e29, 2 ** 40, Infinity, -5, 'eight'] as Json[]);
      what = `a dense layer of ${JSON.stringify(layers[1].config.units)} units`;
      break;
    case 'deep':
      modelJson = Buffer.from(
        JSON.stringify(json).replace('"modelTopology":', `"junk": ${deepValue(pick(rng, [300, 10000, 100000]), 'array')}, "modelTopology":`),
      );
      what = 'nested far too deep';
      break;
    case 'not-json':
      modelJson = Buffer.concat([base['teacher/model.json'].subarray(0, int(rng, 0, 200)), Buffer.from([0xff, 0xfe, 0x00])]);
      what = 'not JSON';
      break;
    case 'flat-mismatch': {
      // A teacher taking [2, 8] samples (16 elements, neither side flat) on [4, 4, 1] data: no reshape applies.
      layers[0].config.batch_input_shape = [null, 2, 8];
      what = 'an input of [2, 8] on [4, 4, 1] data';
      break;
    }
    case 'manifest-entry':
      json.weightsManifest = pick(rng, [[null], [5], ['weights.bin'], {}, 'weights.bin'] as Json[]);
      what = `weightsManifest ${JSON.stringify(json.weightsManifest)}`;
      break;
  }
  modelJson ??= Buffer.from(JSON.stringify(json));
  const files: FileSet = { 'model/model.json': modelJson };
  if (shard) files['model/weights.bin'] = shard;
  const config = configWith((c) => {
    if (role === 'teacher') c.teacher = { model: 'model/model.json' };
    // A student model file must output the data's classes too: the teacher's layout does, so it serves as both.
    else c.student = { model: 'model/model.json' };
  });
  return { index, what: `${role} model.json: ${what}`, expect: 1, configText: config, files };
}

/** Valid but unusual inputs, which must run to completion. */
function validCase(rng: Rng, index: number, base: FileSet): FuzzCase {
  const op = pick(rng, ['flat-teacher', 'split-zero', 'csv', 'npy', 'jsonl-logits'] as const);
  switch (op) {
    case 'flat-teacher': {
      const json = JSON.parse(base['teacher/model.json'].toString());
      // Without its Flatten layer (no weights), the first dense layer takes the flat [16] rows itself.
      const layers = json.modelTopology.config.layers;
      layers.shift();
      layers[0].config.batch_input_shape = [null, SIDE * SIDE];
      return {
        index,
        what: 'valid: a flat [16] teacher on [4, 4, 1] data',
        expect: 0,
        configText: configWith((c) => (c.teacher = { model: 'model/model.json' })),
        files: { 'model/model.json': Buffer.from(JSON.stringify(json)), 'model/weights.bin': base['teacher/weights.bin'] },
      };
    }
    case 'split-zero':
      return {
        index,
        what: 'valid: data.validationSplit 0',
        expect: 0,
        configText: configWith((c) => ((c.data as Record<string, Json>).validationSplit = 0)),
        files: {},
      };
    case 'csv':
      return { index, what: 'valid: CSV data', expect: 0, configText: configWith(dataConfig('csv')), files: {} };
    case 'npy':
      return {
        index,
        what: 'valid: .npy data, teacher logits',
        expect: 0,
        configText: configWith((c) => {
          dataConfig('npy')(c);
          c.teacher = { logits: { train: 'base/train-logits.npy', test: 'base/test-logits.npy' } };
        }),
        files: {},
      };
    case 'jsonl-logits':
      return {
        index,
        what: 'valid: JSON-lines teacher logits',
        expect: 0,
        configText: configWith((c) => (c.teacher = { logits: { train: 'base/train-logits.jsonl', test: 'base/test-logits.jsonl' } })),
        files: {},
      };
  }
}

/**
 * Case `index` of the suite seeded with `seed`. About half are config cases (fast: refused before the engine
 * starts), the rest corrupt files, and a few valid inputs that must complete.
 */
export function fuzzCase(seed: number, index: number, base: FileSet): FuzzCase {
  const rng = createRng((seed * 1_000_003 + index * 7919) >>> 0);
  const r = rng();
  if (r < 0.5) return configCase(rng, index);
  if (r < 0.62) return idxCase(rng, index, base);
  if (r < 0.72) return npyCase(rng, index, base);
  if (r < 0.8) return csvCase(rng, index, base);
  if (r < 0.87) return logitsCase(rng, index, base);
  if (r < 0.98) return modelCase(rng, index, base);
  return validCase(rng, index, base);
}
