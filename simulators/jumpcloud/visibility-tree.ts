// Each summary covers 32 entries of the level below: five levels summarise 33 million events.
const FANOUT = 32;

/**
 * Which events of a sorted run a query may see (`visibleAt <= now`), without reading them all: the
 * cost grows with the events not visible yet inside the range (a recent tail), not the run's length.
 */
// Each level keeps the smallest and largest `visibleAt` of 32 entries of the level below, so
// whole blocks are counted or skipped at once.
export class VisibilityTree {
  private readonly mins: Float64Array[] = [];
  private readonly maxs: Float64Array[] = [];
  private readonly widths: number[] = [1];

  constructor(private readonly visibleAt: Float64Array) {
    let mins = visibleAt;
    let maxs = visibleAt;
    this.mins.push(mins);
    this.maxs.push(maxs);
    while (mins.length > 1) {
      [mins, maxs] = summarise(mins, maxs);
      this.mins.push(mins);
      this.maxs.push(maxs);
      this.widths.push((this.widths.at(-1) as number) * FANOUT);
    }
  }

  /** How many of [from, to) are visible at `now`. */
  countVisible(from: number, to: number, now: number): number {
    if (from >= to) return 0;
    return this.count(this.top, 0, from, to, now);
  }

  /** The first visible index in [from, to), or -1. */
  firstVisible(from: number, to: number, now: number): number {
    if (from >= to) return -1;
    if ((this.visibleAt[from] as number) <= now) return from;
    return this.first(this.top, 0, from, to, now);
  }

  /** The last visible index in [from, to), or -1. */
  lastVisible(from: number, to: number, now: number): number {
    if (from >= to) return -1;
    if ((this.visibleAt[to - 1] as number) <= now) return to - 1;
    return this.last(this.top, 0, from, to, now);
  }

  private get top(): number {
    return this.mins.length - 1;
  }

  private count(level: number, node: number, from: number, to: number, now: number): number {
    const width = this.widths[level] as number;
    const start = node * width;
    const end = Math.min(start + width, this.visibleAt.length);
    if (end <= from || start >= to) return 0;
    if (level === 0) return (this.visibleAt[node] as number) <= now ? 1 : 0;
    if ((this.mins[level]?.[node] as number) > now) return 0;
    if (from <= start && end <= to && (this.maxs[level]?.[node] as number) <= now) return end - start;
    const [first, last] = this.children(level, node, from, to);
    let sum = 0;
    for (let child = first; child < last; child++) sum += this.count(level - 1, child, from, to, now);
    return sum;
  }

  private first(level: number, node: number, from: number, to: number, now: number): number {
    const width = this.widths[level] as number;
    const start = node * width;
    if (start + width <= from || start >= to || (this.mins[level]?.[node] as number) > now) return -1;
    if (level === 0) return (this.visibleAt[node] as number) <= now ? node : -1;
    const [first, end] = this.children(level, node, from, to);
    for (let child = first; child < end; child++) {
      const found = this.first(level - 1, child, from, to, now);
      if (found !== -1) return found;
    }
    return -1;
  }

  private last(level: number, node: number, from: number, to: number, now: number): number {
    const width = this.widths[level] as number;
    const start = node * width;
    if (start + width <= from || start >= to || (this.mins[level]?.[node] as number) > now) return -1;
    if (level === 0) return (this.visibleAt[node] as number) <= now ? node : -1;
    const [first, end] = this.children(level, node, from, to);
    for (let child = end - 1; child >= first; child--) {
      const found = this.last(level - 1, child, from, to, now);
      if (found !== -1) return found;
    }
    return -1;
  }

  /** The children of a node that overlap [from, to), as [first, end). */
  private children(level: number, node: number, from: number, to: number): [number, number] {
    const below = this.widths[level - 1] as number;
    const size = (this.mins[level - 1] as Float64Array).length;
    const first = Math.max(node * FANOUT, Math.floor(from / below));
    return [first, Math.min((node + 1) * FANOUT, Math.ceil(to / below), size)];
  }
}

function summarise(mins: Float64Array, maxs: Float64Array): [Float64Array, Float64Array] {
  const size = Math.ceil(mins.length / FANOUT);
  const upMins = new Float64Array(size).fill(Number.POSITIVE_INFINITY);
  const upMaxs = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < mins.length; i++) {
    const parent = Math.floor(i / FANOUT);
    upMins[parent] = Math.min(upMins[parent] as number, mins[i] as number);
    upMaxs[parent] = Math.max(upMaxs[parent] as number, maxs[i] as number);
  }
  return [upMins, upMaxs];
}
