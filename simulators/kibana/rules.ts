import { randomUUID } from "node:crypto";
import { extname } from "node:path";
import { compileFilter } from "./kql.ts";
import { parseMultipart } from "./multipart.ts";
import { type Answer, siemError, validationError } from "./responses.ts";
import { stripUnknownKeys, validateRuleToImport } from "./rule-schema.ts";

/** A detection rule as the detection engine API returns it (`RuleResponse`). */
export interface StoredRule {
  id: string;
  rule_id: string;
  name: string;
  type: string;
  enabled: boolean;
  revision: number;
  version: number;
  tags: string[];
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  immutable: boolean;
  rule_source: { type: "internal" };
  [field: string]: unknown;
}

/** What a rules route needs from the request. */
export interface RulesRequest {
  space: string;
  username: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: Buffer;
}

type Json = Record<string, unknown>;

// RULE_DEFAULTS of security_solution/server/lib/detection_engine/rule_management/logic/
// detection_rules_client/mergers/apply_rule_defaults.ts: what a rule gets for fields not given.
const RULE_DEFAULTS = {
  enabled: false,
  risk_score_mapping: [],
  severity_mapping: [],
  interval: "5m",
  to: "now",
  from: "now-6m",
  exceptions_list: [],
  false_positives: [],
  max_signals: 100,
  actions: [],
  related_integrations: [],
  required_fields: [],
  setup: "",
  references: [],
  threat: [],
  tags: [],
  author: [],
  output_index: "",
  version: 1,
};

// Fields the server owns or that do not count as a change (alerting's fieldsToExcludeFromRevisionUpdates
// leaves `enabled` out), compared to decide whether an overwrite bumps `revision`.
const NOT_CONTENT = new Set([
  "id",
  "created_at",
  "created_by",
  "updated_at",
  "updated_by",
  "revision",
  "enabled",
  "immutable",
  "rule_source",
  "execution_summary",
]);

// A few ECS fields and their types: `required_fields[].ecs` is true when name and type match ECS
// (addEcsToRequiredFields checks the full ECS field map; this is the part the project's rules touch).
const ECS_FIELDS: Record<string, string> = {
  "@timestamp": "date",
  "event.action": "keyword",
  "event.category": "keyword",
  "event.dataset": "keyword",
  "event.module": "keyword",
  "event.outcome": "keyword",
  "event.type": "keyword",
  "source.ip": "ip",
  "source.geo.country_iso_code": "keyword",
  "client.ip": "ip",
  "user.name": "keyword",
  "user.email": "keyword",
  "user.id": "keyword",
  "user.target.name": "keyword",
  "related.user": "keyword",
  "related.ip": "ip",
  "organization.id": "keyword",
  "user_agent.original": "keyword",
  "host.name": "keyword",
  "service.name": "keyword",
};

/** The type-specific defaults of `setTypeSpecificDefaults` (same file as RULE_DEFAULTS). */
function typeDefaults(rule: Json): Json {
  const kql = ["query", "threshold", "new_terms", "saved_query", "threat_match"].includes(String(rule.type));
  const out: Json = kql ? { language: rule.language ?? "kuery" } : {};
  if (rule.type === "query") out.query = rule.query ?? "";
  const threshold = rule.threshold as { field: string | string[] } | undefined;
  if (rule.type === "threshold" && threshold) {
    const field = Array.isArray(threshold.field)
      ? threshold.field
      : threshold.field === ""
        ? []
        : [threshold.field];
    out.threshold = { ...threshold, field };
  }
  return out;
}

function withEcs(fields: unknown): { name: string; type: string; ecs: boolean }[] {
  return ((fields as { name: string; type: string }[] | undefined) ?? []).map(({ name, type }) => ({
    name,
    type,
    ecs: ECS_FIELDS[name] === type,
  }));
}

function contentOf(rule: Json): string {
  const entries = Object.entries(rule).filter(([key]) => !NOT_CONTENT.has(key));
  return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))));
}

/** Detection rules per space, and the detection engine routes over them. */
export class RuleStore {
  private readonly spaces = new Map<string, Map<string, StoredRule>>();

  /** The rules of a space, in creation order. */
  list(space: string): StoredRule[] {
    return [...(this.spaces.get(space)?.values() ?? [])];
  }

  private inSpace(space: string): Map<string, StoredRule> {
    const rules = this.spaces.get(space) ?? new Map<string, StoredRule>();
    this.spaces.set(space, rules);
    return rules;
  }

