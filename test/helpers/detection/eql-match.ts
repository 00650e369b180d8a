/** Evaluates an EQL condition on one document as Elasticsearch EQL does (for single-valued fields). */

import type { EqlExpr, EqlFilter, EqlLiteral } from "./eql.ts";
import { QueryTypeError } from "./errors.ts";
import type { Predicate } from "./kql-match.ts";
import {
  docInstant,
  docNumber,
  type FieldTypes,
  fieldExists,
  fieldValues,
  globRegExp,
  KEYWORD_TYPES,
  NUMERIC_TYPES,
  parseDateSpan,
  parseIp,
  parseIpOrCidr,
  type ResolvedField,
  resolveField,
  TEXT_TYPES,
  toBoolean,
  toKeyword,
  toNumber,
  valuesAt,
} from "./values.ts";

type Kind = "string" | "number" | "boolean" | "ip" | "date" | "unknown";

function kindOf(type: string | undefined): Kind {
  if (type === undefined) return "unknown";
  if (KEYWORD_TYPES.has(type) || type === "flattened") return "string";
  if (NUMERIC_TYPES.has(type)) return "number";
  if (type === "boolean" || type === "ip" || type === "date") return type;
  return "unknown";
}

/** A field (or length(field)) whose values are compared. */
interface Source {
  resolved: ResolvedField;
  kind: Kind;
  /** The values as Elasticsearch holds them for the comparison. */
  values(doc: object): unknown[];
  describe: string;
}

function fieldSource(expr: Extract<EqlExpr, { kind: "field" }>, types: FieldTypes): Source {
  const resolved = resolveField(expr.name, types);
  const type = resolved.type;
  if (type !== undefined && TEXT_TYPES.has(type)) {
    throw new QueryTypeError(
      expr.name,
      `No keyword/multi-field defined exact matches for [${expr.name}]; define one or use MATCH/QUERY instead`,
    );
  }
  if (type === "geo_point") throw new QueryTypeError(expr.name, "geo_point fields cannot be compared in EQL");
  const kind = kindOf(type);
  return { resolved, kind, values: (doc) => fieldValues(doc, resolved), describe: expr.name };
}

function source(expr: EqlExpr, types: FieldTypes): Source | undefined {
  if (expr.kind === "field") return fieldSource(expr, types);
  if (expr.kind === "call" && expr.name === "length") {
    const inner = fieldSource(expr.args[0] as Extract<EqlExpr, { kind: "field" }>, types);
    requireKind(inner, "string", "length");
    return {
      resolved: inner.resolved,
      kind: "number",
      values: (doc) =>
        inner.values(doc).flatMap((v) => (toKeyword(v) === undefined ? [] : [String(v).length])),
      describe: `length(${inner.describe})`,
    };
  }
  return undefined;
}

function requireKind(src: Source, kind: Kind, operation: string): void {
  if (src.kind !== "unknown" && src.kind !== kind) {
    throw new QueryTypeError(
      src.resolved.field,
      `[${operation}] needs a ${kind} field, ${src.describe} is ${src.kind}`,
    );
  }
}

function literalKind(value: EqlLiteral): Kind {
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  return "string";
}

/** Elasticsearch's verifier: the constant's type must fit the field's. */
function checkLiteral(src: Source, value: EqlLiteral, expression: string): void {
  if (value === null || src.kind === "unknown") return;
  const literal = literalKind(value);
  const fits =
    literal === src.kind ||
    (literal === "string" && (src.kind === "ip" || src.kind === "date")) ||
    (literal === "number" && src.kind === "date");
  if (!fits) {
    throw new QueryTypeError(
      src.resolved.field,
      `second argument of [${expression}] must be [${src.kind}], found value [${JSON.stringify(value)}] type [${literal}]`,
    );
  }
  if (src.kind === "ip" && parseIp(String(value)) === undefined) {
    throw new QueryTypeError(src.resolved.field, `${JSON.stringify(value)} is not an IP address`);
  }
  if (src.kind === "date" && parseDateSpan(value) === undefined) {
    throw new QueryTypeError(src.resolved.field, `failed to parse date ${JSON.stringify(value)}`);
  }
}

