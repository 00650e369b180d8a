import { type Answer, kibanaError } from "./responses.ts";

/** What a credential may do: Fleet (integrations all), the detection engine (securitySolution all). */
export interface Grant {
  fleet?: boolean;
  rules?: boolean;
  /** The user name Kibana reports (default: the basic user, or `elastic` for an API key). */
  name?: string;
}

/** The caller a request was authenticated as. */
export interface Caller {
  username: string;
  fleet: boolean;
  rules: boolean;
}

/** Outcome of reading `Authorization`: a caller, no credentials at all, or credentials refused. */
export type Authentication = { caller: Caller } | { missing: true } | { refused: Answer };

// What Elasticsearch answers Kibana when it cannot authenticate, relayed by Kibana's security plugin
// as the 401 message (the client error's `[type]\n\tRoot causes:...]: reason` rendering).
const refusedMessage = (reason: string) =>
  `[security_exception\n\tRoot causes:\n\t\tsecurity_exception: ${reason}]: ${reason}`;

/** Reads `ApiKey <key>` or `Basic <base64 user:password>` against the configured credentials. */
export function authenticate(header: string | undefined, grants: Record<string, Grant>): Authentication {
  if (!header) return { missing: true };
  const [scheme = "", value = ""] = header.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === "apikey") {
    const grant = value.includes(":") ? undefined : grants[value];
    if (grant) return { caller: toCaller(grant, "elastic") };
    return refused(
      "unable to authenticate with provided credentials and anonymous access is not allowed for this request",
    );
  }
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const user = decoded.split(":", 1)[0] ?? "";
    const grant = decoded.includes(":") ? grants[decoded] : undefined;
    if (grant) return { caller: toCaller(grant, user) };
    return refused(`unable to authenticate user [${user}] for REST request [/_security/_authenticate]`);
  }
  // Kibana's HTTP authentication provider ignores schemes it does not know: as good as no header.
  return { missing: true };
}

function toCaller(grant: Grant, fallbackName: string): Caller {
  return { username: grant.name ?? fallbackName, fleet: grant.fleet === true, rules: grant.rules === true };
}

function refused(reason: string): { refused: Answer } {
  const [status, body] = kibanaError(401, refusedMessage(reason));
  return { refused: [status, body] };
}

/** The 401 for a request without credentials: 66 bytes, as Kibana's response log shows it. */
export const UNAUTHORIZED: Answer = kibanaError(401, "Unauthorized");

/**
 * The 403 core's authorization answers when a route's `requiredPrivileges` are missing, e.g. the
 * detection engine's `securitySolution` (src/core http authz: `API [<METHOD> <path><search>] is
 * unauthorized for user, this action is granted by the Kibana privileges [<privileges>]`).
 */
export function missingPrivileges(method: string, pathAndSearch: string, privileges: string): Answer {
  return kibanaError(
    403,
    `API [${method} ${pathAndSearch}] is unauthorized for user, this action is granted by the Kibana privileges [${privileges}]`,
  );
}

// The cluster and index privileges security_solution asks `_has_privileges` for, from
// src/platform/packages/shared/kbn-securitysolution-es-utils/src/read_privileges/index.ts.
const CLUSTER_PRIVILEGES = [
  "all",
  "manage",
  "manage_api_key",
  "manage_transform",
  "manage_index_templates",
  "manage_ml",
  "manage_own_api_key",
  "manage_pipeline",
  "manage_security",
  "monitor",
  "monitor_transform",
  "monitor_ml",
];
const INDEX_PRIVILEGES = [
  "all",
  "create",
  "create_doc",
  "create_index",
  "delete",
  "delete_index",
  "index",
  "manage",
  "maintenance",
  "monitor",
  "read",
  "view_index_metadata",
  "write",
];

/**
 * `GET /api/detection_engine/privileges`: the `_has_privileges` answer for the space's alerts index
 * (`.alerts-security.alerts-<space>`) merged with `is_authenticated` and `has_encryption_key`
 * (read_privileges_route.ts in security_solution/server/lib/detection_engine/routes/privileges).
 */
export function privilegesBody(caller: Caller, space: string): Record<string, unknown> {
  const all = (names: string[]) => Object.fromEntries(names.map((n) => [n, true]));
  return {
    username: caller.username,
    has_all_requested: true,
    cluster: all(CLUSTER_PRIVILEGES),
    index: { [`.alerts-security.alerts-${space}`]: all(INDEX_PRIVILEGES) },
    application: {},
    is_authenticated: true,
    has_encryption_key: true,
  };
}
