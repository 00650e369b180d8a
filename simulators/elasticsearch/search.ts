import { type BackingIndex, LEAN_SOURCE, type StoredDocument, wildcard } from "./data-streams.ts";
import { type Answer, esError, shards } from "./responses.ts";

/** A `_search` or `_count` request: its parsed body, query-string parameters and the resolved indices. */
export interface SearchInput {
  body: Record<string, unknown>;
  params: Record<string, string>;
  indices: BackingIndex[];
}

type Predicate = (doc: StoredDocument, index: BackingIndex) => boolean;
type Hit = { doc: StoredDocument; index: BackingIndex };

// index.max_result_window and the default track_total_hits.
const MAX_RESULT_WINDOW = 10_000;

/** A request Elasticsearch would refuse with 400 `parsing_exception`. */
class QueryError extends Error {}

/** `_search`: `query` (match_all, match_none, ids, term, terms, exists, bool), `from`, `size`, `_source`, `track_total_hits`. */
export function search({ body, params, indices }: SearchInput): Answer {
  const size = Number(body.size ?? params.size ?? 10);
  const from = Number(body.from ?? params.from ?? 0);
  if (from + size > MAX_RESULT_WINDOW) {
    const reason = `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`;
    return esError(400, "search_phase_execution_exception", "all shards failed", {
      phase: "query",
      caused_by: { type: "illegal_argument_exception", reason },
    });
  }
  return answering(() => {
    const hits = matching(body.query, indices);
    const filter = sourceFilter(body._source, params);
    const page = hits.slice(from, from + size).map((hit) => toHit(hit, filter));
    return [
      200,
      {
        took: 0,
        timed_out: false,
        _shards: shards(indices.length),
        hits: {
          ...total(hits.length, body.track_total_hits ?? params.track_total_hits),
          max_score: page.length > 0 ? 1 : null,
          hits: page,
        },
      },
    ];
  });
}

/** `_count` with the same queries. */
export function count({ body, indices }: SearchInput): Answer {
  return answering(() => [
    200,
    { count: matching(body.query, indices).length, _shards: shards(indices.length) },
  ]);
}

function answering(answer: () => Answer): Answer {
  try {
    return answer();
  } catch (error) {
    if (error instanceof QueryError) return esError(400, "parsing_exception", error.message);
    throw error;
  }
}

// A scan of every document (no copies of the stores: a lean one may hold a million); an `ids`
// query looks each `_id` up, as Elasticsearch's term index does, so a lookup per page stays cheap.
function matching(query: unknown, indices: BackingIndex[]): Hit[] {
  const ids =
    isObject(query) && isObject(query.ids) && Array.isArray(query.ids.values) ? query.ids.values : undefined;
  if (ids !== undefined && Object.keys(query as object).length === 1) {
    const wanted = [...new Set(ids.map(String))];
    return indices.flatMap((index) =>
      wanted.flatMap((id) => {
        const doc = index.docs.get(id);
        return doc ? [{ doc, index }] : [];
      }),
    );
  }
  const matches = compile(query ?? { match_all: {} });
  const hits: Hit[] = [];
  for (const index of indices)
    for (const doc of index.docs.values()) if (matches(doc, index)) hits.push({ doc, index });
  return hits;
}

// `track_total_hits`: true counts exactly, a number (default 10 000) counts up to it, false not at all.
function total(value: number, track: unknown): { total?: { value: number; relation: "eq" | "gte" } } {
  if (track === false || track === "false") return {};
  const limit =
    track === true || track === "true" ? Number.POSITIVE_INFINITY : Number(track ?? MAX_RESULT_WINDOW);
  return { total: value > limit ? { value: limit, relation: "gte" } : { value, relation: "eq" } };
}

function toHit({ doc, index }: Hit, filter: SourceFilter) {
  const hit: Record<string, unknown> = { _index: index.name, _id: doc._id, _score: 1 };
  // As with `_source` disabled in the mapping: a document stored without its source has none.
  if (filter !== false && doc._source !== LEAN_SOURCE) hit._source = filterSource(doc._source, filter);
  return hit;
}

function compile(query: unknown): Predicate {
  const entries = isObject(query) ? Object.entries(query) : [];
  const [kind, spec] = entries[0] ?? [];
  if (entries.length !== 1 || kind === undefined)
    throw new QueryError("[_na] query malformed, must start with start_object");
  const compiler = COMPILERS[kind];
  if (!compiler) throw new QueryError(`unknown query [${kind}]`);
  return compiler(spec);
}

