/**
 * The ONNX file format (a protobuf `ModelProto`, onnx/onnx.proto3), read and written by hand for the few messages and
 * fields Distill needs. No npm protobuf library fits: `onnx-proto` pins protobufjs 6, and a generic library would
 * still need the schema compiled in. The protobuf wire format itself is small (varints, length-delimited fields,
 * fixed 32/64-bit values), so this is the minimal encoding the issue allows.
 *
 * Reading (`describeOnnx`) decodes only what a description needs: opset, inputs and outputs with their shapes, and
 * the initializers' element counts and bytes (their data is skipped, not copied). Writing (`encodeModel`) builds a
 * graph of nodes and float32 initializers, for the student exporter and the tests' tiny models.
 * No vscode, no tfjs, no Node APIs: the extension host, the engine and the tests all use it.
 */

// ---------------------------------------------------------------- wire format

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** One field of a message as read: its number, wire type and value (a number, or the bytes of a length-delimited field). */
interface Field {
  no: number;
  wire: number;
  /** varint (as a JS number: ONNX's int64 fields here are dims, versions and enum codes) or fixed value. */
  num: number;
  bytes: Uint8Array;
}

export class OnnxFormatError extends Error {}

function readVarint(buf: Uint8Array, pos: { at: number }): number {
  let result = 0;
  let shift = 1;
  for (let i = 0; i < 10; i++) {
    if (pos.at >= buf.length) throw new OnnxFormatError('truncated varint');
    const b = buf[pos.at++];
    result += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) {
      // Negative int64 values come as 10-byte two's complement; ONNX uses -1 for unknown dims in a few exporters.
      return result >= 2 ** 63 ? result - 2 ** 64 : result;
    }
    shift *= 128;
  }
  throw new OnnxFormatError('varint longer than 10 bytes');
}

/** The fields of one message, in order. Throws OnnxFormatError on bytes that are not a protobuf message. */
function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const pos = { at: 0 };
  const empty = new Uint8Array(0);
  while (pos.at < buf.length) {
    const key = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (no < 1) throw new OnnxFormatError(`field number ${no}`);
    if (wire === WIRE.varint) out.push({ no, wire, num: readVarint(buf, pos), bytes: empty });
    else if (wire === WIRE.bytes) {
      const len = readVarint(buf, pos);
      if (len < 0 || pos.at + len > buf.length) throw new OnnxFormatError('length-delimited field runs past the end');
      out.push({ no, wire, num: len, bytes: buf.subarray(pos.at, pos.at + len) });
      pos.at += len;
    } else if (wire === WIRE.fixed32 || wire === WIRE.fixed64) {
      const n = wire === WIRE.fixed32 ? 4 : 8;
      if (pos.at + n > buf.length) throw new OnnxFormatError('fixed field runs past the end');
      const view = new DataView(buf.buffer, buf.byteOffset + pos.at, n);
      out.push({ no, wire, num: n === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true), bytes: buf.subarray(pos.at, pos.at + n) });
      pos.at += n;
    } else throw new OnnxFormatError(`wire type ${wire}`);
  }
  return out;
}

const utf8 = new TextDecoder();
const str = (f: Field) => utf8.decode(f.bytes);

