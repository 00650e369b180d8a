/** A JSON object as the pipeline sees it. */
export type JsonObject = Record<string, unknown>;

/** A dotted path split once; `inherited` when a key (e.g. `constructor`) is also a name on Object.prototype. */
export interface Path {
  readonly keys: readonly string[];
  readonly inherited: boolean;
}

const isOwn = Object.prototype.hasOwnProperty;
const splitCache = new Map<string, Path>();

/** Compiles a dotted path; the pipeline's paths are compiled once, at load. */
export function compilePath(path: string): Path {
  const keys = path.split(".");
  return { keys, inherited: keys.some((key) => key in Object.prototype) };
}

// getPath and setPath take paths as text: each is split once and remembered.
function pathOf(path: string): Path {
  let compiled = splitCache.get(path);
  if (compiled === undefined) {
    compiled = compilePath(path);
    if (splitCache.size < 1000) splitCache.set(path, compiled);
  }
  return compiled;
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Value at a dotted path through nested objects; `undefined` when any step is missing or not an object. */
export function getPath(root: JsonObject, path: string): unknown {
  return getIn(root, pathOf(path));
}

/** Value at a compiled path (see getPath). */
export function getIn(root: JsonObject, path: Path): unknown {
  const keys = path.keys;
  let current: unknown = root;
  for (let i = 0; i < keys.length; i++) {
    if (!isObject(current)) return undefined;
    current = child(current, keys[i] as string, path.inherited);
  }
  return current;
}

/** The own value of `parent[key]`; `inherited` when the key is also a name on Object.prototype. */
// JSON objects have Object.prototype: only a key it also has can be found there instead of on them.
function child(parent: JsonObject, key: string, inherited: boolean): unknown {
  if (!inherited) return parent[key];
  return isOwn.call(parent, key) ? parent[key] : undefined;
}

/** Sets a value at a dotted path, creating intermediate objects. */
export function setPath(root: JsonObject, path: string, value: unknown): void {
  setIn(root, pathOf(path), value);
}

/** Sets a value at a compiled path (see setPath). */
export function setIn(root: JsonObject, path: Path, value: unknown): void {
  const keys = path.keys;
  const last = keys.length - 1;
  defineValue(objectAt(root, path, last), keys[last] as string, value);
}

/**
 * The object at the first `depth` keys of a compiled path (all of them by default), made where
 * missing or not an object, as setIn makes its intermediates.
 */
function objectAt(root: JsonObject, path: Path, depth = path.keys.length): JsonObject {
  let current = root;
  for (let i = 0; i < depth; i++) {
    const key = path.keys[i] as string;
    let next = child(current, key, path.inherited);
    if (!isObject(next)) {
      next = {};
      defineValue(current, key, next);
    }
    current = next as JsonObject;
  }
  return current;
}

type PruneTree = Map<string, PruneTree | true>;

const pruneTrees = new WeakMap<readonly string[], PruneTree>();

function pruneTree(paths: readonly string[]): PruneTree {
  let tree = pruneTrees.get(paths);
  if (tree) return tree;
  tree = new Map();
  for (const path of paths) {
    const keys = pathOf(path).keys;
    let node = tree;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) {
        node.set(key, true);
        return;
      }
      let branch = node.get(key);
      if (branch === true) return;
      if (branch === undefined) {
        branch = new Map();
        node.set(key, branch);
      }
      node = branch;
    });
  }
  pruneTrees.set(paths, tree);
  return tree;
}

function prune(source: JsonObject, tree: PruneTree, renameFrom?: string, renameTo?: string): JsonObject {
  const out: JsonObject = {};
  for (const sourceKey in source) {
    if (!isOwn.call(source, sourceKey)) continue;
    const key = sourceKey === renameFrom ? (renameTo as string) : sourceKey;
    const rule = tree.get(key);
    if (rule === true) continue;
    const value = source[sourceKey];
    if (value === undefined) continue;
    defineValue(out, key, rule !== undefined && isObject(value) ? prune(value, rule) : value);
  }
  return out;
}

/**
 * A copy of `root` without the values at the given dotted paths (parents stay, as with
 * Elasticsearch's `remove`) nor `undefined` values, optionally renaming one top-level key
 * first. Branches not on a path are shared, not copied.
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
  appendUniqueIn(root, pathOf(path), values);
}

/** appendUnique at a compiled path. */
export function appendUniqueIn(root: JsonObject, path: Path, values: readonly unknown[]): void {
  const existing = getIn(root, path);
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
  if (changed) setIn(root, path, list);
}
