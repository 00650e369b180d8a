import type { JsonObject } from "../ecs/paths.ts";
import { jsonText } from "../json-text.ts";

/** The `_bulk` action line that creates a document in a data stream (create: never overwrite). */
export function createAction(index: string, id: string): string {
  return `{"create":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}}}`;
}

/** A document as `_bulk` NDJSON: action line, then document line, each ending in a newline. */
export function toBulkLines(index: string, mapped: { id: string; document: JsonObject }): string {
  return `${createAction(index, mapped.id)}\n${jsonText(mapped.document)}\n`;
}
