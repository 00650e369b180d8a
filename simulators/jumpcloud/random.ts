const GAMMA = 0x6d2b79f5;

/** Draws each stream of `Random.stream` has to itself before it runs into the next one. */
export const STREAM_DRAWS = 1024;
const STREAM_STEP = Math.imul(STREAM_DRAWS, GAMMA) >>> 0;

/** A small seeded PRNG (mulberry32): the same seed always gives the same tenant. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /**
   * The `index`-th independent stream of `seed`. mulberry32's state is a counter, so streams
   * spaced STREAM_DRAWS steps apart never share a draw (for up to 2^32 / STREAM_DRAWS streams).
   */
  static stream(seed: number, index: number): Random {
    return new Random(seed + Math.imul(index, STREAM_STEP));
  }

  /** Uniform in [0, 2^32). */
  uint32(): number {
    this.state = (this.state + GAMMA) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Lowercase hex digits. */
  hex(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += "0123456789abcdef"[this.int(0, 15)];
    return out;
  }

  /** An uppercase GUID, as RADIUS events carry. */
  guid(): string {
    const h = this.hex(32).toUpperCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
