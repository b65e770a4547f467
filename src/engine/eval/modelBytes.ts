/** Bytes on disk of a model file given by its path, as the report card shows them for every model. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/**
 * A tfjs model.json with the weight shards its manifest names, or any other model file (ONNX) alone: their bytes,
 * and the same files gzipped one by one. Undefined when a file cannot be read (the model loaded, so this is only
 * for the report and must not fail the run).
 */
export function modelFileBytes(file: string): { diskBytes: number; gzipBytes: number } | undefined {
  try {
    let diskBytes = 0;
    let gzipBytes = 0;
    for (const f of modelFiles(file)) {
      const data = fs.readFileSync(f);
      diskBytes += data.length;
      gzipBytes += zlib.gzipSync(data, { level: 9 }).length;
    }
    return { diskBytes, gzipBytes };
  } catch {
    return undefined;
  }
}

/** A model's files: a tfjs model.json and the weight shards its manifest names, or any other model file alone. Throws when model.json cannot be read. */
export function modelFiles(file: string): string[] {
  if (!file.toLowerCase().endsWith('.json')) return [file];
  const manifest = (JSON.parse(fs.readFileSync(file, 'utf8')) as { weightsManifest?: { paths?: string[] }[] }).weightsManifest ?? [];
  return [file, ...manifest.flatMap((group) => (group.paths ?? []).map((p) => path.join(path.dirname(file), p)))];
}
