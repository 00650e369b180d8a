/**
 * Kibana Query Language parser.
 *
 * Why hand-written: Kibana's parser lives in `@kbn/es-query`, which is not published on npm (the
 * registry answers 404), and no maintained package there parses KQL (`kuery` on npm is an
 * unrelated Mongo-style query library; `@kusto/*` is Microsoft's Kusto KQL). So this is a
 * recursive-descent transcription of Kibana's PEG grammar
 * (packages/kbn-es-query/src/kuery/grammar/grammar.peggy), rule for rule and in the same
 * ordered-choice order, so it accepts and rejects the same texts, oddities included: an
 * unquoted value runs up to a special character or a keyword with spaces on both sides, so
 * `a: b or` is the value "b or" while `a: b or ` (trailing space) is an error, exactly as in Kibana.
 *
 * The parse tree is then lowered to the `KqlNode` forms Kibana's `is`/`range`/`exists` functions
 * build. Constructs Kibana accepts but that this evaluator does not model raise
 * `UnsupportedQueryError`: nested-field syntax `field:{ ... }`, a value without a field (a search of
 * every field) other than a lone `*`, a wildcard in a field name, and `field: null`.
 */
import { QuerySyntaxError, UnsupportedQueryError } from "./errors.ts";

export type RangeOperator = "lt" | "lte" | "gt" | "gte";

/** A parsed KQL query. `position` is where the leaf's field name starts in the query text. */
export type KqlNode =
  | { type: "match_all" }
  | { type: "and"; nodes: KqlNode[] }
  | { type: "or"; nodes: KqlNode[] }
  | { type: "not"; node: KqlNode }
  /** `field: *` */
  | { type: "exists"; field: string; position: number }
  /** `field: value` (Elasticsearch `match`) or `field: "value"` (`match_phrase`, phrase true). */
  | { type: "match"; field: string; value: string | boolean; phrase: boolean; position: number }
  /** `field: va*ue`: `segments` are the literal parts between unescaped `*`. */
  | { type: "wildcard"; field: string; pattern: string; segments: string[]; position: number }
  | { type: "range"; field: string; operator: RangeOperator; value: string | boolean; position: number };

type Draft =
  | Exclude<KqlNode, { type: "and" | "or" | "not" }>
  | { type: "and" | "or"; nodes: Draft[] }
  | { type: "not"; node: Draft }
  | { type: "unsupported"; message: string; position: number };

/** Stands for an unescaped `*` while an unquoted literal is read (escaped `\*` stays a `*`). */
const WILDCARD = "\uE000";
const SPACES = new Set([" ", "\t", "\r", "\n", "\u00A0"]);
const SPECIAL = new Set(["\\", "(", ")", ":", "<", ">", '"', "*", "{", "}"]);
const HEX4 = /^[0-9a-f]{4}$/i;

interface Literal {
  quoted: boolean;
  /** Trimmed text for unquoted literals, with WILDCARD marks; null/true/false for those words. */
  value: string | boolean | null;
  wildcard: boolean;
  position: number;
}

interface FieldRef {
  name: string | null;
  wildcard: boolean;
  position: number;
}

type Partial = (field: FieldRef) => Draft;

class KqlParser {
  private pos = 0;
  private furthest = 0;
  private expected = new Set<string>();

  constructor(private readonly text: string) {}

  parse(): KqlNode {
    this.spaces(0);
    const save = this.pos;
    let query = this.orQuery();
    if (query === null) {
      this.pos = save;
      query = { type: "match_all" };
    }
    this.spaces(0);
    if (this.pos < this.text.length) {
      this.fail("end of input");
      throw this.error();
    }
    return finish(query, this.text);
  }

  private error(): QuerySyntaxError {
    const found =
      this.furthest < this.text.length ? JSON.stringify(this.text[this.furthest]) : "end of input";
    const expected = [...this.expected].sort().join(", ");
    return new QuerySyntaxError(`Expected ${expected} but ${found} found`, this.furthest, this.text);
  }

  private fail(expectation: string): null {
    if (this.pos > this.furthest) {
      this.furthest = this.pos;
      this.expected = new Set();
    }
    if (this.pos === this.furthest) this.expected.add(expectation);
    return null;
  }

