import type { Random } from "./random.ts";
import type { EventSequence, GeneratedEvent } from "./tenant.ts";
import { VisibilityTree } from "./visibility-tree.ts";

/** Delay between an event's time and when queries can see it (ms). */
export type IngestionDelay = (random: Random, event: GeneratedEvent) => number;

/** A place in API order, as a `search_after` token names it: `[epoch_ms, docid]`. */
export interface Position {
  at: number;
  docId: string;
}

/** A stored event as the API orders and shows it (tests compare against it). */
export interface StoredEvent extends Position {
  service: string;
  visibleAt: number;
  event: Record<string, unknown>;
}

/** What a query reads: its orgs (in header order), services (all when undefined) and window. */
export interface Scope {
  orgs: readonly string[];
  services: ReadonlySet<string> | undefined;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive (may be infinite). */
  end: number;
  /** Events with `visibleAt` after this are not there yet. */
  now: number;
}

/** One page: the events, and the position of the last one. */
export interface Page {
  events: Record<string, unknown>[];
  last: Position | undefined;
}

// Ascending in UTF-16 code units, so fixed-width ids sort as the numbers they encode.
const ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const KEY_DIGITS = 9;
const ID_LENGTH = 20;

/**
 * A document id for a sort key below 2^54: nine base-64 digits that keep the key's order (so ids
 * compare as strings exactly as keys compare as numbers), then filler that looks like
 * Elasticsearch's 20-character ids.
 */
export function docIdOf(key: number): string {
  let id = "";
  let rest = key;
  for (let d = 0; d < KEY_DIGITS; d++) {
    id = (ALPHABET[rest % 64] as string) + id;
    rest = Math.floor(rest / 64);
  }
  let filler = (key % 4294967296) ^ 0x2545f491;
  while (id.length < ID_LENGTH) {
    filler = Math.imul(filler ^ (filler >>> 15), 0x2c1b3c6d) >>> 0;
    id += ALPHABET[filler >>> 26];
  }
  return id;
}

// 52 random bits: keys are unique in practice, and made unique within an org when built.
const drawKey = (random: Random) => (random.uint32() >>> 12) * 4294967296 + random.uint32();

const byPosition = (aAt: number, aId: string, b: Position) =>
  aAt - b.at || (aId < b.docId ? -1 : aId > b.docId ? 1 : 0);

/** One org's events of one service, sorted by (time, id), one typed array per column. */
class Run {
  readonly tree: VisibilityTree;

  constructor(
    readonly service: string,
    readonly at: Float64Array,
    readonly visibleAt: Float64Array,
    readonly keys: Float64Array,
    readonly refs: Uint32Array,
    private readonly body: (ref: number) => Record<string, unknown>,
  ) {
    this.tree = new VisibilityTree(visibleAt);
  }

  get length(): number {
    return this.at.length;
  }

  docId(i: number): string {
    return docIdOf(this.keys[i] as number);
  }

  event(i: number): Record<string, unknown> {
    return this.body(this.refs[i] as number);
  }

  /** The first index whose time is `time` or later. */
  firstFrom(time: number): number {
    return this.search((i) => (this.at[i] as number) >= time);
  }

  /** The first index after `position` in API order. */
  firstAfter(position: Position): number {
    return this.search((i) => byPosition(this.at[i] as number, this.docId(i), position) > 0);
  }

  /** The first index at `position` or after it. */
  firstNotBefore(position: Position): number {
    return this.search((i) => byPosition(this.at[i] as number, this.docId(i), position) >= 0);
  }