/** Packed (or repeated unpacked) varints of field `no`. */
function varints(fs: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fs) {
    if (f.no !== no) continue;
    if (f.wire === WIRE.varint) out.push(f.num);
    else if (f.wire === WIRE.bytes) {
      const pos = { at: 0 };
      while (pos.at < f.bytes.length) out.push(readVarint(f.bytes, pos));
    }
  }
  return out;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array) {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(v: number) {
    const bytes: number[] = [];
    let n = v < 0 ? 2 ** 64 + v : v;
    if (v < 0) {
      // Two's complement over 64 bits, built from BigInt to keep every bit.
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) {
        bytes.push(Number(b & 0x7fn) | 0x80);
        b >>= 7n;
      }
      bytes.push(Number(b));
    } else {
      while (n >= 0x80) {
        bytes.push((n % 128) | 0x80);
        n = Math.floor(n / 128);
      }
      bytes.push(n);
    }
    this.push(Uint8Array.from(bytes));
  }

  int(no: number, v: number | undefined): this {
    if (v === undefined) return this;
    this.varint(no * 8 + WIRE.varint);
    this.varint(v);
    return this;
  }

  bytes(no: number, b: Uint8Array): this {
    this.varint(no * 8 + WIRE.bytes);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(no: number, s: string | undefined): this {
    return s === undefined ? this : this.bytes(no, new TextEncoder().encode(s));
  }

  message(no: number, w: Writer): this {
    return this.bytes(no, w.finish());
  }

  float(no: number, v: number): this {
    this.varint(no * 8 + WIRE.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  packedInts(no: number, vs: readonly number[]): this {
    const inner = new Writer();
    for (const v of vs) inner.varint(v);
    return this.bytes(no, inner.finish());
  }

  packedFloats(no: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const view = new DataView(b.buffer);
    vs.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(no, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// ---------------------------------------------------------------- the ONNX messages

/** TensorProto.DataType codes and their element sizes in bytes. */
export const ONNX_DTYPES: Record<number, { name: string; bytes: number }> = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'uint8', bytes: 1 },
  3: { name: 'int8', bytes: 1 },
  4: { name: 'uint16', bytes: 2 },
  5: { name: 'int16', bytes: 2 },
  6: { name: 'int32', bytes: 4 },
  7: { name: 'int64', bytes: 8 },
  8: { name: 'string', bytes: 0 },
  9: { name: 'bool', bytes: 1 },
  10: { name: 'float16', bytes: 2 },
  11: { name: 'float64', bytes: 8 },
  12: { name: 'uint32', bytes: 4 },
  13: { name: 'uint64', bytes: 8 },
  16: { name: 'bfloat16', bytes: 2 },
};
export const FLOAT = 1;
export const INT64 = 7;

/** A dimension: a number, a symbolic name (`"batch"`), or null when the file says nothing. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** Element type name (`float32`), or undefined for a non-tensor value. */
  elemType?: string;
  /** undefined when the file gives no shape. */
  shape?: OnnxDim[];
}

export interface OnnxModelInfo {
  irVersion: number;
  /** Version of the default (ai.onnx) domain; other domains listed in `opsets`. */
  opset: number | undefined;
  opsets: { domain: string; version: number }[];
  producer: string;
  /** Graph inputs that are not initializers: what a caller feeds. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Elements in every initializer (the weights). */
  params: number;
  /** Bytes those elements take (element count × element size). */
  weightBytes: number;
  nodes: number;
  /** Initializers stored outside the file (external data): counted, but their bytes are not in this file. */
  externalInitializers: number;
}

function readValueInfo(buf: Uint8Array): OnnxValueInfo {
  const fs = fields(buf);
  const name = fs.find((f) => f.no === 1);
  const info: OnnxValueInfo = { name: name ? str(name) : '' };
  const type = fs.find((f) => f.no === 2);
  const tensor = type && fields(type.bytes).find((f) => f.no === 1);
  if (!tensor) return info;
  const tfs = fields(tensor.bytes);
  const elem = tfs.find((f) => f.no === 1)?.num;
  info.elemType = elem !== undefined ? (ONNX_DTYPES[elem]?.name ?? `type ${elem}`) : undefined;
  const shape = tfs.find((f) => f.no === 2);
  if (shape) {
    info.shape = fields(shape.bytes)
      .filter((f) => f.no === 1)
      .map((d) => {
        const dfs = fields(d.bytes);
        const value = dfs.find((f) => f.no === 1);
        const param = dfs.find((f) => f.no === 2);
        return value ? value.num : param ? str(param) : null;
      });
  }
  return info;
}

/** Describe an ONNX model from its bytes. Throws OnnxFormatError when the bytes are not an ONNX ModelProto. */
export function describeOnnx(bytes: Uint8Array): OnnxModelInfo {
  const model = fields(bytes);
  const graph = model.find((f) => f.no === 7 && f.wire === WIRE.bytes);
  const ir = model.find((f) => f.no === 1 && f.wire === WIRE.varint);
  if (!graph || !ir) throw new OnnxFormatError('no graph or IR version: not an ONNX ModelProto');
  const opsets = model
    .filter((f) => f.no === 8)
    .map((f) => {
      const o = fields(f.bytes);
      const domain = o.find((x) => x.no === 1);
      return { domain: domain ? str(domain) : '', version: o.find((x) => x.no === 2)?.num ?? 0 };
    });
  const producer = [model.find((f) => f.no === 2), model.find((f) => f.no === 3)]
    .filter((f): f is Field => !!f)
    .map(str)
    .join(' ');
  const g = fields(graph.bytes);
  let params = 0;
  let weightBytes = 0;
  let external = 0;
  const initNames = new Set<string>();
  for (const init of g.filter((f) => f.no === 5)) {
    const t = fields(init.bytes);
    const dims = varints(t, 1);
    const count = dims.reduce((a, b) => a * b, 1);
    const dtype = t.find((f) => f.no === 2)?.num ?? FLOAT;
    const name = t.find((f) => f.no === 8);
    if (name) initNames.add(str(name));
    if (t.find((f) => f.no === 14)?.num === 1) external++;
    params += count;
    weightBytes += count * (ONNX_DTYPES[dtype]?.bytes ?? 4);
  }
  return {
    irVersion: ir.num,
    opset: opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version,
    opsets,
    producer,
    inputs: g
      .filter((f) => f.no === 11)
      .map((f) => readValueInfo(f.bytes))
      .filter((v) => !initNames.has(v.name)),
    outputs: g.filter((f) => f.no === 12).map((f) => readValueInfo(f.bytes)),
    params,
    weightBytes,
    nodes: g.filter((f) => f.no === 1).length,
    externalInitializers: external,
  };
}

export const formatOnnxShape = (shape: OnnxDim[] | undefined) => (shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[?]');

// ---------------------------------------------------------------- writing

export type OnnxAttribute = number | string | readonly number[] | { floats: readonly number[] } | { float: number };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Record<string, OnnxAttribute>;
}

export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  /** float32 values, or int64 values (written as `INT64`, for Reshape shapes). */
  data: Float32Array | { int64: readonly number[] };
}

export interface OnnxGraphSpec {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly { name: string; shape: readonly OnnxDim[]; elemType?: number }[];
  outputs: readonly { name: string; shape: readonly OnnxDim[]; elemType?: number }[];
  opset: number;
  irVersion?: number;
  producer?: { name: string; version: string };
}

function valueInfo(v: { name: string; shape: readonly OnnxDim[]; elemType?: number }): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensor = new Writer().int(1, v.elemType ?? FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

function attribute(name: string, value: OnnxAttribute): Writer {
  const w = new Writer().string(1, name);
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7.
  if (typeof value === 'number') return w.int(3, value).int(20, 2);
  if (typeof value === 'string') return w.string(4, value).int(20, 3);
  if ('float' in value) return w.float(2, value.float).int(20, 1);
  if ('floats' in value) return w.packedFloats(7, value.floats).int(20, 6);
  return w.packedInts(8, value as readonly number[]).int(20, 7);
}

function initializer(init: OnnxInitializer): Writer {
  const w = new Writer().packedInts(1, init.dims);
  if (init.data instanceof Float32Array) {
    const raw = new Uint8Array(init.data.length * 4);
    const view = new DataView(raw.buffer);
    init.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return w.int(2, FLOAT).string(8, init.name).bytes(9, raw);
  }
  return w.int(2, INT64).packedInts(7, init.data.int64).string(8, init.name);
}

/** A ModelProto for `spec`: default-domain opset `spec.opset`, float32 inputs and outputs unless told otherwise. */
export function encodeModel(spec: OnnxGraphSpec): Uint8Array {
  const graph = new Writer();
  spec.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const input of n.inputs) node.string(1, input);
    for (const output of n.outputs) node.string(2, output);
    node.string(3, n.name ?? `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  });
  graph.string(2, spec.name);
  for (const init of spec.initializers) graph.message(5, initializer(init));
  for (const input of spec.inputs) graph.message(11, valueInfo(input));
  for (const output of spec.outputs) graph.message(12, valueInfo(output));
  return new Writer()
    .int(1, spec.irVersion ?? 8)
    .string(2, spec.producer?.name ?? 'Distill')
    .string(3, spec.producer?.version ?? '')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, spec.opset))
    .finish();
}
