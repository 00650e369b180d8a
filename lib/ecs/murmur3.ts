/**
 * MurmurHash3 x64 128-bit (seed 0), the hash behind Elasticsearch's `fingerprint` processor
 * with `method: MurmurHash3`. Returns h1 then h2, each big-endian: 16 bytes.
 */
// 64-bit lanes are kept as (hi, lo) pairs of unsigned 32-bit integers: BigInt would be simpler
// but costs an allocation per operation, and this runs once per event.

let rh = 0;
let rl = 0;

function mul(ah: number, al: number, bh: number, bl: number): void {
  const a48 = ah >>> 16;
  const a32 = ah & 0xffff;
  const a16 = al >>> 16;
  const a00 = al & 0xffff;
  const b48 = bh >>> 16;
  const b32 = bh & 0xffff;
  const b16 = bl >>> 16;
  const b00 = bl & 0xffff;
  let c00 = a00 * b00;
  let c16 = c00 >>> 16;
  c00 &= 0xffff;
  c16 += a16 * b00;
  let c32 = c16 >>> 16;
  c16 &= 0xffff;
  c16 += a00 * b16;
  c32 += c16 >>> 16;
  c16 &= 0xffff;
  c32 += a32 * b00;
  let c48 = c32 >>> 16;
  c32 &= 0xffff;
  c32 += a16 * b16;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c32 += a00 * b32;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48;
  c48 &= 0xffff;
  rh = ((c48 << 16) | c32) >>> 0;
  rl = ((c16 << 16) | c00) >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

function rotl(h: number, l: number, r: number): void {
  if (r >= 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  if (r === 0) {
    rh = h;
    rl = l;
    return;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

const C1H = 0x87c37b91;
const C1L = 0x114253d5;
const C2H = 0x4cf5ad43;
const C2L = 0x2745937f;

function fmix(h: number, l: number): void {
  l = (l ^ (h >>> 1)) >>> 0;
  mul(h, l, 0xff51afd7, 0xed558ccd);
  h = rh;
  l = (rl ^ (rh >>> 1)) >>> 0;
  mul(h, l, 0xc4ceb9fe, 0x1a85ec53);
  rl = (rl ^ (rh >>> 1)) >>> 0;
}

function readLe32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

/** MurmurHash3 x64 128 of `data` with seed 0, as 16 bytes (h1 big-endian, then h2 big-endian). */
export function murmur3x64x128(data: Uint8Array): Uint8Array {
  const len = data.length;
  const blocks = len >>> 4;
  let h1h = 0;
  let h1l = 0;
  let h2h = 0;
  let h2l = 0;
  let k1h: number;
  let k1l: number;
  let k2h: number;
  let k2l: number;

  for (let i = 0; i < blocks; i++) {
    const o = i << 4;
    k1l = readLe32(data, o);
    k1h = readLe32(data, o + 4);
    k2l = readLe32(data, o + 8);
    k2h = readLe32(data, o + 12);

    mul(k1h, k1l, C1H, C1L);
    rotl(rh, rl, 31);
    mul(rh, rl, C2H, C2L);
    h1h = (h1h ^ rh) >>> 0;
    h1l = (h1l ^ rl) >>> 0;
    rotl(h1h, h1l, 27);
    add(rh, rl, h2h, h2l);
    mul(rh, rl, 0, 5);
    add(rh, rl, 0, 0x52dce729);
    h1h = rh;
    h1l = rl;

    mul(k2h, k2l, C2H, C2L);
    rotl(rh, rl, 33);
    mul(rh, rl, C1H, C1L);
    h2h = (h2h ^ rh) >>> 0;
    h2l = (h2l ^ rl) >>> 0;
    rotl(h2h, h2l, 31);
    add(rh, rl, h1h, h1l);
    mul(rh, rl, 0, 5);
    add(rh, rl, 0, 0x38495ab5);
    h2h = rh;
    h2l = rl;
  }

  const tail = blocks << 4;
  const rest = len & 15;
  if (rest > 0) {
    k1h = 0;
    k1l = 0;
    k2h = 0;
    k2l = 0;
    for (let j = rest - 1; j >= 0; j--) {
      const byte = data[tail + j] ?? 0;
      if (j >= 12) k2h = (k2h | (byte << ((j - 12) * 8))) >>> 0;
      else if (j >= 8) k2l = (k2l | (byte << ((j - 8) * 8))) >>> 0;
      else if (j >= 4) k1h = (k1h | (byte << ((j - 4) * 8))) >>> 0;
      else k1l = (k1l | (byte << (j * 8))) >>> 0;
    }
    if (rest > 8) {
      mul(k2h, k2l, C2H, C2L);
      rotl(rh, rl, 33);
      mul(rh, rl, C1H, C1L);
      h2h = (h2h ^ rh) >>> 0;
      h2l = (h2l ^ rl) >>> 0;
    }
    mul(k1h, k1l, C1H, C1L);
    rotl(rh, rl, 31);
    mul(rh, rl, C2H, C2L);
    h1h = (h1h ^ rh) >>> 0;
    h1l = (h1l ^ rl) >>> 0;
  }

  // Lengths beyond 2^32 bytes never reach this code (a fingerprint input is two short strings).
  h1l = (h1l ^ len) >>> 0;
  h2l = (h2l ^ len) >>> 0;
  add(h1h, h1l, h2h, h2l);
  h1h = rh;
  h1l = rl;
  add(h2h, h2l, h1h, h1l);
  h2h = rh;
  h2l = rl;
  fmix(h1h, h1l);
  h1h = rh;
  h1l = rl;
  fmix(h2h, h2l);
  h2h = rh;
  h2l = rl;
  add(h1h, h1l, h2h, h2l);
  h1h = rh;
  h1l = rl;
  add(h2h, h2l, h1h, h1l);
  h2h = rh;
  h2l = rl;

  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, h1h);
  view.setUint32(4, h1l);
  view.setUint32(8, h2h);
  view.setUint32(12, h2l);
  return out;
}
