import { defineValue, type JsonObject } from "./paths.ts";

/**
 * Deepest nesting of objects and arrays an event may have, the event itself being level 1: its
 * document holds it two levels down (`jumpcloud.event`), and Elasticsearch's JSON parser (Jackson's
 * default) refuses documents nested deeper than 1000 levels.
 */
export const MAX_NESTING_DEPTH = 998;

/** An event nested deeper than MAX_NESTING_DEPTH: found before anything recursed that far. */
export class NestingTooDeepError extends Error {
  constructor() {
    super(`event nested deeper than ${MAX_NESTING_DEPTH} levels`);
  }
}

/**
 * `value` without null or empty-string values, recursively, and without the objects and arrays
 * that become empty by it (the integration's "drop empty fields" script). `undefined` means the
 * value itself is dropped. Never mutates: clean branches are shared, changed ones are copied.
 * Throws NestingTooDeepError for a value nested deeper than MAX_NESTING_DEPTH.
 */
export function withoutEmpty(value: unknown): unknown {
  return clean(value, 1);
}

// Copy-on-write: most of an event is clean, and copying it all would double the mapping cost.
// The depth bound also bounds the recursion, so no event can overflow the stack here.
function clean(value: unknown, depth: number): unknown {
  if (value === null || value === "" || value === undefined) return undefined;
  if (typeof value !== "object") return value;
  if (depth > MAX_NESTING_DEPTH) throw new NestingTooDeepError();
  return Array.isArray(value) ? cleanArray(value, depth) : cleanObject(value as JsonObject, depth);
}

function cleanArray(list: unknown[], depth: number): unknown[] | undefined {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const kept = clean(item, depth + 1);
    if (out === undefined) {
      if (kept === item) continue;
      out = list.slice(0, i);
    }
    if (kept !== undefined) out.push(kept);
  }
  const result = out ?? list;
  return result.length === 0 ? undefined : result;
}

function cleanObject(source: JsonObject, depth: number): JsonObject | undefined {
  const keys = Object.keys(source);
  let out: JsonObject | undefined;
  let size = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = source[key];
    const kept = clean(item, depth + 1);
    if (out === undefined) {
      if (kept === item) continue;
      out = {};
      for (let j = 0; j < i; j++) defineValue(out, keys[j] as string, source[keys[j] as string]);
      size = i;
    }
    if (kept !== undefined) {
      defineValue(out, key, kept);
      size++;
    }
  }
  if (out === undefined) return keys.length === 0 ? undefined : source;
  return size === 0 ? undefined : out;
}
