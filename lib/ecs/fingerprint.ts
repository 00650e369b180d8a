import { murmur3x64x128 } from "./murmur3.ts";

/** The fields Elastic's JumpCloud pipeline fingerprints into `_id`. */
export const FINGERPRINT_FIELDS = ["id", "timestamp"] as const;

const encoder = new TextEncoder();
const TRUE_BYTES = Uint8Array.of(1);
const FALSE_BYTES = Uint8Array.of(2);

// Byte encodings follow Elasticsearch's FingerprintProcessor.toBytes. JSON numbers parse in
// Elasticsearch as Integer, Long or Double; JavaScript cannot tell `1` from `1.0`, so an integral
// value is encoded as Integer (or Long up to 2^63), the way Jackson reads it without a dot. Java
// writes a lone UTF-16 surrogate as `?` where JavaScript writes U+FFFD: ids never hold one.
function scalarBytes(value: string | number | boolean): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (typeof value === "boolean") return value ? TRUE_BYTES : FALSE_BYTES;
  const out = new Uint8Array(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? 4 : 8);
  const view = new DataView(out.buffer);
  if (out.length === 4) view.setInt32(0, value, true);
  else if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) view.setBigInt64(0, BigInt(value), true);
  else view.setFloat64(0, value, true);
  return out;
}

function collect(value: unknown, parts: Uint8Array[]): void {
  if (value === null || value === undefined) {
    parts.push(Uint8Array.of(0));
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, parts);
  } else if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    for (const key of keys) {
      parts.push(Uint8Array.of(0), encoder.encode(key));
      collect((value as Record<string, unknown>)[key], parts);
    }
  } else {
    parts.push(Uint8Array.of(0), scalarBytes(value as string | number | boolean));
  }
}

/**
 * Elasticsearch's `fingerprint` processor (MurmurHash3, no salt, `ignore_missing: true`) over the
 * named fields of `source`, as standard Base64; `undefined` when every field is missing.
 */
export function fingerprint(source: Record<string, unknown>, fields: readonly string[]): string | undefined {
  const sorted = sortedFields(fields);
  const fast = stringFieldBytes(source, sorted);
  if (fast >= 0) return fast === 0 ? undefined : digest(scratch, fast);
  const parts: Uint8Array[] = [];
  for (const field of sorted) {
    const value = source[field];
    if (value !== null && value !== undefined) collect(value, parts);
  }
  let size = 0;
  for (const part of parts) size += part.length;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return digest(bytes, size);
}

const digestOut = Buffer.alloc(16);
let scratch: Buffer = Buffer.alloc(1024);

function digest(bytes: Uint8Array, length: number): string {
  murmur3x64x128(bytes, digestOut, length);
  return digestOut.toString("base64");
}

/**
 * The fast path: when every present field is a string (JumpCloud's id and timestamp), writes their
 * encoding (`\0` then UTF-8, each) to `scratch` and returns its length; -1 for any other value.
 */
function stringFieldBytes(source: Record<string, unknown>, sorted: readonly string[]): number {
  let length = 0;
  for (const field of sorted) {
    const value = source[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== "string") return -1;
    if (scratch.length < length + 1 + value.length * 3)
      scratch = grown(scratch, length + 1 + value.length * 3);
    scratch[length++] = 0;
    length = writeUtf8(value, length);
  }
  return length;
}

// Ids and timestamps are ASCII: copying their codes beats a call into the encoder; anything else is
// left to it.
function writeUtf8(text: string, start: number): number {
  const out = scratch;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return start + out.write(text, start, "utf8");
    out[start + i] = code;
  }
  return start + text.length;
}

function grown(buffer: Buffer, size: number): Buffer {
  const bigger = Buffer.alloc(Math.max(size, buffer.length * 2));
  buffer.copy(bigger);
  return bigger;
}

const sortedCache = new WeakMap<readonly string[], readonly string[]>();

// Every call of a run passes the same list: the last one is kept at hand.
let lastFields: readonly string[] | undefined;
let lastSorted: readonly string[] = [];

function sortedFields(fields: readonly string[]): readonly string[] {
  if (fields === lastFields) return lastSorted;
  let sorted = sortedCache.get(fields);
  if (!sorted) {
    sorted = [...fields].sort();
    sortedCache.set(fields, sorted);
  }
  lastFields = fields;
  lastSorted = sorted;
  return sorted;
}
