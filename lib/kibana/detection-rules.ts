import { KibanaRequestError } from "../errors.ts";
import type { KibanaClient } from "./client.ts";
import type { DetectionRule } from "./rule-pack.ts";

/** What `setup --kibana` did with one rule. */
export interface RuleOutcome {
  rule_id: string;
  name: string;
  type: string;
  severity: string;
  action: "installed" | "updated" | "unchanged" | "failed";
  enabled: boolean;
  error?: string;
}

type StoredRule = Record<string, unknown> & { rule_id: string; enabled?: boolean };

interface FindAnswer {
  page: number;
  perPage: number;
  total: number;
  data: StoredRule[];
}

interface ImportAnswer {
  success?: boolean;
  success_count?: number;
  errors?: { rule_id?: string; id?: string; error?: { status_code?: number; message?: string } }[];
}

const RULES_API = "/api/detection_engine/rules";
const PAGE = 100;

// What a user sets on a rule in Kibana and an update of the pack must not take away: the import
// replaces a rule whole, so these are carried over from the stored rule.
const KEPT_FROM_KIBANA = ["exceptions_list", "actions", "timeline_id", "timeline_title"] as const;

/** The stored rules among `ruleIds`, read with `_find` (what Kibana keeps, its defaults included). */
export async function storedRules(
  client: KibanaClient,
  ruleIds: readonly string[],
): Promise<Map<string, StoredRule>> {
  const stored = new Map<string, StoredRule>();
  const filter = `alert.attributes.params.ruleId: (${ruleIds.map((id) => JSON.stringify(id)).join(" OR ")})`;
  for (let page = 1; ; page++) {
    const answer = await client.call<FindAnswer>("GET", `${RULES_API}/_find`, {
      query: { page, per_page: PAGE, filter },
    });
    for (const rule of answer.data) stored.set(rule.rule_id, rule);
    if (answer.data.length === 0 || page * PAGE >= answer.total) return stored;
  }
}

// Kibana fills in what a rule leaves out (empty lists, empty strings) and may turn a threshold
// field into a list: such differences are not changes.
const isEmpty = (v: unknown) =>
  v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

function same(stored: unknown, wanted: unknown): boolean {
  if (isEmpty(stored) && isEmpty(wanted)) return true;
  if (Array.isArray(wanted) || Array.isArray(stored)) {
    const [a, b] = [[stored].flat(), [wanted].flat()];
    return a.length === b.length && a.every((v, i) => same(v, b[i]));
  }
  if (typeof wanted === "object" && wanted !== null && typeof stored === "object" && stored !== null) {
    const keys = new Set([...Object.keys(wanted), ...Object.keys(stored)]);
    return [...keys].every((k) => same((stored as never)[k], (wanted as never)[k]));
  }
  return stored === wanted;
}

// Kibana derives `ecs` of each required field from its own ECS field map, whatever was sent.
const withoutEcs = (fields: unknown) =>
  Array.isArray(fields) ? fields.map(({ ecs: _, ...field }: { ecs?: unknown }) => field) : fields;

/** True when Kibana holds `wanted` as is: each key the pack sets compares equal to the stored value. */
export function storedAsWanted(stored: StoredRule, wanted: Record<string, unknown>): boolean {
  return Object.entries(wanted).every(([key, value]) =>
    key === "required_fields" ? same(withoutEcs(stored[key]), withoutEcs(value)) : same(stored[key], value),
  );
}

/**
 * Which rules to enable: `all` (an operator asking now: `--enable-rules`), `new` ones only (a
 * deploy, which runs again at every change of the pack: a rule someone disabled stays so).
 */
export type EnableRules = "all" | "new" | undefined;

function wantedRule(rule: DetectionRule, stored: StoredRule | undefined, enable: EnableRules) {
  const enabled = stored === undefined ? enable !== undefined : enable === "all" || stored.enabled === true;
  return { ...rule, enabled };
}

function outcome(
  rule: DetectionRule,
  action: RuleOutcome["action"],
  enabled: boolean,
  error?: string,
): RuleOutcome {
  const { rule_id, name, type, severity } = rule;
  return { rule_id, name, type, severity, action, enabled, ...(error !== undefined && { error }) };
}

