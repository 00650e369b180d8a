import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { RULE_FILES } from "../../rules/index.ts";
import {
  type Alert,
  type Rule as DetectionRule,
  fieldUses,
  type KqlNode,
  parseEql,
  parseKql,
  ruleFields,
  runRule,
  templateFieldTypes,
} from "../helpers/detection/index.ts";
import { COLLECTED_AT, openTestGeoIp } from "../helpers/fixtures.ts";

// The pack (rules/*.json) and each rule's examples (rules/tests/<same name>.json), checked as data:
// the schema Kibana's import and this project require, the query against the index template, and
// every example run through the mapper and the rule. rules/README.md explains the format.

type Rule = DetectionRule & { language: string };
interface ExampleCase {
  description: string;
  events: JsonObject[];
}
interface Examples {
  positive: ExampleCase[];
  negative: ExampleCase[];
}

const RULES_DIR = new URL("../../rules/", import.meta.url);
const TESTS_DIR = new URL("../../rules/tests/", import.meta.url);
const jsonFiles = (dir: URL) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
const readJson = <T>(dir: URL, file: string): T => JSON.parse(readFileSync(new URL(file, dir), "utf8")) as T;

const FILES = jsonFiles(RULES_DIR);
const RULES = FILES.map((file) => ({ file, rule: readJson<Rule>(RULES_DIR, file) }));
const TYPES = templateFieldTypes();

const REQUIRED_KEYS = [
  "rule_id",
  "version",
  "name",
  "description",
  "type",
  "language",
  "query",
  "index",
  "severity",
  "risk_score",
  "from",
  "interval",
  "max_signals",
  "author",
  "license",
  "tags",
  "threat",
  "false_positives",
  "note",
  "references",
  "related_integrations",
  "required_fields",
  "setup",
];
const RISK_SCORES: Record<string, number> = { low: 21, medium: 47, high: 73, critical: 99 };
const REQUIRED_TAGS = [
  "Data Source: JumpCloud",
  "Domain: Identity",
  "Use Case: Identity and Access Audit",
  "jumpcloud-elastic",
];
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ATT&CK names as attack.mitre.org gives them (Enterprise v17). A rule citing an id not listed here
// fails: look the id up on attack.mitre.org and add it with its exact name.
const ATTACK: Record<string, string> = {
  TA0001: "Initial Access",
  TA0002: "Execution",
  TA0003: "Persistence",
  TA0004: "Privilege Escalation",
  TA0006: "Credential Access",
  TA0008: "Lateral Movement",
  T1072: "Software Deployment Tools",
  T1078: "Valid Accounts",
  "T1078.004": "Cloud Accounts",
  T1098: "Account Manipulation",
  "T1098.001": "Additional Cloud Credentials",
  "T1098.003": "Additional Cloud Roles",
  T1110: "Brute Force",
  "T1110.001": "Password Guessing",
  "T1110.003": "Password Spraying",
  T1136: "Create Account",
  "T1136.003": "Cloud Account",
  T1484: "Domain or Tenant Policy Modification",
  "T1484.002": "Trust Modification",
  T1555: "Credentials from Password Stores",
  "T1555.005": "Password Managers",
  T1556: "Modify Authentication Process",
  "T1556.006": "Multi-Factor Authentication",
  "T1556.009": "Conditional Access Policies",
  T1671: "Cloud Application Integration",
};

const TEXT_TYPES = new Set(["text", "match_only_text"]);
const RANGE_TYPES = new Set(["long", "integer", "short", "byte", "double", "float", "date", "ip"]);

/** The template type of a field: its own, or `flattened` for a key inside a flattened field. */
function templateType(field: string): string | undefined {
  if (TYPES[field] !== undefined) return TYPES[field];
  for (let i = field.lastIndexOf("."); i > 0; i = field.lastIndexOf(".", i - 1)) {
    if (TYPES[field.slice(0, i)] === "flattened") return "flattened";
  }
  return undefined;
}

function durationMs(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

const lookbackMs = (from: string) => durationMs(from.replace(/^now-/, ""));

/** The query with every value literal replaced by `__broken__` (KQL: values after `:`; EQL: strings). */
function breakLiterals(rule: Rule): string {
  if (rule.language === "eql") return rule.query.replace(/"(?:[^"\\]|\\.)*"/g, '"__broken__"');
  const term = (text: string) =>
    text
      .split(/(\s+(?:or|and|not)\s+)/i)
      .map((part, i) => (i % 2 === 1 || part.trim() === "*" ? part : "__broken__"))
      .join("");
  return rule.query.replace(/"(?:[^"\\]|\\.)*"|:\s*\(([^)]*)\)|:\s*([^\s()"]+)/g, (match, list, bare) => {
    if (list !== undefined) return `:(${term(list)})`;
    if (bare !== undefined) return bare === "*" ? match : ":__broken__";
    return '"__broken__"';
  });
}

