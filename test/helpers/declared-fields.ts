import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseIso8601 } from "../../lib/ecs/timestamp.ts";
import { fixturePath } from "./fixtures.ts";

/** Field → type, from the integration's fields.tsv and ECS 8.11's fields.csv. */
export function declaredFields(): Map<string, string> {
  const types = new Map<string, string>();
  const ecs = readFileSync(fixturePath("ecs/fields-8.11.csv"), "utf8").split("\n").slice(1);
  for (const line of ecs) {
    const [, , , field, type] = line.split(",");
    if (field && type) types.set(field, type);
  }
  const integration = readFileSync(fixturePath("elastic-jumpcloud/fields.tsv"), "utf8").split("\n");
  for (const line of integration) {
    const [field, type] = line.split("\t");
    if (field && type) types.set(field, type.trim());
  }
  return types;
}

const STOP_TYPES = new Set(["geo_point", "flattened", "object", "nested"]);

/** Every leaf of a document as [dotted path, value]; arrays are walked, typed leaves (geo_point, flattened) are not. */
export function leaves(doc: unknown, types: Map<string, string>, prefix = ""): [string, unknown][] {
  if (Array.isArray(doc)) return doc.flatMap((item) => leaves(item, types, prefix));
  const type = types.get(prefix);
  if (doc !== null && typeof doc === "object" && !(type && STOP_TYPES.has(type))) {
    return Object.entries(doc).flatMap(([key, value]) =>
      leaves(value, types, prefix ? `${prefix}.${key}` : key),
    );
  }
  return [[prefix, doc]];
}

/** Whether a value can be indexed into a field of the given Elasticsearch type. */
export function fitsType(type: string, value: unknown): boolean {
  switch (type) {
    case "ip":
      return typeof value === "string" && isIP(value) !== 0;
    case "date":
      return typeof value === "string" && parseIso8601(value) !== undefined;
    case "long":
    case "integer":
      return Number.isInteger(value);
    case "float":
    case "double":
    case "scaled_float":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "keyword":
    case "constant_keyword":
    case "wildcard":
    case "match_only_text":
    case "text":
      return ["string", "number", "boolean"].includes(typeof value);
    case "geo_point": {
      const point = value as { lat?: unknown; lon?: unknown };
      return typeof point?.lat === "number" && typeof point?.lon === "number";
    }
    case "flattened":
      return value !== undefined;
    default:
      return false;
  }
}
