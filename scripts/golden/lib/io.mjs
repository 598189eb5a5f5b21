// Byte-exact writers used by the golden generator: seeded PRNG, NPY v1.0,
// safetensors, and a JSON dumper that prints what Python's json.dumps prints
// (", " / ": " separators, Python float repr), so model.json reads like Keras'.

// mulberry32: tiny, well-known 32-bit PRNG; identical sequence on every platform.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Seed derived from a string (FNV-1a), so every case/variable has its own stream
// and adding a case does not change the others.
export function seedOf(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function uniformF32(key, n, lo, hi) {
  const rnd = mulberry32(seedOf(key));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}

export function randintI32(key, n, lo, hi) {
  const rnd = mulberry32(seedOf(key));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor((hi - lo) * rnd());
  return out;
}

// ---------------------------------------------------------------- NPY v1.0
// Same bytes as numpy.save: header dict, spaces, '\n', total prefix % 64 == 0.
export function npyBytes(typed, shape) {
  let descr;
  if (typed instanceof Float32Array) descr = '<f4';
  else if (typed instanceof Int32Array) descr = '<i4';
  else throw new Error('npyBytes: unsupported array type');
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== typed.length) throw new Error(`npyBytes: shape ${shape} does not match ${typed.length} elements`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const pre = 10; // magic(6) + version(2) + header_len(2)
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const buf = Buffer.alloc(total + typed.byteLength);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1; buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).copy(buf, total);
  return buf;
}

// ---------------------------------------------------------------- safetensors
// tensors: [{key, dtype:'F32'|'I32'|'I64', shape, data: TypedArray}]. Layout as the
// reference writer: sorted by dtype (larger first) then name, contiguous,
// header padded with spaces to a multiple of 8.
const ST_ORDER = { I64: 0, F64: 1, F32: 2, I32: 3 }; // Rust Dtype enum: ... I32 < F32 < F64 < I64
export function safetensorsBytes(tensors, metadata) {
  const sorted = [...tensors].sort((a, b) =>
    ST_ORDER[a.dtype] - ST_ORDER[b.dtype] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const seen = new Set();
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of sorted) {
    if (seen.has(t.key)) throw new Error(`safetensors: duplicate key ${t.key}`);
    seen.add(t.key);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${t.key}: shape/data mismatch`);
    header[t.key] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hlen = Buffer.byteLength(json);
  const buf = Buffer.alloc(8 + hlen + off);
  buf.writeBigUInt64LE(BigInt(hlen), 0);
  buf.write(json, 8, 'utf8');
  let pos = 8 + hlen;
  for (const t of sorted) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(buf, pos);
    pos += t.data.byteLength;
  }
  return buf;
}

// ---------------------------------------------------------------- Python-style JSON
// A number that Python holds as a float (printed "1.0", "1e-07").
export class PyFloat {
  constructor(v) { this.v = v; }
}
export const F = (v) => new PyFloat(v);

function pyFloatRepr(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = v.toExponential().split('e'); // shortest round-trip digits
  const exp = parseInt(expStr, 10);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      s = intPart + '.' + (frac.length ? frac : '0');
    } else {
      s = '0.' + '0'.repeat(-exp - 1) + digits;
    }
  } else {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const e = Math.abs(exp) < 10 ? '0' + Math.abs(exp) : String(Math.abs(exp));
    s = m + 'e' + (exp < 0 ? '-' : '+') + e;
  }
  return (neg ? '-' : '') + s;
}

export function pyDumps(obj) {
  if (obj === null || obj === undefined) return 'null';
  if (obj instanceof PyFloat) return pyFloatRepr(obj.v);
  if (typeof obj === 'boolean') return obj ? 'true' : 'false';
  if (typeof obj === 'number') {
    if (!Number.isInteger(obj)) return pyFloatRepr(obj);
    return String(obj);
  }
  if (typeof obj === 'string') return JSON.stringify(obj);
  if (Array.isArray(obj)) return '[' + obj.map(pyDumps).join(', ') + ']';
  const parts = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    parts.push(JSON.stringify(k) + ': ' + pyDumps(v));
  }
  return '{' + parts.join(', ') + '}';
}

// Pretty JSON for our own files (manifest, weights index): stable, 2-space indent.
export function prettyJson(obj) {
  return JSON.stringify(obj, (k, v) => (v instanceof PyFloat ? v.v : v), 2) + '\n';
}
