/**
 * MurmurHash3 x64 128-bit (seed 0), the hash behind Elasticsearch's `fingerprint` processor
 * with `method: MurmurHash3`. Returns h1 then h2, each big-endian: 16 bytes.
 */
// 64-bit lanes are (hi, lo) pairs of 32-bit words kept as signed int32 locals: BigInt would be
// simpler but allocates on every operation, words above 2^31 would be boxed doubles, and this
// runs once per event. The helpers return the high word and leave the low one in `low`.
let low = 0;

function mulHi(ah: number, al: number, bh: number, bl: number): number {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  let t = a0 * b0;
  const w0 = t & 0xffff;
  t = a1 * b0 + (t >>> 16);
  const w1 = t & 0xffff;
  const w2 = t >>> 16;
  t = a0 * b1 + w1;
  low = ((t & 0xffff) << 16) | w0 | 0;
  return (a1 * b1 + w2 + (t >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

function addHi(ah: number, al: number, bh: number, bl: number): number {
  const lo = (al >>> 0) + (bl >>> 0);
  low = lo | 0;
  return (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
}

const C1H = 0x87c37b91 | 0;
const C1L = 0x114253d5;
const C2H = 0x4cf5ad43;
const C2L = 0x2745937f;

/** rotl64((h, l), n) for 0 < n < 32: returns the high word. */
function rotlHi(h: number, l: number, n: number): number {
  low = (l << n) | (h >>> (32 - n));
  return (h << n) | (l >>> (32 - n));
}

/** k1 * c1, rotl 31, * c2: the first lane of a block, before it joins h1. */
function scrambleK1(h: number, l: number): number {
  h = mulHi(h, l, C1H, C1L);
  h = rotlHi(h, low, 31);
  return mulHi(h, low, C2H, C2L);
}

/** k2 * c2, rotl 33, * c1: the second lane, before it joins h2. rotl 33 is rotl 1 of the swapped words. */
function scrambleK2(h: number, l: number): number {
  h = mulHi(h, l, C2H, C2L);
  h = rotlHi(low, h, 1);
  return mulHi(h, low, C1H, C1L);
}

/** rotl(h, n) + other, * 5 + add: how each lane is stirred after a block. */
function stirHi(h: number, l: number, n: number, otherH: number, otherL: number, add: number): number {
  h = rotlHi(h, l, n);
  h = addHi(h, low, otherH, otherL);
  h = mulHi(h, low, 0, 5);
  return addHi(h, low, 0, add);
}

/** fmix64: returns the high word. */
function fmixHi(h: number, l: number): number {
  l ^= h >>> 1;
  h = mulHi(h, l, 0xff51afd7 | 0, 0xed558ccd | 0);
  l = low ^ (h >>> 1);
  h = mulHi(h, l, 0xc4ceb9fe | 0, 0x1a85ec53);
  low ^= h >>> 1;
  return h;
}

function readLe32(b: Uint8Array, i: number): number {
  return (
    (b[i] as number) |
    ((b[i + 1] as number) << 8) |
    ((b[i + 2] as number) << 16) |
    ((b[i + 3] as number) << 24)
  );
}

function writeBe32(out: Uint8Array, i: number, word: number): void {
  out[i] = word >>> 24;
  out[i + 1] = word >>> 16;
  out[i + 2] = word >>> 8;
  out[i + 3] = word;
}

/**
 * MurmurHash3 x64 128 of the first `length` bytes of `data` with seed 0, as 16 bytes (h1
 * big-endian, then h2 big-endian), written into `out` when given.
 */
export function murmur3x64x128(
  data: Uint8Array,
  out: Uint8Array = new Uint8Array(16),
  length: number = data.length,
): Uint8Array {
  let h1h = 0;
  let h1l = 0;
  let h2h = 0;
  let h2l = 0;
  let kh = 0;
  const blocks = length >>> 4;
  for (let o = 0; o < blocks << 4; o += 16) {
    kh = scrambleK1(readLe32(data, o + 4), readLe32(data, o));
    h1h ^= kh;
    h1l ^= low;
    h1h = stirHi(h1h, h1l, 27, h2h, h2l, 0x52dce729);
    h1l = low;
    kh = scrambleK2(readLe32(data, o + 12), readLe32(data, o + 8));
    h2h ^= kh;
    h2l ^= low;
    h2h = stirHi(h2h, h2l, 31, h1h, h1l, 0x38495ab5);
    h2l = low;
  }
  const rest = length & 15;
  if (rest > 0) {
    // The tail, little-endian: bytes 0-7 in k1 (low word first), 8-15 in k2.
    const k = [0, 0, 0, 0];
    const tail = blocks << 4;
    for (let j = 0; j < rest; j++)
      k[j >>> 2] = (k[j >>> 2] as number) | ((data[tail + j] as number) << ((j & 3) * 8));
    if (rest > 8) {
      kh = scrambleK2(k[3] as number, k[2] as number);
      h2h ^= kh;
      h2l ^= low;
    }
    kh = scrambleK1(k[1] as number, k[0] as number);
    h1h ^= kh;
    h1l ^= low;
  }
  // Lengths beyond 2^32 bytes never reach this code (a fingerprint input is two short strings).
  h1l ^= length;
  h2l ^= length;
  h1h = addHi(h1h, h1l, h2h, h2l);
  h1l = low;
  h2h = addHi(h2h, h2l, h1h, h1l);
  h2l = low;
  h1h = fmixHi(h1h, h1l);
  h1l = low;
  h2h = fmixHi(h2h, h2l);
  h2l = low;
  h1h = addHi(h1h, h1l, h2h, h2l);
  h1l = low;
  h2h = addHi(h2h, h2l, h1h, h1l);
  h2l = low;
  writeBe32(out, 0, h1h);
  writeBe32(out, 4, h1l);
  writeBe32(out, 8, h2h);
  writeBe32(out, 12, h2l);
  return out;
}