/** The rule with its boundary one step looser (see "has a near miss..."). */
function loosened(rule: Rule): Rule {
  const loose = structuredClone(rule);
  if (loose.threshold) {
    loose.threshold.value -= 1;
    for (const c of loose.threshold.cardinality ?? []) c.value -= 1;
  }
  // A history window ending one minute before the look-back starts: nothing seen before.
  if (loose.type === "new_terms") loose.history_window_start = `now-${lookbackMs(loose.from) / 60_000 + 1}m`;
  const maxspan = /with maxspan=(\d+)([smhd])/.exec(loose.query);
  if (maxspan) {
    const [text, n, unit] = maxspan as unknown as [string, string, string];
    loose.query = loose.query.replace(text, `with maxspan=${Number(n) * 2}${unit}`);
    loose.from = `now-${lookbackMs(loose.from) / 60_000 + durationMs(`${n}${unit}`) / 60_000}m`;
  }
  return loose;
}

let mapper: EcsMapper;
beforeAll(async () => {
  mapper = new EcsMapper({ geoIp: await openTestGeoIp() });
});

/** Raw events → documents, as the Lambda writes them (the test GeoIP databases enrich them). */
function documents(events: JsonObject[]): JsonObject[] {
  return events.map((event) => {
    const mapped = mapper.mapValue(event, COLLECTED_AT);
    expect(mapped.failed, `mapping ${JSON.stringify(event).slice(0, 120)}`).toBe(false);
    return mapped.document;
  });
}

/**
 * Runs the rule over a case as Kibana's scheduler would if it had been enabled two hours before the
 * case's last event: earlier events are history (what a new_terms rule has seen before).
 */
function run(rule: Rule, events: JsonObject[]): Alert[] {
  const docs = documents(events);
  const last = Math.max(...docs.map((doc) => Date.parse(doc["@timestamp"] as string)));
  return runRule(rule, docs, { types: TYPES, start: last - 2 * 3_600_000, end: last + 15 * 60_000 });
}

describe("the rule pack", () => {
  it("has at least 16 rules, each type at least twice", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(16);
    for (const type of ["query", "threshold", "new_terms", "eql"]) {
      expect(RULES.filter(({ rule }) => rule.type === type).length, type).toBeGreaterThanOrEqual(2);
    }
  });

  it("RULE_FILES lists exactly the files of rules/, with their content", () => {
    expect(Object.keys(RULE_FILES).sort()).toEqual(FILES);
    for (const { file, rule } of RULES) expect(RULE_FILES[file], file).toEqual(rule);
  });

  it("has one examples file per rule and no other", () => {
    expect(jsonFiles(TESTS_DIR)).toEqual(FILES);
  });

  it("gives every rule its own rule_id and name", () => {
    const ids = RULES.map(({ rule }) => rule.rule_id);
    const names = RULES.map(({ rule }) => rule.name);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(names).size).toBe(names.length);
  });

  it("names files in kebab case", () => {
    for (const file of FILES) expect(file).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*\.json$/);
  });
});

