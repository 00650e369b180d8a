import { describe, expect, it } from "vitest";
import {
  type Alert,
  fieldProblems,
  fieldUses,
  type KqlNode,
  matchesEqlCondition,
  matchesKql,
  matchesRuleQuery,
  parseDateMath,
  parseEql,
  parseInterval,
  parseKql,
  QuerySyntaxError,
  QueryTypeError,
  type Rule,
  ruleFields,
  runRule,
  templateFieldTypes,
  tokenize,
  UnsupportedQueryError,
  valuesAt,
} from "./helpers/detection/index.ts";

// The detection-rule evaluator's own tests, on small hand-written documents.

const BASE = Date.parse("2024-05-01T12:00:00.000Z");
const MINUTE = 60_000;
const at = (minutes: number): string => new Date(BASE + minutes * MINUTE).toISOString();
const ev = (minutes: number, fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  "@timestamp": at(minutes),
  ...fields,
});

function rule(overrides: Partial<Rule>): Rule {
  return {
    rule_id: "test-rule",
    name: "test rule",
    type: "query",
    language: "kuery",
    query: "*",
    index: ["logs-jumpcloud.events-*"],
    from: "now-6m",
    interval: "5m",
    ...overrides,
  };
}

/** Minutes after BASE at which each alert was raised. */
const runMinutes = (alerts: Alert[]): number[] => alerts.map((alert) => (alert.at - BASE) / MINUTE);

function syntaxError(parse: () => unknown): QuerySyntaxError {
  try {
    parse();
  } catch (error) {
    if (error instanceof QuerySyntaxError) return error;
    throw error;
  }
  throw new Error("parsed without error");
}

describe("parseKql", () => {
  it("builds Kibana's is/range/exists nodes, and binds and tighter than or", () => {
    const query = 'event.action: "user_login_attempt" or user.name: bob and not event.outcome: *';
    expect(parseKql(query)).toEqual({
      type: "or",
      nodes: [
        { type: "match", field: "event.action", value: "user_login_attempt", phrase: true, position: 0 },
        {
          type: "and",
          nodes: [
            {
              type: "match",
              field: "user.name",
              value: "bob",
              phrase: false,
              position: query.indexOf("user.name"),
            },
            {
              type: "not",
              node: { type: "exists", field: "event.outcome", position: query.indexOf("event.outcome") },
            },
          ],
        },
      ],
    } satisfies KqlNode);
  });

  it("reads value lists, ranges, wildcards, booleans and escapes", () => {
    expect(parseKql('event.action: (a or "b c" or not d)')).toEqual({
      type: "or",
      nodes: [
        { type: "match", field: "event.action", value: "a", phrase: false, position: 0 },
        { type: "match", field: "event.action", value: "b c", phrase: true, position: 0 },
        {
          type: "not",
          node: { type: "match", field: "event.action", value: "d", phrase: false, position: 0 },
        },
      ],
    });
    expect(parseKql("jumpcloud.event.error_code >= 400")).toMatchObject({
      type: "range",
      operator: "gte",
      value: "400",
    });
    expect(parseKql('@timestamp < "2024-01-01"')).toMatchObject({
      type: "range",
      operator: "lt",
      value: "2024-01-01",
    });
    expect(parseKql("user.name: adm*n\\*")).toMatchObject({ type: "wildcard", segments: ["adm", "n*"] });
    expect(parseKql("jumpcloud.event.success: false")).toMatchObject({ type: "match", value: false });
    expect(parseKql('jumpcloud.event.success: "false"')).toMatchObject({
      type: "match",
      value: "false",
      phrase: true,
    });
    expect(parseKql("user.name: John Smith")).toMatchObject({ value: "John Smith" });
    expect(parseKql("user.name: a\\:b\\(c\\)")).toMatchObject({ value: "a:b(c)" });
    expect(parseKql('message: "say \\"hi\\"\\u0021"')).toMatchObject({ value: 'say "hi"!' });
    expect(parseKql("user.name: \\or")).toMatchObject({ value: "or" });
    expect(parseKql('"user.name": bob')).toMatchObject({ field: "user.name", value: "bob" });
    expect(parseKql("NOT user.name: bob AND event.outcome: failure OR x: y").type).toBe("or");
    expect(parseKql("")).toEqual({ type: "match_all" });
    expect(parseKql("  *  ")).toEqual({ type: "match_all" });
    expect(parseKql("((user.name: bob))")).toMatchObject({ type: "match" });
  });

  it("accepts what Kibana's grammar accepts, quirks included", () => {
    // An unquoted value runs to a special character or a keyword between spaces.
    expect(parseKql("user.name: b or")).toMatchObject({ value: "b or" });
    expect(parseKql("user.name: cannot")).toMatchObject({ value: "cannot" });
    expect(parseKql("user.name: notable")).toMatchObject({ value: "notable" });
  });

  it.each([
    ["(user.name: bob", 15],
    ["user.name: bob)", 14],
    ["user.name: (bob or alice", 24],
    ["user.name:", 10],
    ["user.name: bob or ", 18],
    ["user.name: bob and (", 20],
    ['user.name: "bob', 15],
    ["user.name <", 11],
    ["user.name: bob: x", 14],
    ["user.name:: bob", 10],
    ["user.name: >5", 11],
    ["user.name: {bob", 15],
    ["user.name: bob }", 15],
    ["()", 1],
  ])("rejects %j at %i", (query, position) => {
    const error = syntaxError(() => parseKql(query));
    expect(error).not.toBeInstanceOf(UnsupportedQueryError);
    expect(error.position).toBe(position);
    expect(error.message).toContain(`position ${position}`);
  });

  it.each([
    ["user:{ name: bob }", "nested-field syntax"],
    ["bob", "without a field"],
    ["user.name: bob and alice", "without a field"],
    ["user.*: bob", "wildcard in field name"],
    ["user.name: null", "null"],
    ["not", "without a field"],
  ])("refuses %j as unsupported", (query, message) => {
    const error = syntaxError(() => parseKql(query));
    expect(error).toBeInstanceOf(UnsupportedQueryError);
    expect(error.message).toContain(message);
  });
});

