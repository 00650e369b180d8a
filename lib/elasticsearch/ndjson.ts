import type { JsonObject } from "../ecs/paths.ts";
import { jsonText } from "../json-text.ts";

// Every document of a run goes to the same data stream: its part of the action line is made once.
let lastIndex: string | undefined;
let lastActionStart = "";

function actionStart(index: string): string {
  if (index !== lastIndex) {
    lastIndex = index;
    lastActionStart = `{"create":{"_index":${JSON.stringify(index)},"_id":`;
  }
  return lastActionStart;
}

// _ids are Base64 fingerprints or raw-<base64url>: their characters need no escaping, and quoting
// them directly spares a serialiser call per document.
const NEEDS_NO_ESCAPING = /^[\w+/=-]*$/;

function jsonString(text: string): string {
  return NEEDS_NO_ESCAPING.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The `_bulk` action line that creates a document in a data stream (create: never overwrite). */
export function createAction(index: string, id: string): string {
  return `${actionStart(index)}${jsonString(id)}}}`;
}

/** A document as `_bulk` NDJSON: action line, then document line, each ending in a newline. */
export function toBulkLines(index: string, mapped: { id: string; document: JsonObject }): string {
  return `${createAction(index, mapped.id)}\n${jsonText(mapped.document)}\n`;
}
