/**
 * How Elasticsearch reads a document's field for a query: the values at a dotted path (through
 * nested objects, dotted keys and arrays), and how each mapping type compares them.
 */
import { isIP } from "node:net";

/** Field name -> Elasticsearch mapping type. */
export type FieldTypes = Record<string, string>;

export const NUMERIC_TYPES = new Set([
  "long",
  "integer",
  "short",
  "byte",
  "unsigned_long",
  "double",
  "float",
  "half_float",
  "scaled_float",
]);
const INTEGER_TYPES = new Set(["long", "integer", "short", "byte", "unsigned_long"]);
export const KEYWORD_TYPES = new Set(["keyword", "constant_keyword", "wildcard", "version"]);
export const TEXT_TYPES = new Set(["text", "match_only_text"]);
const OBJECT_TYPES = new Set(["object", "nested"]);

/** Where a queried field's values come from and how they are typed. */
export interface ResolvedField {
  field: string;
  /** The document path read (the parent for a multi-field such as `user.name.text`). */
  path: string;
  /** Mapping type; undefined when the field is not in the types given (inferred from each value). */
  type: string | undefined;
}

export function resolveField(field: string, types: FieldTypes): ResolvedField {
  const own = types[field];
  const dot = field.lastIndexOf(".");
  if (own !== undefined && dot > 0) {
    const parentType = types[field.slice(0, dot)];
    // A leaf field cannot hold object children: a typed child of a typed leaf is a multi-field.
    if (parentType !== undefined && !OBJECT_TYPES.has(parentType)) {
      return { field, path: field.slice(0, dot), type: own };
    }
  }
  if (own !== undefined) return { field, path: field, type: own };
  for (let i = field.lastIndexOf("."); i > 0; i = field.lastIndexOf(".", i - 1)) {
    // A key inside a flattened field is searched as a keyword.
    if (types[field.slice(0, i)] === "flattened") return { field, path: field, type: "keyword" };
  }
  return { field, path: field, type: undefined };
}

/** Every non-null value at a dotted path: nested objects and dotted keys alike, arrays flattened. */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(doc, path.split("."), 0, out);
  return out;
}

function collect(node: unknown, segments: string[], index: number, out: unknown[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, segments, index, out);
    return;
  }
  if (node === null || node === undefined) return;
  if (index === segments.length) {
    out.push(node);
    return;
  }
  if (typeof node !== "object") return;
  const object = node as Record<string, unknown>;
  let key = "";
  for (let j = index; j < segments.length; j++) {
    key = j === index ? (segments[j] as string) : `${key}.${segments[j]}`;
    if (Object.hasOwn(object, key)) collect(object[key], segments, j + 1, out);
  }
}

/** The scalar leaves under a value (for a flattened field, an object field's exists, ...). */
export function scalarLeaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(scalarLeaves);
  if (value === null || value === undefined) return [];
  if (typeof value === "object") return Object.values(value).flatMap(scalarLeaves);
  return [value];
}

/** The values of a field as Elasticsearch indexes them (scalars; a flattened field's leaves). */
export function fieldValues(doc: unknown, resolved: ResolvedField): unknown[] {
  const raw = valuesAt(doc, resolved.path);
  if (resolved.type === "geo_point") return raw;
  return raw.flatMap(scalarLeaves);
}

/** Whether `exists` holds: any value that indexes (an object counts when it holds any leaf). */
export function fieldExists(doc: unknown, resolved: ResolvedField): boolean {
  return valuesAt(doc, resolved.path).some((value) => scalarLeaves(value).length > 0);
}

// ---------------------------------------------------------------------------------------------
// Typed values

export function toNumber(value: unknown, type: string | undefined): number | undefined {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)))
    n = Number(value);
  else return undefined;
  if (!Number.isFinite(n)) return undefined;
  if (type === "float") return Math.fround(n);
  return n;
}

/** A doc value as a number field holds it (integer types truncate, as Elasticsearch coerces). */
export function docNumber(value: unknown, type: string | undefined): number | undefined {
  const n = toNumber(value, type);
  if (n === undefined) return undefined;
  return type !== undefined && INTEGER_TYPES.has(type) ? Math.trunc(n) : n;
}

export function toBoolean(value: unknown): boolean | undefined {
  if (value === true || value === "true") return true;
  if (value === false || value === "false" || value === "") return false;
  return undefined;
}