describe("parseEql", () => {
  it("parses an event query with Elasticsearch's precedence", () => {
    const query = parseEql('iam where not user.name == "a" and event.outcome : "fail*" or x.y in ("1", "2")');
    expect(query).toMatchObject({
      type: "event",
      category: "iam",
      condition: {
        kind: "or",
        nodes: [
          {
            kind: "and",
            nodes: [
              { kind: "not", expr: { kind: "compare", op: "==" } },
              { kind: "pattern", op: ":", insensitive: true, patterns: ["fail*"] },
            ],
          },
          { kind: "in", negated: false, values: ["1", "2"] },
        ],
      },
    });
  });

  it("reads categories, strings, numbers, functions and escaped names", () => {
    expect(parseEql("any where true")).toMatchObject({
      category: null,
      condition: { kind: "literal", value: true },
    });
    expect(parseEql('"my-category" where true')).toMatchObject({ category: "my-category" });
    expect(parseEql('x where a == """raw \\ "quoted" string"""')).toMatchObject({
      condition: { right: { value: 'raw \\ "quoted" string' } },
    });
    expect(parseEql('x where a == "tab\\there \\u{1F600}"')).toMatchObject({
      condition: { right: { value: "tab\there 😀" } },
    });
    expect(parseEql("x where a >= -5 and b < 2.5")).toMatchObject({
      condition: { nodes: [{ right: { value: -5 } }, { right: { value: 2.5 } }] },
    });
    expect(parseEql("x where `my-field`.sub != null")).toMatchObject({
      condition: { op: "!=", left: { kind: "field", name: "my-field.sub" }, right: { value: null } },
    });
    expect(parseEql('x where a not in~ ("A") and b like~ ("x*", "y?") and c regex "[a-z]+"')).toMatchObject({
      condition: {
        nodes: [
          { kind: "in", negated: true, insensitive: true },
          { kind: "pattern", op: "like", insensitive: true, patterns: ["x*", "y?"] },
          { kind: "pattern", op: "regex", insensitive: false },
        ],
      },
    });
    expect(
      parseEql(
        'x where startsWith~(a, "p") and cidrMatch(source.ip, "10.0.0.0/8", "::1/128") and length(b) > 3',
      ),
    ).toMatchObject({
      condition: { nodes: [{ kind: "call", insensitive: true }, { kind: "call" }, { kind: "compare" }] },
    });
    expect(parseEql("x where true // comment\n /* block */")).toMatchObject({ category: "x" });
  });

  it("parses sequences: by, maxspan, per-step by, runs (expanded) and until", () => {
    const query = parseEql(`sequence by user.name with maxspan=10m
      [authentication where event.outcome == "failure"] by source.ip with runs=3
      [authentication where event.outcome == "success"] by source.ip
      until [iam where event.action == "logout"] by client.ip`);
    expect(query).toMatchObject({ type: "sequence", by: ["user.name"], maxspan: 600_000 });
    if (query.type !== "sequence") throw new Error("not a sequence");
    expect(query.steps.map((step) => [step.category, step.by])).toEqual([
      ["authentication", ["source.ip"]],
      ["authentication", ["source.ip"]],
      ["authentication", ["source.ip"]],
      ["authentication", ["source.ip"]],
    ]);
    expect(query.until).toMatchObject({ category: "iam", by: ["client.ip"] });
    expect(parseEql("sequence [a where true] [b where true]")).toMatchObject({ by: [], steps: [{}, {}] });
    expect(parseEql("sequence with maxspan=30s [a where true] [b where true]")).toMatchObject({
      maxspan: 30_000,
    });
    expect(parseEql("sequence with maxspan=1500ms [a where true] [b where true]")).toMatchObject({
      maxspan: 1500,
    });
  });

  it.each([
    ["iam where user.name == 'bob'", "single quotes", 23],
    ['iam where user.name == ?"bob"', '[?"]', 23],
    ['iam where user.name = "bob"', "Use ==", 20],
    ["iam where user.name == source.user.name", "field to another field", 20],
    ['iam where user.name in ("a", source.user.name)', "field to another field", 29],
    ['iam where (user.name == "a"', "expecting ')'", 27],
    ['iam where user.name == "a")', "end of input", 26],
    ['iam where user.name == "a" and', "expecting a field", 30],
    ['iam where and user.name == "a"', "expecting a field", 10],
    ['iam user.name == "a"', "expecting 'where'", 4],
    ['iam where user.name === "a"', "mismatched input", 22],
    ['iam where user.name ~= "a"', "end of input", 20],
    ['iam where user.name == "a', "unterminated string", 23],
    ["iam where a < b < c", "chained", 16],
    ["iam where 1 < 2 < 3", "chained", 16],
    ['iam where "text"', "needs to be boolean", 10],
    ["iam where a : 5", "compare strings", 14],
    ["iam where unknownFn(a)", "Unknown function", 10],
    ['iam where cidrMatch~(a, "x")', "case-insensitive", 10],
    ["iam where user.name AND true", "end of input", 20],
    ["sequence [a where true]", "minimum of 2 queries", 23],
    ["sequence with maxspan=5m by x [a where true] [b where true]", "before [with]", 25],
    ["sequence with maxspan=5 [a where true] [b where true]", "No time unit", 24],
    ["sequence with maxspan=5y [a where true] [b where true]", "Unrecognized time unit", 23],
    ["sequence [a where true] by x [b where true]", "Inconsistent number of join keys", 29],
    ["sequence by x [a where true] by y [b where true] by z until [c where true]", "Inconsistent", 60],
    ["sequence [a where true] with runs=0 [b where true]", "runs value", 34],
    ["sequence [a where true] with times=2 [b where true]", "Unrecognized option", 29],
  ])("rejects %j (%s) at %i", (query, message, position) => {
    const error = syntaxError(() => parseEql(query));
    expect(error).not.toBeInstanceOf(UnsupportedQueryError);
    expect(error.message).toContain(message);
    expect(error.position).toBe(position);
  });

  it.each([
    ["iam where true | head 5", "pipes"],
    ["join [a where true] [b where true]", "join"],
    ["sample by x [a where true] [b where true]", "sample"],
    ["sequence [a where true] ![b where true] [c where true]", "missing events"],
    ['iam where ?user.name == "x"', "optional fields"],
    ['iam where process.args[0] == "x"', "array indexes"],
    ["iam where a + 1 == 2", "arithmetic"],
    ['iam where substring(a, 1) == "x"', "function substring"],
  ])("refuses %j as unsupported", (query, message) => {
    const error = syntaxError(() => parseEql(query));
    expect(error).toBeInstanceOf(UnsupportedQueryError);
    expect(error.message).toContain(message);
  });
});

