/** A JSON object as the pipeline sees it. */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Value at a dotted path through nested objects; `undefined` when any step is missing or not an object. */
export function getPath(root: JsonObject, path: string): unknown {
  let current: unknown = root;
  for (const key of path.split(".")) {
    if (!isObject(current)) return undefined;
    current = Object.hasOwn(current, key) ? current[key] : undefined;
  }
  return current;
}

/** Sets a value at a dotted path, creating intermediate objects. */
export function setPath(root: JsonObject, path: string, value: unknown): void {
  const keys = path.split(".");
  let current = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i] as string;
    let next = Object.hasOwn(current, key) ? current[key] : undefined;
    if (!isObject(next)) {
      next = {};
      defineValue(current, key, next);
    }
    current = next as JsonObject;
  }
  defineValue(current, keys[keys.length - 1] as string, value);
}

/** Removes the value at a dotted path, if present; parents are left in place, as Elasticsearch's `remove` does. */
export function deletePath(root: JsonObject, path: string): void {
  const keys = path.split(".");
  let current: unknown = root;
  for (let i = 0; i < keys.length - 1; i++) {
    if (!isObject(current)) return;
    current = current[keys[i] as string];
  }
  if (isObject(current)) delete current[keys[keys.length - 1] as string];
}

/** Assigns an own property, safe for keys such as `__proto__` that arrive in untrusted JSON. */
export function defineValue(target: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * Appends values to a list field without duplicates, like Elasticsearch's `append` with
 * `allow_duplicates: false`.
 */
export function appendUnique(root: JsonObject, path: string, values: readonly unknown[]): void {
  const existing = getPath(root, path);
  const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
  let changed = false;
  for (const value of values) {
    if (!list.includes(value)) {
      list.push(value);
      changed = true;
    }
  }
  if (changed) setPath(root, path, list);
}
