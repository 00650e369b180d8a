/**
 * `RuleToImport` as the security solution validates an imported NDJSON line: `BaseCreateProps.and(
 * TypeSpecificCreateProps).and(ResponseFields.partial().extend({rule_id}))`, zod v3 (8.x), unknown keys
 * stripped. Sources, under x-pack/solutions/security/plugins/security_solution/common/api/
 * detection_engine/: model/rule_schema/{rule_schemas,common_attributes}.gen.ts,
 * model/rule_schema/specific_attributes/{threshold,new_terms}_attributes.gen.ts,
 * rule_management/import_rules/{rule_to_import,rule_to_import_validation}.ts. Messages are zod v3's
 * and are joined as `stringifyZodError` (kbn-zod-helpers) joins them: `path: message`, ", ", at most 5.
 * Only the query, threshold, new_terms and eql types are checked field by field.
 */

type Issues = string[];
type Json = Record<string, unknown>;

const RULE_TYPES = [
  "eql",
  "query",
  "saved_query",
  "threshold",
  "threat_match",
  "machine_learning",
  "new_terms",
  "esql",
] as const;
const SEVERITIES = ["low", "medium", "high", "critical"];
const KQL_LANGUAGES = ["kuery", "lucene"];
const MAX_ERRORS = 5;

/** zod v3's name for a value's type, as in "Expected string, received number". */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isNaN(value)) return "nan";
  if (typeof value === "number" && !Number.isInteger(value)) return "number";
  return typeof value;
}

/** A small zod-v3-worded checker: each method records its issues under a dotted path. */
class Check {
  readonly issues: Issues = [];

  constructor(private readonly obj: Json) {}

  private add(path: string, message: string): void {
    this.issues.push(path === "" ? message : `${path}: ${message}`);
  }

  /** `Required` / `Expected <t>, received <u>`; true when the value has the right JS type. */
  private typed(path: string, value: unknown, expected: string, optional: boolean): boolean {
    if (value === undefined) {
      if (!optional) this.add(path, "Required");
      return false;
    }
    const actual = typeName(value);
    if (actual === expected) return true;
    this.add(path, `Expected ${expected}, received ${actual}`);
    return false;
  }

  string(key: string, opts: { optional?: boolean; min?: number; nonEmpty?: boolean } = {}, path = key): void {
    const value = this.obj[key];
    if (!this.typed(path, value, "string", opts.optional === true)) return;
    const text = value as string;
    if (opts.min !== undefined && text.length < opts.min)
      this.add(path, `String must contain at least ${opts.min} character(s)`);
    if (opts.nonEmpty && text.trim() === "") this.add(path, "No empty strings allowed");
  }