describe("field access", () => {
  it("reads nested objects, dotted keys and arrays alike", () => {
    const doc = {
      user: [{ name: "a" }, { name: ["b", "c"] }],
      "user.name": "d",
      source: { "user.name": "e", user: { name: null } },
    };
    expect(valuesAt(doc, "user.name")).toEqual(["a", "b", "c", "d"]);
    expect(valuesAt(doc, "source.user.name")).toEqual(["e"]);
    expect(valuesAt(doc, "missing.field")).toEqual([]);
  });

  it("tokenizes like the standard analyzer, closely enough", () => {
    expect(tokenize("Login FAILED for john.doe@example.com from 10.0.0.1 (don't)")).toEqual([
      "login",
      "failed",
      "for",
      "john.doe",
      "example.com",
      "from",
      "10.0.0.1",
      "don't",
    ]);
  });

  it("takes the index template's types, multi-fields included, unsearchable fields left out", () => {
    const types = templateFieldTypes();
    expect(types["user.name"]).toBe("keyword");
    expect(types["user.name.text"]).toBe("match_only_text");
    expect(types["source.ip"]).toBe("ip");
    expect(types["@timestamp"]).toBe("date");
    expect(types["jumpcloud.event.changes"]).toBe("flattened");
    expect(types["event.original"]).toBeUndefined();
    types["user.name"] = "changed";
    expect(templateFieldTypes()["user.name"]).toBe("keyword");
  });
});

describe("matchesKql", () => {
  const doc = {
    "@timestamp": "2024-05-01T12:00:00.000Z",
    event: { action: "user_login_attempt", category: ["authentication"], outcome: "failure" },
    "user.name": "John.Smith",
    source: { ip: "203.0.113.7", user: { name: ["Ann Lee", "ann"] } },
    client: { ip: "2001:db8::1", as: { number: 64500 } },
    related: { ip: ["10.1.2.3", "192.168.1.1"] },
    message: "Login failed: bad password for John",
    data_stream: { dataset: "jumpcloud.events" },
    tags: ["forwarded", "preserve_original_event"],
    jumpcloud: {
      event: {
        success: "false",
        mfa: true,
        error_code: 401,
        geoip: { latitude: 51.5 },
        changes: [{ field: "password", to: "x" }, { field: "email" }],
      },
    },
  };
  const matches = (query: string): boolean => matchesKql(query, doc);

  it("compares keywords exactly and case-sensitively, any array element", () => {
    expect(matches("event.action: user_login_attempt")).toBe(true);
    expect(matches("event.action: USER_LOGIN_ATTEMPT")).toBe(false);
    expect(matches("event.action: user_login")).toBe(false);
    expect(matches('user.name: "John.Smith"')).toBe(true);
    expect(matches("event.category: authentication")).toBe(true);
    expect(matches("tags: preserve_original_event")).toBe(true);
    expect(matches("source.user.name: ann")).toBe(true);
    expect(matches('source.user.name: "Ann Lee"')).toBe(true);
    expect(matches("source.user.name: Ann")).toBe(false);
    expect(matches("data_stream.dataset: jumpcloud.events")).toBe(true);
  });

  it("runs wildcards on the whole keyword, case-sensitively; on text per token, lowercased", () => {
    expect(matches("event.action: user_*")).toBe(true);
    expect(matches("event.action: *login*")).toBe(true);
    expect(matches("event.action: *LOGIN*")).toBe(false);
    expect(matches("event.action: login*")).toBe(false);
    expect(matches("user.name: John.*")).toBe(true);
    expect(matches("user.name: john.*")).toBe(false);
    expect(matches("user.name: John\\*")).toBe(false);
    expect(matches("message: PASS*")).toBe(true);
    expect(matches("message: *word")).toBe(true);
    expect(matches("message: bad*password")).toBe(false);
  });

  it("matches text fields by token (any token, as match's or) and phrases in order", () => {
    expect(matches("message: failed")).toBe(true);
    expect(matches("message: FAILED")).toBe(true);
    expect(matches("message: fail")).toBe(false);
    expect(matches("message: (succeeded or missing)")).toBe(false);
    // Without parentheses, KQL reads "or missing" as a search of every field.
    expect(() => matches("message: succeeded or missing")).toThrow(UnsupportedQueryError);
    expect(matches("message: (success or password)")).toBe(true);
    expect(matches("message: nothing password")).toBe(true);
    expect(matches('message: "bad password"')).toBe(true);
    expect(matches('message: "password bad"')).toBe(false);
    expect(matches('message: "Login failed bad"')).toBe(true);
    expect(matches('message: "Login bad"')).toBe(false);
    expect(matches('message: "---"')).toBe(false);
  });

  it("reads multi-fields from their parent", () => {
    // The standard tokenizer keeps letters joined by a dot together: John.Smith is one token.
    expect(matches("user.name.text: john.smith")).toBe(true);
    expect(matches("user.name.text: john")).toBe(false);
    expect(matches("user.name: john.smith")).toBe(false);
    expect(matches("source.user.name.text: lee")).toBe(true);
  });

  it("compares ips exactly, by CIDR, IPv4 and IPv6, and by range", () => {
    expect(matches("source.ip: 203.0.113.7")).toBe(true);
    expect(matches('source.ip: "203.0.113.0/24"')).toBe(true);
    expect(matches('source.ip: "203.0.114.0/24"')).toBe(false);
    expect(matches('related.ip: "10.0.0.0/8" and related.ip: "192.168.0.0/16"')).toBe(true);
    expect(matches('client.ip: "2001:db8:0:0:0:0:0:1"')).toBe(true);
    expect(matches('client.ip: "2001:db8::/32"')).toBe(true);
    expect(matches('source.ip: "::ffff:203.0.113.7"')).toBe(true);
    expect(matches('source.ip > "203.0.113.6" and source.ip < "203.0.113.8"')).toBe(true);
    expect(() => matches("source.ip: 203.0.113.*")).toThrow(QueryTypeError);
    expect(() => matches("source.ip: localhost")).toThrow(/not an IP/);
  });

  it("compares booleans with their string forms, numbers numerically", () => {
    expect(matches("jumpcloud.event.success: false")).toBe(true);
    expect(matches('jumpcloud.event.success: "false"')).toBe(true);
    expect(matches("jumpcloud.event.success: true")).toBe(false);
    expect(matches("jumpcloud.event.mfa: true")).toBe(true);
    expect(() => matches("jumpcloud.event.mfa: yes")).toThrow(QueryTypeError);
    expect(matches("jumpcloud.event.error_code: 401")).toBe(true);
    expect(matches('jumpcloud.event.error_code: "401"')).toBe(true);
    expect(matches("jumpcloud.event.error_code: 401.5")).toBe(false);
    expect(matches("jumpcloud.event.error_code >= 400 and jumpcloud.event.error_code < 500")).toBe(true);
    expect(matches("jumpcloud.event.error_code > 401")).toBe(false);
    expect(matches("client.as.number <= 64500")).toBe(true);
    expect(matches("jumpcloud.event.geoip.latitude: 51.5")).toBe(true);
    expect(() => matches("jumpcloud.event.error_code: abc")).toThrow(QueryTypeError);
    expect(() => matches("jumpcloud.event.error_code: 4*")).toThrow(QueryTypeError);
  });

  it("compares dates as Elasticsearch rounds partial dates", () => {
    expect(matches("@timestamp: 2024-05-01")).toBe(true);
    expect(matches('@timestamp: "2024-05-01T12:00:00Z"')).toBe(true);
    expect(matches('@timestamp: "2024-05-01T14:00:00+02:00"')).toBe(true);
    expect(matches("@timestamp: 2024-05-02")).toBe(false);
    expect(matches('@timestamp >= "2024-05-01"')).toBe(true);
    expect(matches('@timestamp > "2024-05-01"')).toBe(false);
    expect(matches('@timestamp <= "2024-05-01"')).toBe(true);
    expect(matches('@timestamp < "2024-05-01"')).toBe(false);
    expect(matches('@timestamp < "2024-05-01T12:00:00.001Z"')).toBe(true);
    expect(() => matches("@timestamp > now-1d")).toThrow(/date math/);
    expect(() => matches("@timestamp: yesterday")).toThrow(QueryTypeError);
  });

  it("searches a flattened field's keys and values as keywords", () => {
    expect(matches("jumpcloud.event.changes.field: password")).toBe(true);
    expect(matches("jumpcloud.event.changes: email")).toBe(true);
    expect(matches("jumpcloud.event.changes: Email")).toBe(false);
    expect(matches("jumpcloud.event.changes.to: *")).toBe(true);
  });

  it("tests existence, and not on a missing field", () => {
    expect(matches("event.outcome: *")).toBe(true);
    expect(matches("source.user: *")).toBe(true);
    expect(matches("host.hostname: *")).toBe(false);
    expect(matches("not host.hostname: *")).toBe(true);
    expect(matches("not host.hostname: x")).toBe(true);
    expect(matches("host.hostname: x")).toBe(false);
    expect(matchesKql("user.name: *", { user: { name: null } })).toBe(false);
    expect(matchesKql("user.name: *", { user: { name: [] } })).toBe(false);
    expect(matchesKql("user.name: *", { user: { name: "" } })).toBe(true);
  });

  it("infers from the document's JSON type when the field is not in the types", () => {
    const custom = { count: 3, flag: true, name: "Bob" };
    expect(matchesKql("count: 3 and flag: true and name: Bob", custom, {})).toBe(true);
    expect(matchesKql("count > 2 and name: B*", custom, {})).toBe(true);
    expect(matchesKql("name: bob", custom, {})).toBe(false);
    // With explicit types, the type decides: a text field matches by token.
    expect(matchesKql("name: bob", custom, { name: "text" })).toBe(true);
  });

  it("takes a parsed query too", () => {
    expect(matchesKql(parseKql("event.outcome: failure"), doc)).toBe(true);
  });
});

