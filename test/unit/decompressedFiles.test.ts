// An engine kept for many trials keeps decompressed data files (src/engine/data/sourceFile.ts); a file that changed
// on disk must be read again, and nothing is kept unless asked.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { keepDecompressedFiles, readMaybeGzipped } from '../../src/engine/data/sourceFile';
import { removeTempDir, tempDir } from '../support/tempDirs';

describe('decompressed data files kept between runs', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('distill-kept-files-')));
  afterEach(() => {
    keepDecompressedFiles(false);
    removeTempDir(dir);
  });

  const write = (file: string, text: string, mtime: number) => {
    fs.writeFileSync(file, gzipSync(Buffer.from(text)));
    fs.utimesSync(file, mtime, mtime);
  };

  it('hands back the same contents without decompressing again, until the file changes', () => {
    const file = path.join(dir, 'a.gz');
    write(file, 'first', 1_000_000);
    keepDecompressedFiles();
    const role = { file, field: 'data.train.images' };
    const once = readMaybeGzipped(role);
    assert.equal(once.toString(), 'first');
    assert.equal(readMaybeGzipped(role), once, 'the kept buffer itself');
    write(file, 'second!', 2_000_000);
    assert.equal(readMaybeGzipped(role).toString(), 'second!');
  });

  it('keeps nothing unless asked', () => {
    const file = path.join(dir, 'b.gz');
    write(file, 'plain', 1_000_000);
    const role = { file, field: 'data.train.images' };
    assert.notEqual(readMaybeGzipped(role), readMaybeGzipped(role));
  });
});