  // Binary search for the first index where a monotone predicate holds (length when none).
  private search(holds: (i: number) => boolean): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (holds(mid)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

/** A batch of events as added: the bodies stay with the caller (array or generated tenant). */
interface Source extends EventSequence {
  /** Event `i` as the ingestion delay sees it (its body made only if the delay reads it). */
  generated(i: number): GeneratedEvent;
}

function sourceOf(events: readonly GeneratedEvent[] | EventSequence): Source {
  if (!Array.isArray(events)) {
    const sequence = events as EventSequence;
    return {
      length: sequence.length,
      at: (i) => sequence.at(i),
      service: (i) => sequence.service(i),
      event: (i) => sequence.event(i),
      generated: (i) => ({
        at: sequence.at(i),
        service: sequence.service(i) as GeneratedEvent["service"],
        get event() {
          return sequence.event(i);
        },
      }),
    };
  }
  const items = events as readonly GeneratedEvent[];
  const item = (i: number) => items[i] as GeneratedEvent;
  return {
    length: items.length,
    at: (i) => item(i).at,
    service: (i) => item(i).service,
    event: (i) => item(i).event,
    generated: item,
  };
}

/** Columns of events being sorted into runs. */
interface Columns {
  at: Float64Array;
  visibleAt: Float64Array;
  keys: Float64Array;
  refs: Uint32Array;
  services: string[];
}

function emptyColumns(length: number): Columns {
  return {
    at: new Float64Array(length),
    visibleAt: new Float64Array(length),
    keys: new Float64Array(length),
    refs: new Uint32Array(length),
    services: new Array<string>(length),
  };
}

/** The order of `at` then `keys`; linear (plus equal-time ties) when `at` is already sorted. */
function sortedOrder(at: Float64Array, keys: Float64Array): Uint32Array {
  const order = new Uint32Array(at.length);
  let sorted = true;
  for (let i = 0; i < order.length; i++) {
    order[i] = i;
    if (i > 0 && (at[i] as number) < (at[i - 1] as number)) sorted = false;
  }
  const byKey = (a: number, b: number) => (keys[a] as number) - (keys[b] as number);
  if (!sorted) return order.sort((a, b) => (at[a] as number) - (at[b] as number) || byKey(a, b));
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && at[end] === at[start]) end++;
    if (end - start > 1) order.subarray(start, end).sort(byKey);
    start = end;
  }
  return order;
}

/** `columns` in `order`, equal keys at equal times made distinct (so every position is unique). */
function reorder(columns: Columns, order: Uint32Array): Columns {
  const out = emptyColumns(order.length);
  for (let p = 0; p < order.length; p++) {
    const i = order[p] as number;
    out.at[p] = columns.at[i] as number;
    out.visibleAt[p] = columns.visibleAt[i] as number;
    out.refs[p] = columns.refs[i] as number;
    out.services[p] = columns.services[i] as string;
    let key = columns.keys[i] as number;
    if (p > 0 && out.at[p] === out.at[p - 1] && key <= (out.keys[p - 1] as number))
      key = (out.keys[p - 1] as number) + 1;
    out.keys[p] = key;
  }
  return out;
}

/** One organization's events: one run per service, and the batches their bodies come from. */
class OrgEvents {
  private readonly sources: Source[] = [];
  private readonly offsets: number[] = [];
  private size = 0;
  runs: Run[] = [];

  /** Adds a batch: each event gets its id key, then its delay, drawn from `random` in batch order. */
  add(events: readonly GeneratedEvent[] | EventSequence, random: Random, delay?: IngestionDelay): void {
    const source = sourceOf(events);
    const fresh = emptyColumns(source.length);
    for (let j = 0; j < source.length; j++) {
      fresh.at[j] = source.at(j);
      fresh.keys[j] = drawKey(random);
      fresh.visibleAt[j] = source.at(j) + (delay ? delay(random, source.generated(j)) : 0);
      fresh.refs[j] = this.size + j;
      fresh.services[j] = source.service(j);
    }
    this.sources.push(source);
    this.offsets.push(this.size);
    this.size += source.length;
    const all = this.runs.length === 0 ? fresh : concat([...this.runs.map(columnsOf), fresh]);
    this.runs = this.split(reorder(all, sortedOrder(all.at, all.keys)));
  }

  /** The body of the event added as number `ref`. */
  body(ref: number): Record<string, unknown> {
    let s = this.offsets.length - 1;
    while ((this.offsets[s] as number) > ref) s--;
    return (this.sources[s] as Source).event(ref - (this.offsets[s] as number));
  }

  private split(columns: Columns): Run[] {
    const counts = new Map<string, number>();
    for (const service of columns.services) counts.set(service, (counts.get(service) ?? 0) + 1);
    const parts = new Map([...counts].map(([service, count]) => [service, emptyColumns(count)]));
    const filled = new Map<string, number>();
    for (let p = 0; p < columns.at.length; p++) {
      const service = columns.services[p] as string;
      const part = parts.get(service) as Columns;
      const q = filled.get(service) ?? 0;
      filled.set(service, q + 1);
      part.at[q] = columns.at[p] as number;
      part.visibleAt[q] = columns.visibleAt[p] as number;
      part.keys[q] = columns.keys[p] as number;
      part.refs[q] = columns.refs[p] as number;
    }
    const body = (ref: number) => this.body(ref);
    return [...parts].map(([service, c]) => new Run(service, c.at, c.visibleAt, c.keys, c.refs, body));
  }
}

function columnsOf(run: Run): Columns {
  return {
    at: run.at,
    visibleAt: run.visibleAt,
    keys: run.keys,
    refs: run.refs,
    services: new Array<string>(run.length).fill(run.service),
  };
}