describe("matchesEqlCondition", () => {
  const doc = {
    "@timestamp": "2024-05-01T12:00:00.000Z",
    event: { category: ["authentication", "iam"], action: "user_login_attempt", outcome: "failure" },
    user: { name: "Alice" },
    source: { ip: "203.0.113.7" },
    message: "Login failed",
    jumpcloud: { event: { error_code: 401, success: false } },
  };
  const matches = (query: string): boolean => matchesEqlCondition(query, doc);

  it("checks the category against event.category, any for all", () => {
    expect(matches("authentication where true")).toBe(true);
    expect(matches("iam where true")).toBe(true);
    expect(matches("process where true")).toBe(false);
    expect(matches("Authentication where true")).toBe(false);
    expect(matches("any where true")).toBe(true);
    expect(matchesEqlCondition("any where true", { user: { name: "x" } })).toBe(true);
    expect(matches("any where false")).toBe(false);
  });

  it("== and != are case-sensitive and literal; : is case-insensitive with wildcards", () => {
    expect(matches('any where user.name == "Alice"')).toBe(true);
    expect(matches('any where user.name == "alice"')).toBe(false);
    expect(matches('any where user.name == "Al*"')).toBe(false);
    expect(matches('any where user.name != "alice"')).toBe(true);
    expect(matches('any where user.name : "alice"')).toBe(true);
    expect(matches('any where user.name : "al*"')).toBe(true);
    expect(matches('any where user.name : "a?ice"')).toBe(true);
    expect(matches('any where user.name : ("bob", "AL*")')).toBe(true);
    expect(matches('any where user.name like "Al*"')).toBe(true);
    expect(matches('any where user.name like "al*"')).toBe(false);
    expect(matches('any where user.name like~ "al*"')).toBe(true);
    expect(matches('any where user.name regex "A[a-z]+"')).toBe(true);
    expect(matches('any where user.name regex "a[a-z]+"')).toBe(false);
    expect(matches('any where user.name regex~ "a[a-z]+"')).toBe(true);
  });

  it("looks values up in lists, with not in and in~", () => {
    expect(matches('any where user.name in ("Bob", "Alice")')).toBe(true);
    expect(matches('any where user.name in ("alice")')).toBe(false);
    expect(matches('any where user.name in~ ("alice")')).toBe(true);
    expect(matches('any where user.name not in ("Alice")')).toBe(false);
    expect(matches('any where user.name not in~ ("bob")')).toBe(true);
    expect(matches('any where host.name not in ("x")')).toBe(true);
  });

  it("tests null, numbers, booleans, ips and functions", () => {
    expect(matches("any where host.name == null")).toBe(true);
    expect(matches("any where user.name != null")).toBe(true);
    expect(matches("any where user.name == null")).toBe(false);
    expect(matches('any where host.name != "x"')).toBe(true);
    expect(matches('any where host.name == "x"')).toBe(false);
    expect(matches("any where jumpcloud.event.error_code >= 400 and jumpcloud.event.error_code < 500")).toBe(
      true,
    );
    expect(matches("any where 400 < jumpcloud.event.error_code")).toBe(true);
    expect(matches("any where jumpcloud.event.success == false")).toBe(true);
    expect(matches("any where not jumpcloud.event.success")).toBe(true);
    expect(matches('any where source.ip == "203.0.113.7"')).toBe(true);
    expect(matches('any where cidrMatch(source.ip, "10.0.0.0/8", "203.0.113.0/24")')).toBe(true);
    expect(matches('any where cidrMatch(source.ip, "10.0.0.0/8")')).toBe(false);
    expect(matches('any where startsWith(user.name, "Al")')).toBe(true);
    expect(matches('any where startsWith(user.name, "al")')).toBe(false);
    expect(matches('any where startsWith~(user.name, "al")')).toBe(true);
    expect(matches('any where endsWith(event.action, "_attempt")')).toBe(true);
    expect(matches('any where stringContains~(event.action, "LOGIN")')).toBe(true);
    expect(matches("any where length(user.name) == 5")).toBe(true);
  });

  it("fails as Elasticsearch's verifier does on type mismatches", () => {
    expect(() => matches('any where jumpcloud.event.error_code == "401"')).toThrow(QueryTypeError);
    expect(() => matches("any where user.name == 5")).toThrow(/must be \[string\]/);
    expect(() => matches('any where jumpcloud.event.success == "false"')).toThrow(QueryTypeError);
    expect(() => matches('any where message == "Login failed"')).toThrow(/No keyword\/multi-field/);
    expect(() => matches('any where jumpcloud.event.error_code : "4*"')).toThrow(QueryTypeError);
    expect(() => matches('any where cidrMatch(user.name, "10.0.0.0/8")')).toThrow(QueryTypeError);
    expect(() => matches('any where source.ip == "not-an-ip"')).toThrow(QueryTypeError);
    expect(() => matches("any where user.name")).toThrow(QueryTypeError);
  });

  it("takes a bare condition, and refuses sequences", () => {
    const query = parseEql('any where user.name == "Alice"');
    if (query.type !== "event") throw new Error("not an event query");
    expect(matchesEqlCondition(query.condition, doc)).toBe(true);
    expect(() => matches("sequence [any where true] [any where true]")).toThrow(/runRule/);
  });
});