  /** Creates or overwrites a rule from a validated import line; the answer's error, if refused. */
  private upsert(req: RulesRequest, input: Json, overwrite: boolean): string | undefined {
    const rules = this.inSpace(req.space);
    const ruleId = String(input.rule_id);
    const existing = rules.get(ruleId);
    if (existing && !overwrite) return `rule_id: "${ruleId}" already exists`;
    const now = new Date().toISOString();
    const content = { ...RULE_DEFAULTS, ...stripUnknownKeys(input), ...typeDefaults(input) };
    const rule = {
      ...content,
      required_fields: withEcs(content.required_fields),
      id: existing?.id ?? randomUUID(),
      rule_id: ruleId,
      immutable: false,
      rule_source: { type: "internal" as const },
      created_at: existing?.created_at ?? now,
      created_by: existing?.created_by ?? req.username,
      updated_at: now,
      updated_by: req.username,
      revision: 0,
    } as unknown as StoredRule;
    if (existing) rule.revision = existing.revision + (contentOf(existing) === contentOf(rule) ? 0 : 1);
    rules.set(ruleId, rule);
    return undefined;
  }

  /** `POST /api/detection_engine/rules/_import` (import_rules/route.ts). */
  import(req: RulesRequest): Answer {
    const overwrite = booleanParam(req.query, "overwrite");
    if (typeof overwrite !== "boolean") return overwrite;
    const file = parseMultipart(req.contentType, req.body).find((p) => p.name === "file");
    // Without a file part, or with a field rather than a file, the route dereferences `.hapi` of
    // something undefined: Kibana answers the resulting TypeError as a 500.
    if (!file) return siemError(500, "Cannot read properties of undefined (reading 'hapi')");
    if (file.filename === undefined)
      return siemError(
        500,
        "Cannot destructure property 'filename' of 'request.body.file.hapi' as it is undefined.",
      );
    const extension = extname(file.filename).toLowerCase();
    if (extension !== ".ndjson") return siemError(400, `Invalid file extension ${extension}`);
    return [200, this.importLines(req, parseNdjson(file.content), overwrite)];
  }

  private importLines(req: RulesRequest, items: unknown[], overwrite: boolean): Json {
    const { duplicates, unique } = dedupe(items.map(checkLine), overwrite);
    const errors: Json[] = [...duplicates];
    let successes = 0;
    for (const item of unique) {
      if ("error" in item) errors.push(bulkError("(unknown id)", 400, item.error));
      else {
        const refused = this.upsert(req, item.rule, overwrite);
        if (refused) errors.push(bulkError(String(item.rule.rule_id), 409, refused));
        else successes++;
      }
    }
    // The 8.x ImportRulesResponse keys (common/api/detection_engine/rule_management/import_rules).
    return {
      success: errors.length === 0,
      success_count: successes,
      rules_count: items.length,
      errors,
      exceptions_success: true,
      exceptions_success_count: 0,
      exceptions_errors: [],
      action_connectors_success: true,
      action_connectors_success_count: 0,
      action_connectors_errors: [],
      action_connectors_warnings: [],
    };
  }

  /** `GET /api/detection_engine/rules?rule_id=|id=` (read_rule/route.ts). */
  read(req: RulesRequest): Answer {
    const id = req.query.get("id");
    const ruleId = req.query.get("rule_id");
    if (id !== null && ruleId !== null)
      return siemError(400, ['both "id" and "rule_id" cannot exist, choose one or the other']);
    if (id === null && ruleId === null) return siemError(400, ['either "id" or "rule_id" must be set']);
    const rules = this.list(req.space);
    const rule = ruleId !== null ? rules.find((r) => r.rule_id === ruleId) : rules.find((r) => r.id === id);
    if (rule) return [200, rule];
    return siemError(404, ruleId !== null ? `rule_id: "${ruleId}" not found` : `id: "${id}" not found`);
  }

  /** `GET /api/detection_engine/rules/_find` (find_rules/route.ts). */
  find(req: RulesRequest): Answer {
    const params = findParams(req.query);
    if (!("page" in params)) return params.answer;
    const filter = params.filter === undefined ? undefined : compileFilter(params.filter);
    if (filter && typeof filter !== "function") return siemError(400, filter.error);
    const { page, perPage } = params;
    if (page * perPage > 10_000) return siemError(400, resultWindowMessage(page * perPage));
    const matching = this.list(req.space).filter((r) => !filter || filter(r));
    const sorted = sortRules(matching, params.sortField, params.sortOrder);
    const data = sorted.slice((page - 1) * perPage, page * perPage);
    return [200, { page, perPage, total: matching.length, data }];
  }
}

function bulkError(ruleId: string, status: number, message: string): Json {
  return { rule_id: ruleId, error: { status_code: status, message } };
}

type Checked = { rule: Json } | { error: string };

function checkLine(item: unknown): Checked {
  return item instanceof Error ? { error: item.message } : validateRuleToImport(item);
}

/**
 * `getTupleDuplicateErrorsAndUniqueRules`: without overwrite a rule_id seen again is an error (the
 * last copy is still imported, in the first copy's place); invalid lines are kept apart.
 */