/** Compares one document value with a constant: sign, or undefined when they do not compare. */
function comparer(
  kind: Kind,
  type: string | undefined,
  literal: EqlLiteral,
): (value: unknown) => number | undefined {
  const sign = (a: number | bigint | string, b: number | bigint | string): number =>
    a < b ? -1 : a > b ? 1 : 0;
  switch (kind) {
    case "number": {
      const n = toNumber(literal, type);
      return (v) => {
        const x = docNumber(v, type);
        return x === undefined || n === undefined ? undefined : sign(x, n);
      };
    }
    case "boolean":
      return (v) => {
        const x = toBoolean(v);
        return x === undefined ? undefined : sign(Number(x), Number(literal));
      };
    case "ip": {
      const ip = parseIp(String(literal));
      return (v) => {
        const x = typeof v === "string" ? parseIp(v) : undefined;
        return x === undefined || ip === undefined ? undefined : sign(x, ip);
      };
    }
    case "date": {
      const span = parseDateSpan(literal);
      return (v) => {
        const x = docInstant(v);
        if (x === undefined || span === undefined) return undefined;
        return x < span.low ? -1 : x > span.high ? 1 : 0;
      };
    }
    case "string":
      return (v) => {
        const k = toKeyword(v);
        return k === undefined ? undefined : sign(k, String(literal));
      };
    default:
      return (v) => {
        if (typeof v === "number" && typeof literal === "number") return sign(v, literal);
        if (typeof v === "boolean" && typeof literal === "boolean") return sign(Number(v), Number(literal));
        const k = toKeyword(v);
        return k === undefined ? undefined : sign(k, String(literal));
      };
  }
}

const MIRROR = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" } as const;

function holds(op: keyof typeof MIRROR, sign: number): boolean {
  switch (op) {
    case "==":
      return sign === 0;
    case "!=":
      return sign !== 0;
    case "<":
      return sign < 0;
    case "<=":
      return sign <= 0;
    case ">":
      return sign > 0;
    case ">=":
      return sign >= 0;
  }
}

function literalCompare(a: EqlLiteral, b: EqlLiteral, op: keyof typeof MIRROR): boolean {
  if (a === null || b === null) return op === "==" ? a === b : op === "!=" ? a !== b : false;
  return holds(op, a < b ? -1 : a > b ? 1 : 0);
}

function describeExpr(expr: EqlExpr): string {
  switch (expr.kind) {
    case "field":
      return expr.name;
    case "literal":
      return JSON.stringify(expr.value);
    case "call":
      return `${expr.name}(${expr.args.map(describeExpr).join(", ")})`;
    default:
      return expr.kind;
  }
}

/**
 * Compiles an EQL condition. Like the query Elasticsearch builds: `==`, `<`... hold when any value
 * of the field does; `!=` and `not in` are the negation (a missing field passes them), `== null`
 * and `!= null` test absence and presence.
 */
export function compileEqlCondition(expr: EqlExpr, types: FieldTypes): Predicate {
  switch (expr.kind) {
    case "literal": {
      const value = expr.value === true;
      return () => value;
    }
    case "field": {
      const src = fieldSource(expr, types);
      requireKind(src, "boolean", "condition");
      return (doc) => src.values(doc).some((v) => toBoolean(v) === true);
    }
    case "and": {
      const parts = expr.nodes.map((node) => compileEqlCondition(node, types));
      return (doc) => parts.every((part) => part(doc));
    }
    case "or": {
      const parts = expr.nodes.map((node) => compileEqlCondition(node, types));
      return (doc) => parts.some((part) => part(doc));
    }
    case "not": {
      const part = compileEqlCondition(expr.expr, types);
      return (doc) => !part(doc);
    }
    case "compare":
      return compileCompare(expr, types);
    case "pattern": {
      const src = source(expr.left, types);
      if (src === undefined) {
        const value = expr.left.kind === "literal" ? expr.left.value : null;
        const matches = typeof value === "string" && patternTest(expr)(value);
        return () => matches;
      }
      requireKind(src, "string", expr.op);
      const test = patternTest(expr);
      return (doc) => src.values(doc).some((v) => typeof v !== "object" && test(String(v)));
    }
    case "in": {
      const src = source(expr.left, types);
      const expression = `${describeExpr(expr.left)} in (...)`;
      if (src === undefined) {
        const value = expr.left.kind === "literal" ? expr.left.value : null;
        const found = expr.values.some((item) => item === value);
        return () => found !== expr.negated;
      }
      for (const value of expr.values) checkLiteral(src, value, expression);
      const tests = expr.values
        .filter((value) => value !== null)
        .map((value) => {
          if (expr.insensitive && typeof value === "string") {
            const lower = value.toLowerCase();
            return (v: unknown) => toKeyword(v)?.toLowerCase() === lower;
          }
          const compare = comparer(src.kind, src.resolved.type, value);
          return (v: unknown) => compare(v) === 0;
        });
      const nullListed = expr.values.includes(null);
      const resolved = src.resolved;
      const any: Predicate = (doc) =>
        (nullListed && !fieldExists(doc, resolved)) ||
        src.values(doc).some((v) => tests.some((test) => test(v)));
      return expr.negated ? (doc) => !any(doc) : any;
    }
    case "call":
      return compileCall(expr, types);
  }
}

