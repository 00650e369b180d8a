/**
 * MurmurHash3 x64 128-bit (seed 0), the hash behind Elasticsearch's `fingerprint` processor
 * with `method: MurmurHash3`. Returns h1 then h2, each big-endian: 16 bytes.
 */
// 64-bit lanes are (hi, lo) pairs of unsigned 32-bit words held in a typed array: BigInt would be
// simpler but allocates on every operation, and this runs once per event.

// Registers: H1 = [0,1], H2 = [2,3], K1 = [4,5], K2 = [6,7], scratch = [8,9] (hi, lo each).
const reg = new Uint32Array(10);
const H1 = 0;
const H2 = 2;
const K1 = 4;
const K2 = 6;

/** reg[r] = reg[r] * (bh, bl) mod 2^64 */
function mulInto(r: number, bh: number, bl: number): void {
  const ah = reg[r] as number;
  const al = reg[r + 1] as number;
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
  const carry = a1 * b1 + w2 + (t >>> 16);
  reg[r + 1] = ((t & 0xffff) << 16) | w0;
  reg[r] = carry + Math.imul(ah, bl) + Math.imul(al, bh);
}

/** reg[r] = rotl64(reg[r], n) for 0 < n < 64, n ≠ 32 */
function rotlInto(r: number, n: number): void {
  let h = reg[r] as number;
  let l = reg[r + 1] as number;
  if (n > 32) {
    const t = h;
    h = l;
    l = t;
    n -= 32;
  }
  reg[r] = (h << n) | (l >>> (32 - n));
  reg[r + 1] = (l << n) | (h >>> (32 - n));
}

/** reg[r] = reg[r] + reg[s] mod 2^64 */
function addInto(r: number, s: number): void {
  const lo = (reg[r + 1] as number) + (reg[s + 1] as number);
  reg[r] = (reg[r] as number) + (reg[s] as number) + (lo > 0xffffffff ? 1 : 0);
  reg[r + 1] = lo;
}

/** reg[r] = reg[r] + (0, c) mod 2^64 */
function addSmall(r: number, c: number): void {
  const lo = (reg[r + 1] as number) + c;
  reg[r] = (reg[r] as number) + (lo > 0xffffffff ? 1 : 0);
  reg[r + 1] = lo;
}

/** reg[r] ^= reg[s] */
function xorInto(r: number, s: number): void {
  reg[r] = (reg[r] as number) ^ (reg[s] as number);
  reg[r + 1] = (reg[r + 1] as number) ^ (reg[s + 1] as number);
}

/** reg[r] ^= reg[r] >>> 33 */
function xorShift33(r: number): void {
  reg[r + 1] = (reg[r + 1] as number) ^ ((reg[r] as number) >>> 1);
}

function fmix(r: number): void {
  xorShift33(r);
  mulInto(r, 0xff51afd7, 0xed558ccd);
  xorShift33(r);
  mulInto(r, 0xc4ceb9fe, 0x1a85ec53);
  xorShift33(r);
}

const C1H = 0x87c37b91;
const C1L = 0x114253d5;
const C2H = 0x4cf5ad43;
const C2L = 0x2745937f;

function mixK1(): void {
  mulInto(K1, C1H, C1L);
  rotlInto(K1, 31);
  mulInto(K1, C2H, C2L);
  xorInto(H1, K1);
}

function mixK2(): void {
  mulInto(K2, C2H, C2L);
  rotlInto(K2, 33);
  mulInto(K2, C1H, C1L);
  xorInto(H2, K2);
}

function readLe32(b: Uint8Array, i: number): number {
  return (
    ((b[i] as number) |
      ((b[i + 1] as number) << 8) |
      ((b[i + 2] as number) << 16) |
      ((b[i + 3] as number) << 24)) >>>
    0
  );
}

/**
 * MurmurHash3 x64 128 of `data` with seed 0, as 16 bytes (h1 big-endian, then h2 big-endian),
 * written into `out` when given.
 */
export function murmur3x64x128(data: Uint8Array, out: Uint8Array = new Uint8Array(16)): Uint8Array {
  const len = data.length;
  const blocks = len >>> 4;
  reg.fill(0);

  for (let i = 0; i < blocks; i++) {
    const o = i << 4;
    reg[K1 + 1] = readLe32(data, o);
    reg[K1] = readLe32(data, o + 4);
    reg[K2 + 1] = readLe32(data, o + 8);
    reg[K2] = readLe32(data, o + 12);

    mixK1();
    rotlInto(H1, 27);
    addInto(H1, H2);
    mulInto(H1, 0, 5);
    addSmall(H1, 0x52dce729);

    mixK2();
    rotlInto(H2, 31);
    addInto(H2, H1);
    mulInto(H2, 0, 5);
    addSmall(H2, 0x38495ab5);
  }

  const tail = blocks << 4;
  const rest = len & 15;
  if (rest > 0) {
    reg[K1] = 0;
    reg[K1 + 1] = 0;
    reg[K2] = 0;
    reg[K2 + 1] = 0;
    for (let j = rest - 1; j >= 0; j--) {
      const byte = data[tail + j] as number;
      // K1 holds bytes 0-7 (low word first), K2 bytes 8-15.
      const word = j >= 12 ? K2 : j >= 8 ? K2 + 1 : j >= 4 ? K1 : K1 + 1;
      reg[word] = (reg[word] as number) | (byte << ((j & 3) * 8));
    }
    if (rest > 8) mixK2();
    mixK1();
  }

  // Lengths beyond 2^32 bytes never reach this code (a fingerprint input is two short strings).
  reg[H1 + 1] = (reg[H1 + 1] as number) ^ len;
  reg[H2 + 1] = (reg[H2 + 1] as number) ^ len;
  addInto(H1, H2);
  addInto(H2, H1);
  fmix(H1);
  fmix(H2);
  addInto(H1, H2);
  addInto(H2, H1);

  for (let i = 0; i < 4; i++) {
    const word = reg[i] as number;
    out[i * 4] = word >>> 24;
    out[i * 4 + 1] = word >>> 16;
    out[i * 4 + 2] = word >>> 8;
    out[i * 4 + 3] = word;
  }
  return out;
}
