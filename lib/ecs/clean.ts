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

/** What withoutEmptyInPlace left: nothing, an object with holes, or the object whole. */
export type InPlaceCleaning = "empty" | "holes" | "whole";

/**
 * withoutEmpty for an object only the caller holds (just parsed): its members are cleaned in
 * place, `undefined` left where one is dropped, so the object is not copied. "holes" says some
 * were dropped: the object must be rebuilt without them before it goes anywhere. Throws
 * NestingTooDeepError as withoutEmpty does (the object may then be partly cleaned).
 */
// Values are overwritten, never deleted: a delete would turn V8's fast object into a slow one.
export function withoutEmptyInPlace(object: JsonObject): InPlaceCleaning {
  let kept = 0;
  let holes = false;
  for (const key in object) {
    if (!isOwn.call(object, key)) continue;
    const item = object[key];
    const value = cleanItem(item, 2);
    if (value === undefined) holes = true;
    else kept++;
    if (value !== item) defineValue(object, key, value);
  }
  return kept === 0 ? "empty" : holes ? "holes" : "whole";
}

// Copy-on-write: most of an event is clean, and copying it all would double the mapping cost.
// The depth bound also bounds the recursion, so no event can overflow the stack here.
function clean(value: unknown, depth: number): unknown {
  if (value === null || value === "" || value === undefined) return undefined;
  if (typeof value !== "object") return value;
  if (depth > MAX_NESTING_DEPTH) throw new NestingTooDeepError();
  return Array.isArray(value) ? cleanArray(value, depth) : cleanObject(value as JsonObject, depth);
}

// clean() for a member: most are scalars, decided here without a call.
function cleanItem(item: unknown, depth: number): unknown {
  if (typeof item !== "object") return item === "" ? undefined : item;
  return item === null ? undefined : clean(item, depth);
}

function cleanArray(list: unknown[], depth: number): unknown[] | undefined {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const kept = cleanItem(item, depth + 1);
    if (out === undefined) {
      if (kept === item) continue;
      out = list.slice(0, i);
    }
    if (kept !== undefined) out.push(kept);
  }
  const result = out ?? list;
  return result.length === 0 ? undefined : result;
}

const isOwn = Object.prototype.hasOwnProperty;

// for-in with the hasOwnProperty guard, not Object.keys: V8 walks its enum cache and loads each
// value by field index, without allocating a key list per object.
function cleanObject(source: JsonObject, depth: number): JsonObject | undefined {
  let out: JsonObject | undefined;
  let size = 0;
  for (const key in source) {
    if (!isOwn.call(source, key)) continue;
    const item = source[key];
    const kept = cleanItem(item, depth + 1);
    if (out === undefined) {
      size++;
      if (kept === item) continue;
      out = copyBefore(source, key);
      size--;
    }
    if (kept !== undefined) {
      defineValue(out, key, kept);
      size++;
    }
  }
  if (out === undefined) return size === 0 ? undefined : source;
  return size === 0 ? undefined : out;
}

/** The own entries of `source` that come before `stop`. */
function copyBefore(source: JsonObject, stop: string): JsonObject {
  const out: JsonObject = {};
  for (const key in source) {
    if (!isOwn.call(source, key)) continue;
    if (key === stop) break;
    defineValue(out, key, source[key]);
  }
  return out;
}
