import { isIP } from "node:net";
import { parseIso8601 } from "../../lib/ecs/timestamp.ts";
import fieldTypes from "../../lib/elasticsearch/field-types.json" with { type: "json" };

// What a real cluster refuses in one document with the project's template, so that the corpus
// shows which events become dead letters there (the emulator checks the mapping depth only). Per
// document only: dynamic mappings fixed by earlier documents are not modelled.

/** Jackson's nesting limit, which Elasticsearch's JSON parser keeps. */
export const JSON_NESTING_LIMIT = 1000;
/** `index.mapping.depth.limit` and the flattened type's `depth_limit` defaults. */
export const MAPPING_DEPTH_LIMIT = 20;
/** `index.mapping.total_fields.limit` as the template sets it. */
export const TOTAL_FIELDS_LIMIT = 2000;
const MAX_TERM_BYTES = 32766;

type Spec = { type: string; multi_fields?: Record<string, string> };
const DECLARED = new Map(
  Object.entries(fieldTypes.fields as Record<string, Spec>).map(([k, v]) => [k, v.type]),
);
const OBJECTS = new Set([...DECLARED.keys()].flatMap(parentsOf));
const TEMPLATE_FIELDS =
  DECLARED.size +
  OBJECTS.size +
  Object.values(fieldTypes.fields as Record<string, Spec>).reduce(
    (n, spec) => n + Object.keys(spec.multi_fields ?? {}).length,
    0,
  );

function parentsOf(field: string): string[] {
  const parts = field.split(".");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("."));
}

class Refused extends Error {}

/** Why Elasticsearch would refuse this document (its reason text), or `undefined` if it stores it. */
export function refusal(doc: Record<string, unknown>): string | undefined {
  try {
    checkNesting(doc);
    const walk = { dynamic: new Map<string, string>() };
    walkObject(doc, "", walk);
    if (TEMPLATE_FIELDS + walk.dynamic.size > TOTAL_FIELDS_LIMIT) {
      throw new Refused(
        `Limit of total fields [${TOTAL_FIELDS_LIMIT}] has been exceeded while adding new fields [${walk.dynamic.size}]`,
      );
    }
    return undefined;
  } catch (error) {
    if (error instanceof Refused) return error.message;
    throw error;
  }
}

function checkNesting(doc: unknown): void {
  const depth = nestingDepth(doc);
  if (depth > JSON_NESTING_LIMIT) {
    throw new Refused(
      `failed to parse: Document nesting depth (${depth}) exceeds the maximum allowed (${JSON_NESTING_LIMIT})`,
    );
  }
}

/** Levels of objects and arrays in `value` (0 for a scalar), counted as Jackson does, without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== "object" || node === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

interface Walk {
  /** Undeclared field → the type its first value gave it (dynamic mapping). */
  dynamic: Map<string, string>;
}

// Elasticsearch expands dots in field names into objects, and refuses names it cannot expand.
function keyParts(key: string): string[] {
  if (key === "") throw new Refused("field name cannot be an empty string");
  if (!key.includes(".")) {
    if (key.trim() === "") throw new Refused(`Field name cannot contain only whitespace: [${key}]`);
    return [key];
  }
  // As Java's String.split: trailing empty parts go.
  const parts = key.split(".");
  while (parts.at(-1) === "") parts.pop();
  if (parts.length === 0) throw new Refused("field name cannot contain only dots");
  if (parts.includes("")) throw new Refused(`object field cannot contain only whitespace: ['${key}']`);
  if (parts.some((p) => p.trim() === "")) {
    throw new Refused(
      `object field starting or ending with a [.] makes object resolution ambiguous: [${key}]`,
    );
  }
  return parts;
}

function walkObject(object: object, path: string, walk: Walk): void {
  if (path !== "") checkObjectPath(path, walk);
  for (const [key, value] of Object.entries(object)) {
    let child = path;
    for (const [i, part] of keyParts(key).entries()) {
      // The objects a dotted key stands for are objects like any other.
      if (i > 0) checkObjectPath(child, walk);
      child = child === "" ? part : `${child}.${part}`;
    }
    walkValue(value, child, walk);
  }
}