  private char(c: string): boolean {
    if (this.text[this.pos] === c) {
      this.pos++;
      return true;
    }
    this.fail(JSON.stringify(c));
    return false;
  }

  /** Space* (min 0) or Space+ (min 1). */
  private spaces(min: 0 | 1): boolean {
    const start = this.pos;
    while (this.pos < this.text.length && SPACES.has(this.text[this.pos] as string)) this.pos++;
    if (this.pos - start < min) {
      this.fail("whitespace");
      return false;
    }
    return true;
  }

  private word(word: string, at = this.pos): boolean {
    return this.text.slice(at, at + word.length).toLowerCase() === word;
  }

  /** Or / And: Space+ 'or'i Space+ (consumes on success). */
  private conjunction(word: "or" | "and"): boolean {
    const save = this.pos;
    if (this.spaces(1) && this.word(word)) {
      this.pos += word.length;
      if (this.spaces(1)) return true;
    } else if (this.pos > save) {
      this.fail(word.toUpperCase());
    }
    this.pos = save;
    return false;
  }

  /** Not: 'not'i Space+ */
  private not(): boolean {
    const save = this.pos;
    if (this.word("not")) {
      this.pos += 3;
      if (this.spaces(1)) return true;
    } else {
      this.fail("NOT");
    }
    this.pos = save;
    return false;
  }

  /** Keyword = Or / And / Not, as a lookahead at `at`. */
  private keywordAt(at: number): boolean {
    const spacesFrom = (p: number): number => {
      let q = p;
      while (q < this.text.length && SPACES.has(this.text[q] as string)) q++;
      return q - p;
    };
    const lead = spacesFrom(at);
    if (lead > 0) {
      for (const word of ["or", "and"]) {
        if (this.word(word, at + lead) && spacesFrom(at + lead + word.length) > 0) return true;
      }
    }
    return this.word("not", at) && spacesFrom(at + 3) > 0;
  }

  private orQuery(): Draft | null {
    const head = this.andQuery();
    if (head === null) return null;
    const nodes = [head];
    for (;;) {
      const save = this.pos;
      if (this.conjunction("or")) {
        const next = this.andQuery();
        if (next !== null) {
          nodes.push(next);
          continue;
        }
      }
      this.pos = save;
      break;
    }
    return nodes.length === 1 ? head : { type: "or", nodes };
  }

  private andQuery(): Draft | null {
    const head = this.notQuery();
    if (head === null) return null;
    const nodes = [head];
    for (;;) {
      const save = this.pos;
      if (this.conjunction("and")) {
        const next = this.notQuery();
        if (next !== null) {
          nodes.push(next);
          continue;
        }
      }
      this.pos = save;
      break;
    }
    return nodes.length === 1 ? head : { type: "and", nodes };
  }

  private notQuery(): Draft | null {
    const save = this.pos;
    if (this.not()) {
      const query = this.subQuery();
      if (query !== null) return { type: "not", node: query };
      this.pos = save;
    }
    return this.subQuery();
  }

  private subQuery(): Draft | null {
    const save = this.pos;
    if (this.char("(")) {
      this.spaces(0);
      const query = this.orQuery();
      if (query !== null) {
        this.spaces(0);
        if (this.char(")")) return query;
      }
      this.pos = save;
    }
    return this.nestedQuery();
  }

  private nestedQuery(): Draft | null {
    const save = this.pos;
    const field = this.field();
    if (field !== null) {
      this.spaces(0);
      if (this.char(":")) {
        this.spaces(0);
        if (this.char("{")) {
          this.spaces(0);
          const query = this.orQuery();
          if (query !== null) {
            this.spaces(0);
            if (this.char("}")) {
              return {
                type: "unsupported",
                message: "nested-field syntax field:{ ... }",
                position: field.position,
              };
            }
          }
        }
      }
    }
    this.pos = save;
    return this.expression();
  }

  private expression(): Draft | null {
    const save = this.pos;
    const range = this.fieldRangeExpression();
    if (range !== null) return range;
    this.pos = save;
    const fieldValue = this.fieldValueExpression();
    if (fieldValue !== null) return fieldValue;
    this.pos = save;
    const value = this.value();
    if (value === null) return null;
    return value({ name: null, wildcard: false, position: save });
  }

