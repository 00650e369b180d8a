import { createHash } from "node:crypto";
import type { MappedEvent } from "../ecs/mapper.ts";

/** The `_bulk` action line that creates a mapped document in a data stream (create: never overwrite). */
export function createAction(index: string, id: string | undefined): string {
  const target = JSON.stringify(index);
  return id === undefined
    ? `{"create":{"_index":${target}}}`
    : `{"create":{"_index":${target},"_id":${JSON.stringify(id)}}}`;
}

/**
 * The `_id` a document is stored under: the integration's fingerprint, or, for an event with
 * neither id nor timestamp, a hash of the raw event, so a re-send is a 409 and not a second copy.
 */
export function documentId(mapped: MappedEvent, raw: unknown): string {
  if (mapped.id !== undefined) return mapped.id;
  const text = typeof raw === "string" ? raw : (JSON.stringify(raw) ?? "undefined");
  return `raw-${createHash("sha256").update(text).digest("base64url").slice(0, 32)}`;
}

/** A mapped event as `_bulk` NDJSON: action line, then document line, each ending in a newline. */
export function toBulkLines(index: string, mapped: MappedEvent, raw: unknown): string {
  return `${createAction(index, documentId(mapped, raw))}\n${JSON.stringify(mapped.document)}\n`;
}
