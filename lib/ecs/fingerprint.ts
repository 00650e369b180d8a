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
  // Fast path: string values (JumpCloud's id and timestamp) encode as one UTF-8 string.
  let text = "";
  let allStrings = true;
  let present = false;
  for (const field of sortedFields(fields)) {
    const value = source[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== "string") {
      allStrings = false;
      break;
    }
    present = true;
    text += `\0${value}`;
  }
  if (allStrings) return present ? digestText(text) : undefined;

  const parts: Uint8Array[] = [];
  for (const field of sortedFields(fields)) {
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
  return digest(bytes);
}

const digestOut = Buffer.alloc(16);
let scratch = Buffer.alloc(1024);

function digest(bytes: Uint8Array): string {
  murmur3x64x128(bytes, digestOut);
  return digestOut.toString("base64");
}

function digestText(text: string): string {
  if (text.length * 3 > scratch.length) scratch = Buffer.alloc(text.length * 3);
  const length = scratch.write(text, 0, "utf8");
  return digest(scratch.subarray(0, length));
}

const sortedCache = new WeakMap<readonly string[], readonly string[]>();

function sortedFields(fields: readonly string[]): readonly string[] {
  let sorted = sortedCache.get(fields);
  if (!sorted) {
    sorted = [...fields].sort();
    sortedCache.set(fields, sorted);
  }
  return sorted;
}
