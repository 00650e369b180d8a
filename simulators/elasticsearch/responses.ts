/** A status and a JSON body, as the routes answer. */
export type Answer = [status: number, body: unknown];

/** An error answer shaped as Elasticsearch's: `{error: {root_cause, type, reason, ...}, status}`. */
export function esError(status: number, type: string, reason: string, extra: object = {}): Answer {
  const cause = { type, reason, ...extra };
  return [status, { error: { root_cause: [cause], ...cause }, status }];
}

/** The 404 for a concrete index or data stream name that does not exist. */
export function indexNotFound(name: string): Answer {
  return esError(404, "index_not_found_exception", `no such index [${name}]`, {
    "resource.type": "index_or_alias",
    "resource.id": name,
    index_uuid: "_na_",
    index: name,
  });
}

/** One shard per index, all successful. */
export function shards(total: number) {
  return { total, successful: total, skipped: 0, failed: 0 };
}

/**
 * A response body cut to the `filter_path` patterns (comma-separated dotted paths, `*` for any one
 * key): only matching leaves are kept, arrays are walked through, and an empty result is `{}`.
 */
export function filterPath(body: unknown, patterns: string | undefined): unknown {
  if (patterns === undefined || patterns === "") return body;
  const paths = patterns.split(",").map((p) => p.trim().split("."));
  return keep(body, paths) ?? {};
}

function keep(value: unknown, paths: string[][]): unknown {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) {
    const kept = value.map((v) => keep(v, paths)).filter((v) => v !== undefined);
    return kept.length > 0 ? kept : undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const rest = paths.filter((p) => p[0] === "*" || p[0] === key).map((p) => p.slice(1));
    const kept = rest.length > 0 ? keep(child, rest) : undefined;
    if (kept !== undefined) out[key] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
