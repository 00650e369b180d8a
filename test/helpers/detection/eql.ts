/**
 * Elasticsearch Event Query Language parser, for the subset detection rules use.
 *
 * Why hand-written: Elasticsearch's EQL parser is Java (ANTLR grammar EqlBase.g4 in x-pack/plugin/eql)
 * and nothing on npm parses Elasticsearch's EQL dialect (the Endgame EQL parser is Python and differs:
 * case-insensitive `==`, single quotes). This is a recursive-descent parser following EqlBase.g4's
 * precedence (not > and > or; one comparison per operand) and Elasticsearch 8's verifier messages
 * for what it refuses: single-quoted strings, `?"` raw strings, `=` for equality, comparing a field
 * to a field, `with maxspan` before `by`, a sequence of one query, uneven join keys, `runs` outside
 * 1..100, a maxspan without unit, unknown functions.
 *
 * Accepted but not modelled (UnsupportedQueryError): pipes (`| head`), `join`, `sample`, missing
 * events `![...]`, optional fields `?field`, array indexes `field[0]`, arithmetic, and functions other
 * than startsWith, endsWith, stringContains (each with `~`), cidrMatch and length.
 */
import { QuerySyntaxError, UnsupportedQueryError } from "./errors.ts";

export type EqlLiteral = string | number | boolean | null;
export type CompareOperator = "==" | "!=" | "<" | "<=" | ">" | ">=";

export type EqlExpr =
  | { kind: "field"; name: string; position: number }
  | { kind: "literal"; value: EqlLiteral; position: number }
  | { kind: "and" | "or"; nodes: EqlExpr[] }
  | { kind: "not"; expr: EqlExpr }
  | { kind: "compare"; op: CompareOperator; left: EqlExpr; right: EqlExpr; position: number }
  /** `:` (case-insensitive wildcard), `like`/`like~`, `regex`/`regex~`, against one or more patterns. */
  | {
      kind: "pattern";
      op: ":" | "like" | "regex";
      insensitive: boolean;
      left: EqlExpr;
      patterns: string[];
      position: number;
    }
  | {
      kind: "in";
      insensitive: boolean;
      negated: boolean;
      left: EqlExpr;
      values: EqlLiteral[];
      position: number;
    }
  | { kind: "call"; name: string; insensitive: boolean; args: EqlExpr[]; position: number };

/** One `category where condition`; category null for `any`. */
export interface EqlFilter {
  category: string | null;
  condition: EqlExpr;
}

/** A sequence step: its filter and its own `by` keys (appended to the sequence's). */
export interface EqlStep extends EqlFilter {
  by: string[];
}

export type EqlQuery =
  | ({ type: "event" } & EqlFilter)
  | {
      type: "sequence";
      /** `sequence by` keys, shared by every step. */
      by: string[];
      /** `with maxspan=...` in milliseconds. */
      maxspan?: number;
      /** Steps in order, `with runs=N` already expanded into N steps. */
      steps: EqlStep[];
      until?: EqlStep;
    };

const KEYWORDS = new Set([
  "and",
  "any",
  "by",
  "false",
  "in",
  "join",
  "like",
  "maxspan",
  "not",
  "null",
  "of",
  "or",
  "regex",
  "sample",
  "sequence",
  "true",
  "until",
  "where",
  "with",
]);

/** Functions of Elasticsearch EQL; only those in SUPPORTED are evaluated here. */
const KNOWN_FUNCTIONS = new Set([
  "add",
  "between",
  "cidrMatch",
  "concat",
  "divide",
  "endsWith",
  "indexOf",
  "length",
  "modulo",
  "multiply",
  "number",
  "startsWith",
  "string",
  "stringContains",
  "substring",
  "subtract",
]);
const SUPPORTED_FUNCTIONS = new Set(["cidrMatch", "endsWith", "length", "startsWith", "stringContains"]);
const CASE_INSENSITIVE_FUNCTIONS = new Set([
  "endsWith",
  "startsWith",
  "stringContains",
  "between",
  "indexOf",
]);

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

