/**
 * Runs a rule over time-ordered documents the way Kibana's detection engine schedules it: a run
 * every `interval`, each searching `[run + from, run]` (both ends included), with Kibana's
 * de-duplication across overlapping runs.
 */
import type { EqlQuery, EqlStep } from "./eql.ts";
import { compileEqlFilter } from "./eql-match.ts";
import { templateFieldTypes } from "./fields.ts";
import { compileKql, type Predicate } from "./kql-match.ts";
import { type Alert, parseRuleQuery, type Rule, thresholdFields } from "./rule.ts";
import {
  docInstant,
  docNumber,
  type FieldTypes,
  fieldValues,
  KEYWORD_TYPES,
  NUMERIC_TYPES,
  parseIp,
  resolveField,
  toBoolean,
  toKeyword,
  valuesAt,
} from "./values.ts";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A schedule interval (`5m`, `1h`, `30s`) in milliseconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (match === null) throw new Error(`interval ${JSON.stringify(text)}: expected <n><s|m|h|d>`);
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

/** Date math relative to a run (`now-6m`, `now-14d`, `now`) as an offset in milliseconds. */
export function parseDateMath(text: string): number {
  const match = /^now((?:[+-]\d+[smhdw])*)$/.exec(text.replaceAll(" ", ""));
  if (match === null) throw new Error(`date math ${JSON.stringify(text)}: expected now[-<n><s|m|h|d|w>]...`);
  let offset = 0;
  for (const [, sign, n, unit] of (match[1] as string).matchAll(/([+-])(\d+)([smhdw])/g)) {
    offset += (sign === "-" ? -1 : 1) * Number(n) * (UNITS[unit as string] as number);
  }
  return offset;
}

export interface RunOptions {
  /** Field types (default: the index template's). */
  types?: FieldTypes;
  /** First run (ms since the epoch); default the first document's time. */
  start?: number;
  /** Last run at or before this; default one interval past the last document. */
  end?: number;
}

interface Entry {
  doc: object;
  time: number;
  /** Position in time order (ties keep the input order). */
  ordinal: number;
  /** Kibana de-duplicates by the source document's `_id`: here `event.id` with the time, or the object. */
  id: string;
  matches: boolean;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

function identity(doc: object, time: number): string {
  const eventId = valuesAt(doc, "event.id")[0];
  if (typeof eventId === "string") return `event:${eventId}@${time}`;
  let id = objectIds.get(doc);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(doc, id);
  }
  return `object:${id}`;
}

/** A field's values as keys: the bucket key Elasticsearch would give each (typed), and a value to show. */
function keyValues(doc: object, field: string, types: FieldTypes): Array<{ key: string; value: unknown }> {
  const resolved = resolveField(field, types);
  const type = resolved.type;
  const out = new Map<string, unknown>();
  for (const value of fieldValues(doc, resolved)) {
    let key: unknown;
    if (type === undefined) key = typeof value === "object" ? undefined : value;
    else if (KEYWORD_TYPES.has(type) || type === "flattened") key = toKeyword(value);
    else if (NUMERIC_TYPES.has(type)) key = docNumber(value, type);
    else if (type === "boolean") key = toBoolean(value);
    else if (type === "ip") key = typeof value === "string" ? parseIp(value)?.toString() : undefined;
    else if (type === "date") key = docInstant(value);
    else key = toKeyword(value);
    if (key === undefined) continue;
    const text = JSON.stringify(key);
    if (!out.has(text)) out.set(text, value);
  }
  return [...out].map(([key, value]) => ({ key, value }));
}

/** Every combination of the fields' values (a document lacking one field gives none). */
function combinations(
  doc: object,
  fields: string[],
  types: FieldTypes,
): Array<{ key: string; group: Record<string, unknown> }> {
  let combos: Array<{ keys: string[]; group: Record<string, unknown> }> = [{ keys: [], group: {} }];
  for (const field of fields) {
    const values = keyValues(doc, field, types);
    combos = combos.flatMap((combo) =>
      values.map(({ key, value }) => ({
        keys: [...combo.keys, key],
        group: { ...combo.group, [field]: value },
      })),
    );
  }
  return combos.map(({ keys, group }) => ({ key: keys.join("\u0000"), group }));
}

