/** The fields a rule names, how it uses each, and the index template's field types. */
import fieldTypesJson from "../../../lib/elasticsearch/field-types.json" with { type: "json" };
import { eqlFieldUses } from "./eql.ts";
import { kqlLeaves } from "./kql.ts";
import { parseRuleQuery, type Rule, thresholdFields } from "./rule.ts";
import { type FieldTypes, KEYWORD_TYPES, NUMERIC_TYPES, resolveField, TEXT_TYPES } from "./values.ts";

export type FieldUse = "term" | "range" | "text" | "aggregate";

interface FieldSpec {
  type: string;
  index?: boolean;
  multi_fields?: Record<string, string>;
}

let templateTypes: FieldTypes | undefined;

/**
 * The field types of the project's index template (lib/elasticsearch/field-types.json): each field,
 * and each multi-field as `<field>.<name>` (`user.name.text`: match_only_text). Fields mapped with
 * `index: false` (event.original) are left out: no query, aggregation or rule can use them.
 */
export function templateFieldTypes(): FieldTypes {
  if (templateTypes === undefined) {
    const types: FieldTypes = {};
    for (const [field, spec] of Object.entries(fieldTypesJson.fields as Record<string, FieldSpec>)) {
      if (spec.index === false) continue;
      types[field] = spec.type;
      for (const [name, type] of Object.entries(spec.multi_fields ?? {})) types[`${field}.${name}`] = type;
    }
    templateTypes = types;
  }
  return { ...templateTypes };
}

/**
 * How each field is used: "term" (exact match, wildcard, exists, EQL comparison), "range"
 * (`<`, `>=`...), "text" (a KQL match on a text field), "aggregate" (threshold fields and
 * cardinality, new_terms_fields, EQL `by` keys). The EQL category names `event.category` (term).
 * `types` (the template's by default) only tells text fields apart.
 */
export function fieldUses(
  rule: Rule,
  types: FieldTypes = templateFieldTypes(),
): Array<{ field: string; use: FieldUse }> {
  const uses: Array<{ field: string; use: FieldUse }> = [];
  const parsed = parseRuleQuery(rule);
  if (parsed.language === "kuery") {
    for (const leaf of kqlLeaves(parsed.kql)) {
      const type = resolveField(leaf.field, types).type;
      const text = type !== undefined && TEXT_TYPES.has(type);
      uses.push({ field: leaf.field, use: leaf.type === "range" ? "range" : text ? "text" : "term" });
    }
  } else {
    const query = parsed.eql;
    const filters =
      query.type === "event" ? [query] : [...query.steps, ...(query.until ? [query.until] : [])];
    if (query.type === "sequence") for (const field of query.by) uses.push({ field, use: "aggregate" });
    for (const filter of filters) {
      if (filter.category !== null) uses.push({ field: "event.category", use: "term" });
      uses.push(...eqlFieldUses(filter.condition));
      if ("by" in filter) for (const field of filter.by) uses.push({ field, use: "aggregate" });
    }
  }
  for (const field of thresholdFields(rule)) uses.push({ field, use: "aggregate" });
  for (const { field } of rule.threshold?.cardinality ?? []) uses.push({ field, use: "aggregate" });
  for (const field of rule.new_terms_fields ?? []) uses.push({ field, use: "aggregate" });
  if (typeof rule.timestamp_override === "string")
    uses.push({ field: rule.timestamp_override, use: "range" });
  const seen = new Set<string>();
  return uses.filter(({ field, use }) => {
    const key = `${field}\u0000${use}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every field a rule names: in its query, threshold.field / cardinality, new_terms_fields, `sequence by` / `by` keys. */
export function ruleFields(rule: Rule): string[] {
  return [...new Set(fieldUses(rule).map(({ field }) => field))];
}

/**
 * What Elasticsearch would refuse or silently never match, per field: not in the mapping, or a use
 * the type cannot serve (aggregating a text field, an EQL comparison on a text field, a range on a
 * boolean, anything on a geo_point). Empty when the rule fits the mapping.
 */
export function fieldProblems(rule: Rule, types: FieldTypes = templateFieldTypes()): string[] {
  const problems: string[] = [];
  for (const { field, use } of fieldUses(rule, types)) {
    const type = resolveField(field, types).type;
    if (type === undefined) {
      problems.push(`${field}: not in the index template`);
      continue;
    }
    const fits =
      type !== "geo_point" &&
      (use === "text"
        ? TEXT_TYPES.has(type)
        : use === "range"
          ? NUMERIC_TYPES.has(type) ||
            KEYWORD_TYPES.has(type) ||
            type === "date" ||
            type === "ip" ||
            type === "flattened"
          : !TEXT_TYPES.has(type));
    if (!fits) problems.push(`${field}: ${type} cannot serve a ${use} use`);
  }
  return problems;
}
