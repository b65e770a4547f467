/**
 * Precomputed teacher logits (`teacher.logits.train` / `.test`): float32 or float64 `.npy` `[N, C]`, or JSON lines
 * with one array of C numbers per line. Rows align with the data file's rows, all of them, before `maxSamples`.
 */
import { isNpy, parseNpy } from './npy';
import { dataError, readDataFile, type FileRole } from './sourceFile';
import { findNonFinite, toFloat32 } from './values';

export function loadTeacherLogits(
  file: string,
  expectedRows: number,
  expectedClasses: number,
  role: 'train' | 'test' | 'unlabeled',
  keepRows?: number,
): Float32Array {
  const source: FileRole = { file, field: `teacher.logits.${role}` };
  const bytes = readDataFile(source);
  // A file named .npy that lacks the magic gets the .npy reader's error, not a confusing JSON one.
  const asNpy = isNpy(bytes) || file.toLowerCase().endsWith('.npy');
  const { logits, rows, classes } = asNpy ? readNpyLogits(bytes, source) : readJsonLines(bytes, source);
  if (rows !== expectedRows) {
    throw dataError(
      source,
      `has ${rows} rows of teacher logits but the ${role} data file has ${expectedRows} rows. The logits must align with ` +
        `the data row by row, one row per sample in file order (all rows, before data.maxSamples); regenerate them for the ${role} data or fix ${source.field}.`,
    );
  }
  if (classes !== expectedClasses) {
    throw dataError(
      source,
      `has ${classes} logits per row but the data has ${expectedClasses} classes. Give one logit per class, in label order, ` +
        `or set data.classNames to the teacher's ${classes} classes if the data's labels are a subset of them.`,
    );
  }
  const bad = findNonFinite(logits);
  if (bad >= 0)
    throw dataError(
      source,
      `row ${Math.floor(bad / classes)} (0-based), class ${bad % classes}: the logit ${logits[bad]} is not finite. Regenerate the teacher logits.`,
    );
  const keep = keepRows === undefined ? rows : Math.min(keepRows, rows);
  return keep === rows ? logits : logits.slice(0, keep * classes);
}

function readNpyLogits(bytes: Buffer, source: FileRole): { logits: Float32Array; rows: number; classes: number } {
  const npy = parseNpy(bytes, source);
  if (npy.kind !== 'float' || npy.shape.length !== 2) {
    throw dataError(
      source,
      `holds dtype '${npy.dtype}' with shape (${npy.shape.join(', ')}); expected float32 (or float64) logits of shape (N, C), ` +
        `one row per sample and one column per class. Save them with numpy.save(file, logits.astype(numpy.float32).reshape(N, C)).`,
    );
  }
  const [rows, classes] = npy.shape;
  return { logits: toFloat32(npy.data, 0, npy.data.length), rows, classes };
}

function readJsonLines(bytes: Buffer, source: FileRole): { logits: Float32Array; rows: number; classes: number } {
  const lines = bytes.toString('utf8').split('\n');
  const fix = 'Each line must be a JSON array of numbers, one logit per class, e.g. [1.2, -0.3, 4.0]; or give a float32 .npy file.';
  let classes = -1;
  let logits = new Float32Array(0);
  let rows = 0;
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].trim();
    if (line === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw dataError(source, `line ${li + 1} is not valid JSON (${(e as Error).message}). ${fix}`);
    }
    if (!Array.isArray(row) || row.some((v) => typeof v !== 'number')) throw dataError(source, `line ${li + 1} is not an array of numbers. ${fix}`);
    if (classes < 0) {
      classes = row.length;
      logits = new Float32Array(lines.length * classes);
    } else if (row.length !== classes) {
      throw dataError(source, `line ${li + 1} has ${row.length} logits but the first line has ${classes}. Every line needs one logit per class.`);
    }
    logits.set(row as number[], rows * classes);
    rows++;
  }
  if (rows === 0) throw dataError(source, `has no rows. ${fix}`);
  return { logits: logits.slice(0, rows * classes), rows, classes };
}
