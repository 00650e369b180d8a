import type { MappedEvent } from "../ecs/mapper.ts";

/** The `_bulk` action line that creates a mapped document in a data stream (create: never overwrite). */
export function createAction(index: string, id: string | undefined): string {
  const target = JSON.stringify(index);
  return id === undefined
    ? `{"create":{"_index":${target}}}`
    : `{"create":{"_index":${target},"_id":${JSON.stringify(id)}}}`;
}

/** A mapped event as `_bulk` NDJSON: action line, then document line, each ending in a newline. */
export function toBulkLines(index: string, mapped: MappedEvent): string {
  return `${createAction(index, mapped.id)}\n${JSON.stringify(mapped.document)}\n`;
}