describe.each(RULES.map((entry) => [entry.file, entry] as const))("rules/%s", (_, { file, rule }) => {
  const name = file.replace(/\.json$/, "");

  it("has every required key, and no enabled", () => {
    for (const key of REQUIRED_KEYS) expect(rule, key).toHaveProperty(key);
    expect(rule).not.toHaveProperty("enabled");
    expect(rule.rule_id).toMatch(UUID_V4);
    expect(Number.isInteger(rule.version) && (rule.version as number) >= 1).toBe(true);
    for (const key of ["name", "description", "query"])
      expect((rule[key] as string).length, key).toBeGreaterThan(10);
    expect(rule.index).toEqual(["logs-jumpcloud.events-*"]);
    expect(rule.max_signals).toBe(100);
    expect(rule.author).toEqual(["jumpcloud-elastic"]);
    expect(rule.license).toBe("Apache-2.0");
    expect(rule.related_integrations).toEqual([{ package: "jumpcloud", version: "^1.22.0" }]);
    expect(typeof rule.setup).toBe("string");
  });

  it("uses the language of its type", () => {
    expect(["query", "threshold", "new_terms", "eql"]).toContain(rule.type);
    expect(rule.language).toBe(rule.type === "eql" ? "eql" : "kuery");
  });

  it("has a risk score matching its severity", () => {
    expect(Object.keys(RISK_SCORES)).toContain(rule.severity);
    expect(rule.risk_score).toBe(RISK_SCORES[rule.severity as string]);
  });

  it("runs on a schedule whose look-back covers its interval (and an EQL sequence's maxspan)", () => {
    expect(rule.from).toMatch(/^now-\d+[smhd]$/);
    expect(rule.interval).toMatch(/^\d+[smhd]$/);
    let needed = durationMs(rule.interval);
    const maxspan = /with maxspan=(\d+[smhd])/.exec(rule.query);
    if (maxspan) needed += durationMs(maxspan[1] as string);
    expect(lookbackMs(rule.from)).toBeGreaterThanOrEqual(needed);
  });

  // The collection's delay (rules/README.md, Format): a query rule reads the arrival time, so a
  // late event is seen; a windowed one its own time, so a backfill does not read as a burst, and
  // looks back past the delay (interval 5m + SOURCE_LAG 1m) for the events that come on time.
  it("reads the time that survives the collection's delay", () => {
    const DELAY_MS = 6 * 60_000;
    if (rule.type === "query") {
      expect(rule.timestamp_override).toBe("event.ingested");
    } else {
      expect(rule.timestamp_override).toBeUndefined();
      expect(lookbackMs(rule.from)).toBeGreaterThan(durationMs(rule.interval) + DELAY_MS);
    }
  });

  it("has the settings of its type", () => {
    if (rule.type === "threshold") {
      const threshold = rule.threshold as { field: string[]; value: number; cardinality?: unknown[] };
      expect(threshold.field.length).toBeGreaterThan(0);
      expect(Number.isInteger(threshold.value) && threshold.value > 1).toBe(true);
      for (const c of threshold.cardinality ?? [])
        expect(c).toEqual({ field: expect.any(String), value: expect.any(Number) });
    } else expect(rule).not.toHaveProperty("threshold");
    if (rule.type === "new_terms") {
      const fields = rule.new_terms_fields as string[];
      expect(fields.length).toBeGreaterThanOrEqual(1);
      expect(fields.length).toBeLessThanOrEqual(3);
      expect(rule.history_window_start).toMatch(/^now-\d+[mhd]$/);
      expect(lookbackMs(rule.history_window_start as string)).toBeGreaterThan(lookbackMs(rule.from));
    } else {
      expect(rule).not.toHaveProperty("new_terms_fields");
      expect(rule).not.toHaveProperty("history_window_start");
    }
    if (rule.type === "eql") expect(rule.query).toMatch(/^sequence by [\w.]+ with maxspan=\d+[smh]\n/);
  });

  it("cites ATT&CK ids with their own names and reference URLs, and tags its tactics", () => {
    const threats = rule.threat as {
      framework: string;
      tactic: { id: string; name: string; reference: string };
      technique: {
        id: string;
        name: string;
        reference: string;
        subtechnique?: { id: string; name: string; reference: string }[];
      }[];
    }[];
    expect(threats.length).toBeGreaterThan(0);
    for (const threat of threats) {
      expect(threat.framework).toBe("MITRE ATT&CK");
      expect(threat.tactic.id).toMatch(/^TA\d{4}$/);
      expect(threat.tactic.name).toBe(ATTACK[threat.tactic.id]);
      expect(threat.tactic.reference).toBe(`https://attack.mitre.org/tactics/${threat.tactic.id}/`);
      expect(rule.tags).toContain(`Tactic: ${threat.tactic.name}`);
      expect(threat.technique.length).toBeGreaterThan(0);
      for (const technique of threat.technique) {
        expect(technique.id).toMatch(/^T\d{4}$/);
        expect(technique.name).toBe(ATTACK[technique.id]);
        expect(technique.reference).toBe(`https://attack.mitre.org/techniques/${technique.id}/`);
        for (const sub of technique.subtechnique ?? []) {
          expect(sub.id).toMatch(new RegExp(`^${technique.id}\\.\\d{3}$`));
          expect(sub.name).toBe(ATTACK[sub.id]);
          expect(sub.reference).toBe(
            `https://attack.mitre.org/techniques/${technique.id}/${sub.id.slice(6)}/`,
          );
        }
      }
    }
    for (const tag of REQUIRED_TAGS) expect(rule.tags).toContain(tag);
  });

  it("has false positives, references and an investigation guide naming real fields", () => {
    const falsePositives = rule.false_positives as string[];
    expect(falsePositives.length).toBeGreaterThan(0);
    for (const fp of falsePositives) expect(fp.length).toBeGreaterThan(20);
    const references = rule.references as string[];
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(reference).toMatch(/^https:\/\//);
    expect(references.some((r) => /^https:\/\/(docs\.|support\.)?jumpcloud\.com\//.test(r))).toBe(true);

    const note = rule.note as string;
    expect(note.startsWith("## Triage and analysis\n")).toBe(true);
    for (const section of [
      "#### Possible investigation steps",
      "### False positive analysis",
      "### Response and remediation",
    ]) {
      expect(note).toContain(section);
    }
    // Backticked field names: each must be a field of the template (or a jumpcloud.event.* field,
    // which the template maps dynamically as keyword).
    const mentioned = [
      ...note.matchAll(/`((?:event|user|source|client|host|user_agent|related|jumpcloud)\.[\w.@]+)/g),
    ].map((m) => (m[1] as string).replace(/\.$/, ""));
    expect(new Set(mentioned).size).toBeGreaterThanOrEqual(3);
    for (const field of mentioned) {
      expect(templateType(field) !== undefined || field.startsWith("jumpcloud.event."), field).toBe(true);
    }
  });

  it("parses", () => {
    if (rule.language === "eql") expect(() => parseEql(rule.query)).not.toThrow();
    else expect(() => parseKql(rule.query)).not.toThrow();
  });

  it("names only template fields, each of a type fit for its use", () => {
    const fields = ruleFields(rule);
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) expect(templateType(field), field).toBeDefined();
    for (const { field, use } of fieldUses(rule)) {
      const type = templateType(field) as string;
      if (use === "aggregate") expect(TEXT_TYPES.has(type), `${field} (${type}) aggregated`).toBe(false);
      if (use === "range") expect(RANGE_TYPES.has(type), `${field} (${type}) in a range`).toBe(true);
      if (use === "text") expect(TEXT_TYPES.has(type), `${field} (${type}) searched as text`).toBe(true);
    }
  });

  // Elasticsearch refuses wildcard queries on the keys of a flattened field (a prefix is fine): KQL
  // `jumpcloud.event.changes.field:*mfa*` would fail the rule's every run.
  it("uses only prefix wildcards on flattened keys", () => {
    if (rule.language !== "kuery") return;
    const walk = (node: KqlNode): void => {
      if (node.type === "and" || node.type === "or") node.nodes.forEach(walk);
      else if (node.type === "not") walk(node.node);
      else if (
        node.type === "wildcard" &&
        templateType(node.field) === "flattened" &&
        TYPES[node.field] === undefined
      ) {
        expect(node.segments.length, `${node.field}: ${node.pattern}`).toBe(2);
        expect(node.segments[1], `${node.field}: ${node.pattern}`).toBe("");
      }
    };
    walk(parseKql(rule.query));
  });

  it("lists the fields it uses in required_fields, with their template types", () => {
    const expected = [...new Set(ruleFields(rule))].sort().map((field) => ({
      name: field,
      type: templateType(field),
      ecs: !field.startsWith("jumpcloud."),
    }));
    expect(rule.required_fields).toEqual(expected);
  });

  describe("examples", () => {
    const examples = readJson<Examples>(TESTS_DIR, `${name}.json`);

    it("are raw JumpCloud events, timestamps in their service's precision", () => {
      expect(examples.positive.length).toBeGreaterThan(0);
      expect(examples.negative.length).toBeGreaterThanOrEqual(2);
      for (const example of [...examples.positive, ...examples.negative]) {
        expect(example.description.length).toBeGreaterThan(10);
        expect(example.events.length).toBeGreaterThan(0);
        for (const event of example.events) {
          expect(event).toMatchObject({
            id: expect.any(String),
            event_type: expect.any(String),
            service: expect.any(String),
          });
          // Not ECS documents: the mapper makes those.
          for (const key of ["@timestamp", "event", "ecs", "data_stream"])
            expect(event).not.toHaveProperty(key);
          const precision = { sso: /\.\d{9}Z$/, radius: /:\d{2}Z$/ }[event.service as string] ?? /\.\d{3}Z$/;
          expect(event.timestamp, `${event.service} timestamp`).toMatch(precision);
        }
      }
    });

    it.each(examples.positive)("alerts: $description", (example) => {
      expect(run(rule, example.events).length).toBeGreaterThan(0);
    });

    it.each(examples.negative)("does not alert: $description", (example) => {
      expect(run(rule, example.events)).toEqual([]);
    });

    // Near misses must be near: with the rule's boundary loosened (threshold one lower, sequence
    // window twice as long, a one-minute new_terms history), at least one negative example alerts.
    if (rule.type !== "query") {
      it("has a near miss that alerts once its boundary is loosened", () => {
        const loose = loosened(rule);
        expect(examples.negative.some((example) => run(loose, example.events).length > 0)).toBe(true);
      });
    }

    it("needs its query to alert on its positive examples (every literal broken: no alert)", () => {
      const broken = { ...rule, query: breakLiterals(rule) };
      expect(broken.query).not.toBe(rule.query);
      expect(broken.query).toContain("__broken__");
      for (const example of examples.positive)
        expect(run(broken, example.events), example.description).toEqual([]);
    });
  });
});
