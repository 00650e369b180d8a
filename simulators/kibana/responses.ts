import { STATUS_CODES } from "node:http";

/** A status and a JSON body, as the routes answer. */
export type Answer = [status: number, body: unknown];

/**
 * Kibana core's error body (a Boom payload): `{statusCode, error, message}`, `error` being the reason
 * phrase. Source: `response.customError` / `response.forbidden` in src/core http router, as seen in
 * the route examples of x-pack/platform/plugins/shared/fleet/server/routes/epm/examples/*.yaml.
 */
export function kibanaError(status: number, message?: string, extra: object = {}): Answer {
  const error = STATUS_CODES[status] ?? "Unknown";
  return [status, { statusCode: status, error, message: message ?? error, ...extra }];
}

/**
 * The security solution's own error body, `{message, status_code}` (note the snake case), from
 * `buildSiemResponse(response).error` in security_solution/server/lib/detection_engine/routes/utils.
 */
export function siemError(status: number, message: unknown): Answer {
  return [status, { message, status_code: status }];
}

/** The 404 hapi gives for a path (or method) no route serves. */
export const NOT_FOUND: Answer = kibanaError(404);

/**
 * A failed request validation, as core's router words it: `[request query]: <field>: <zod message>`
 * (src/core/packages/http/router-server-internal, `RouteValidationError`).
 */
export function validationError(where: "query" | "body", detail: string): Answer {
  return kibanaError(400, `[request ${where}]: ${detail}`);
}