function dedupe(items: Checked[], overwrite: boolean): { duplicates: Json[]; unique: Checked[] } {
  const duplicates: Json[] = [];
  const unique = new Map<string, Checked>();
  for (const [i, item] of items.entries()) {
    if ("error" in item) {
      unique.set(`#${i}`, item);
      continue;
    }
    const ruleId = String(item.rule.rule_id);
    if (unique.has(`rule:${ruleId}`) && !overwrite)
      duplicates.push(bulkError(ruleId, 400, `More than one rule with rule-id: "${ruleId}" found`));
    unique.set(`rule:${ruleId}`, item);
  }
  return { duplicates, unique: [...unique.values()] };
}

/**
 * The lines of the file as `parseNdjsonStrings` reads them: blank lines skipped, a line that is not
 * JSON kept as its parse error; the export summary line, exception lists and connectors set aside.
 */
function parseNdjson(content: string): unknown[] {
  const items: unknown[] = [];
  for (const line of content.split(/\r?\n/).map((l) => l.trim())) {
    if (line === "") continue;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (error) {
      item = error instanceof Error ? error : new Error(String(error));
    }
    if (!isSetAside(item)) items.push(item);
  }
  return items;
}

function isSetAside(item: unknown): boolean {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return false;
  const o = item as Json;
  return "exported_count" in o || "exported_rules_count" in o || "list_id" in o || o.type === "action";
}

/** BooleanFromString (kbn-zod-helpers) for a query parameter: absent is false. */
function booleanParam(query: URLSearchParams, name: string): boolean | Answer {
  const value = query.get(name);
  if (value === null || value === "false") return false;
  if (value === "true") return true;
  return validationError(
    "query",
    `${name}: Invalid enum value. Expected 'true' | 'false', received '${value}', ${name}: Expected boolean, received string`,
  );
}

const SORT_FIELDS = [
  "created_at",
  "createdAt",
  "enabled",
  "execution_summary.last_execution.date",
  "execution_summary.last_execution.metrics.execution_gap_duration_s",
  "execution_summary.last_execution.metrics.total_indexing_duration_ms",
  "execution_summary.last_execution.metrics.total_search_duration_ms",
  "execution_summary.last_execution.status",
  "name",
  "risk_score",
  "riskScore",
  "severity",
  "updated_at",
  "updatedAt",
];

type FindParams = {
  page: number;
  perPage: number;
  filter?: string;
  sortField?: string;
  sortOrder?: string;
};

/** FindRulesRequestQuery plus validateFindRulesRequestQuery. */
function findParams(query: URLSearchParams): FindParams | { answer: Answer } {
  const page = coercedInt(query, "page", 1, 1);
  if (typeof page === "string") return { answer: validationError("query", page) };
  const perPage = coercedInt(query, "per_page", 20, 0);
  if (typeof perPage === "string") return { answer: validationError("query", perPage) };
  const sortField = query.get("sort_field") ?? undefined;
  if (sortField !== undefined && !SORT_FIELDS.includes(sortField)) {
    const expected = SORT_FIELDS.map((f) => `'${f}'`).join(" | ");
    return {
      answer: validationError(
        "query",
        `sort_field: Invalid enum value. Expected ${expected}, received '${sortField}'`,
      ),
    };
  }
  const sortOrder = query.get("sort_order") ?? undefined;
  if (sortOrder !== undefined && sortOrder !== "asc" && sortOrder !== "desc")
    return {
      answer: validationError(
        "query",
        `sort_order: Invalid enum value. Expected 'asc' | 'desc', received '${sortOrder}'`,
      ),
    };
  if ((sortField === undefined) !== (sortOrder === undefined))
    return {
      answer: siemError(400, ['when "sort_order" and "sort_field" must exist together or not at all']),
    };
  return { page, perPage, filter: query.get("filter") ?? undefined, sortField, sortOrder };
}

/** `z.coerce.number().int().min(min)` with a default; the zod message when it fails. */
function coercedInt(query: URLSearchParams, name: string, fallback: number, min: number): number | string {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (Number.isNaN(value)) return `${name}: Expected number, received nan`;
  if (!Number.isInteger(value)) return `${name}: Expected integer, received float`;
  if (value < min) return `${name}: Number must be greater than or equal to ${min}`;
  return value;
}

function resultWindowMessage(window: number): string {
  return `Result window is too large, from + size must be less than or equal to: [10000] but was [${window}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`;
}

const SORT_KEYS: Record<string, string> = {
  createdAt: "created_at",
  updatedAt: "updated_at",
  riskScore: "risk_score",
};

function sortRules(rules: StoredRule[], field: string | undefined, order: string | undefined): StoredRule[] {
  if (field === undefined || field.startsWith("execution_summary")) return rules;
  const key = SORT_KEYS[field] ?? field;
  const sign = order === "desc" ? -1 : 1;
  const value = (r: StoredRule) => r[key] as string | number | boolean;
  return [...rules].sort((a, b) => (value(a) < value(b) ? -sign : value(a) > value(b) ? sign : 0));
}