  private field(): FieldRef | null {
    const literal = this.literal();
    if (literal === null) return null;
    const name = literal.value === null ? "null" : String(literal.value);
    return {
      name: name.replaceAll(WILDCARD, "*"),
      wildcard: literal.wildcard,
      position: literal.position,
    };
  }

  private fieldRangeExpression(): Draft | null {
    const field = this.field();
    if (field === null) return null;
    this.spaces(0);
    const operator = this.rangeOperator();
    if (operator === null) return null;
    this.spaces(0);
    const value = this.literal();
    if (value === null) return null;
    if (field.wildcard) return wildcardField(field);
    const text = value.value === null ? "null" : value.value;
    return {
      type: "range",
      field: field.name as string,
      operator,
      value: typeof text === "string" ? text.replaceAll(WILDCARD, "*") : text,
      position: field.position,
    };
  }

  private rangeOperator(): RangeOperator | null {
    const two = this.text.slice(this.pos, this.pos + 2);
    if (two === "<=" || two === ">=") {
      this.pos += 2;
      return two === "<=" ? "lte" : "gte";
    }
    const one = this.text[this.pos];
    if (one === "<" || one === ">") {
      this.pos++;
      return one === "<" ? "lt" : "gt";
    }
    return this.fail("range operator");
  }

  private fieldValueExpression(): Draft | null {
    const field = this.field();
    if (field === null) return null;
    this.spaces(0);
    if (!this.char(":")) return null;
    this.spaces(0);
    const partial = this.listOfValues();
    if (partial === null) return null;
    return partial(field);
  }

  private listOfValues(): Partial | null {
    const save = this.pos;
    if (this.char("(")) {
      this.spaces(0);
      const partial = this.orListOfValues();
      if (partial !== null) {
        this.spaces(0);
        if (this.char(")")) return partial;
      }
      this.pos = save;
    }
    return this.value();
  }

  private orListOfValues(): Partial | null {
    return this.listOf("or", () => this.andListOfValues());
  }

  private andListOfValues(): Partial | null {
    return this.listOf("and", () => this.notListOfValues());
  }

  private listOf(word: "or" | "and", item: () => Partial | null): Partial | null {
    const head = item();
    if (head === null) return null;
    const partials = [head];
    for (;;) {
      const save = this.pos;
      if (this.conjunction(word)) {
        const next = item();
        if (next !== null) {
          partials.push(next);
          continue;
        }
      }
      this.pos = save;
      break;
    }
    if (partials.length === 1) return head;
    return (field) => ({ type: word, nodes: partials.map((partial) => partial(field)) });
  }

  private notListOfValues(): Partial | null {
    const save = this.pos;
    if (this.not()) {
      const partial = this.listOfValues();
      if (partial !== null) return (field) => ({ type: "not", node: partial(field) });
      this.pos = save;
    }
    return this.listOfValues();
  }

  private value(): Partial | null {
    const literal = this.literal();
    if (literal === null) return null;
    return (field) => isNode(field, literal);
  }

  private literal(): Literal | null {
    const save = this.pos;
    const quoted = this.quotedString();
    if (quoted !== null) return { quoted: true, value: quoted, wildcard: false, position: save };
    this.pos = save;
    return this.unquotedLiteral();
  }