export function toKeyword(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** An IP address as a 128-bit number (IPv4 as IPv4-mapped IPv6, as Elasticsearch stores it). */
export function parseIp(text: string): bigint | undefined {
  const version = isIP(text);
  if (version === 4) {
    const parts = text.split(".").map(Number);
    const v4 = parts.reduce((acc, part) => (acc << 8n) | BigInt(part), 0n);
    return (0xffffn << 32n) | v4;
  }
  if (version !== 6) return undefined;
  let address = text.split("%")[0] as string;
  let tail: bigint[] = [];
  const lastColon = address.lastIndexOf(":");
  const last = address.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIp(last);
    if (v4 === undefined) return undefined;
    tail = [(v4 >> 16n) & 0xffffn, v4 & 0xffffn];
    address = address.slice(0, lastColon + 1);
    if (!address.endsWith("::")) address = address.slice(0, -1);
  }
  const [head, rest] = address.split("::") as [string, string | undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = 8 - tail.length - headGroups.length - restGroups.length;
  const groups = [
    ...headGroups.map((g) => BigInt(`0x${g}`)),
    ...(rest === undefined ? [] : new Array<bigint>(missing).fill(0n)),
    ...restGroups.map((g) => BigInt(`0x${g}`)),
    ...tail,
  ];
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, group) => (acc << 16n) | group, 0n);
}

/** An IP or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) as an inclusive range. */
export function parseIpOrCidr(text: string): { low: bigint; high: bigint } | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const ip = parseIp(text);
    return ip === undefined ? undefined : { low: ip, high: ip };
  }
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const v4 = isIP(address) === 4;
  if (Number(prefixText) > (v4 ? 32 : 128)) return undefined;
  const prefix = Number(prefixText) + (v4 ? 96 : 0);
  const hostBits = BigInt(128 - prefix);
  const mask = ((1n << 128n) - 1n) ^ ((1n << hostBits) - 1n);
  return { low: ip & mask, high: (ip & mask) | ((1n << hostBits) - 1n) };
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A date as Elasticsearch's `strict_date_optional_time||epoch_millis` reads it, as the span of
 * instants it names: `2024-01-01` is the whole day (a range query rounds `gte`/`lt` to its start
 * and `lte`/`gt` to its end), a full timestamp is one millisecond.
 */
export function parseDateSpan(value: unknown): { low: number; high: number } | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? { low: value, high: value } : undefined;
  if (typeof value !== "string") return undefined;
  const match = DATE.exec(value);
  if (match === null) {
    if (/^-?\d+$/.test(value)) return { low: Number(value), high: Number(value) };
    return undefined;
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const parts = [year, month, day, hour, minute, second].map((part) =>
    part === undefined ? undefined : Number(part),
  );
  const given = parts.filter((part) => part !== undefined).length;
  const [y, mo = 1, d = 1, h = 0, mi = 0, s = 0] = parts as number[];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = fraction === undefined ? 0 : Number(fraction.padEnd(3, "0").slice(0, 3));
  let offset = 0;
  if (zone !== undefined && zone !== "Z") {
    const digits = zone.replace(":", "");
    const sign = digits.startsWith("-") ? -1 : 1;
    offset = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || "0")) * 60_000;
  }
  const low = Date.UTC(y as number, mo - 1, d, h, mi, s, ms) - offset;
  if (fraction !== undefined) return { low, high: low };
  const next = [
    Date.UTC((y as number) + 1, 0, 1),
    Date.UTC(y as number, mo, 1),
    Date.UTC(y as number, mo - 1, d + 1),
    Date.UTC(y as number, mo - 1, d, h + 1),
    Date.UTC(y as number, mo - 1, d, h, mi + 1),
    Date.UTC(y as number, mo - 1, d, h, mi, s + 1),
  ][given - 1] as number;
  return { low, high: next - offset - 1 };
}

/** A document's date value as one instant. */
export function docInstant(value: unknown): number | undefined {
  return parseDateSpan(value)?.low;
}

// ---------------------------------------------------------------------------------------------
// Text

const TOKEN = /[\p{L}\p{N}_]+(?:[.'’][\p{L}\p{N}_]+)*/gu;

/**
 * An approximation of Elasticsearch's `standard` analyzer: lowercased Unicode word tokens, with
 * `.` and `'` kept between letters or digits (`example.com`, `10.0.0.1`, `don't` are one token).
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Wildcards

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** KQL wildcard: literal segments joined by `*`, anchored on the whole value. */
export function segmentsRegExp(segments: string[], insensitive: boolean): RegExp {
  return new RegExp(`^${segments.map(escapeRegExp).join(".*")}$`, insensitive ? "isu" : "su");
}

/** EQL wildcard pattern: `*` any run, `?` one character. */
export function globRegExp(pattern: string, insensitive: boolean): RegExp {
  const source = [...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : escapeRegExp(c))).join("");
  return new RegExp(`^${source}$`, insensitive ? "isu" : "su");
}