type TokenKind = "ident" | "escaped" | "string" | "number" | "op" | "eof";

interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded value of strings and numbers. */
  value?: string | number;
  position: number;
  /** Offset just past the token. */
  end: number;
}

const OPERATORS = [
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  ":",
  "(",
  ")",
  "[",
  "]",
  ",",
  ".",
  "=",
  "~",
  "|",
  "!",
  "?",
];
const ARITHMETIC = new Set(["+", "-", "*", "/", "%"]);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const error = (message: string, at = pos): never => {
    throw new QuerySyntaxError(message, at, text);
  };
  while (pos < text.length) {
    const c = text[pos] as string;
    if (/\s/.test(c)) {
      pos++;
      continue;
    }
    if (text.startsWith("//", pos)) {
      const end = text.indexOf("\n", pos);
      pos = end < 0 ? text.length : end + 1;
      continue;
    }
    if (text.startsWith("/*", pos)) {
      const end = text.indexOf("*/", pos + 2);
      if (end < 0) error("unterminated comment");
      pos = end + 2;
      continue;
    }
    const start = pos;
    if (text.startsWith('"""', pos)) {
      const end = text.indexOf('"""', pos + 3);
      if (end < 0) error("unterminated raw string");
      const value = text.slice(pos + 3, end);
      pos = end + 3;
      tokens.push({ kind: "string", text: text.slice(start, pos), value, position: start, end: pos });
      continue;
    }
    if (c === '"') {
      pos++;
      let value = "";
      for (;;) {
        const d = text[pos];
        if (d === undefined || d === "\n" || d === "\r") error("unterminated string", start);
        if (d === '"') break;
        if (d === "\\") {
          const e = text[pos + 1];
          const simple: Record<string, string> = {
            n: "\n",
            r: "\r",
            t: "\t",
            b: "\b",
            f: "\f",
            '"': '"',
            "'": "'",
            "\\": "\\",
          };
          if (e !== undefined && simple[e] !== undefined) {
            value += simple[e];
            pos += 2;
            continue;
          }
          const unicode = /^u\{([0-9a-fA-F]{2,8})\}/.exec(text.slice(pos + 1));
          if (unicode !== null) {
            value += String.fromCodePoint(Number.parseInt(unicode[1] as string, 16));
            pos += 1 + unicode[0].length;
            continue;
          }
          error(`invalid escape sequence \\${e ?? ""}`);
        }
        value += d;
        pos++;
      }
      pos++;
      tokens.push({ kind: "string", text: text.slice(start, pos), value, position: start, end: pos });
      continue;
    }
    if (c === "'") error("Use double quotes [\"] to define string literals, not single quotes [']");
    if (c === "?" && (text[pos + 1] === '"' || text[pos + 1] === "'")) {
      error('Use triple double quotes ["""] to define unescaped string literals, not [?"]');
    }
    const number = /^(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(pos));
    if (number !== null) {
      pos += number[0].length;
      tokens.push({ kind: "number", text: number[0], value: Number(number[0]), position: start, end: pos });
      continue;
    }
    const ident = /^[A-Za-z_@][A-Za-z0-9_]*/.exec(text.slice(pos));
    if (ident !== null) {
      pos += ident[0].length;
      tokens.push({ kind: "ident", text: ident[0], position: start, end: pos });
      continue;
    }
    if (c === "`") {
      let value = "";
      pos++;
      for (;;) {
        const d = text[pos];
        if (d === undefined) error("unterminated escaped identifier", start);
        if (d === "`") {
          if (text[pos + 1] === "`") {
            value += "`";
            pos += 2;
            continue;
          }
          break;
        }
        value += d;
        pos++;
      }
      pos++;
      tokens.push({ kind: "escaped", text: value, position: start, end: pos });
      continue;
    }
    const op = OPERATORS.find((candidate) => text.startsWith(candidate, pos));
    if (op !== undefined || ARITHMETIC.has(c)) {
      const symbol = op ?? c;
      pos += symbol.length;
      tokens.push({ kind: "op", text: symbol, position: start, end: pos });
      continue;
    }
    error(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: "eof", text: "end of input", position: text.length, end: text.length });
  return tokens;
}