  private quotedString(): string | null {
    if (!this.char('"')) return null;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) return this.fail('"');
      const c = this.text[this.pos] as string;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === "\\") {
        const next = this.text[this.pos + 1];
        const whitespace = escapedWhitespace(next);
        if (whitespace !== undefined) {
          out += whitespace;
          this.pos += 2;
          continue;
        }
        const unicode = this.text.slice(this.pos + 2, this.pos + 6);
        if (next === "u" && HEX4.test(unicode)) {
          out += String.fromCharCode(Number.parseInt(unicode, 16));
          this.pos += 6;
          continue;
        }
        if (next === "\\" || next === '"') {
          out += next;
          this.pos += 2;
          continue;
        }
      }
      out += c;
      this.pos++;
    }
  }

  private unquotedLiteral(): Literal | null {
    const start = this.pos;
    const chars: string[] = [];
    for (;;) {
      const c = this.unquotedCharacter();
      if (c === null) break;
      chars.push(c);
    }
    if (chars.length === 0) return this.fail("value");
    const sequence = chars.join("").trim();
    const wildcard = chars.includes(WILDCARD);
    let value: string | boolean | null = sequence;
    if (sequence === "null") value = null;
    else if (sequence === "true") value = true;
    else if (sequence === "false") value = false;
    return { quoted: false, value, wildcard: wildcard && typeof value === "string", position: start };
  }

  private unquotedCharacter(): string | null {
    const c = this.text[this.pos];
    if (c === undefined) return this.fail("value");
    if (c === "\\") {
      const next = this.text[this.pos + 1];
      const whitespace = escapedWhitespace(next);
      if (whitespace !== undefined) {
        this.pos += 2;
        return whitespace;
      }
      if (next !== undefined && SPECIAL.has(next)) {
        this.pos += 2;
        return next;
      }
      const unicode = this.text.slice(this.pos + 2, this.pos + 6);
      if (next === "u" && HEX4.test(unicode)) {
        this.pos += 6;
        return String.fromCharCode(Number.parseInt(unicode, 16));
      }
      for (const keyword of ["or", "and", "not"]) {
        if (this.word(keyword, this.pos + 1)) {
          const original = this.text.slice(this.pos + 1, this.pos + 1 + keyword.length);
          this.pos += 1 + keyword.length;
          return original;
        }
      }
      return this.fail("escape sequence");
    }
    if (c === "*") {
      this.pos++;
      return WILDCARD;
    }
    if (SPECIAL.has(c)) return this.fail("value");
    if (this.keywordAt(this.pos)) return this.fail("value");
    this.pos++;
    return c;
  }
}

function escapedWhitespace(c: string | undefined): string | undefined {
  if (c === "t") return "\t";
  if (c === "r") return "\r";
  if (c === "n") return "\n";
  return undefined;
}

function wildcardField(field: FieldRef): Draft {
  return { type: "unsupported", message: `a wildcard in field name ${field.name}`, position: field.position };
}

/** Kibana's `is` function, lowered to the query it builds. */
function isNode(field: FieldRef, literal: Literal): Draft {
  const value = literal.value;
  const bareWildcard = literal.wildcard && value === WILDCARD;
  if (field.name === null) {
    if (bareWildcard) return { type: "match_all" };
    return {
      type: "unsupported",
      message: "a value without a field searches every field; name the field",
      position: field.position,
    };
  }
  if (field.wildcard) return wildcardField(field);
  const name = field.name;
  if (bareWildcard) return { type: "exists", field: name, position: field.position };
  if (value === null) {
    return {
      type: "unsupported",
      message: `${name}: null is not a missing-field test in KQL (use not ${name}: *)`,
      position: field.position,
    };
  }
  if (literal.wildcard && typeof value === "string") {
    return {
      type: "wildcard",
      field: name,
      pattern: value.replaceAll(WILDCARD, "*"),
      segments: value.split(WILDCARD),
      position: field.position,
    };
  }
  return { type: "match", field: name, value, phrase: literal.quoted, position: field.position };
}

function finish(draft: Draft, text: string): KqlNode {
  switch (draft.type) {
    case "unsupported":
      throw new UnsupportedQueryError(draft.message, draft.position, text);
    case "and":
    case "or":
      return { type: draft.type, nodes: draft.nodes.map((node) => finish(node, text)) };
    case "not":
      return { type: "not", node: finish(draft.node, text) };
    default:
      return draft;
  }
}

/** Parses a KQL query as Kibana does; throws `QuerySyntaxError` (or `UnsupportedQueryError`). */
export function parseKql(text: string): KqlNode {
  return new KqlParser(text).parse();
}

/** Every leaf of a KQL tree (exists, match, wildcard, range). */
export function kqlLeaves(node: KqlNode): Array<Extract<KqlNode, { field: string }>> {
  switch (node.type) {
    case "match_all":
      return [];
    case "and":
    case "or":
      return node.nodes.flatMap(kqlLeaves);
    case "not":
      return kqlLeaves(node.node);
    default:
      return [node];
  }
}
