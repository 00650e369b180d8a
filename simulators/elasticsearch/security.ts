import type { Answer } from "./responses.ts";

/** What `_has_privileges` needs to know about the cluster. */
export interface SecuritySettings {
  /** Privileges the caller lacks. */
  denied: readonly string[];
  /** Security is off: the API answers 500 as such a cluster does. */
  disabled: boolean;
}

/** `_has_privileges` as the real API answers: every requested privilege by name, per index name as requested. */
export function hasPrivileges(body: string, user: string | undefined, settings: SecuritySettings): Answer {
  if (settings.disabled) {
    const reason =
      "Security must be explicitly enabled when using a [basic] license. Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.";
    return [
      500,
      { error: { root_cause: [{ type: "exception", reason }], type: "exception", reason }, status: 500 },
    ];
  }
  let request: {
    cluster?: string[];
    index?: { names: string | string[]; privileges: string[] }[];
    application?: unknown[];
  };
  try {
    request = body === "" ? {} : JSON.parse(body);
  } catch {
    return [
      400,
      { error: { type: "parse_exception", reason: "failed to parse the request body" }, status: 400 },
    ];
  }
  const cluster = request.cluster ?? [];
  const index = request.index ?? [];
  if (cluster.length === 0 && index.length === 0 && (request.application ?? []).length === 0) {
    const reason = "Validation Failed: 1: must specify at least one privilege;";
    return [400, { error: { type: "action_request_validation_exception", reason }, status: 400 }];
  }
  const denied = new Set(settings.denied);
  const answer = (privileges: readonly string[]) =>
    Object.fromEntries(privileges.map((p) => [p, !denied.has(p)]));
  const indices: Record<string, Record<string, boolean>> = {};
  for (const check of index) {
    for (const name of typeof check.names === "string" ? [check.names] : check.names)
      indices[name] = { ...indices[name], ...answer(check.privileges) };
  }
  const clusterAnswer = answer(cluster);
  const all = [clusterAnswer, ...Object.values(indices)].every((a) => Object.values(a).every(Boolean));
  return [
    200,
    {
      username: user ?? "emulator",
      has_all_requested: all,
      cluster: clusterAnswer,
      index: indices,
      application: {},
    },
  ];
}