/** Alerts the rule raises over time-ordered docs, running every `interval` like Kibana's scheduler, each run looking back to `from`. */
export function runRule(rule: Rule, docs: object[], options: RunOptions = {}): Alert[] {
  const types = options.types ?? templateFieldTypes();
  const parsed = parseRuleQuery(rule);
  const interval = parseInterval(rule.interval);
  const lookback = parseDateMath(rule.from);
  if (lookback > 0) throw new Error(`from ${rule.from} is after the run`);
  const maxSignals = rule.max_signals ?? 100;
  const timeField = typeof rule.timestamp_override === "string" ? rule.timestamp_override : "@timestamp";

  const timed = docs.map((doc, index) => {
    const value = valuesAt(doc, timeField)[0] ?? valuesAt(doc, "@timestamp")[0];
    const time = docInstant(value);
    if (time === undefined) throw new Error(`document ${index} has no usable ${timeField}`);
    return { doc, time, index };
  });
  timed.sort((a, b) => a.time - b.time || a.index - b.index);

  let predicate: Predicate;
  let sequence: Extract<EqlQuery, { type: "sequence" }> | undefined;
  if (parsed.language === "kuery") predicate = compileKql(parsed.kql, types);
  else if (parsed.eql.type === "event") predicate = compileEqlFilter(parsed.eql, types);
  else {
    sequence = parsed.eql;
    predicate = () => false;
  }
  const entries: Entry[] = timed.map(({ doc, time }, ordinal) => ({
    doc,
    time,
    ordinal,
    id: identity(doc, time),
    matches: predicate(doc),
  }));

  const first = entries[0];
  const last = entries[entries.length - 1];
  const start = options.start ?? first?.time;
  const end = options.end ?? (last === undefined ? undefined : last.time + interval);
  if (start === undefined || end === undefined) return [];

  const run = runner(
    rule,
    parsed.language === "eql" ? sequence : undefined,
    entries,
    types,
    maxSignals,
    lookback,
  );
  const alerts: Alert[] = [];
  for (let at = start; at <= end; at += interval) {
    const low = lowerBound(entries, at + lookback);
    const high = lowerBound(entries, at + 1);
    alerts.push(...run(at, entries.slice(low, high), low));
  }
  return alerts;
}

/** First index whose time is >= `time`. */
function lowerBound(entries: Entry[], time: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((entries[mid] as Entry).time < time) low = mid + 1;
    else high = mid;
  }
  return low;
}

type Run = (at: number, window: Entry[], windowStart: number) => Alert[];

function runner(
  rule: Rule,
  sequence: Extract<EqlQuery, { type: "sequence" }> | undefined,
  entries: Entry[],
  types: FieldTypes,
  maxSignals: number,
  lookback: number,
): Run {
  const ruleId = rule.rule_id;
  if (sequence !== undefined) return sequenceRunner(ruleId, sequence, entries, types, maxSignals);
  if (rule.type === "threshold") return thresholdRunner(rule, entries, types, maxSignals);
  if (rule.type === "new_terms") return newTermsRunner(rule, entries, types, maxSignals, lookback);

  // query, and eql without a sequence: one alert per matching document, never twice for a document.
  const alerted = new Set<string>();
  return (at, window) => {
    const alerts: Alert[] = [];
    for (const entry of window) {
      if (!entry.matches || alerted.has(entry.id)) continue;
      alerted.add(entry.id);
      alerts.push({ ruleId, at, events: [entry.doc] });
      if (alerts.length >= maxSignals) break;
    }
    return alerts;
  };
}

