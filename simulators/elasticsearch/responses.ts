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
