/**
 * Numeric CSV: comma-separated, an optional header row, one integer label column, every other column a numeric
 * feature. Quoted fields are unquoted (`"1.5"`, `"a ""b"""`), but a quoted field may not span lines. Blank lines are
 * skipped; line numbers in errors are 1-based as an editor shows them.
 */
import { dataError, type FileRole } from './sourceFile';

export interface CsvOptions {
  header: boolean;
  /** A header name, or a 0-based column index; null for a file of features only (unlabelled rows). */
  labelColumn: string | number | null;
  /** Keep the features of the first `keepRows` rows only; all rows are still checked and their labels kept. */
  keepRows: number;
}

export interface CsvTable {
  /** Features of the kept rows, row-major. */
  x: Float32Array;
  /** Labels of all rows in the file. */
  labels: Float64Array;
  /** 1-based file line of each row, for error messages about labels. */
  lineOfRow: Int32Array;
  rows: number;
  features: number;
  labelName: string;
}

/** Splits one line on commas, honouring double quotes. Only called for lines that contain a quote. */
function splitQuoted(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

const splitLine = (line: string) => (line.includes('"') ? splitQuoted(line) : line.split(','));
const NON_FINITE = /^\s*[+-]?(nan|inf|infinity)\s*$/i;
const MAX_NAMES_SHOWN = 30;

function listNames(names: string[]): string {
  const shown = names
    .slice(0, MAX_NAMES_SHOWN)
    .map((n) => JSON.stringify(n))
    .join(', ');
  return names.length > MAX_NAMES_SHOWN ? `${shown}, … (${names.length} columns)` : shown;
}

export function parseNumericCsv(text: string, role: FileRole, options: CsvOptions): CsvTable {
  const lines = text.split('\n');
  if (lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw dataError(role, 'is empty. Point ' + role.field + ' at a CSV file with a header row and numeric rows.');

  const firstCells = splitLine(lines[first].replace(/\r$/, '')).map((c) => c.trim());
  const columns = firstCells.length;
  const names = options.header ? firstCells : firstCells.map((_, j) => `column ${j + 1}`);
  const describeColumn = (j: number) => (options.header ? `column "${names[j]}" (column ${j + 1})` : `column ${j + 1}`);

  let labelIndex: number;
  if (options.labelColumn === null) labelIndex = -1;
  else if (typeof options.labelColumn === 'number') {
    labelIndex = options.labelColumn;
    if (labelIndex >= columns)
      throw dataError(
        role,
        `has ${columns} columns, so data.labelColumn ${labelIndex} (0-based) does not exist. Set data.labelColumn to a column index below ${columns} or to a header name.`,
      );
  } else {
    if (!options.header)
      throw dataError(
        role,
        `data.labelColumn is the name "${options.labelColumn}" but data.header is false, so columns have no names. Set data.labelColumn to a 0-based column index.`,
      );
    labelIndex = names.indexOf(options.labelColumn);
    if (labelIndex < 0)
      throw dataError(
        role,
        `has no label column "${options.labelColumn}". The header is: ${listNames(names)}. Set data.labelColumn to one of these names or to a 0-based index.`,
      );
  }
  const features = labelIndex < 0 ? columns : columns - 1;
  if (features < 1) throw dataError(role, `has only the label column; at least one feature column is needed.`);

  const dataStart = options.header ? first + 1 : first;
  const capacity = Math.min(options.keepRows, lines.length - dataStart);
  const x = new Float32Array(Math.max(0, capacity) * features);
  const labels = new Float64Array(Math.max(0, lines.length - dataStart));
  const lineOfRow = new Int32Array(labels.length);
  let rows = 0;

  for (let li = dataStart; li < lines.length; li++) {
    let line = lines[li];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const lineNo = li + 1;
    const cells = splitLine(line);
    if (cells.length !== columns) {
      throw dataError(
        role,
        `line ${lineNo} has ${cells.length} fields but the ${options.header ? 'header' : 'first row'} has ${columns}. Every row needs the same number of comma-separated fields.`,
      );
    }
    const keep = rows < options.keepRows;
    let out = rows * features;
    for (let j = 0; j < columns; j++) {
      const cell = cells[j];
      const value = Number(cell);
      if (Number.isNaN(value) || cell.trim() === '') {
        if (NON_FINITE.test(cell))
          throw dataError(
            role,
            `line ${lineNo}, ${describeColumn(j)}: the value ${cell.trim()} is not finite. Remove or fill in missing values before training.`,
          );
        const shown = cell.trim() === '' ? 'is empty' : `"${cell.trim()}" is not a number`;
        const fix =
          j === labelIndex
            ? 'Labels must be integer class indices 0, 1, 2, …; map class names to numbers first.'
            : 'Features must be numeric; encode text columns as numbers first, or fill in missing values.';
        throw dataError(role, `line ${lineNo}, ${describeColumn(j)}: ${shown}. ${fix}`);
      }
      if (!Number.isFinite(value))
        throw dataError(
          role,
          `line ${lineNo}, ${describeColumn(j)}: the value ${cell.trim()} is not finite. Remove or fill in missing values before training.`,
        );
      if (j === labelIndex) continue;
      if (keep) {
        x[out] = value;
        if (!Number.isFinite(x[out]))
          throw dataError(role, `line ${lineNo}, ${describeColumn(j)}: the value ${cell.trim()} is outside the float32 range. Rescale this feature.`);
      }
      out++;
    }
    labels[rows] = labelIndex < 0 ? 0 : Number(cells[labelIndex]);
    lineOfRow[rows] = lineNo;
    rows++;
  }
  if (rows === 0) throw dataError(role, `has no data rows${options.header ? ' after the header' : ''}. Point ${role.field} at a CSV file with data.`);
  const kept = Math.min(rows, options.keepRows);
  return {
    x: kept * features === x.length ? x : x.slice(0, kept * features),
    labels: labels.subarray(0, rows),
    lineOfRow: lineOfRow.subarray(0, rows),
    rows,
    features,
    labelName: labelIndex < 0 ? 'no label column' : describeColumn(labelIndex),
  };
}