describe("ruleFields and fieldUses", () => {
  it("lists query fields, threshold and cardinality fields, new terms fields", () => {
    const threshold = rule({
      type: "threshold",
      query: "event.action: user_login_attempt and message: failed and jumpcloud.event.error_code >= 400",
      threshold: {
        field: ["user.name", "source.ip"],
        value: 5,
        cardinality: [{ field: "client.ip", value: 2 }],
      },
    });
    expect(ruleFields(threshold)).toEqual([
      "event.action",
      "message",
      "jumpcloud.event.error_code",
      "user.name",
      "source.ip",
      "client.ip",
    ]);
    expect(fieldUses(threshold)).toEqual([
      { field: "event.action", use: "term" },
      { field: "message", use: "text" },
      { field: "jumpcloud.event.error_code", use: "range" },
      { field: "user.name", use: "aggregate" },
      { field: "source.ip", use: "aggregate" },
      { field: "client.ip", use: "aggregate" },
    ]);
    const newTerms = rule({
      type: "new_terms",
      query: "user.name: *",
      new_terms_fields: ["user.name", "source.geo.country_iso_code"],
    });
    expect(fieldUses(newTerms)).toEqual([
      { field: "user.name", use: "term" },
      { field: "user.name", use: "aggregate" },
      { field: "source.geo.country_iso_code", use: "aggregate" },
    ]);
    expect(ruleFields(newTerms)).toEqual(["user.name", "source.geo.country_iso_code"]);
  });

  it("lists EQL fields with by keys as aggregations and event.category for categories", () => {
    const eql = rule({
      type: "eql",
      language: "eql",
      query: `sequence by user.name with maxspan=5m
        [authentication where event.outcome == "failure" and jumpcloud.event.error_code > 400] by source.ip
        [any where startsWith(event.action, "user_")] by client.ip`,
    });
    expect(fieldUses(eql)).toEqual([
      { field: "user.name", use: "aggregate" },
      { field: "event.category", use: "term" },
      { field: "event.outcome", use: "term" },
      { field: "jumpcloud.event.error_code", use: "range" },
      { field: "source.ip", use: "aggregate" },
      { field: "event.action", use: "term" },
      { field: "client.ip", use: "aggregate" },
    ]);
  });

  it("reports fields missing from the template and uses their type cannot serve", () => {
    expect(fieldProblems(rule({ query: "user.name: x and message: y and user.name.text: z" }))).toEqual([]);
    expect(
      fieldProblems(
        rule({
          type: "threshold",
          query: "user.nmae: x and jumpcloud.event.success < 1",
          threshold: { field: "message", value: 2 },
        }),
      ),
    ).toEqual([
      "user.nmae: not in the index template",
      "jumpcloud.event.success: boolean cannot serve a range use",
      "message: match_only_text cannot serve a aggregate use",
    ]);
    expect(fieldProblems(rule({ type: "eql", language: "eql", query: 'any where message : "x"' }))).toEqual([
      "message: match_only_text cannot serve a term use",
    ]);
  });

  it("refuses rules it cannot run faithfully", () => {
    expect(() => ruleFields(rule({ language: "lucene" }))).toThrow(UnsupportedQueryError);
    expect(() => ruleFields(rule({ type: "machine_learning" }))).toThrow(UnsupportedQueryError);
    expect(() => ruleFields(rule({ filters: [{ query: {} }] }))).toThrow(/filters/);
    expect(() => ruleFields(rule({ alert_suppression: { group_by: ["user.name"] } }))).toThrow(
      /alert_suppression/,
    );
  });

  it("matches one document against a rule's query", () => {
    expect(matchesRuleQuery(rule({ query: "user.name: bob" }), { user: { name: "bob" } })).toBe(true);
    expect(
      matchesRuleQuery(rule({ type: "eql", language: "eql", query: 'any where user.name == "bob"' }), {
        user: { name: "bob" },
      }),
    ).toBe(true);
  });
});

