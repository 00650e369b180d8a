/** Evaluates a KQL tree on one document as Elasticsearch evaluates the query Kibana builds from it. */
import { QueryTypeError } from "./errors.ts";
import type { KqlNode, RangeOperator } from "./kql.ts";
import {
  docInstant,
  docNumber,
  type FieldTypes,
  fieldExists,
  fieldValues,
  KEYWORD_TYPES,
  NUMERIC_TYPES,
  parseDateSpan,
  parseIp,
  parseIpOrCidr,
  type ResolvedField,
  resolveField,
  segmentsRegExp,
  TEXT_TYPES,
  toBoolean,
  toKeyword,
  tokenize,
  toNumber,
} from "./values.ts";

export type Predicate = (doc: object) => boolean;

/**
 * Compiles a KQL tree against the mapping: a value the field's type cannot take (a word against a
 * long, a wildcard against an ip...) throws `QueryTypeError` here, as Elasticsearch fails the query.
 */
export function compileKql(node: KqlNode, types: FieldTypes): Predicate {
  switch (node.type) {
    case "match_all":
      return () => true;
    case "and": {
      const parts = node.nodes.map((child) => compileKql(child, types));
      return (doc) => parts.every((part) => part(doc));
    }
    case "or": {
      const parts = node.nodes.map((child) => compileKql(child, types));
      return (doc) => parts.some((part) => part(doc));
    }
    case "not": {
      const part = compileKql(node.node, types);
      return (doc) => !part(doc);
    }
    case "exists": {
      const resolved = resolveField(node.field, types);
      return (doc) => fieldExists(doc, resolved);
    }
    case "match":
      return compileMatch(resolveField(node.field, types), node.value, node.phrase);
    case "wildcard":
      return compileWildcard(resolveField(node.field, types), node.segments, node.pattern);
    case "range":
      return compileRange(resolveField(node.field, types), node.operator, node.value);
  }
}

function anyValue(resolved: ResolvedField, test: (value: unknown) => boolean): Predicate {
  return (doc) => fieldValues(doc, resolved).some(test);
}

function containsPhrase(tokens: string[], phrase: string[]): boolean {
  for (let i = 0; i + phrase.length <= tokens.length; i++) {
    if (phrase.every((token, j) => tokens[i + j] === token)) return true;
  }
  return false;
}

function parseDateValue(resolved: ResolvedField, value: string | boolean): { low: number; high: number } {
  const text = String(value);
  if (/^now\b/.test(text)) {
    throw new QueryTypeError(resolved.field, `date math (${text}) needs a clock: not supported offline`);
  }
  const span = parseDateSpan(text);
  if (span === undefined) throw new QueryTypeError(resolved.field, `failed to parse date "${text}"`);
  return span;
}

function compileMatch(resolved: ResolvedField, value: string | boolean, phrase: boolean): Predicate {
  const type = resolved.type;
  const text = String(value);
  if (type === undefined) {
    // Not in the mapping given: compare as the document's own JSON type would be mapped.
    return anyValue(resolved, (v) => {
      if (typeof v === "number") return toNumber(text, undefined) === v;
      if (typeof v === "boolean") return toBoolean(text) === v;
      return v === text;
    });
  }
  if (TEXT_TYPES.has(type)) {
    const query = tokenize(text);
    if (query.length === 0) return () => false;
    if (phrase) return anyValue(resolved, (v) => containsPhrase(tokenize(String(toKeyword(v) ?? "")), query));
    // `match` with the default `or` operator: any one token of the value is enough.
    return anyValue(resolved, (v) => {
      const tokens = new Set(tokenize(String(toKeyword(v) ?? "")));
      return query.some((token) => tokens.has(token));
    });
  }
  if (KEYWORD_TYPES.has(type) || type === "flattened")
    return anyValue(resolved, (v) => toKeyword(v) === text);
  if (NUMERIC_TYPES.has(type)) {
    const n = toNumber(text, type);
    if (n === undefined) throw new QueryTypeError(resolved.field, `failed to parse "${text}" as a ${type}`);
    return anyValue(resolved, (v) => docNumber(v, type) === n);
  }
  if (type === "boolean") {
    const b = toBoolean(value);
    if (b === undefined) throw new QueryTypeError(resolved.field, `failed to parse "${text}" as a boolean`);
    return anyValue(resolved, (v) => toBoolean(v) === b);
  }
  if (type === "ip") {
    const range = parseIpOrCidr(text);
    if (range === undefined)
      throw new QueryTypeError(resolved.field, `"${text}" is not an IP string literal`);
    return anyValue(resolved, (v) => {
      const ip = typeof v === "string" ? parseIp(v) : undefined;
      return ip !== undefined && ip >= range.low && ip <= range.high;
    });
  }
  if (type === "date") {
    // Kibana turns an exact date into gte+lte on the value: a day matches the whole day.
    const span = parseDateValue(resolved, value);
    return anyValue(resolved, (v) => {
      const at = docInstant(v);
      return at !== undefined && at >= span.low && at <= span.high;
    });
  }
  throw new QueryTypeError(resolved.field, `a match on a ${type} field is not supported here`);
}

