/**
 * Reading a `*.distill.json` from disk: JSON with comments, validated, defaults filled in, and every path made
 * absolute against the config's folder. Node only (fs), no vscode; the webview never imports this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, printParseErrorCode, visit, type ParseError } from 'jsonc-parser';
import type { DistillConfig } from './config';
import { DistillError, formatJsonPath } from './errors';
import { validateConfig, type ConfigIssue } from './validate';

export class ConfigError extends DistillError {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
    location: { line?: number; column?: number } = {},
  ) {
    const where = location.line ? `${file}:${location.line}:${location.column}` : file;
    super('config', `${where}: ${issues.map((i) => i.message).join('\n  ')}`, { file, path: issues[0]?.path, ...location });
    this.name = 'ConfigError';
  }
}

export interface JsonSyntaxProblem {
  message: string;
  offset: number;
  length: number;
  line: number;
  column: number;
}

/** Deeper than any config, shallow enough for every recursive reader (parser, defaults, validation) after it. */
export const MAX_JSON_DEPTH = 64;
/** A config is a few KB; past this it is the wrong file, and parsing it would cost tens of times its size. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * JSON with comments and trailing commas, as VS Code's `jsonc` mode accepts it. Syntax problems carry line/column.
 * A leading UTF-8 byte-order mark (which editors, VS Code among them, may write) is read as whitespace, so that
 * offsets still match the text. Nesting beyond MAX_JSON_DEPTH is a problem at the bracket that goes too deep, found
 * before anything recursive sees the text.
 */
export function parseJsonc(text: string): { value: unknown; problems: JsonSyntaxProblem[] } {
  if (text.charCodeAt(0) === 0xfeff) text = ' ' + text.slice(1);
  const position = (offset: number) => {
    const before = text.slice(0, offset);
    return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
  };
  if (text.length > MAX_CONFIG_BYTES) {
    return {
      value: undefined,
      problems: [
        {
          message: `the file is ${text.length} characters long; a config is a few KB (at most ${MAX_CONFIG_BYTES}). Is this the right file?`,
          offset: 0,
          length: 1,
          line: 1,
          column: 1,
        },
      ],
    };
  }
  const tooDeep = deepestOpening(text, MAX_JSON_DEPTH);
  if (tooDeep >= 0) {
    return {
      value: undefined,
      problems: [{ message: `nested more than ${MAX_JSON_DEPTH} levels deep; a config needs far fewer`, offset: tooDeep, length: 1, ...position(tooDeep) }],
    };
  }
  // A parsed `"__proto__"` key would become the object's prototype, invisible to validation: refuse it as written.
  let protoKey = -1;
  visit(text, { onObjectProperty: (name, offset) => void (name === '__proto__' && protoKey < 0 && (protoKey = offset)) }, { allowTrailingComma: true });
  if (protoKey >= 0)
    return { value: undefined, problems: [{ message: 'the key "__proto__" is not allowed in a config', offset: protoKey, length: 11, ...position(protoKey) }] };
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const problems = errors.map((e) => ({ message: describeSyntax(printParseErrorCode(e.error)), offset: e.offset, length: e.length, ...position(e.offset) }));
  return { value, problems };
}

/** Offset of the first `{` or `[` that opens level `maxDepth + 1`, outside strings and comments; -1 if none. */
function deepestOpening(text: string, maxDepth: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === '{' || c === '[') {
      if (++depth > maxDepth) return i;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return -1;
}

const describeSyntax = (code: string) =>
  ({
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'invalid number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected ","',
    CloseBraceExpected: 'expected "}"',
    CloseBracketExpected: 'expected "]"',
    EndOfFileExpected: 'unexpected content after the end',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfComment: 'unterminated comment',
    UnexpectedEndOfNumber: 'unterminated number',
  })[code] ?? code;

/** Parse and validate config text. `file` is used for messages and to resolve relative paths. */
export function parseConfigText(text: string, file: string): DistillConfig {
  const { value, problems } = parseJsonc(text);
  if (problems.length) {
    const p = problems[0];
    throw new ConfigError(file, [{ path: [], message: `invalid JSON at line ${p.line}, column ${p.column}: ${p.message}` }], p);
  }
  const result = validateConfig(value);
  if (!result.ok) throw new ConfigError(file, result.issues);
  return resolveConfigPaths(result.config, path.dirname(path.resolve(file)));
}

export function loadConfigFile(file: string): DistillConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    // Sized before it is read: a multi-GB file given by mistake is refused without loading it.
    const size = fs.statSync(abs).size;
    if (size > MAX_CONFIG_BYTES)
      throw new ConfigError(abs, [
        { path: [], message: `the file is ${size} bytes long; a config is a few KB (at most ${MAX_CONFIG_BYTES} bytes). Is this the right file?` },
      ]);
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new DistillError(
      'usage',
      `Cannot read config file ${abs}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      { file: abs },
    );
  }
  return parseConfigText(text, abs);
}

/** Every file path in the config, made absolute against `baseDir`. Returns a new object. */
export function resolveConfigPaths(config: DistillConfig, baseDir: string): DistillConfig {
  const abs = (p: string) => path.resolve(baseDir, p);
  const c = structuredClone(config);
  const data = c.data;
  if (data.format === 'idx') {
    for (const s of [data.train, data.test]) Object.assign(s, { images: abs(s.images), labels: abs(s.labels) });
    if (data.unlabeled) data.unlabeled.images = abs(data.unlabeled.images);
  } else if (data.format === 'csv') {
    for (const s of [data.train, data.test, ...(data.unlabeled ? [data.unlabeled] : [])]) s.path = abs(s.path);
  } else if (data.format === 'images') {
    for (const s of [data.train, data.test, ...(data.unlabeled ? [data.unlabeled] : [])]) {
      if ('dir' in s) s.dir = abs(s.dir);
      else s.manifest = abs(s.manifest);
    }
  } else {
    for (const s of [data.train, data.test]) Object.assign(s, { x: abs(s.x), y: abs(s.y) });
    if (data.unlabeled) data.unlabeled.x = abs(data.unlabeled.x);
  }
  for (const t of Array.isArray(c.teacher) ? c.teacher : [c.teacher]) {
    if ('model' in t) t.model = abs(t.model);
    if ('logits' in t) {
      const { train, test, unlabeled } = t.logits;
      t.logits = { train: abs(train), test: abs(test), ...(unlabeled ? { unlabeled: abs(unlabeled) } : {}) };
    }
  }
  if ('model' in c.student) c.student.model = abs(c.student.model);
  c.output.runsDir = abs(c.output.runsDir);
  c.output.cacheDir = abs(c.output.cacheDir);
  return c;
}

export { formatJsonPath };
