import { defineValue, type JsonObject } from "./paths.ts";

/**
 * `value` without null or empty-string values, recursively, and without the objects and arrays
 * that become empty by it (the integration's "drop empty fields" script). `undefined` means the
 * value itself is dropped. Never mutates: clean branches are shared, changed ones are copied.
 */
// Copy-on-write: most of an event is clean, and copying it all would double the mapping cost.
export function withoutEmpty(value: unknown): unknown {
  if (value === null || value === "" || value === undefined) return undefined;
  if (typeof value !== "object") return value;
  return Array.isArray(value) ? cleanArray(value) : cleanObject(value as JsonObject);
}

function cleanArray(list: unknown[]): unknown[] | undefined {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const kept = withoutEmpty(item);
    if (out === undefined) {
      if (kept === item) continue;
      out = list.slice(0, i);
    }
    if (kept !== undefined) out.push(kept);
  }
  const result = out ?? list;
  return result.length === 0 ? undefined : result;
}

function cleanObject(source: JsonObject): JsonObject | undefined {
  const keys = Object.keys(source);
  let out: JsonObject | undefined;
  let size = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = source[key];
    const kept = withoutEmpty(item);
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