function compileWildcard(resolved: ResolvedField, segments: string[], pattern: string): Predicate {
  const type = resolved.type;
  if (type !== undefined && TEXT_TYPES.has(type)) {
    // query_string normalizes the term with the analyzer (lowercase) and matches single tokens.
    const re = segmentsRegExp(
      segments.map((segment) => segment.toLowerCase()),
      false,
    );
    return anyValue(resolved, (v) => tokenize(String(toKeyword(v) ?? "")).some((token) => re.test(token)));
  }
  if (type === undefined || KEYWORD_TYPES.has(type) || type === "flattened") {
    const re = segmentsRegExp(segments, false);
    return anyValue(resolved, (v) => {
      const k = toKeyword(v);
      return k !== undefined && re.test(k);
    });
  }
  throw new QueryTypeError(
    resolved.field,
    `wildcard ${pattern} on a ${type} field: Elasticsearch only runs wildcards on keyword and text fields`,
  );
}

function holds(operator: RangeOperator, sign: number): boolean {
  if (operator === "lt") return sign < 0;
  if (operator === "lte") return sign <= 0;
  if (operator === "gt") return sign > 0;
  return sign >= 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compileRange(resolved: ResolvedField, operator: RangeOperator, value: string | boolean): Predicate {
  const type = resolved.type;
  const text = String(value);
  if (type === undefined) {
    const n = toNumber(text, undefined);
    return anyValue(resolved, (v) => {
      if (typeof v === "number") return n !== undefined && holds(operator, Math.sign(v - n));
      const k = toKeyword(v);
      return k !== undefined && holds(operator, compareStrings(k, text));
    });
  }
  if (NUMERIC_TYPES.has(type)) {
    const n = toNumber(text, type);
    if (n === undefined) throw new QueryTypeError(resolved.field, `failed to parse "${text}" as a ${type}`);
    return anyValue(resolved, (v) => {
      const x = docNumber(v, type);
      return x !== undefined && holds(operator, Math.sign(x - n));
    });
  }
  if (type === "date") {
    const span = parseDateValue(resolved, value);
    // Elasticsearch rounds a partial date: gte/lt to its first instant, gt/lte to its last.
    const bound = operator === "gte" || operator === "lt" ? span.low : span.high;
    return anyValue(resolved, (v) => {
      const at = docInstant(v);
      return at !== undefined && holds(operator, Math.sign(at - bound));
    });
  }
  if (type === "ip") {
    const ip = parseIp(text);
    if (ip === undefined) throw new QueryTypeError(resolved.field, `"${text}" is not an IP string literal`);
    return anyValue(resolved, (v) => {
      const x = typeof v === "string" ? parseIp(v) : undefined;
      return x !== undefined && holds(operator, x < ip ? -1 : x > ip ? 1 : 0);
    });
  }
  if (KEYWORD_TYPES.has(type) || type === "flattened") {
    return anyValue(resolved, (v) => {
      const k = toKeyword(v);
      return k !== undefined && holds(operator, compareStrings(k, text));
    });
  }
  if (TEXT_TYPES.has(type)) {
    return anyValue(resolved, (v) =>
      tokenize(String(toKeyword(v) ?? "")).some((token) => holds(operator, compareStrings(token, text))),
    );
  }
  if (type === "boolean") {
    const b = toBoolean(value);
    if (b === undefined) throw new QueryTypeError(resolved.field, `failed to parse "${text}" as a boolean`);
    return anyValue(resolved, (v) => {
      const x = toBoolean(v);
      return x !== undefined && holds(operator, Number(x) - Number(b));
    });
  }
  throw new QueryTypeError(resolved.field, `a range on a ${type} field is not supported here`);
}