describe("schedule parsing", () => {
  it("reads intervals and date math", () => {
    expect(parseInterval("5m")).toBe(300_000);
    expect(parseInterval("1h")).toBe(3_600_000);
    expect(parseDateMath("now-6m")).toBe(-360_000);
    expect(parseDateMath("now-14d")).toBe(-14 * 86_400_000);
    expect(parseDateMath("now")).toBe(0);
    expect(() => parseDateMath("now-1d/d")).toThrow(/date math/);
    expect(() => parseInterval("5 minutes")).toThrow(/interval/);
  });
});

describe("runRule: query rules", () => {
  const failure = (minutes: number, extra: Record<string, unknown> = {}) =>
    ev(minutes, { event: { outcome: "failure" }, ...extra });

  it("alerts once per matching document, at the first run whose window holds it", () => {
    const docs = [failure(0), ev(1, { event: { outcome: "success" } }), failure(7), failure(12)];
    const alerts = runRule(rule({ query: "event.outcome: failure" }), docs);
    // Runs at 0, 5, 10, 15, 17 ... (first doc + k*5m until one interval past the last doc).
    expect(runMinutes(alerts)).toEqual([0, 10, 15]);
    expect(alerts.map((alert) => alert.events)).toEqual([[docs[0]], [docs[2]], [docs[3]]]);
    expect(alerts.every((alert) => alert.ruleId === "test-rule" && alert.group === undefined)).toBe(true);
  });

  it("does not alert twice for a document seen by two overlapping runs", () => {
    // Windows with from now-6m, every 5m: [-1, 5], [4, 10]: a document at 4.5 is in both.
    const docs = [failure(4.5)];
    const alerts = runRule(rule({ query: "event.outcome: failure" }), docs, { start: BASE + 5 * MINUTE });
    expect(runMinutes(alerts)).toEqual([5]);
    // The same event (event.id and time) given twice is one source document.
    const twice = [
      failure(4.5, { event: { id: "e1", outcome: "failure" } }),
      failure(4.5, { event: { id: "e1", outcome: "failure" } }),
    ];
    expect(
      runRule(rule({ query: "event.outcome: failure" }), twice, { start: BASE + 5 * MINUTE }),
    ).toHaveLength(1);
  });

  it("misses documents that no run's window reaches, and honours start and end", () => {
    // from now-5m with a 10m interval leaves a 5m gap between windows.
    const docs = [failure(0), failure(3), failure(7)];
    const gappy = rule({ query: "event.outcome: failure", from: "now-5m", interval: "10m" });
    expect(runMinutes(runRule(gappy, docs))).toEqual([0, 10]);
    expect(runRule(gappy, docs).flatMap((alert) => alert.events)).toEqual([docs[0], docs[2]]);
    expect(runRule(rule({ query: "event.outcome: failure" }), docs, { start: BASE, end: BASE })).toHaveLength(
      1,
    );
    expect(runRule(rule({ query: "*" }), [])).toEqual([]);
  });

  it("uses timestamp_override when set", () => {
    const docs = [ev(0, { event: { ingested: at(30), outcome: "failure" } })];
    const alerts = runRule(
      rule({ query: "event.outcome: failure", timestamp_override: "event.ingested" }),
      docs,
    );
    expect(runMinutes(alerts)).toEqual([30]);
  });

  it("caps alerts per run at max_signals", () => {
    const docs = [failure(0), failure(0.1), failure(0.2)];
    const once = { start: BASE + MINUTE, end: BASE + MINUTE };
    expect(runRule(rule({ query: "event.outcome: failure", max_signals: 2 }), docs, once)).toHaveLength(2);
    expect(runRule(rule({ query: "event.outcome: failure" }), docs, once)).toHaveLength(3);
  });

  it("refuses documents without a time", () => {
    expect(() => runRule(rule({}), [{ user: { name: "x" } }])).toThrow(/no usable @timestamp/);
  });
});