function thresholdRunner(rule: Rule, entries: Entry[], types: FieldTypes, maxSignals: number): Run {
  const threshold = rule.threshold;
  if (threshold === undefined) throw new Error(`threshold rule ${rule.rule_id} has no threshold`);
  const fields = thresholdFields(rule);
  const cardinality = threshold.cardinality ?? [];
  const groups = new Map(entries.map((entry) => [entry, combinations(entry.doc, fields, types)]));
  // Kibana's threshold signal history: a group alerted with documents up to T counts only later ones.
  const history = new Map<string, number>();
  return (at, window) => {
    const buckets = new Map<string, { group: Record<string, unknown>; entries: Entry[] }>();
    for (const entry of window) {
      if (!entry.matches) continue;
      for (const { key, group } of groups.get(entry) ?? []) {
        const alertedUpTo = history.get(key);
        if (alertedUpTo !== undefined && entry.time <= alertedUpTo) continue;
        let bucket = buckets.get(key);
        if (bucket === undefined) {
          bucket = { group, entries: [] };
          buckets.set(key, bucket);
        }
        bucket.entries.push(entry);
      }
    }
    const alerts: Alert[] = [];
    for (const [key, bucket] of buckets) {
      if (bucket.entries.length < threshold.value) continue;
      const distinctEnough = cardinality.every(({ field, value }) => {
        const distinct = new Set(
          bucket.entries.flatMap((entry) => keyValues(entry.doc, field, types).map((v) => v.key)),
        );
        return distinct.size >= value;
      });
      if (!distinctEnough) continue;
      history.set(key, Math.max(...bucket.entries.map((entry) => entry.time)));
      alerts.push({
        ruleId: rule.rule_id,
        at,
        events: bucket.entries.map((entry) => entry.doc),
        group: bucket.group,
      });
      if (alerts.length >= maxSignals) break;
    }
    return alerts;
  };
}

function newTermsRunner(
  rule: Rule,
  entries: Entry[],
  types: FieldTypes,
  maxSignals: number,
  lookback: number,
): Run {
  const fields = rule.new_terms_fields ?? [];
  if (fields.length === 0) throw new Error(`new_terms rule ${rule.rule_id} has no new_terms_fields`);
  if (rule.history_window_start === undefined) {
    throw new Error(`new_terms rule ${rule.rule_id} has no history_window_start`);
  }
  const history = parseDateMath(rule.history_window_start);
  if (history >= lookback) {
    throw new Error(
      `history_window_start ${rule.history_window_start} must be earlier than from ${rule.from}`,
    );
  }
  const terms = new Map(
    entries.map((entry) => [entry, entry.matches ? combinations(entry.doc, fields, types) : []]),
  );
  const alerted = new Set<string>();
  return (at, window, windowStart) => {
    const firstSeen = new Map<string, { entry: Entry; group: Record<string, unknown> }>();
    for (const entry of window) {
      for (const { key, group } of terms.get(entry) ?? [])
        if (!firstSeen.has(key)) firstSeen.set(key, { entry, group });
    }
    if (firstSeen.size === 0) return [];
    const seenBefore = new Set<string>();
    for (let i = lowerBound(entries, at + history); i < windowStart; i++) {
      for (const { key } of terms.get(entries[i] as Entry) ?? []) seenBefore.add(key);
    }
    const alerts: Alert[] = [];
    for (const [key, { entry, group }] of firstSeen) {
      if (seenBefore.has(key)) continue;
      const alertKey = `${entry.id}\u0000${key}`;
      if (alerted.has(alertKey)) continue;
      alerted.add(alertKey);
      alerts.push({ ruleId: rule.rule_id, at, events: [entry.doc], group });
      if (alerts.length >= maxSignals) break;
    }
    return alerts;
  };
}

interface Pending {
  entries: Entry[];
  start: number;
  /** Ordinal of the last event. */
  last: number;
}

