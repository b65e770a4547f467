import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonlTail } from '../../src/extension/dashboard/jsonlTail';

describe('dashboard: JsonlTail (reading appended JSON lines by byte offset)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-tail-'));
    file = path.join(dir, 'metrics.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('returns nothing for a file not written yet, then its records once it is', () => {
    const tail = new JsonlTail<{ n: number }>(file);
    assert.deepEqual(tail.read(), { records: [], reset: false, skipped: 0 });
    fs.writeFileSync(file, '{"n":1}\n{"n":2}\n');
    assert.deepEqual(tail.read().records, [{ n: 1 }, { n: 2 }]);
  });

  it('returns only what was appended since the last read', () => {
    fs.writeFileSync(file, '{"n":1}\n');
    const tail = new JsonlTail<{ n: number }>(file);
    tail.read();
    fs.appendFileSync(file, '{"n":2}\n{"n":3}\n');
    assert.deepEqual(tail.read().records, [{ n: 2 }, { n: 3 }]);
    assert.deepEqual(tail.read().records, []);
  });

  it('holds back a line until its newline arrives, even when a UTF-8 character is cut in two', () => {
    const tail = new JsonlTail<{ name: string }>(file);
    const line = Buffer.from('{"name":"Ankle boot · α"}\n', 'utf8');
    const cut = line.indexOf(Buffer.from('α', 'utf8')) + 1; // inside the two bytes of α
    fs.writeFileSync(file, line.subarray(0, cut));
    assert.deepEqual(tail.read().records, []);
    fs.appendFileSync(file, line.subarray(cut));
    assert.deepEqual(tail.read().records, [{ name: 'Ankle boot · α' }]);
  });

  it('never parses a torn last line, and counts a broken complete line as skipped', () => {
    fs.writeFileSync(file, '{"n":1}\nnot json\n{"n":2}\n{"n":3,"x"');
    const tail = new JsonlTail<{ n: number }>(file);
    assert.deepEqual(tail.read(), { records: [{ n: 1 }, { n: 2 }], reset: false, skipped: 1 });
  });

  it('starts over, flagged reset, when the file is replaced (as resume rewrites it) or truncated', () => {
    fs.writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":3}\n');
    const tail = new JsonlTail<{ n: number }>(file);
    tail.read();
    // Atomic replace: a new inode with content of the same length as before.
    fs.writeFileSync(`${file}.tmp`, '{"n":1}\n{"n":2}\n{"n":9}\n');
    fs.renameSync(`${file}.tmp`, file);
    assert.deepEqual(tail.read(), { records: [{ n: 1 }, { n: 2 }, { n: 9 }], reset: true, skipped: 0 });
    fs.truncateSync(file, 8);
    assert.deepEqual(tail.read(), { records: [{ n: 1 }], reset: true, skipped: 0 });
  });
});