  integer(key: string, opts: { optional?: boolean; min?: number; max?: number } = {}): void {
    const value = this.obj[key];
    if (!this.typed(key, value, "number", opts.optional === true)) return;
    const n = value as number;
    if (!Number.isInteger(n)) this.add(key, "Expected integer, received float");
    if (opts.min !== undefined && n < opts.min)
      this.add(key, `Number must be greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && n > opts.max)
      this.add(key, `Number must be less than or equal to ${opts.max}`);
  }

  boolean(key: string): void {
    this.typed(key, this.obj[key], "boolean", true);
  }

  oneOf(key: string, values: readonly string[], optional = false): void {
    const value = this.obj[key];
    if (value === undefined) {
      if (!optional) this.add(key, "Required");
      return;
    }
    if (typeof value === "string" && values.includes(value)) return;
    const expected = values.map((v) => `'${v}'`).join(" | ");
    if (typeof value === "string")
      this.add(key, `Invalid enum value. Expected ${expected}, received '${value}'`);
    else this.add(key, `Expected ${expected}, received ${typeName(value)}`);
  }

  literal(key: string, expected: string): void {
    const value = this.obj[key];
    if (value === undefined) this.add(key, "Required");
    else if (value !== expected) this.add(key, `Invalid literal value, expected "${expected}"`);
  }

  object(key: string, optional = true): boolean {
    return this.typed(key, this.obj[key], "object", optional);
  }

  /** An array whose items each pass `item` (given the item and its path). */
  array(
    key: string,
    item?: (value: unknown, path: string) => void,
    opts: { optional?: boolean; min?: number; max?: number } = {},
  ): void {
    const value = this.obj[key];
    if (!this.typed(key, value, "array", opts.optional !== false)) return;
    const list = value as unknown[];
    if (opts.min !== undefined && list.length < opts.min)
      this.add(key, `Array must contain at least ${opts.min} element(s)`);
    if (opts.max !== undefined && list.length > opts.max)
      this.add(key, `Array must contain at most ${opts.max} element(s)`);
    if (item) for (const [i, v] of list.entries()) item(v, `${key}.${i}`);
  }

  /** An item that must be a string (for string arrays). */
  readonly stringItem = (value: unknown, path: string): void => {
    this.typed(path, value, "string", false);
  };

  /** Checks a nested object with its own `Check`, keeping the issues under `path`. */
  nested(value: unknown, path: string, body: (inner: Check) => void): void {
    if (!this.typed(path, value, "object", false)) return;
    const inner = new Check(value as Json);
    body(inner);
    for (const issue of inner.issues) this.issues.push(`${path}.${issue}`);
  }
}

function checkThreat(c: Check): void {
  c.array("threat", (value, path) =>
    c.nested(value, path, (t) => {
      t.string("framework");
      t.nested((value as Json).tactic, "tactic", idNameReference);
      t.array("technique", (tech, techPath) =>
        t.nested(tech, techPath, (inner) => {
          idNameReference(inner);
          inner.array("subtechnique", (sub, subPath) => inner.nested(sub, subPath, idNameReference));
        }),
      );
    }),
  );
}

function idNameReference(c: Check): void {
  c.string("id");
  c.string("name");
  c.string("reference");
}

// BaseRequiredFields, BaseOptionalFields, BaseDefaultableFields, in the schema's key order.
function checkBase(c: Check): void {
  c.string("name", { min: 1 });
  c.string("description", { min: 1 });
  c.integer("risk_score", { min: 0, max: 100 });
  c.oneOf("severity", SEVERITIES);
  for (const key of ["rule_name_override", "timestamp_override", "timeline_id", "timeline_title", "license"])
    c.string(key, { optional: true });
  for (const key of ["note", "building_block_type", "output_index", "namespace"])
    c.string(key, { optional: true });
  c.object("meta");
  c.integer("version", { optional: true, min: 1 });
  c.array("tags", c.stringItem);
  c.boolean("enabled");
  for (const key of ["interval", "from", "to"]) c.string(key, { optional: true });
  for (const key of ["actions", "exceptions_list"]) c.array(key);
  for (const key of ["author", "false_positives", "references"]) c.array(key, c.stringItem);
  c.integer("max_signals", { optional: true, min: 1 });
  checkThreat(c);
  c.string("setup", { optional: true });
  c.array("related_integrations");
  c.array("required_fields", (value, path) =>
    c.nested(value, path, (f) => {
      f.string("name", { min: 1, nonEmpty: true });
      f.string("type", { min: 1, nonEmpty: true });
    }),
  );
}

function checkKqlFields(c: Check, queryRequired: boolean): void {
  c.string("query", { optional: !queryRequired });
  c.array("index", c.stringItem);
  c.string("data_view_id", { optional: true });
  c.array("filters");
  c.string("saved_id", { optional: true });
}

function checkThreshold(c: Check, threshold: unknown): void {
  c.nested(threshold, "threshold", (t) => {
    const field = (threshold as Json).field;
    if (field === undefined) t.string("field");
    else if (Array.isArray(field)) t.array("field", t.stringItem, { max: 5 });
    else if (typeof field !== "string") {
      // Neither branch of the string | string[] union matches: zod reports both.
      t.string("field");
      t.array("field", undefined, { optional: false });
    }
    t.integer("value", { min: 1 });
    t.array("cardinality", (v, path) =>
      t.nested(v, path, (card) => {
        card.string("field");
        card.integer("value", { min: 0 });
      }),
    );
  });
}

// TypeSpecificCreateProps: a discriminated union on `type`; each option required, optional, defaultable.
function checkTypeSpecific(c: Check, rule: Json): void {
  const type = rule.type;
  if (typeof type !== "string" || !(RULE_TYPES as readonly string[]).includes(type)) {
    const expected = RULE_TYPES.map((t) => `'${t}'`).join(" | ");
    c.issues.push(`type: Invalid discriminator value. Expected ${expected}`);
    return;
  }
  if (type === "eql") {
    c.string("query");
    c.literal("language", "eql");
    c.array("index", c.stringItem);
    c.string("data_view_id", { optional: true });
    c.array("filters");
    for (const key of ["event_category_override", "tiebreaker_field", "timestamp_field"])
      c.string(key, { optional: true });
  } else if (type === "query") {
    checkKqlFields(c, false);
    c.oneOf("language", KQL_LANGUAGES, true);
  } else if (type === "threshold") {
    c.string("query");
    checkThreshold(c, rule.threshold);
    checkKqlFields(c, true);
    c.oneOf("language", KQL_LANGUAGES, true);
  } else if (type === "new_terms") {
    c.string("query");
    c.array("new_terms_fields", c.stringItem, { optional: false, min: 1, max: 3 });
    c.string("history_window_start", { min: 1, nonEmpty: true });
    checkKqlFields(c, true);
    c.oneOf("language", KQL_LANGUAGES, true);
  }
}

// The checks done after the schema (rule_to_import_validation.ts), joined with "," by the caller.
function afterSchema(rule: Json): string[] {
  const errors: string[] = [];
  if (rule.timeline_id != null && rule.timeline_title == null)
    errors.push('when "timeline_id" exists, "timeline_title" must also exist');
  if (rule.timeline_title != null && rule.timeline_id == null)
    errors.push('when "timeline_title" exists, "timeline_id" must also exist');
  const threshold = rule.threshold as
    | { field: string | string[]; cardinality?: { field: string }[] }
    | undefined;
  if (rule.type === "threshold" && threshold) {
    const first = threshold.cardinality?.[0]?.field;
    if (first !== undefined && threshold.field.includes(first))
      errors.push("Cardinality of a field that is being aggregated on is always 1");
  }
  return errors;
}

/** The verdict on one parsed NDJSON value: the rule (unknown keys kept for now), or Kibana's message. */
export function validateRuleToImport(value: unknown): { rule: Json } | { error: string } {
  if (typeName(value) !== "object") {
    // Each of the three intersected object schemas reports the wrong type once.
    const issue = `Expected object, received ${typeName(value)}`;
    return { error: [issue, issue, issue].join(", ") };
  }
  const rule = value as Json;
  const c = new Check(rule);
  checkBase(c);
  checkTypeSpecific(c, rule);
  c.string("rule_id");
  if (c.issues.length > 0) return { error: stringify(c.issues) };
  const extra = afterSchema(rule);
  return extra.length > 0 ? { error: extra.join() } : { rule };
}

function stringify(issues: Issues): string {
  const extra = issues.length - MAX_ERRORS;
  return extra > 0 ? [...issues.slice(0, MAX_ERRORS), `and ${extra} more`].join(", ") : issues.join(", ");
}

const BASE_KEYS = [
  "name",
  "description",
  "risk_score",
  "severity",
  "rule_name_override",
  "timestamp_override",
  "timestamp_override_fallback_disabled",
  "timeline_id",
  "timeline_title",
  "license",
  "note",
  "building_block_type",
  "output_index",
  "namespace",
  "meta",
  "investigation_fields",
  "throttle",
  "response_actions",
  "version",
  "tags",
  "enabled",
  "risk_score_mapping",
  "severity_mapping",
  "interval",
  "from",
  "to",
  "actions",
  "exceptions_list",
  "author",
  "false_positives",
  "references",
  "max_signals",
  "threat",
  "setup",
  "related_integrations",
  "required_fields",
  "rule_id",
  "type",
];
const KQL_KEYS = ["query", "language", "index", "data_view_id", "filters", "saved_id", "alert_suppression"];
const TYPE_KEYS: Record<string, string[]> = {
  eql: [...KQL_KEYS, "event_category_override", "tiebreaker_field", "timestamp_field"],
  query: [...KQL_KEYS, "response_actions"],
  threshold: [...KQL_KEYS, "threshold"],
  new_terms: [...KQL_KEYS, "new_terms_fields", "history_window_start"],
  saved_query: KQL_KEYS,
  threat_match: [
    ...KQL_KEYS,
    "threat_query",
    "threat_mapping",
    "threat_index",
    "threat_filters",
    "threat_indicator_path",
    "threat_language",
    "concurrent_searches",
    "items_per_search",
  ],
  machine_learning: ["anomaly_threshold", "machine_learning_job_id", "alert_suppression"],
  esql: ["query", "language", "alert_suppression"],
};

/** The rule with only the keys the schema knows for its type (zod strips the others). */
export function stripUnknownKeys(rule: Json): Json {
  const known = new Set([...BASE_KEYS, ...(TYPE_KEYS[String(rule.type)] ?? [])]);
  return Object.fromEntries(Object.entries(rule).filter(([key]) => known.has(key)));
}
