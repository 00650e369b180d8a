import { randomUUID } from "node:crypto";
import { type BackingIndex, type DataStreams, LEAN_SOURCE } from "./data-streams.ts";
import { depthRefusal } from "./depth-limit.ts";
import type { Answer } from "./responses.ts";

/** A fault served to one bulk item. */
export type ItemFault = { kind: "item-429" } | { kind: "item-503" } | { kind: "item-403" };

/** What `_bulk` works with. */
export interface BulkSettings {
  streams: DataStreams;
  /** The next item fault due, if any (used up once). */
  itemFault: () => ItemFault | undefined;
  rejectDocument?: (doc: Record<string, unknown>) => string | undefined;
  /** `index.mapping.depth.limit`. */
  depthLimit: number;
  /** False: documents are stored without their `_source`. */
  retainSources: boolean;
  /** The request's `pipeline` run on each document before it is stored (none, or `_none`: as sent). */
  pipeline?: (doc: Record<string, unknown>) => { doc: Record<string, unknown> } | { error: ItemError };
}

interface ItemError {
  type: string;
  reason: string;
  caused_by?: { type: string; reason: string };
}

/** `_bulk` into data streams: `create` only, `_id` unique within the write index, items answered as real ES does. */
export function bulk(body: string, defaultIndex: string | undefined, settings: BulkSettings): Answer {
  const lines = body.split("\n").filter((l) => l.trim() !== "");
  const items: unknown[] = [];
  let errors = false;
  for (let i = 0; i < lines.length; ) {
    const action = JSON.parse(lines[i] as string) as Record<string, { _index?: string; _id?: string }>;
    const [op, meta] = Object.entries(action)[0] ?? ["?", {}];
    // A delete has no source line.
    const source = op === "delete" ? "{}" : (lines[i + 1] ?? "{}");
    i += op === "delete" ? 1 : 2;
    const result = bulkItem(op, meta._index ?? defaultIndex ?? "", meta._id, source, settings);
    if (result.status >= 300) errors = true;
    items.push({ [op]: result });
  }
  return [200, { took: 1, errors, items }];
}

function bulkItem(op: string, target: string, id: string | undefined, source: string, s: BulkSettings) {
  if (target === "") {
    const error = {
      type: "action_request_validation_exception",
      reason: "Validation Failed: 1: index is missing;",
    };
    return { _index: null, _id: id ?? null, status: 400, error };
  }
  // Only the backing indices' names start so; looking others up would cost every item a scan.
  const backing = target.startsWith(".ds-") ? s.streams.backing(target) : undefined;
  const index = backing?.index ?? s.streams.writeIndex(target);
  const refuse = (status: number, error: ItemError) => ({
    _index: index.name,
    _id: id ?? null,
    status,
    error: { ...error, index_uuid: index.uuid, shard: "0", index: index.name },
  });
  const refusal = refusalOf(op, backing?.stream, s);
  if (refusal) return refuse(refusal[0], refusal[1]);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(source) as Record<string, unknown>;
  } catch (error) {
    return refuse(400, { type: "document_parsing_exception", reason: `failed to parse: ${String(error)}` });
  }
  if (s.pipeline) {
    const ran = s.pipeline(doc);
    if ("error" in ran) return refuse(400, ran.error);
    doc = ran.doc;
  }
  const invalid = invalidity(source, doc, s);
  if (invalid) return refuse(400, invalid);
  return store(index, id, doc, s, refuse);
}

// Refusals before the document is looked at: injected faults, the operation, the target.
function refusalOf(
  op: string,
  backingOf: string | undefined,
  s: BulkSettings,
): [number, ItemError] | undefined {
  const fault = s.itemFault();
  if (fault?.kind === "item-429")
    return [
      429,
      { type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" },
    ];
  if (fault?.kind === "item-403") {
    const reason = "action [indices:data/write/bulk[s]] is unauthorized for API key";
    return [403, { type: "security_exception", reason }];
  }
  if (fault?.kind === "item-503")
    return [503, { type: "unavailable_shards_exception", reason: "primary shard is not active" }];
  if (op !== "create") {
    const reason = "only write ops with an op_type of create are allowed in data streams";
    return [400, { type: "illegal_argument_exception", reason }];
  }
  if (backingOf !== undefined) {
    const reason = `index request with op_type=create targeting backing indices is disallowed, target corresponding data stream [${backingOf}] instead`;
    return [400, { type: "illegal_argument_exception", reason }];
  }
  return undefined;
}

// What parsing the document refuses, in the order Elasticsearch finds it.
function invalidity(source: string, doc: Record<string, unknown>, s: BulkSettings): ItemError | undefined {
  const tooDeep = depthRefusal(source, doc, s.depthLimit);
  if (tooDeep) return tooDeep;
  if (typeof doc["@timestamp"] !== "string")
    return {
      type: "illegal_argument_exception",
      reason: "data stream timestamp field [@timestamp] is missing",
    };
  const rejection = s.rejectDocument?.(doc);
  return rejection ? { type: "document_parsing_exception", reason: rejection } : undefined;
}

// The `_id` is checked in the write index only: after a rollover the same `_id` is stored again.
function store(
  index: BackingIndex,
  id: string | undefined,
  doc: Record<string, unknown>,
  s: BulkSettings,
  refuse: (status: number, error: ItemError) => object,
) {
  const docId = id ?? randomUUID().replaceAll("-", "").slice(0, 20);
  if (index.docs.has(docId)) {
    const reason = `[${docId}]: version conflict, document already exists (current version [1])`;
    return { ...refuse(409, { type: "version_conflict_engine_exception", reason }), _id: docId, status: 409 };
  }
  const seqNo = index.docs.size;
  index.docs.set(docId, { _index: index.name, _id: docId, _source: s.retainSources ? doc : LEAN_SOURCE });
  return {
    _index: index.name,
    _id: docId,
    _version: 1,
    result: "created",
    _shards: { total: 2, successful: 1, failed: 0 },
    _seq_no: seqNo,
    _primary_term: 1,
    status: 201,
  };
}
