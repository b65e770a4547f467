/**
 * Reads what was appended to a JSON-lines file since the last read, by byte offset. No vscode: unit-tested in Node.
 *
 * The engine appends whole lines, but a read can land between two writes, so an unterminated tail is held back
 * until its newline arrives (a torn line from a writer that died is therefore never parsed). A file that was
 * replaced (new inode: resume rewrites it atomically) or truncated is read again from its start, flagged `reset`.
 */
import * as fs from 'node:fs';

export interface TailRead<T> {
  records: T[];
  /** The file was replaced or shrank: `records` start from its beginning and replace everything read before. */
  reset: boolean;
  /** Complete lines that were not valid JSON. */
  skipped: number;
}

/** Bytes read per `read` call at most, so one huge file cannot build one huge string. */
const CHUNK_BYTES = 16 * 1024 * 1024;

export class JsonlTail<T> {
  private offset = 0;
  private inode: number | undefined;
  /** Bytes after the last newline read so far: the start of a line not yet finished. */
  private partial: Buffer = Buffer.alloc(0);

  constructor(readonly file: string) {}

  /** Everything complete that was appended since the last call (all of the file on the first call). */
  read(): TailRead<T> {
    const out: TailRead<T> = { records: [], reset: false, skipped: 0 };
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      // Not written yet, or removed: a file that comes back later is read from its start.
      if (this.offset > 0 || this.partial.length) out.reset = true;
      this.rewind(undefined);
      return out;
    }
    try {
      const stat = fs.fstatSync(fd);
      if ((this.inode !== undefined && stat.ino !== this.inode) || stat.size < this.offset) {
        out.reset = this.offset > 0 || this.partial.length > 0;
        this.rewind(stat.ino);
      }
      this.inode = stat.ino;
      while (this.offset < stat.size) {
        const length = Math.min(CHUNK_BYTES, stat.size - this.offset);
        const chunk = Buffer.allocUnsafe(length);
        const got = fs.readSync(fd, chunk, 0, length, this.offset);
        if (got <= 0) break;
        this.offset += got;
        this.consume(chunk.subarray(0, got), out);
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  private rewind(inode: number | undefined): void {
    this.offset = 0;
    this.inode = inode;
    this.partial = Buffer.alloc(0);
  }

  private consume(chunk: Buffer, out: TailRead<T>): void {
    const data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      // Split on bytes, decode per line: a multi-byte character cut by a chunk boundary stays whole.
      const line = data.toString('utf8', start, nl).trim();
      start = nl + 1;
      if (!line) continue;
      try {
        out.records.push(JSON.parse(line) as T);
      } catch {
        out.skipped++;
      }
    }
    this.partial = Buffer.from(data.subarray(start));
  }
}
