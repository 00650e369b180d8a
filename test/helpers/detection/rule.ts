/** The parts of a Kibana detection rule (as `_import` takes it) that the evaluator reads. */

import { type EqlQuery, parseEql } from "./eql.ts";
import { UnsupportedQueryError } from "./errors.ts";
import { type KqlNode, parseKql } from "./kql.ts";

export interface Rule {
  rule_id: string;
  name: string;
  /** "query", "threshold", "new_terms" or "eql" (others throw UnsupportedQueryError). */
  type: string;
  /** "kuery" (default) or "eql" (eql rules); others throw UnsupportedQueryError. */
  language?: string;
  query: string;
  /** Not read: every document given is taken to be in the rule's indices. */
  index?: string[];
  /** Lookback start, date math relative to the run: `now-6m`. */
  from: string;
  /** Schedule: `5m`. */
  interval: string;
  threshold?: {
    field: string | string[];
    value: number;
    cardinality?: Array<{ field: string; value: number }>;
  };
  new_terms_fields?: string[];
  history_window_start?: string;
  max_signals?: number;
  timestamp_override?: string;
  filters?: unknown[];
  alert_suppression?: unknown;
  [key: string]: unknown;
}

/** One alert: when the run that raised it ran, and the documents (or the sequence) behind it. */
export interface Alert {
  ruleId: string;
  /** The run's time (ms since the epoch). */
  at: number;
  /** The documents that raised it: one for query/new_terms/eql events, the group's for threshold, the sequence's for eql sequences. */
  events: object[];
  /** threshold: the group's field values; new_terms: the new terms; eql sequence: the join keys. */
  group?: Record<string, unknown>;
}

export type ParsedRuleQuery = { language: "kuery"; kql: KqlNode } | { language: "eql"; eql: EqlQuery };

/** Parses the rule's query in its language; anything this evaluator cannot run throws. */
export function parseRuleQuery(rule: Rule): ParsedRuleQuery {
  if (!["query", "threshold", "new_terms", "eql"].includes(rule.type)) {
    throw new UnsupportedQueryError(`rule type ${rule.type}`, 0, rule.query ?? "");
  }
  if (Array.isArray(rule.filters) && rule.filters.length > 0) {
    throw new UnsupportedQueryError("rule filters (fold them into the query)", 0, rule.query);
  }
  if (rule.alert_suppression !== undefined && rule.alert_suppression !== null) {
    throw new UnsupportedQueryError("alert_suppression", 0, rule.query);
  }
  if (rule.type === "eql") {
    if (rule.language !== undefined && rule.language !== "eql") {
      throw new UnsupportedQueryError(`an eql rule in ${rule.language}`, 0, rule.query);
    }
    return { language: "eql", eql: parseEql(rule.query) };
  }
  if (rule.language !== undefined && rule.language !== "kuery") {
    throw new UnsupportedQueryError(`query language ${rule.language}`, 0, rule.query);
  }
  return { language: "kuery", kql: parseKql(rule.query) };
}

/** The fields of `threshold.field` (a string, an array, or empty for one group over all documents). */
export function thresholdFields(rule: Rule): string[] {
  const field = rule.threshold?.field;
  if (field === undefined) return [];
  return (Array.isArray(field) ? field : [field]).filter((name) => name !== "");
}