const COMPILERS: Record<string, (spec: unknown) => Predicate> = {
  match_all: () => () => true,
  match_none: () => () => false,
  ids: (spec) => {
    const values = isObject(spec) && Array.isArray(spec.values) ? spec.values : [];
    const wanted = new Set(values.map(String));
    return (doc) => wanted.has(doc._id);
  },
  term: (spec) => {
    const [field, raw] = single(spec, "term");
    const value = isObject(raw) ? raw.value : raw;
    return (doc, index) => fieldValues(doc, index, field).some((v) => same(v, value));
  },
  terms: (spec) => {
    const [field, values] = single(spec, "terms", ["boost"]);
    if (!Array.isArray(values)) throw new QueryError(`[terms] query does not support [${field}]`);
    return (doc, index) => fieldValues(doc, index, field).some((v) => values.some((w) => same(v, w)));
  },
  exists: (spec) => {
    const field = isObject(spec) ? String(spec.field) : "";
    return (doc, index) => fieldValues(doc, index, field).some((v) => v !== null);
  },
  bool: (spec) => {
    const options = isObject(spec) ? spec : {};
    const clauses = (name: string) => {
      const value = options[name];
      return (value === undefined ? [] : Array.isArray(value) ? value : [value]).map(compile);
    };
    const must = [...clauses("must"), ...clauses("filter")];
    const should = clauses("should");
    const mustNot = clauses("must_not");
    // Without must or filter, at least one should clause has to match.
    const minimum = Number(options.minimum_should_match ?? (must.length > 0 ? 0 : 1));
    return (doc, index) =>
      must.every((p) => p(doc, index)) &&
      !mustNot.some((p) => p(doc, index)) &&
      (should.length === 0 || should.filter((p) => p(doc, index)).length >= minimum);
  },
};

// The one field a term-level query names (other keys of the object are its options).
function single(spec: unknown, kind: string, options: string[] = []): [string, unknown] {
  const fields = isObject(spec) ? Object.entries(spec).filter(([k]) => !options.includes(k)) : [];
  const [first] = fields;
  if (fields.length !== 1 || !first) throw new QueryError(`[${kind}] query requires exactly one field`);
  return first;
}

function fieldValues(doc: StoredDocument, index: BackingIndex, field: string): unknown[] {
  if (field === "_id") return [doc._id];
  if (field === "_index") return [index.name];
  return valuesAt(doc._source, field.split("."));
}

// Values at a dotted path, through nested objects, literal dotted keys and arrays alike.
function valuesAt(value: unknown, parts: string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, parts));
  if (parts.length === 0) return [value];
  if (!isObject(value)) return [];
  const found: unknown[] = [];
  for (let n = 1; n <= parts.length; n++) {
    const key = parts.slice(0, n).join(".");
    if (key in value) found.push(...valuesAt(value[key], parts.slice(n)));
  }
  return found;
}

// Term equality as keyword and numeric fields coerce: 5 matches "5".
function same(stored: unknown, wanted: unknown): boolean {
  return typeof stored !== "object" && typeof wanted !== "object" && String(stored) === String(wanted);
}

type SourceFilter = false | { includes: RegExp[]; excludes: RegExp[] };

// `_source` from the body (false, true, a pattern, patterns, {includes, excludes}) or the query string.
function sourceFilter(body: unknown, params: Record<string, string>): SourceFilter {
  const list = (v: unknown): string[] =>
    v === undefined ? [] : Array.isArray(v) ? v.map(String) : String(v).split(",").filter(Boolean);
  let includes: string[];
  let excludes: string[];
  if (body === false || (body === undefined && params._source === "false")) return false;
  if (isObject(body)) {
    includes = list(body.includes ?? body.include);
    excludes = list(body.excludes ?? body.exclude);
  } else {
    const given = body ?? params._source;
    includes = given === true || given === "true" ? [] : list(given);
    excludes = [];
  }
  includes.push(...list(params._source_includes));
  excludes.push(...list(params._source_excludes));
  return { includes: includes.map(wildcard), excludes: excludes.map(wildcard) };
}

const SKIP = Symbol("skip");

function filterSource(source: Record<string, unknown>, filter: Exclude<SourceFilter, false>) {
  if (filter.includes.length === 0 && filter.excludes.length === 0) return source;
  const picked = pick(source, "", filter.includes.length === 0, filter);
  return picked === SKIP ? {} : picked;
}

// A field is kept when it or an object above it is included, and neither it nor one above is excluded.
function pick(value: unknown, path: string, above: boolean, filter: Exclude<SourceFilter, false>): unknown {
  if (path !== "" && filter.excludes.some((r) => r.test(path))) return SKIP;
  const included = above || (path !== "" && filter.includes.some((r) => r.test(path)));
  if (Array.isArray(value)) {
    const items = value.map((v) => pick(v, path, included, filter)).filter((v) => v !== SKIP);
    return items.length > 0 || included ? items : SKIP;
  }
  if (!isObject(value)) return included ? value : SKIP;
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const picked = pick(child, path === "" ? key : `${path}.${key}`, included, filter);
    if (picked !== SKIP) kept[key] = picked;
  }
  return Object.keys(kept).length > 0 || included ? kept : SKIP;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