/**
 * Elasticsearch's sequence matcher (SequenceMatcher): stage by stage over the window, a hit of stage
 * s takes the most recent pending sequence of stage s-1 with the same join key that ended before it,
 * discarding that one and older ones; maxspan (first to last event) and an `until` event between
 * the sequence's last event and the hit reject the advance. Join keys with a missing value keep an
 * event out of that stage. A run's completed sequences become alerts; one already raised (same
 * events) is not raised again.
 */
function sequenceRunner(
  ruleId: string,
  query: Extract<EqlQuery, { type: "sequence" }>,
  entries: Entry[],
  types: FieldTypes,
  maxSignals: number,
): Run {
  const stageKey = (step: EqlStep, entry: Entry): string | undefined => {
    const parts: string[] = [];
    for (const field of [...query.by, ...step.by]) {
      const values = keyValues(entry.doc, field, types).map(({ key }) => key);
      if (values.length === 0) return undefined;
      parts.push(values.length === 1 ? (values[0] as string) : JSON.stringify(values.sort()));
    }
    return parts.join("\u0000");
  };
  const compile = (step: EqlStep) => {
    const predicate = compileEqlFilter(step, types);
    return new Map(entries.map((entry) => [entry, predicate(entry.doc) ? stageKey(step, entry) : undefined]));
  };
  const stages = query.steps.map(compile);
  const until = query.until === undefined ? undefined : compile(query.until);
  const keyFields = [...query.by, ...(query.steps[0]?.by ?? [])];
  const alerted = new Set<string>();

  return (at, window) => {
    const untilMarks = new Map<string, number[]>();
    if (until !== undefined) {
      for (const entry of window) {
        const key = until.get(entry);
        if (key === undefined) continue;
        const marks = untilMarks.get(key) ?? [];
        marks.push(entry.ordinal);
        untilMarks.set(key, marks);
      }
    }
    const pending: Array<Map<string, Pending[]>> = stages.map(() => new Map());
    const completed: Pending[] = [];
    stages.forEach((keys, stage) => {
      for (const entry of window) {
        const key = keys.get(entry);
        if (key === undefined) continue;
        if (stage === 0) {
          const group = pending[0]?.get(key) ?? [];
          group.push({ entries: [entry], start: entry.time, last: entry.ordinal });
          pending[0]?.set(key, group);
          continue;
        }
        const group = pending[stage - 1]?.get(key);
        if (group === undefined || group.length === 0) continue;
        let index = group.length - 1;
        while (index >= 0 && (group[index] as Pending).last >= entry.ordinal) index--;
        if (index < 0) continue;
        const sequence = group[index] as Pending;
        group.splice(0, index + 1);
        if (query.maxspan !== undefined && entry.time - sequence.start > query.maxspan) continue;
        const marks = untilMarks.get(key) ?? [];
        const nearest = marks.filter((mark) => mark < entry.ordinal).pop();
        if (nearest !== undefined && nearest >= sequence.last) continue;
        const advanced = {
          entries: [...sequence.entries, entry],
          start: sequence.start,
          last: entry.ordinal,
        };
        if (stage === stages.length - 1) completed.push(advanced);
        else {
          const next = pending[stage]?.get(key) ?? [];
          next.push(advanced);
          pending[stage]?.set(key, next);
        }
      }
    });
    completed.sort((a, b) => (a.entries[0] as Entry).ordinal - (b.entries[0] as Entry).ordinal);
    const alerts: Alert[] = [];
    for (const sequence of completed) {
      const id = sequence.entries.map((entry) => entry.id).join("\u0000");
      if (alerted.has(id)) continue;
      alerted.add(id);
      const firstDoc = (sequence.entries[0] as Entry).doc;
      const group: Record<string, unknown> = {};
      for (const field of keyFields) {
        const values = keyValues(firstDoc, field, types).map(({ value }) => value);
        group[field] = values.length === 1 ? values[0] : values;
      }
      alerts.push({
        ruleId,
        at,
        events: sequence.entries.map((entry) => entry.doc),
        ...(keyFields.length > 0 && { group }),
      });
      if (alerts.length >= maxSignals) break;
    }
    return alerts;
  };
}