function patternTest(expr: Extract<EqlExpr, { kind: "pattern" }>): (value: string) => boolean {
  const res = expr.patterns.map((pattern) =>
    expr.op === "regex"
      ? new RegExp(`^(?:${pattern})$`, expr.insensitive ? "isu" : "su")
      : globRegExp(pattern, expr.insensitive),
  );
  return (value) => res.some((re) => re.test(value));
}

function compileCompare(expr: Extract<EqlExpr, { kind: "compare" }>, types: FieldTypes): Predicate {
  let { left, right } = expr;
  let op: keyof typeof MIRROR = expr.op;
  if (left.kind === "literal" && right.kind !== "literal") {
    [left, right] = [right, left];
    op = MIRROR[op];
  }
  if (left.kind === "literal" && right.kind === "literal") {
    const result = literalCompare(left.value, right.value, op);
    return () => result;
  }
  const src = source(left, types);
  if (src === undefined || right.kind !== "literal") {
    throw new QueryTypeError(
      describeExpr(left),
      `cannot compare ${describeExpr(left)} with ${describeExpr(right)}`,
    );
  }
  const literal = right.value;
  const expression = `${describeExpr(left)} ${op} ${describeExpr(right)}`;
  if (literal === null) {
    if (op !== "==" && op !== "!=") return () => false;
    const resolved = src.resolved;
    return op === "==" ? (doc) => !fieldExists(doc, resolved) : (doc) => fieldExists(doc, resolved);
  }
  checkLiteral(src, literal, expression);
  const compare = comparer(src.kind, src.resolved.type, literal);
  if (op === "!=") return (doc) => !src.values(doc).some((v) => compare(v) === 0);
  return (doc) =>
    src.values(doc).some((v) => {
      const sign = compare(v);
      return sign !== undefined && holds(op, sign);
    });
}

function compileCall(expr: Extract<EqlExpr, { kind: "call" }>, types: FieldTypes): Predicate {
  const src = fieldSource(expr.args[0] as Extract<EqlExpr, { kind: "field" }>, types);
  const constants = expr.args.slice(1).map((arg) => (arg as { value: string }).value);
  if (expr.name === "cidrMatch") {
    requireKind(src, "ip", "cidrMatch");
    const ranges = constants.map((cidr) => {
      const range = parseIpOrCidr(cidr);
      if (range === undefined) throw new QueryTypeError(src.resolved.field, `${cidr} is not a CIDR block`);
      return range;
    });
    return (doc) =>
      src.values(doc).some((v) => {
        const ip = typeof v === "string" ? parseIp(v) : undefined;
        return ip !== undefined && ranges.some((range) => ip >= range.low && ip <= range.high);
      });
  }
  requireKind(src, "string", expr.name);
  const fold = (s: string): string => (expr.insensitive ? s.toLowerCase() : s);
  const needle = fold(constants[0] as string);
  const test =
    expr.name === "startsWith"
      ? (s: string) => s.startsWith(needle)
      : expr.name === "endsWith"
        ? (s: string) => s.endsWith(needle)
        : (s: string) => s.includes(needle);
  return (doc) =>
    src.values(doc).some((v) => {
      const k = toKeyword(v);
      return k !== undefined && test(fold(k));
    });
}

/** `category where condition`: the category must be one of the document's `event.category` values. */
export function compileEqlFilter(filter: EqlFilter, types: FieldTypes): Predicate {
  const condition = compileEqlCondition(filter.condition, types);
  const category = filter.category;
  if (category === null) return condition;
  return (doc) => valuesAt(doc, "event.category").some((value) => value === category) && condition(doc);
}