function checkObjectPath(path: string, walk: Walk): void {
  const depth = path.split(".").length + 1;
  if (depth > MAPPING_DEPTH_LIMIT) {
    throw new Refused(
      `Limit of mapping depth [${MAPPING_DEPTH_LIMIT}] has been exceeded due to object field [${path}]`,
    );
  }
  const parts = path.split(".");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(".");
    const type = DECLARED.get(prefix) ?? walk.dynamic.get(prefix);
    if (type !== undefined && type !== "object") {
      throw new Refused(
        `Could not dynamically add mapping for field [${path}]. Existing mapping for [${prefix}] must be of type object but found [${type}].`,
      );
    }
  }
  if (!OBJECTS.has(path)) walk.dynamic.set(path, "object");
}

function walkValue(value: unknown, path: string, walk: Walk): void {
  if (value === null || value === undefined) return;
  const declared = DECLARED.get(path);
  if (declared === "flattened") {
    checkFlattened(value, path);
    return;
  }
  if (declared === "geo_point" && isGeoPoint(value)) return;
  if (Array.isArray(value)) {
    for (const item of value) walkValue(item, path, walk);
    return;
  }
  if (typeof value === "object") {
    if (declared !== undefined) throw failedToParse(path, declared, value);
    walkObject(value, path, walk);
    return;
  }
  if (OBJECTS.has(path) || walk.dynamic.get(path) === "object") {
    throw new Refused(
      `object mapping for [${path}] tried to parse field [${path.split(".").pop()}] as object, but found a concrete value`,
    );
  }
  const type = declared ?? walk.dynamic.get(path);
  if (type === undefined) {
    walk.dynamic.set(path, dynamicType(value));
    return;
  }
  if (!fits(type, value)) throw failedToParse(path, type, value);
}

function failedToParse(path: string, type: string, value: unknown): Refused {
  const preview = typeof value === "object" ? "{...}" : String(value).slice(0, 20);
  return new Refused(
    `failed to parse field [${path}] of type [${type}]. Preview of field's value: '${preview}'`,
  );
}

function dynamicType(value: unknown): string {
  if (typeof value === "string") return "keyword";
  if (typeof value === "boolean") return "boolean";
  return Number.isInteger(value) ? "long" : "float";
}

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && NUMERIC.test(value)) return Number(value);
  return undefined;
}

// The coercions Elasticsearch applies by default (`coerce: true`).
function fits(type: string, value: unknown): boolean {
  switch (type) {
    case "keyword":
    case "constant_keyword":
    case "match_only_text":
      return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "ip":
      return typeof value === "string" && isIP(value) !== 0;
    case "date":
      return (typeof value === "string" && parseIso8601(value) !== undefined) || numeric(value) !== undefined;
    case "long": {
      const n = numeric(value);
      return n !== undefined && Math.abs(n) < 2 ** 63;
    }
    case "float":
      return numeric(value) !== undefined;
    default:
      return true;
  }
}

function isGeoPoint(value: unknown): boolean {
  if (typeof value === "string") return true;
  const point = value as { lat?: unknown; lon?: unknown } | null;
  return typeof point?.lat === "number" && typeof point.lon === "number";
}

// A flattened field takes objects only, at most 20 levels deep, keys without \0, and (without
// `ignore_above`) no key + value longer than Lucene's largest term.
function checkFlattened(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null) checkFlattened(item, path);
    return;
  }
  if (typeof value !== "object" || value === null) {
    throw new Refused(
      `failed to parse field [${path}] of type [flattened]. Failed to parse object: expecting token of type [START_OBJECT] but found [VALUE]`,
    );
  }
  checkFlattenedObject(value, path, [], 1);
}

function checkFlattenedObject(object: object, root: string, keys: string[], depth: number): void {
  if (depth > MAPPING_DEPTH_LIMIT) {
    throw new Refused(
      `The provided [flattened] field [${root}] exceeds the maximum depth limit of [${MAPPING_DEPTH_LIMIT}].`,
    );
  }
  for (const [key, value] of Object.entries(object)) checkFlattenedValue(value, root, [...keys, key], depth);
}

function checkFlattenedValue(value: unknown, root: string, keys: string[], depth: number): void {
  if (value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) checkFlattenedValue(item, root, keys, depth);
    return;
  }
  if (typeof value === "object") {
    checkFlattenedObject(value, root, keys, depth + 1);
    return;
  }
  const key = keys.join(".");
  if (key.includes("\0")) {
    throw new Refused(
      `Keys in [flattened] fields cannot contain the reserved character \\0. Offending key: [${key}].`,
    );
  }
  if (Buffer.byteLength(`${key}\0${String(value)}`) > MAX_TERM_BYTES) {
    throw new Refused(
      `Flattened field [${root}] contains one immense field whose keyed encoding is longer than the allowed max length of ${MAX_TERM_BYTES} bytes.`,
    );
  }
}