describe("runRule: threshold rules", () => {
  const attempt = (minutes: number, user: string, ip = "203.0.113.7") =>
    ev(minutes, { event: { outcome: "failure" }, user: { name: user }, source: { ip } });
  const threshold = (
    value: number,
    field: string | string[] = "user.name",
    cardinality?: Array<{ field: string; value: number }>,
  ) =>
    rule({
      type: "threshold",
      query: "event.outcome: failure",
      threshold: { field, value, ...(cardinality && { cardinality }) },
    });
  const start = { start: BASE + 5 * MINUTE };

  it("alerts at the value, not just below, one alert per group", () => {
    const docs = [
      attempt(1, "alice"),
      attempt(2, "alice"),
      attempt(3, "alice"),
      attempt(2, "bob"),
      attempt(3, "bob"),
    ];
    const alerts = runRule(threshold(3), docs, start);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.group).toEqual({ "user.name": "alice" });
    expect(alerts[0]?.events).toHaveLength(3);
    expect(runMinutes(alerts)).toEqual([5]);
    expect(runRule(threshold(4), docs, start)).toEqual([]);
  });

  it("does not alert twice for the same documents seen by overlapping runs", () => {
    // Windows [-1, 5], [4, 10], [9, 15]: all three attempts are in the first two.
    const docs = [attempt(4.2, "alice"), attempt(4.5, "alice"), attempt(4.8, "alice")];
    expect(runMinutes(runRule(threshold(3), docs, start))).toEqual([5]);
  });

  it("counts only documents after a group's last alert (Kibana's signal history)", () => {
    const first = [attempt(4.2, "alice"), attempt(4.5, "alice"), attempt(4.8, "alice")];
    // Run 10 sees 5 attempts, but 3 were already alerted on: 2 new ones are below 3.
    const two = [...first, attempt(9.5, "alice"), attempt(9.7, "alice")];
    expect(runMinutes(runRule(threshold(3), two, start))).toEqual([5]);
    const three = [...two, attempt(9.8, "alice")];
    const alerts = runRule(threshold(3), three, start);
    expect(runMinutes(alerts)).toEqual([5, 10]);
    expect(alerts[1]?.events).toHaveLength(3);
  });

  it("groups by several fields, every combination of array values", () => {
    const docs = [
      attempt(1, "alice", "10.0.0.1"),
      attempt(2, "alice", "10.0.0.1"),
      attempt(3, "alice", "10.0.0.2"),
      ev(3.5, {
        event: { outcome: "failure" },
        user: { name: ["alice", "bob"] },
        source: { ip: "10.0.0.1" },
      }),
    ];
    const alerts = runRule(threshold(3, ["user.name", "source.ip"]), docs, start);
    expect(alerts.map((alert) => alert.group)).toEqual([{ "user.name": "alice", "source.ip": "10.0.0.1" }]);
    // A document lacking a threshold field joins no group.
    expect(runRule(threshold(1, "host.name"), docs, start)).toEqual([]);
  });

  it("with no field, counts every matching document as one group", () => {
    const docs = [attempt(1, "alice"), attempt(2, "bob"), ev(3, { event: { outcome: "success" } })];
    expect(runRule(threshold(2, ""), docs, start).map((alert) => alert.group)).toEqual([{}]);
    expect(runRule(threshold(2, []), docs, start)).toHaveLength(1);
    expect(runRule(threshold(3, []), docs, start)).toEqual([]);
  });

  it("requires each cardinality condition", () => {
    const sameIp = [attempt(1, "alice"), attempt(2, "alice"), attempt(3, "alice")];
    const cardinality = [{ field: "source.ip", value: 2 }];
    expect(runRule(threshold(3, "user.name", cardinality), sameIp, start)).toEqual([]);
    const twoIps = [attempt(1, "alice"), attempt(2, "alice"), attempt(3, "alice", "198.51.100.1")];
    expect(runRule(threshold(3, "user.name", cardinality), twoIps, start)).toHaveLength(1);
  });
});

describe("runRule: new_terms rules", () => {
  const login = (minutes: number, user: string | string[] | undefined, extra: Record<string, unknown> = {}) =>
    ev(minutes, {
      event: { action: "user_login_attempt" },
      ...(user !== undefined && { user: { name: user } }),
      ...extra,
    });
  const newTerms = (fields = ["user.name"], history = "now-1d") =>
    rule({
      type: "new_terms",
      query: "event.action: user_login_attempt",
      new_terms_fields: fields,
      history_window_start: history,
    });
  const start = { start: BASE + 5 * MINUTE, end: BASE + 15 * MINUTE };

  it("alerts on terms absent from the history window, once per term", () => {
    const docs = [
      login(-120, "alice"), // history, inside now-1d
      login(-3 * 24 * 60, "carol"), // older than the history window
      login(2, "alice"),
      login(3, "bob"),
      login(3.5, "bob"),
      login(4, "carol"),
    ];
    const alerts = runRule(newTerms(), docs, start);
    expect(alerts.map((alert) => alert.group)).toEqual([{ "user.name": "bob" }, { "user.name": "carol" }]);
    expect(alerts.map((alert) => alert.events)).toEqual([[docs[3]], [docs[5]]]);
    expect(runMinutes(alerts)).toEqual([5, 5]);
  });

  it("does not alert again when an overlapping run sees the same first document", () => {
    const docs = [login(4.5, "bob")];
    expect(runMinutes(runRule(newTerms(), docs, start))).toEqual([5]);
  });

  it("takes a term seen in an earlier run's window as history", () => {
    const docs = [login(1, "bob"), login(8, "bob")];
    expect(runMinutes(runRule(newTerms(), docs, start))).toEqual([5]);
  });

  it("ignores history that does not match the query", () => {
    const docs = [ev(-60, { event: { action: "user_logout" }, user: { name: "bob" } }), login(3, "bob")];
    expect(runRule(newTerms(), docs, start)).toHaveLength(1);
  });

  it("combines several fields, every combination of array values", () => {
    const docs = [
      login(-60, "alice", { source: { ip: "10.0.0.1" } }),
      login(3, "alice", { source: { ip: ["10.0.0.1", "10.0.0.2"] } }),
    ];
    const alerts = runRule(newTerms(["user.name", "source.ip"]), docs, start);
    expect(alerts.map((alert) => alert.group)).toEqual([{ "user.name": "alice", "source.ip": "10.0.0.2" }]);
  });

  it("gives nothing for documents lacking a field", () => {
    const docs = [login(3, undefined), login(3, "alice")];
    expect(runRule(newTerms(["user.name", "source.ip"]), docs, start)).toEqual([]);
  });

  it("requires a history window that starts before the rule's lookback", () => {
    expect(() => runRule(newTerms(["user.name"], "now-5m"), [login(0, "a")])).toThrow(/earlier than from/);
  });
});