class EqlParser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly text: string) {
    this.tokens = lex(text);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.index++;
    return token;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === "ident" && token.text === word;
  }

  private isOp(op: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === "op" && token.text === op;
  }

  private error(message: string, token = this.peek()): QuerySyntaxError {
    return new QuerySyntaxError(message, token.position, this.text);
  }

  private unsupported(message: string, token = this.peek()): UnsupportedQueryError {
    return new UnsupportedQueryError(message, token.position, this.text);
  }

  private mismatch(expected: string): QuerySyntaxError {
    const token = this.peek();
    return this.error(`mismatched input ${JSON.stringify(token.text)} expecting ${expected}`);
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) throw this.mismatch(`'${word}'`);
    return this.next();
  }

  private expectOp(op: string): Token {
    if (!this.isOp(op)) throw this.mismatch(`'${op}'`);
    return this.next();
  }

  /** `~` written right after the previous token (`in~`, `like~`, `startsWith~`). */
  private tilde(previous: Token): boolean {
    const token = this.peek();
    if (token.kind === "op" && token.text === "~" && token.position === previous.end) {
      this.next();
      return true;
    }
    return false;
  }

  parse(): EqlQuery {
    let query: EqlQuery;
    if (this.isKeyword("sequence")) query = this.sequence();
    else if (this.isKeyword("join")) throw this.unsupported("join");
    else if (this.isKeyword("sample")) throw this.unsupported("sample");
    else query = { type: "event", ...this.eventFilter() };
    if (this.isOp("|")) throw this.unsupported("pipes");
    if (this.peek().kind !== "eof") throw this.mismatch("end of input");
    return query;
  }

  private eventFilter(): EqlFilter {
    const token = this.next();
    let category: string | null;
    if (token.kind === "ident" && token.text === "any") category = null;
    else if (token.kind === "string") category = token.value as string;
    else if (token.kind === "ident" && !KEYWORDS.has(token.text)) category = token.text;
    else {
      this.index--;
      throw this.mismatch("an event category, a string or 'any'");
    }
    this.expectKeyword("where");
    const condition = this.expression();
    this.requireBoolean(condition);
    return { category, condition };
  }

  private sequence(): EqlQuery {
    this.expectKeyword("sequence");
    let by: string[] = [];
    let maxspan: number | undefined;
    if (this.isKeyword("by")) {
      this.next();
      by = this.joinKeys();
      if (this.isKeyword("with")) maxspan = this.maxspan();
    } else if (this.isKeyword("with")) {
      maxspan = this.maxspan();
      if (this.isKeyword("by")) throw this.error("Please specify sequence [by] before [with] not after");
    }
    const steps: EqlStep[] = [];
    const keyCounts: Array<{ count: number; token: Token }> = [];
    while (this.isOp("[") || this.isOp("!")) {
      const token = this.peek();
      const { step, runs } = this.sequenceTerm(true);
      keyCounts.push({ count: step.by.length, token });
      for (let i = 0; i < runs; i++) steps.push(step);
    }
    if (keyCounts.length < 2) {
      throw this.error(`A sequence requires a minimum of 2 queries, found [${keyCounts.length}]`);
    }
    let until: EqlStep | undefined;
    if (this.isKeyword("until")) {
      this.next();
      const token = this.peek();
      until = this.sequenceTerm(false).step;
      keyCounts.push({ count: until.by.length, token });
    }
    const expected = keyCounts[0]?.count ?? 0;
    for (const { count, token } of keyCounts) {
      if (count !== expected) {
        throw this.error(
          `Inconsistent number of join keys specified; expected [${expected}] but found [${count}]`,
          token,
        );
      }
    }
    return {
      type: "sequence",
      by,
      ...(maxspan !== undefined && { maxspan }),
      steps,
      ...(until && { until }),
    };
  }

  private maxspan(): number {
    this.expectKeyword("with");
    this.expectKeyword("maxspan");
    this.expectOp("=");
    const number = this.next();
    if (number.kind !== "number" || !Number.isInteger(number.value)) {
      this.index--;
      throw this.mismatch("an integer");
    }
    const unit = this.peek();
    if (unit.kind !== "ident" || unit.position !== number.end) {
      throw this.error(`No time unit specified, did you mean [s] as in [${number.text}s]?`, unit);
    }
    this.next();
    const factor = TIME_UNITS[unit.text];
    if (factor === undefined) {
      throw this.error(
        `Unrecognized time unit [${unit.text}] in [${number.text}${unit.text}], please specify one of [ms, s, m, h, d]`,
        unit,
      );
    }
    return (number.value as number) * factor;
  }

  private sequenceTerm(allowRuns: boolean): { step: EqlStep; runs: number } {
    if (this.isOp("!")) throw this.unsupported("missing events ![...]");
    this.expectOp("[");
    const filter = this.eventFilter();
    this.expectOp("]");
    let by: string[] = [];
    if (this.isKeyword("by")) {
      this.next();
      by = this.joinKeys();
    }
    let runs = 1;
    if (allowRuns && this.isKeyword("with") && !this.isKeyword("maxspan", 1)) {
      this.next();
      const key = this.next();
      if (key.kind !== "ident" || key.text !== "runs") {
        throw this.error(`Unrecognized option [${key.text}], expecting [runs]`, key);
      }
      this.expectOp("=");
      const value = this.next();
      if (value.kind !== "number" || !Number.isInteger(value.value)) {
        this.index--;
        throw this.mismatch("an integer");
      }
      runs = value.value as number;
      if (runs < 1 || runs > 100) {
        throw this.error(
          `A positive runs value greater than 0 and at most 100 is required; found [${runs}]`,
          value,
        );
      }
    }
    return { step: { ...filter, by }, runs };
  }

  private joinKeys(): string[] {
    const keys: string[] = [];
    do {
      const expr = this.expression();
      if (expr.kind !== "field") {
        const at = "position" in expr ? expr.position : this.peek().position;
        throw new UnsupportedQueryError("a join key that is not a field", at, this.text);
      }
      keys.push(expr.name);
    } while (this.isOp(",") && this.next());
    return keys;
  }

  // Conditions -------------------------------------------------------------------------------

  private expression(): EqlExpr {
    return this.orExpr();
  }

  private orExpr(): EqlExpr {
    const nodes = [this.andExpr()];
    while (this.isKeyword("or")) {
      this.next();
      nodes.push(this.andExpr());
    }
    if (nodes.length > 1) for (const node of nodes) this.requireBoolean(node);
    return nodes.length === 1 ? (nodes[0] as EqlExpr) : { kind: "or", nodes };
  }

  private andExpr(): EqlExpr {
    const nodes = [this.notExpr()];
    while (this.isKeyword("and")) {
      this.next();
      nodes.push(this.notExpr());
    }
    if (nodes.length > 1) for (const node of nodes) this.requireBoolean(node);
    return nodes.length === 1 ? (nodes[0] as EqlExpr) : { kind: "and", nodes };
  }

  private notExpr(): EqlExpr {
    if (this.isKeyword("not")) {
      this.next();
      const expr = this.notExpr();
      this.requireBoolean(expr);
      return { kind: "not", expr };
    }
    return this.valueExpr();
  }

  /** Conditions must be boolean: a string or number constant, or length(), is refused. */
  private requireBoolean(expr: EqlExpr): void {
    const bad =
      (expr.kind === "literal" && expr.value !== null && typeof expr.value !== "boolean") ||
      (expr.kind === "call" && expr.name === "length");
    if (bad) throw new QuerySyntaxError("Condition expression needs to be boolean", expr.position, this.text);
  }

  private valueExpr(): EqlExpr {
    const left = this.operand();
    const token = this.peek();
    if (token.kind === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(token.text)) {
      this.next();
      const right = this.operand();
      if (this.isCompareOp()) throw this.error("comparisons cannot be chained; join them with and");
      if (isFieldLike(left) && isFieldLike(right)) {
        throw this.error("comparing a field to another field is not supported", token);
      }
      return { kind: "compare", op: token.text as CompareOperator, left, right, position: token.position };
    }
    if (token.kind === "op" && token.text === "=")
      throw this.error("Use == instead of = for equality", token);
    return left;
  }

  private isCompareOp(): boolean {
    const token = this.peek();
    return token.kind === "op" && ["==", "!=", "<", "<=", ">", ">=", "="].includes(token.text);
  }

  private operand(): EqlExpr {
    const primary = this.primary();
    const token = this.peek();
    if (token.kind === "op" && ARITHMETIC.has(token.text)) throw this.unsupported("arithmetic", token);
    if (this.isKeyword("not") && this.isKeyword("in", 1)) {
      this.next();
      return this.inList(primary, true);
    }
    if (this.isKeyword("in")) return this.inList(primary, false);
    if (this.isOp(":")) {
      this.next();
      return {
        kind: "pattern",
        op: ":",
        insensitive: true,
        left: primary,
        patterns: this.patterns(":"),
        position: token.position,
      };
    }
    if (this.isKeyword("like") || this.isKeyword("regex")) {
      const keyword = this.next();
      const insensitive = this.tilde(keyword);
      const op = keyword.text as "like" | "regex";
      return {
        kind: "pattern",
        op,
        insensitive,
        left: primary,
        patterns: this.patterns(op),
        position: token.position,
      };
    }
    return primary;
  }

  private inList(left: EqlExpr, negated: boolean): EqlExpr {
    const keyword = this.expectKeyword("in");
    const insensitive = this.tilde(keyword);
    this.expectOp("(");
    const values: EqlLiteral[] = [];
    do {
      const item = this.expression();
      if (item.kind !== "literal") {
        const at = "position" in item ? item.position : keyword.position;
        throw new QuerySyntaxError("comparing a field to another field is not supported", at, this.text);
      }
      values.push(item.value);
    } while (this.isOp(",") && this.next());
    this.expectOp(")");
    return { kind: "in", insensitive, negated, left, values, position: keyword.position };
  }

  private patterns(op: string): string[] {
    const constant = (): string => {
      const token = this.next();
      if (token.kind !== "string") {
        this.index--;
        throw this.error(`[${op}] can only be used to compare strings; expecting a string constant`, token);
      }
      return token.value as string;
    };
    if (!this.isOp("(")) return [constant()];
    this.next();
    const list = [constant()];
    while (this.isOp(",")) {
      this.next();
      list.push(constant());
    }
    this.expectOp(")");
    return list;
  }

  private primary(): EqlExpr {
    const token = this.peek();
    if (token.kind === "op" && token.text === "(") {
      this.next();
      const expr = this.expression();
      this.expectOp(")");
      return expr;
    }
    if (token.kind === "op" && token.text === "-" && this.peek(1).kind === "number") {
      this.next();
      const number = this.next();
      return { kind: "literal", value: -(number.value as number), position: token.position };
    }
    if (token.kind === "op" && token.text === "?") throw this.unsupported("optional fields ?field");
    if (token.kind === "string" || token.kind === "number") {
      this.next();
      return { kind: "literal", value: token.value as string | number, position: token.position };
    }
    if (
      token.kind === "ident" &&
      (token.text === "true" || token.text === "false" || token.text === "null")
    ) {
      this.next();
      const value = token.text === "null" ? null : token.text === "true";
      return { kind: "literal", value, position: token.position };
    }
    if (token.kind === "ident" && !KEYWORDS.has(token.text)) {
      const after = this.peek(1);
      const isCall =
        (after.kind === "op" && after.text === "(") ||
        (after.kind === "op" && after.text === "~" && after.position === token.end && this.isOp("(", 2));
      if (isCall) return this.call();
    }
    if ((token.kind === "ident" && !KEYWORDS.has(token.text)) || token.kind === "escaped") {
      return this.qualifiedName();
    }
    throw this.mismatch("a field, a constant, a function or '('");
  }

  private qualifiedName(): EqlExpr {
    const first = this.next();
    const parts = [first.text];
    while (this.isOp(".")) {
      this.next();
      const part = this.next();
      if (part.kind === "escaped" || (part.kind === "ident" && !KEYWORDS.has(part.text)))
        parts.push(part.text);
      else {
        this.index--;
        throw this.mismatch("a field name part");
      }
    }
    // `[` then a number indexes an array; otherwise it opens the next sequence step.
    if (this.isOp("[") && this.peek(1).kind === "number") throw this.unsupported("array indexes field[n]");
    return { kind: "field", name: parts.join("."), position: first.position };
  }

  private call(): EqlExpr {
    const name = this.next();
    const insensitive = this.tilde(name);
    if (!KNOWN_FUNCTIONS.has(name.text)) throw this.error(`Unknown function [${name.text}]`, name);
    if (insensitive && !CASE_INSENSITIVE_FUNCTIONS.has(name.text)) {
      throw this.error(`Function [${name.text}] does not support case-insensitive [~] matching`, name);
    }
    if (!SUPPORTED_FUNCTIONS.has(name.text)) throw this.unsupported(`function ${name.text}`, name);
    this.expectOp("(");
    const args: EqlExpr[] = [];
    if (!this.isOp(")")) {
      do args.push(this.expression());
      while (this.isOp(",") && this.next());
    }
    this.expectOp(")");
    const arity: Record<string, [number, number]> = {
      cidrMatch: [2, Number.POSITIVE_INFINITY],
      endsWith: [2, 2],
      length: [1, 1],
      startsWith: [2, 2],
      stringContains: [2, 2],
    };
    const [min, max] = arity[name.text] as [number, number];
    if (args.length < min || args.length > max) {
      throw this.error(
        `Function [${name.text}] takes ${min === max ? min : `at least ${min}`} arguments`,
        name,
      );
    }
    const [first, ...rest] = args;
    if (first?.kind !== "field") throw this.unsupported(`${name.text} on anything but a field`, name);
    for (const arg of rest) {
      if (arg.kind !== "literal" || typeof arg.value !== "string") {
        throw this.error(`Function [${name.text}] takes string constants after the field`, name);
      }
    }
    return { kind: "call", name: name.text, insensitive, args, position: name.position };
  }
}

function isFieldLike(expr: EqlExpr): boolean {
  return expr.kind === "field" || expr.kind === "call";
}

/** Parses an Elasticsearch EQL query; throws `QuerySyntaxError` (or `UnsupportedQueryError`). */
export function parseEql(text: string): EqlQuery {
  return new EqlParser(text).parse();
}

/** Every field an EQL condition names, with how it is used. */
export function eqlFieldUses(expr: EqlExpr): Array<{ field: string; use: "term" | "range" }> {
  switch (expr.kind) {
    case "field":
      return [{ field: expr.name, use: "term" }];
    case "literal":
      return [];
    case "and":
    case "or":
      return expr.nodes.flatMap(eqlFieldUses);
    case "not":
      return eqlFieldUses(expr.expr);
    case "compare": {
      const use = expr.op === "==" || expr.op === "!=" ? "term" : "range";
      return [...eqlFieldUses(expr.left), ...eqlFieldUses(expr.right)].map(({ field }) => ({ field, use }));
    }
    case "pattern":
    case "in":
      return eqlFieldUses(expr.left);
    case "call":
      return expr.args.flatMap(eqlFieldUses);
  }
}
