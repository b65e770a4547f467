/** The one .npy header reader (src/shared/npyHeader.ts), on headers built byte by byte. */
import { strict as assert } from 'node:assert';
import { readNpyHeader } from '../../src/shared/npyHeader';

function npy(version: number, header: string): Buffer {
  const lengthBytes = version === 1 ? 2 : 4;
  const buf = Buffer.alloc(8 + lengthBytes + header.length);
  buf.writeUInt8(0x93, 0);
  buf.write('NUMPY', 1, 'latin1');
  buf.writeUInt8(version, 6);
  if (version === 1) buf.writeUInt16LE(header.length, 8);
  else buf.writeUInt32LE(header.length, 8);
  buf.write(header, 8 + lengthBytes, 'latin1');
  return buf;
}

describe('.npy header', () => {
  it('reads versions 1 and 2: dtype, order, shape and where the data starts', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 7), }\n";
    assert.deepEqual(readNpyHeader(npy(2, header)), { descr: '<f8', shape: [3, 7], fortranOrder: false, dataOffset: 12 + header.length });
    assert.deepEqual(readNpyHeader(npy(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (5,), }\n")), {
      descr: '|u1',
      shape: [5],
      fortranOrder: true,
      dataOffset: 10 + 57,
    });
  });

  it('names what is wrong instead of guessing', () => {
    assert.deepEqual(readNpyHeader(Buffer.from('not numpy')), { problem: 'not-npy' });
    const v9 = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
    v9[6] = 9;
    assert.deepEqual(readNpyHeader(v9), { problem: 'version', version: '9.0' });
    assert.deepEqual(readNpyHeader(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }").subarray(0, 20)), { problem: 'truncated' });
    assert.equal((readNpyHeader(npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")) as { problem: string }).problem, 'no-descr');
    assert.equal((readNpyHeader(npy(1, "{'descr': '<f4', 'shape': (1,), }")) as { problem: string }).problem, 'unreadable');
    assert.equal((readNpyHeader(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }")) as { problem: string }).problem, 'bad-shape');
  });
});
