import { randomBytes } from "node:crypto";

/** A stored document (in lean mode `_source` is one shared empty object). */
export interface StoredDocument {
  _index: string;
  _id: string;
  _source: Record<string, unknown>;
}

/** The `_source` of every document stored without its source (`retainSources: false`). */
export const LEAN_SOURCE: Record<string, unknown> = Object.freeze({});

/** One backing index of a data stream. */
export interface BackingIndex {
  readonly name: string;
  readonly uuid: string;
  readonly generation: number;
  /** Documents by `_id`: the only scope in which Elasticsearch keeps an `_id` unique. */
  readonly docs: Map<string, StoredDocument>;
}

/** What a name or pattern (`logs-*`, `a,b`, `_all`) resolves to: indices, or the concrete name that is missing. */
export type Resolution = { indices: BackingIndex[] } | { missing: string };

/** Backing index name as Elasticsearch makes it: `.ds-<stream>-<yyyy.MM.dd>-<generation, 6 digits>`. */
export function backingIndexName(stream: string, generation: number, epochMs: number): string {
  const date = new Date(epochMs).toISOString().slice(0, 10).replaceAll("-", ".");
  return `.ds-${stream}-${date}-${String(generation).padStart(6, "0")}`;
}

/** `*` wildcards of an index expression as a regular expression. */
export function wildcard(pattern: string): RegExp {
  const escaped = pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/**
 * Data streams, each a list of backing indices whose last one is the write index. `writeIndices`
 * is the emulator's public `streams` map: replacing or deleting one of its entries starts that
 * stream afresh with those documents in its first backing index (tests seed streams that way).
 */
export class DataStreams {
  /** Data stream → its write index's documents by `_id`. */
  readonly writeIndices = new Map<string, Map<string, StoredDocument>>();
  // Keyed by the write index's own map, so an entry replaced or cleared above drops its history.
  private readonly history = new WeakMap<
    Map<string, StoredDocument>,
    { index: BackingIndex; older: BackingIndex[] }
  >();

  constructor(private readonly now: () => number) {}

  /** The stream's backing indices, oldest first (the last is the write index); none when it does not exist. */
  indices(stream: string): BackingIndex[] {
    const docs = this.writeIndices.get(stream);
    if (!docs) return [];
    const { index, older } = this.historyOf(stream, docs);
    return [...older, index];
  }

  /** The stream's write index, creating the stream on first use. */
  writeIndex(stream: string): BackingIndex {
    let docs = this.writeIndices.get(stream);
    if (!docs) {
      docs = new Map();
      this.writeIndices.set(stream, docs);
    }
    return this.historyOf(stream, docs).index;
  }

  /** A new write index for `stream`; `undefined` when there is no such stream. */
  rollover(stream: string): { oldIndex: BackingIndex; newIndex: BackingIndex } | undefined {
    const docs = this.writeIndices.get(stream);
    if (!docs) return undefined;
    const { index, older } = this.historyOf(stream, docs);
    const next = this.create(stream, index.generation + 1, new Map());
    this.history.set(next.docs, { index: next, older: [...older, index] });
    this.writeIndices.set(stream, next.docs);
    return { oldIndex: index, newIndex: next };
  }

  /** The stream a backing index belongs to, with the index. */
  backing(name: string): { stream: string; index: BackingIndex } | undefined {
    for (const stream of this.writeIndices.keys()) {
      const index = this.indices(stream).find((i) => i.name === name);
      if (index) return { stream, index };
    }
    return undefined;
  }

  /**
   * Resolves a search target as Elasticsearch does by default: wildcards match data streams (and
   * backing indices only when the pattern starts with a dot, as they are hidden); a concrete name
   * that matches nothing is missing unless `ignoreUnavailable`.
   */
  resolve(expression: string, ignoreUnavailable = false): Resolution {
    const found = new Set<BackingIndex>();
    for (const part of expression.split(",").filter(Boolean)) {
      const indices = this.resolveOne(part === "_all" ? "*" : part);
      if (indices === undefined && !ignoreUnavailable) return { missing: part };
      for (const index of indices ?? []) found.add(index);
    }
    return { indices: [...found] };
  }

  private resolveOne(part: string): BackingIndex[] | undefined {
    if (!part.includes("*")) {
      if (this.writeIndices.has(part)) return this.indices(part);
      const backing = this.backing(part);
      return backing ? [backing.index] : undefined;
    }
    const pattern = wildcard(part);
    const streams = [...this.writeIndices.keys()].filter((s) => pattern.test(s));
    const all = [...this.writeIndices.keys()].flatMap((s) => this.indices(s));
    const hidden = part.startsWith(".") ? all.filter((i) => pattern.test(i.name)) : [];
    return [...streams.flatMap((s) => this.indices(s)), ...hidden];
  }

  private historyOf(stream: string, docs: Map<string, StoredDocument>) {
    let entry = this.history.get(docs);
    if (!entry) {
      entry = { index: this.create(stream, 1, docs), older: [] };
      this.history.set(docs, entry);
    }
    return entry;
  }

  private create(stream: string, generation: number, docs: Map<string, StoredDocument>): BackingIndex {
    const uuid = randomBytes(16).toString("base64url").slice(0, 22);
    return { name: backingIndexName(stream, generation, this.now()), uuid, generation, docs };
  }
}
