import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Who signed a request: a function's role (its session named after the function), or an operator. */
export type Caller = { kind: "role"; roleId: string; session: string } | { kind: "operator" };

/** The outcome of a check: `undefined` when allowed, else AWS's denial sentence. */
export type Verdict = string | undefined;

/** One AWS call as IAM sees it: the action, the resources it acts on, the condition keys it has. */
export interface Request {
  action: string;
  resources: string[];
  context?: Record<string, string>;
  /** A question the service asks itself (may this caller list?), not a call: a no is not a denial. */
  probe?: boolean;
}

/** Decides whether `caller` may make `request` (the emulators call it before they act). */
export type Authorize = (caller: Caller | undefined, request: Request) => Verdict;

/** The access key id a credential names: `Credential=<id>/<date>/<region>/<service>/aws4_request`. */
export function accessKeyOf(req: IncomingMessage): string | undefined {
  const header = String(req.headers.authorization ?? "");
  return /Credential=([^/,\s]+)\//.exec(header)?.[1];
}

/**
 * The callers of the deployment, by access key: each function's sandbox gets its role's own
 * key, and the operator (the test itself, an admin's CLI) a key of its own, allowed everything.
 */
export class Callers {
  static readonly OPERATOR_KEY = "AKIAOPERATOR00000000";
  private readonly byKey = new Map<string, Caller>([[Callers.OPERATOR_KEY, { kind: "operator" }]]);

  /** Registers a role's session; answers the access key its sandbox signs with. */
  role(roleId: string, session: string): string {
    const key = `ASIA${createHash("sha256").update(`${roleId}/${session}`).digest("hex").slice(0, 16).toUpperCase()}`;
    this.byKey.set(key, { kind: "role", roleId, session });
    return key;
  }

  /** Who signed `req`; undefined for a key nobody was given (AWS: UnrecognizedClientException). */
  of(req: IncomingMessage): Caller | undefined {
    const key = accessKeyOf(req);
    return key === undefined ? undefined : this.byKey.get(key);
  }
}
