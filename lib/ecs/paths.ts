/** A JSON object as the pipeline sees it. */
export type JsonObject = Record<string, unknown>;

const splitCache = new Map<string, readonly string[]>();

// Paths come from a fixed set of rules; splitting each once keeps lookups allocation-free.
function keysOf(path: string): readonly string[] {
  let keys = splitCache.get(path);
  if (keys === undefined) {
    keys = path.split(".");
    if (splitCache.size < 1000) splitCache.set(path, keys);
  }
  return keys;
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Value at a dotted path through nested objects; `undefined` when any step is missing or not an object. */
export function getPath(root: JsonObject, path: string): unknown {
  return getIn(root, keysOf(path));
}

/** Value at a path given as keys (see getPath). */
export function getIn(root: JsonObject, keys: readonly string[]): unknown {
  let current: unknown = root;
  for (const key of keys) {
    if (!isObject(current)) return undefined;
    current = Object.hasOwn(current, key) ? current[key] : undefined;
  }
  return current;
}

/** Sets a value at a dotted path, creating intermediate objects. */
export function setPath(root: JsonObject, path: string, value: unknown): void {
  setIn(root, keysOf(path), value);
}

/** Sets a value at a path given as keys (see setPath). */
export function setIn(root: JsonObject, keys: readonly string[], value: unknown): void {
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

type PruneTree = Map<string, PruneTree | true>;

const pruneTrees = new WeakMap<readonly string[], PruneTree>();

function pruneTree(paths: readonly string[]): PruneTree {
  let tree = pruneTrees.get(paths);
  if (tree) return tree;
  tree = new Map();
  for (const path of paths) {
    const keys = keysOf(path);
    let node = tree;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) {
        node.set(key, true);
        return;
      }
      let child = node.get(key);
      if (child === true) return;
      if (child === undefined) {
        child = new Map();
        node.set(key, child);
      }
      node = child;
    });
  }
  pruneTrees.set(paths, tree);
  return tree;
}

function prune(source: JsonObject, tree: PruneTree, renameFrom?: string, renameTo?: string): JsonObject {
  const out: JsonObject = {};
  for (const sourceKey in source) {
    if (!Object.hasOwn(source, sourceKey)) continue;
    const key = sourceKey === renameFrom ? (renameTo as string) : sourceKey;
    const rule = tree.get(key);
    if (rule === true) continue;
    const value = source[sourceKey];
    defineValue(out, key, rule !== undefined && isObject(value) ? prune(value, rule) : value);
  }
  return out;
}

/**
 * A copy of `root` without the values at the given dotted paths (parents stay, as with
 * Elasticsearch's `remove`), optionally renaming one top-level key first. Branches not on a
 * path are shared, not copied.
 */
// Rebuilding instead of `delete` keeps V8's fast object layout, which JSON.stringify needs to be fast.
export function withoutPaths(
  root: JsonObject,
  paths: readonly string[],
  rename?: readonly [from: string, to: string],
): JsonObject {
  return prune(root, pruneTree(paths), rename?.[0], rename?.[1]);
}

/** Assigns an own property, safe for keys such as `__proto__` that arrive in untrusted JSON. */
export function defineValue(target: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

const SMALL_LIST = 16;

/**
 * Appends values to a list field without duplicates, like Elasticsearch's `append` with
 * `allow_duplicates: false`.
 */
export function appendUnique(root: JsonObject, path: string, values: readonly unknown[]): void {
  const existing = getPath(root, path);
  const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
  // An event may list 100 000 addresses: includes() alone would make that minutes of work.
  const seen = list.length + values.length > SMALL_LIST ? new Set(list) : undefined;
  let changed = false;
  for (const value of values) {
    if (seen ? seen.has(value) : list.includes(value)) continue;
    list.push(value);
    seen?.add(value);
    changed = true;
  }
  if (changed) setPath(root, path, list);
}
