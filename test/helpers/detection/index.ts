/**
 * Offline evaluation of Kibana detection rules (query, threshold, new_terms, eql) over ECS documents:
 * parsers for KQL and EQL, matchers with Elasticsearch's per-type semantics, and a runner that
 * schedules the rule like Kibana's detection engine. See kql.ts and eql.ts for the supported subsets.
 */

import { type EqlExpr, type EqlFilter, type EqlQuery, parseEql } from "./eql.ts";
import { compileEqlCondition, compileEqlFilter } from "./eql-match.ts";
import { templateFieldTypes } from "./fields.ts";
import { type KqlNode, parseKql } from "./kql.ts";
import { compileKql } from "./kql-match.ts";
import { parseRuleQuery, type Rule } from "./rule.ts";
import type { FieldTypes } from "./values.ts";

export type { CompareOperator, EqlExpr, EqlFilter, EqlLiteral, EqlQuery, EqlStep } from "./eql.ts";
export { parseEql } from "./eql.ts";
export { QuerySyntaxError, QueryTypeError, UnsupportedQueryError } from "./errors.ts";
export { type FieldUse, fieldProblems, fieldUses, ruleFields, templateFieldTypes } from "./fields.ts";
export type { KqlNode, RangeOperator } from "./kql.ts";
export { parseKql } from "./kql.ts";
export type { Alert, ParsedRuleQuery, Rule } from "./rule.ts";
export { parseRuleQuery } from "./rule.ts";
export { parseDateMath, parseInterval, type RunOptions, runRule } from "./runner.ts";
export type { FieldTypes } from "./values.ts";
export { tokenize, valuesAt } from "./values.ts";

/** Whether a document matches a KQL query (text or parsed). `types` defaults to the index template's. */
export function matchesKql(
  query: KqlNode | string,
  doc: object,
  types: FieldTypes = templateFieldTypes(),
): boolean {
  const node = typeof query === "string" ? parseKql(query) : query;
  return compileKql(node, types)(doc);
}

/**
 * Whether a document matches an EQL event query (`category where condition`, as text or parsed), a
 * filter, or a bare condition (`EqlExpr`, no category check). A sequence matches several documents:
 * use runRule. `types` defaults to the index template's.
 */
export function matchesEqlCondition(
  query: EqlQuery | EqlFilter | EqlExpr | string,
  doc: object,
  types: FieldTypes = templateFieldTypes(),
): boolean {
  const parsed = typeof query === "string" ? parseEql(query) : query;
  if ("kind" in parsed) return compileEqlCondition(parsed, types)(doc);
  if ("type" in parsed && parsed.type === "sequence") {
    throw new Error("an EQL sequence matches several documents: use runRule");
  }
  return compileEqlFilter(parsed as EqlFilter, types)(doc);
}

/** Whether one document matches a rule's query (KQL, or an EQL event query), ignoring windows and thresholds. */
export function matchesRuleQuery(rule: Rule, doc: object, types: FieldTypes = templateFieldTypes()): boolean {
  const parsed = parseRuleQuery(rule);
  if (parsed.language === "kuery") return compileKql(parsed.kql, types)(doc);
  return matchesEqlCondition(parsed.eql, doc, types);
}
