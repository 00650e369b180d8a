import { defineValue, type JsonObject } from "./paths.ts";

/**
 * A copy of `value` without null or empty-string values, recursively, and without the objects and
 * arrays that become empty by it (the integration's "drop empty fields" script). `undefined` means
 * the value itself is dropped.
 */
export function withoutEmpty(value: unknown): unknown {
  if (value === null || value === "" || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const kept = withoutEmpty(item);
      if (kept !== undefined) out.push(kept);
    }
    return out.length === 0 ? undefined : out;
  }
  if (typeof value === "object") {
    const out: JsonObject = {};
    let size = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const kept = withoutEmpty((value as JsonObject)[key]);
      if (kept !== undefined) {
        defineValue(out, key, kept);
        size++;
      }
    }
    return size === 0 ? undefined : out;
  }
  return value;
}