describe("runRule: eql rules", () => {
  const auth = (
    minutes: number,
    user: string | undefined,
    outcome: string,
    extra: Record<string, unknown> = {},
  ) =>
    ev(minutes, {
      event: { category: ["authentication"], outcome, ...(extra.event as object) },
      ...(user !== undefined && { user: { name: user } }),
      ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== "event")),
    });
  const eql = (query: string, from = "now-30m") => rule({ type: "eql", language: "eql", query, from });
  const bruteForce = eql(`sequence by user.name with maxspan=5m
    [authentication where event.outcome == "failure"]
    [authentication where event.outcome == "success"]`);
  const start = { start: BASE + 10 * MINUTE, end: BASE + 10 * MINUTE };

  it("alerts per matching event for an event query", () => {
    const docs = [auth(1, "a", "failure"), auth(2, "a", "success"), ev(3, { event: { outcome: "failure" } })];
    const alerts = runRule(eql('authentication where event.outcome == "failure"'), docs);
    expect(alerts.map((alert) => alert.events)).toEqual([[docs[0]]]);
  });

  it("completes a sequence within maxspan and not past it", () => {
    const within = [auth(1, "alice", "failure"), auth(5, "alice", "success")];
    const alerts = runRule(bruteForce, within, start);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.events).toEqual(within);
    expect(alerts[0]?.group).toEqual({ "user.name": "alice" });
    expect(runRule(bruteForce, [auth(1, "alice", "failure"), auth(6.5, "alice", "success")], start)).toEqual(
      [],
    );
    // A success before the failure is out of order.
    expect(runRule(bruteForce, [auth(1, "alice", "success"), auth(2, "alice", "failure")], start)).toEqual(
      [],
    );
  });

  it("joins only events with the same by keys, and none with a key missing", () => {
    const docs = [
      auth(1, "alice", "failure"),
      auth(2, "bob", "success"),
      auth(3, undefined, "failure"),
      auth(4, undefined, "success"),
    ];
    expect(runRule(bruteForce, docs, start)).toEqual([]);
    const perStep = eql(`sequence
      [authentication where event.outcome == "failure"] by source.ip
      [authentication where event.outcome == "success"] by client.ip`);
    const joined = [
      auth(1, "a", "failure", { source: { ip: "10.0.0.1" } }),
      auth(2, "b", "success", { client: { ip: "10.0.0.2" } }),
      auth(3, "c", "success", { client: { ip: "10.0.0.1" } }),
    ];
    const alerts = runRule(perStep, joined, start);
    expect(alerts.map((alert) => alert.events)).toEqual([[joined[0], joined[2]]]);
    expect(alerts[0]?.group).toEqual({ "source.ip": "10.0.0.1" });
  });

  it("repeats a step with runs=N", () => {
    const query = eql(`sequence by user.name with maxspan=10m
      [authentication where event.outcome == "failure"] with runs=3
      [authentication where event.outcome == "success"]`);
    const two = [auth(1, "alice", "failure"), auth(2, "alice", "failure"), auth(3, "alice", "success")];
    expect(runRule(query, two, start)).toEqual([]);
    const three = [
      auth(1, "alice", "failure"),
      auth(2, "alice", "failure"),
      auth(2.5, "alice", "failure"),
      auth(3, "alice", "success"),
    ];
    const alerts = runRule(query, three, start);
    expect(alerts.map((alert) => alert.events)).toEqual([three]);
  });

  it("drops a sequence when its until event comes between its events, not after", () => {
    const query = eql(`sequence by user.name
      [authentication where event.outcome == "failure"]
      [authentication where event.outcome == "success"]
      until [authentication where event.action == "logout"]`);
    const logout = (minutes: number) => auth(minutes, "alice", "unknown", { event: { action: "logout" } });
    expect(
      runRule(query, [auth(1, "alice", "failure"), logout(2), auth(3, "alice", "success")], start),
    ).toEqual([]);
    expect(
      runRule(query, [auth(1, "alice", "failure"), auth(3, "alice", "success"), logout(4)], start),
    ).toHaveLength(1);
    // Another user's logout does not end alice's sequence.
    const bobLogout = auth(2, "bob", "unknown", { event: { action: "logout" } });
    expect(
      runRule(query, [auth(1, "alice", "failure"), bobLogout, auth(3, "alice", "success")], start),
    ).toHaveLength(1);
  });

  it("keeps only the most recent pending sequence per state (Elasticsearch's documented example)", () => {
    // docs/reference/eql/syntax.asciidoc, "How sequence queries handle matches".
    const rows: Array<[string, string]> = [
      ["root", "attrib"],
      ["root", "attrib"],
      ["elkbee", "bash"],
      ["root", "bash"],
      ["root", "bash"],
      ["elkbee", "attrib"],
      ["root", "attrib"],
      ["elkbee", "bash"],
      ["root", "cat"],
      ["elkbee", "cat"],
      ["root", "cat"],
    ];
    const docs = rows.map(([user, name], i) =>
      ev(i * 0.1, {
        event: { id: String(i + 1), category: ["process"] },
        user: { name: user },
        process: { name },
      }),
    );
    const query = eql(`sequence by user.name
      [process where process.name == "attrib"]
      [process where process.name == "bash"]
      [process where process.name == "cat"]`);
    const alerts = runRule(query, docs, { start: BASE + 5 * MINUTE, end: BASE + 5 * MINUTE });
    const ids = alerts.map((alert) => alert.events.map((doc) => valuesAt(doc, "event.id")[0]));
    expect(ids).toEqual([
      ["2", "4", "9"],
      ["6", "8", "10"],
    ]);
  });

  it("lets an event end one sequence and start the next, as Elasticsearch's stage-by-stage matcher does", () => {
    // SequenceMatcher matches each stage's hits against the previous stage's pending sequences:
    // a2 completes [a1, a2] and, as a stage-0 hit, also starts the sequence a3 completes.
    const docs = [1, 2, 3, 4].map((minute) =>
      auth(minute, "alice", "failure", { event: { id: `a${minute}` } }),
    );
    const query = eql(`sequence by user.name
      [authentication where event.outcome == "failure"]
      [authentication where event.outcome == "failure"]`);
    const alerts = runRule(query, docs, start);
    expect(alerts.map((alert) => alert.events.map((doc) => valuesAt(doc, "event.id")[0]))).toEqual([
      ["a1", "a2"],
      ["a2", "a3"],
      ["a3", "a4"],
    ]);
  });

  it("does not raise the same sequence again in an overlapping run, but raises a new one", () => {
    const docs = [
      auth(1, "alice", "failure"),
      auth(2, "alice", "success"),
      auth(20, "alice", "failure"),
      auth(21, "alice", "success"),
    ];
    const alerts = runRule(bruteForce, docs, { start: BASE + 5 * MINUTE, end: BASE + 30 * MINUTE });
    expect(runMinutes(alerts)).toEqual([5, 25]);
  });

  it("only sees events inside the run's window", () => {
    const narrow = eql(
      `sequence by user.name [authentication where event.outcome == "failure"] [authentication where event.outcome == "success"]`,
      "now-2m",
    );
    // Runs every 5m looking back 2m: the failure at 1 and the success at 4 are never in one window.
    expect(runRule(narrow, [auth(1, "alice", "failure"), auth(4, "alice", "success")])).toEqual([]);
  });
});