/**
 * Imports the rules Kibana does not hold as they are (`_import?overwrite=true`), leaving the
 * others untouched (no new revision), and reads each rule's error from the answer. New rules are
 * disabled unless `enable`; otherwise a rule keeps its state in Kibana, its exceptions and actions.
 */
export async function installRules(
  client: KibanaClient,
  rules: readonly DetectionRule[],
  options: { enable?: EnableRules } = {},
): Promise<RuleOutcome[]> {
  const stored = await storedRules(
    client,
    rules.map((r) => r.rule_id),
  );
  const changed: Record<string, unknown>[] = [];
  const outcomes = new Map<string, RuleOutcome>();
  for (const rule of rules) {
    const previous = stored.get(rule.rule_id);
    const wanted = wantedRule(rule, previous, options.enable);
    if (previous && storedAsWanted(previous, wanted)) {
      outcomes.set(rule.rule_id, outcome(rule, "unchanged", wanted.enabled));
      continue;
    }
    const kept = Object.fromEntries(
      KEPT_FROM_KIBANA.filter((k) => previous?.[k] !== undefined).map((k) => [k, previous?.[k]]),
    );
    changed.push({ ...wanted, ...kept });
    outcomes.set(rule.rule_id, outcome(rule, previous ? "updated" : "installed", wanted.enabled));
  }
  if (changed.length > 0) {
    const failures = await importRules(client, changed);
    for (const [id, message] of await attributed(client, failures, changed)) {
      const rule = rules.find((r) => r.rule_id === id);
      if (rule) outcomes.set(id, outcome(rule, "failed", stored.get(id)?.enabled === true, message));
    }
  }
  return rules.map((r) => outcomes.get(r.rule_id) as RuleOutcome);
}

// Kibana names the rule of a 409 but answers a rule its schema refuses with "(unknown id)": those
// are found by reading back what was sent, each failing rule given the unnamed messages.
async function attributed(
  client: KibanaClient,
  failures: readonly { id: string; message: string }[],
  sent: readonly Record<string, unknown>[],
): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  const ids = new Set(sent.map((r) => String(r.rule_id)));
  const unnamed = failures.filter((f) => !ids.has(f.id)).map((f) => f.message);
  for (const f of failures) if (ids.has(f.id)) byId.set(f.id, f.message);
  if (unnamed.length === 0) return byId;
  const stored = await storedRules(client, [...ids]);
  for (const rule of sent) {
    const id = String(rule.rule_id);
    const kept = stored.get(id);
    if (!byId.has(id) && (kept === undefined || !storedAsWanted(kept, rule)))
      byId.set(id, unnamed.join("; "));
  }
  return byId;
}

/** Sends rules to the import API as one NDJSON file; returns the rules Kibana refused, with why. */
async function importRules(
  client: KibanaClient,
  rules: readonly Record<string, unknown>[],
): Promise<{ id: string; message: string }[]> {
  const answer = await client.request<ImportAnswer>("POST", `${RULES_API}/_import`, {
    query: { overwrite: true },
    file: {
      name: "jumpcloud-elastic-rules.ndjson",
      type: "application/x-ndjson",
      content: `${rules.map((r) => JSON.stringify(r)).join("\n")}\n`,
    },
  });
  if (answer.status !== 200) throw client.refusal("the rules import", answer);
  if (!Array.isArray(answer.body?.errors))
    throw new KibanaRequestError(
      "Kibana answered the rules import without its per-rule errors: is KIBANA_URL a Kibana?",
      answer.status,
    );
  return answer.body.errors.map((e) => ({
    id: e.rule_id ?? e.id ?? "",
    message: `${e.error?.status_code ?? "?"}: ${e.error?.message ?? "no message"}`,
  }));
}

/** The counts of a summary line: installed, updated, unchanged, failed. */
export function ruleCounts(outcomes: readonly RuleOutcome[]): Record<RuleOutcome["action"], number> {
  const counts = { installed: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const o of outcomes) counts[o.action]++;
  return counts;
}