function concat(parts: Columns[]): Columns {
  const out = emptyColumns(parts.reduce((n, p) => n + p.at.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.at.set(part.at, offset);
    out.visibleAt.set(part.visibleAt, offset);
    out.keys.set(part.keys, offset);
    out.refs.set(part.refs, offset);
    for (let i = 0; i < part.services.length; i++) out.services[offset + i] = part.services[i] as string;
    offset += part.at.length;
  }
  return out;
}

/** Where one run stands in a merge: the next index to give, and how to find the one after. */
interface Head {
  run: Run;
  /** The org's place in the request: among equal positions, earlier orgs come first. */
  org: number;
  i: number;
  next: (i: number) => number;
}

// API order across runs: time, then id (keys sort as ids do), then the org's place.
const before = (a: Head, b: Head) =>
  (a.run.at[a.i] as number) - (b.run.at[b.i] as number) ||
  (a.run.keys[a.i] as number) - (b.run.keys[b.i] as number) ||
  a.org - b.org;

/** Merges sorted runs, ascending or descending, `limit` entries at most (few runs: a linear pick). */
function merge(heads: Head[], descending: boolean, limit: number): { run: Run; i: number }[] {
  const live = heads.filter((h) => h.i !== -1);
  const out: { run: Run; i: number }[] = [];
  while (out.length < limit && live.length > 0) {
    let best = 0;
    for (let h = 1; h < live.length; h++) {
      const order = before(live[h] as Head, live[best] as Head);
      if (descending ? order > 0 : order < 0) best = h;
    }
    const head = live[best] as Head;
    out.push({ run: head.run, i: head.i });
    head.i = head.next(head.i);
    if (head.i === -1) live.splice(best, 1);
  }
  return out;
}

/**
 * Every org's events, kept sorted by (time, id) per service, so a query finds its window, its
 * `search_after` position and its count by binary search: its cost depends on the page and on
 * events not yet visible, never on how many events the tenant holds.
 */
export class EventIndex {
  private readonly orgs = new Map<string, OrgEvents>();

  /** Adds events to an org (ids and delays drawn from `random`, event by event). */
  add(
    orgId: string,
    events: readonly GeneratedEvent[] | EventSequence,
    random: Random,
    delay?: IngestionDelay,
  ): void {
    const org = this.orgs.get(orgId) ?? new OrgEvents();
    org.add(events, random, delay);
    this.orgs.set(orgId, org);
  }

  /** How many events the scope holds, visible now. */
  count(scope: Scope): number {
    let count = 0;
    for (const { run } of this.runs(scope)) {
      count += run.tree.countVisible(run.firstFrom(scope.start), run.firstFrom(scope.end), scope.now);
    }
    return count;
  }

  /** Up to `limit` visible events of the scope in API order, after `after` when given. */
  page(scope: Scope, options: { descending: boolean; limit: number; after?: Position | undefined }): Page {
    const { descending, after } = options;
    const heads = this.runs(scope).map(({ run, org }): Head => {
      let from = run.firstFrom(scope.start);
      let to = run.firstFrom(scope.end);
      if (after && !descending) from = Math.max(from, run.firstAfter(after));
      if (after && descending) to = Math.min(to, run.firstNotBefore(after));
      const { tree } = run;
      return descending
        ? {
            run,
            org,
            i: tree.lastVisible(from, to, scope.now),
            next: (i) => tree.lastVisible(from, i, scope.now),
          }
        : {
            run,
            org,
            i: tree.firstVisible(from, to, scope.now),
            next: (i) => tree.firstVisible(i + 1, to, scope.now),
          };
    });
    const taken = merge(heads, descending, options.limit);
    const last = taken.at(-1);
    return {
      events: taken.map(({ run, i }) => run.event(i)),
      last: last && { at: last.run.at[last.i] as number, docId: last.run.docId(last.i) },
    };
  }

  /** Every event of an org, visible or not, in API order. */
  stored(orgId: string): StoredEvent[] {
    const runs = this.orgs.get(orgId)?.runs ?? [];
    const heads = runs.map(
      (run): Head => ({
        run,
        org: 0,
        i: run.length > 0 ? 0 : -1,
        next: (i) => (i + 1 < run.length ? i + 1 : -1),
      }),
    );
    return merge(heads, false, Number.POSITIVE_INFINITY).map(({ run, i }) => ({
      at: run.at[i] as number,
      docId: run.docId(i),
      service: run.service,
      visibleAt: run.visibleAt[i] as number,
      event: run.event(i),
    }));
  }

  private runs(scope: Scope): { run: Run; org: number }[] {
    return scope.orgs.flatMap((orgId, org) =>
      (this.orgs.get(orgId)?.runs ?? [])
        .filter((run) => scope.services === undefined || scope.services.has(run.service))
        .map((run) => ({ run, org })),
    );
  }
}
