/**
 * Enough KQL for the `filter` of `GET /api/detection_engine/rules/_find`: `field: value`,
 * `field: (a OR b ...)`, `AND`/`OR`/`NOT` (any case), parentheses, quoted phrases and `*` wildcards
 * in bare values. Fields are those of the alerting `alert` saved object the security solution
 * documents: `alert.attributes.params.<camelCase>` (params is flattened: any key), `tags`, `name`,
 * `enabled`, `createdBy`, `updatedBy`. Anything else is a 400, as Kibana's saved-objects filter
 * validation answers (`This key '...' does NOT exist in alert saved object index patterns`).
 */

type Token = { kind: "(" | ")" | ":" | "word" | "phrase"; text: string; at: number };
type Node =
  | { op: "and" | "or"; left: Node; right: Node }
  | { op: "not"; node: Node }
  | { op: "match"; field: string; value: ValueNode };
type ValueNode =
  | { op: "term"; text: string; phrase: boolean }
  | { op: "and" | "or"; left: ValueNode; right: ValueNode }
  | { op: "not"; node: ValueNode };

/** A predicate over a rule as the API returns it, or the error message Kibana gives for the filter. */
export type Filter = ((rule: Record<string, unknown>) => boolean) | { error: string };

/** Compiles a `filter` query parameter. */
export function compileFilter(filter: string): Filter {
  try {
    const parser = new Parser(filter, tokenize(filter));
    const node = parser.expression();
    parser.end();
    checkFields(node);
    return (rule) => evaluate(node, rule);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:([():])|"((?:[^"\\]|\\.)*)"|([^\s():"]+))/y;
  let pos = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const at = pos + match[0].length - match[0].trimStart().length;
    if (match[1]) tokens.push({ kind: match[1] as "(" | ")" | ":", text: match[1], at });
    else if (match[2] !== undefined)
      tokens.push({ kind: "phrase", text: match[2].replace(/\\(.)/g, "$1"), at });
    else tokens.push({ kind: "word", text: match[3] ?? "", at });
    pos = pattern.lastIndex;
  }
  const rest = text.slice(pos);
  if (rest.trim() !== "") syntaxError(text, pos + rest.length - rest.trimStart().length);
  return tokens;
}

function syntaxError(text: string, at: number): never {
  const found = at >= text.length ? "end of input" : `"${text[at]}"`;
  throw new Error(`Expected "(", "{", value, whitespace but ${found} found.\n${text}\n${"-".repeat(at)}^`);
}

const isKeyword = (t: Token | undefined, word: string) => t?.kind === "word" && t.text.toUpperCase() === word;

class Parser {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private expect(kind: Token["kind"]): Token {
    const token = this.peek();
    if (token?.kind !== kind) syntaxError(this.text, token?.at ?? this.text.length);
    this.i++;
    return token;
  }

  end(): void {
    const token = this.peek();
    if (token) syntaxError(this.text, token.at);
  }

  expression(): Node {
    let left = this.conjunction();
    while (isKeyword(this.peek(), "OR")) {
      this.i++;
      left = { op: "or", left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Node {
    let left = this.negation();
    while (isKeyword(this.peek(), "AND")) {
      this.i++;
      left = { op: "and", left, right: this.negation() };
    }
    return left;
  }

  private negation(): Node {
    if (!isKeyword(this.peek(), "NOT")) return this.primary();
    this.i++;
    return { op: "not", node: this.negation() };
  }

  private primary(): Node {
    if (this.peek()?.kind === "(") {
      this.i++;
      const node = this.expression();
      this.expect(")");
      return node;
    }
    const field = this.expect("word").text;
    this.expect(":");
    return { op: "match", field, value: this.valueExpression() };
  }

  private valueExpression(): ValueNode {
    if (this.peek()?.kind !== "(") return this.term();
    this.i++;
    let left = this.valueNegation();
    for (let t = this.peek(); isKeyword(t, "OR") || isKeyword(t, "AND"); t = this.peek()) {
      this.i++;
      left = { op: isKeyword(t, "OR") ? "or" : "and", left, right: this.valueNegation() };
    }
    this.expect(")");
    return left;
  }

  private valueNegation(): ValueNode {
    if (!isKeyword(this.peek(), "NOT")) return this.term();
    this.i++;
    return { op: "not", node: this.valueNegation() };
  }

  private term(): ValueNode {
    const token = this.peek();
    if (token?.kind !== "word" && token?.kind !== "phrase")
      syntaxError(this.text, token?.at ?? this.text.length);
    this.i++;
    return { op: "term", text: token.text, phrase: token.kind === "phrase" };
  }
}

const PREFIX = "alert.attributes.";
const TOP_LEVEL: Record<string, string> = {
  tags: "tags",
  name: "name",
  enabled: "enabled",
  createdBy: "created_by",
  updatedBy: "updated_by",
};

/** The rule response field a KQL field reads, or undefined when the alert mapping has no such key. */
function ruleField(field: string): string | undefined {
  if (!field.startsWith(PREFIX)) return undefined;
  const rest = field.slice(PREFIX.length);
  if (rest.startsWith("params.") && rest.length > "params.".length)
    return rest.slice("params.".length).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return TOP_LEVEL[rest];
}

function checkFields(node: Node): void {
  switch (node.op) {
    case "and":
    case "or":
      checkFields(node.left);
      checkFields(node.right);
      return;
    case "not":
      checkFields(node.node);
      return;
    case "match":
      if (ruleField(node.field) !== undefined) return;
      throw new Error(
        `This key '${node.field}' does NOT exist in alert saved object index patterns: Bad Request`,
      );
  }
}

function evaluate(node: Node, rule: Record<string, unknown>): boolean {
  switch (node.op) {
    case "and":
      return evaluate(node.left, rule) && evaluate(node.right, rule);
    case "or":
      return evaluate(node.left, rule) || evaluate(node.right, rule);
    case "not":
      return !evaluate(node.node, rule);
    case "match": {
      const key = ruleField(node.field) as string;
      const raw = rule[key];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined).map(String);
      return matchValue(node.value, values, key === "name");
    }
  }
}

function matchValue(value: ValueNode, values: string[], text: boolean): boolean {
  switch (value.op) {
    case "and":
      return matchValue(value.left, values, text) && matchValue(value.right, values, text);
    case "or":
      return matchValue(value.left, values, text) || matchValue(value.right, values, text);
    case "not":
      return !matchValue(value.node, values, text);
    case "term":
      return values.some((v) => (text ? textMatch(v, value) : keywordMatch(v, value)));
  }
}

// `name` is a text field: a phrase matches in order, a bare value matches any of its words.
function textMatch(field: string, term: { text: string; phrase: boolean }): boolean {
  const words = field.toLowerCase().split(/\W+/).filter(Boolean);
  const wanted = term.text.toLowerCase().split(/\W+/).filter(Boolean);
  if (!term.phrase) return wanted.some((w) => words.includes(w));
  return words.join(" ").includes(wanted.join(" "));
}

function keywordMatch(field: string, term: { text: string; phrase: boolean }): boolean {
  if (term.phrase || !term.text.includes("*")) return field === term.text;
  const pattern = term.text.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${pattern.join(".*")}$`).test(field);
}
