import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, FaultQueue, listenOnLoopback, loopbackOrigin } from "../loopback.ts";
import {
  EventIndex,
  type IngestionDelay,
  type Position,
  type Scope,
  type StoredEvent,
} from "./event-index.ts";
import { Random } from "./random.ts";
import type { EventSequence, GeneratedEvent } from "./tenant.ts";

export type { StoredEvent } from "./event-index.ts";

/**
 * Services the API accepts in `service` (from JumpCloud's OpenAPI description). Kept apart from
 * the client's list on purpose: the simulator stands for the API, not for our code.
 */
const API_SERVICES = new Set([
  "all",
  "alerts",
  "directory",
  "ldap",
  "mdm",
  "notifications",
  "object_storage",
  "password_manager",
  "radius",
  "reports",
  "saas_app_management",
  "software",
  "sso",
  "systems",
  "access_management",
  "asset_management",
]);

/** One organization's events: an array, or a generated tenant whose bodies are made on demand. */
export interface TenantData {
  orgId: string;
  events: GeneratedEvent[] | EventSequence;
}

/** An API key and the orgs it may read; the first is used when no `x-org-id` is sent. */
export interface SimulatedKey {
  key: string;
  orgs: string[];
  /** MSP keys must name an org with `x-org-id`. */
  requiresOrgHeader?: boolean;
}

/** A service account (OAuth client credentials). */
export interface SimulatedClient {
  clientId: string;
  clientSecret: string;
  orgs: string[];
  /** Token lifetime in seconds (default 3600). */
  tokenLifetime?: number;
}

/** A fault served instead of (or around) a normal answer. */
export type Fault =
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  /** Answers `status` with the request's own headers in the body (a proxy that echoes too much). */
  | { kind: "echo"; status: number }
  /** Sends the headers at once, then the body only after `ms`. */
  | { kind: "slow-body"; ms: number }
  /** Serves the request normally (to aim a later fault at a later request). */
  | { kind: "pass" }
  | { kind: "delay"; ms: number }
  | { kind: "reset" }
  | { kind: "truncated" }
  | { kind: "malformed" }
  | { kind: "object" }
  | { kind: "non-object-element" }
  | { kind: "headers"; set: Record<string, string | null> };

/** A request as the simulator received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The body exactly as received. */
  rawBody: string;
  status: number;
  requestId: string;
  fault?: Fault["kind"];
}

/** Simulator settings. */
export interface SimulatorOptions {
  tenants: TenantData[];
  keys?: SimulatedKey[];
  clients?: SimulatedClient[];
  /** Delay between an event's time and when queries can see it (ms); default none. */
  ingestionDelay?: IngestionDelay;
  /** The simulator's clock (default Date.now). */
  now?: () => number;
  /**
   * The tenant as it stood at this instant (epoch ms): events visible only later never appear,
   * while the clock (which judges "in the future") runs on. A frozen tenant that still accepts
   * queries for any time after it.
   */
  visibleAsOf?: number;
  /** Largest page the server serves, whatever is asked (default 10 000, the documented maximum). */
  maxLimit?: number;
  /** Time each `/events` and `/events/count` request takes before it is answered (ms; benchmarks). */
  latencyMs?: number;
  seed?: number;
}

/**
 * An in-process Directory Insights API on loopback: `/events` and `/events/count` with the
 * documented semantics, an OAuth token endpoint, ingestion delay, faults on demand, and a record
 * of every request.
 */
export class JumpcloudSimulator {
  readonly requests: RecordedRequest[] = [];
  private readonly index = new EventIndex();
  private readonly keys: SimulatedKey[];
  private readonly clients: SimulatedClient[];
  private readonly tokens = new Map<string, { orgs: string[]; expiresAt: number }>();
  private readonly faults = new FaultQueue<Fault>();
  private readonly now: () => number;
  private readonly visibleAsOf: number;
  private server: Server | undefined;
  private readonly random: Random;
  private readonly maxLimit: number;
  private readonly latencyMs: number;

  constructor(options: SimulatorOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.random = new Random(options.seed ?? 42);
    this.now = options.now ?? Date.now;
    this.visibleAsOf = options.visibleAsOf ?? Number.POSITIVE_INFINITY;
    this.maxLimit = options.maxLimit ?? 10_000;
    this.keys = options.keys ?? [];
    this.clients = options.clients ?? [];
    for (const tenant of options.tenants) this.addEvents(tenant.orgId, tenant.events, options.ingestionDelay);
  }

  /** Adds events to an org (late arrivals in tests). */
  addEvents(orgId: string, events: GeneratedEvent[] | EventSequence, delay?: IngestionDelay): void {
    this.index.add(orgId, events, this.random, delay);
  }

  /** Every event of an org, visible or not, in API order. */
  allEvents(orgId: string): Record<string, unknown>[] {
    return this.index.stored(orgId).map((e) => e.event);
  }

  /** Every event of an org as stored (position, service, visibility), in API order. */
  storedEvents(orgId: string): StoredEvent[] {
    return this.index.stored(orgId);
  }

  /** Serves `fault` to the next `times` requests (to `path` only, when given). */
  inject(fault: Fault, times = 1, path?: string): void {
    this.faults.add(fault, times, path);
  }

  /** Drops faults not served yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Starts on loopback, on `port` or a random free one; returns the API base URL. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, 500, { message: String(error) }, randomUUID());
      });
    });
    await listenOnLoopback(this.server, port);
    return this.baseUrl;
  }

  /** The API base URL (`http://127.0.0.1:<port>/insights/directory/v1`). */
  get baseUrl(): string {
    return `${loopbackOrigin(this.server)}/insights/directory/v1`;
  }

  /** The OAuth token endpoint URL. */
  get tokenUrl(): string {
    return `${loopbackOrigin(this.server)}/oauth2/token`;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/^\/insights\/directory\/v1/, "");
    const requestId = randomUUID();
    let body: unknown = raw;
    try {
      body = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      // recorded as text
    }
    const record: RecordedRequest = {
      method: req.method ?? "",
      path,
      headers: { ...req.headers, "x-org-id": req.headersDistinct["x-org-id"] },
      body,
      rawBody: raw,
      status: 0,
      requestId,
    };
    this.requests.push(record);

    const fault = this.faults.take(path);
    if (fault) record.fault = fault.kind;
    if (fault?.kind === "reset") {
      record.status = -1;
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === "echo") {
      record.status = fault.status;
      res.writeHead(fault.status, { "content-type": "application/json", "x-request-id": requestId }).end(
        JSON.stringify({
          message: "echo",
          seen: { "x-api-key": req.headers["x-api-key"], authorization: req.headers.authorization },
        }),
      );
      return;
    }
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    if (this.latencyMs > 0 && path.startsWith("/events"))
      await new Promise((r) => setTimeout(r, this.latencyMs));
    if (fault?.kind === "status") {
      record.status = fault.status;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-request-id": requestId,
      };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res
        .writeHead(fault.status, headers)
        .end(fault.body ?? JSON.stringify({ message: `simulated ${fault.status}` }));
      return;
    }

    const answer =
      req.method === "POST" && path === "/oauth2/token"
        ? this.token(req, raw)
        : req.method === "POST" && (path === "/events" || path === "/events/count")
          ? this.events(req, path, body)
          : { status: 404, body: { message: "Not Found" } };
    record.status = answer.status;
    if (answer.status !== 200 || !fault) {
      this.send(res, answer.status, answer.body, requestId, answer.headers);
      return;
    }
    this.sendFaulty(res, fault, answer, requestId);
  }

  private sendFaulty(res: ServerResponse, fault: Fault, answer: Answer, requestId: string): void {
    const headers = { "content-type": "application/json", "x-request-id": requestId, ...answer.headers };
    const text = JSON.stringify(answer.body);
    switch (fault.kind) {
      case "slow-body":
        res.writeHead(200, { ...headers, "content-length": String(Buffer.byteLength(text)) });
        res.flushHeaders();
        setTimeout(() => {
          if (!res.destroyed) res.end(text);
        }, fault.ms);
        return;
      case "truncated":
        // Announces the full length, sends half, then drops the connection.
        res.writeHead(200, { ...headers, "content-length": String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      case "malformed":
        res.writeHead(200, headers).end(`${text.slice(0, Math.floor(text.length / 2))}<html>oops`);
        return;
      case "object":
        res.writeHead(200, headers).end(JSON.stringify({ message: "an object instead of an array" }));
        return;
      case "non-object-element":
        res.writeHead(200, headers).end(JSON.stringify([...(answer.body as unknown[]), "not an event"]));
        return;
      case "headers": {
        const merged: Record<string, string> = { ...headers };
        for (const [name, value] of Object.entries(fault.set)) {
          if (value === null) delete merged[name];
          else merged[name] = value;
        }
        res.writeHead(200, merged).end(text);
        return;
      }
      default:
        this.send(res, 200, answer.body, requestId, answer.headers);
    }
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    requestId: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": requestId, ...headers });
    res.end(JSON.stringify(body));
  }

  private token(req: IncomingMessage, raw: string): Answer {
    const auth = req.headers.authorization ?? "";
    const [id, secret] = auth.startsWith("Basic ")
      ? Buffer.from(auth.slice(6), "base64").toString("utf8").split(":").map(decodeURIComponent)
      : [];
    const client = this.clients.find((c) => c.clientId === id && c.clientSecret === secret);
    const form = new URLSearchParams(raw);
    if (form.get("grant_type") !== "client_credentials") {
      return { status: 400, body: { error: "unsupported_grant_type" } };
    }
    if (!client)
      return {
        status: 401,
        body: { error: "invalid_client", error_description: "client authentication failed" },
      };
    const token = `sim-${randomUUID()}`;
    const lifetime = client.tokenLifetime ?? 3600;
    this.tokens.set(token, { orgs: client.orgs, expiresAt: this.now() + lifetime * 1000 });
    return {
      status: 200,
      body: { access_token: token, token_type: "bearer", expires_in: lifetime, scope: "api" },
    };
  }

  /** Orgs the request may read, or an error answer. */
  private authorize(req: IncomingMessage): { orgs: string[] } | Answer {
    const key = req.headers["x-api-key"];
    const bearer = req.headers.authorization?.startsWith("Bearer ")
      ? req.headers.authorization.slice(7)
      : undefined;
    let allowed: string[] | undefined;
    let requiresOrgHeader = false;
    if (typeof key === "string") {
      const found = this.keys.find((k) => k.key === key);
      allowed = found?.orgs;
      requiresOrgHeader = found?.requiresOrgHeader ?? false;
    } else if (bearer !== undefined) {
      const token = this.tokens.get(bearer);
      if (token && token.expiresAt > this.now()) allowed = token.orgs;
    }
    if (!allowed) return { status: 401, body: { message: "Unauthorized" } };
    const requested = [
      ...new Set(
        (req.headersDistinct["x-org-id"] ?? [])
          .flatMap((v) => v.split(","))
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (requested.length === 0) {
      if (requiresOrgHeader)
        return { status: 400, body: { message: "x-org-id header is required for this key" } };
      return { orgs: allowed.slice(0, 1) };
    }
    const denied = requested.filter((org) => !allowed.includes(org));
    if (denied.length > 0) return { status: 401, body: { message: "Unauthorized organization" } };
    return { orgs: requested };
  }

  private events(req: IncomingMessage, path: string, body: unknown): Answer {
    const auth = this.authorize(req);
    if ("status" in auth) return auth;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return { status: 400, body: { message: "request body must be a JSON object" } };
    }
    const q = body as Record<string, unknown>;
    const services = q.service;
    if (!Array.isArray(services) || services.length === 0 || !services.every((s) => typeof s === "string")) {
      return { status: 400, body: { message: "service is required" } };
    }
    const unknown = services.filter((s) => !API_SERVICES.has(s));
    if (unknown.length > 0)
      return {
        status: 400,
        body: {
          message: `invalid service: ${unknown.join(",")}; valid values: ${[...API_SERVICES].join(", ")}`,
        },
      };
    if (services.includes("all") && services.length > 1) {
      return { status: 400, body: { message: "service 'all' cannot be combined with other services" } };
    }
    const start = rfc3339(q.start_time);
    if (Number.isNaN(start)) return { status: 400, body: { message: "start_time is required, RFC3339" } };
    if (start > this.now()) return { status: 400, body: { message: "Start Time is in the future" } };
    const end = q.end_time === undefined ? Number.POSITIVE_INFINITY : rfc3339(q.end_time);
    if (Number.isNaN(end)) return { status: 400, body: { message: "end_time must be RFC3339" } };
    if (start >= end) return { status: 400, body: { message: "Start Time not after End Time" } };

    const scope: Scope = {
      orgs: auth.orgs,
      services: services.includes("all") ? undefined : new Set(services),
      start,
      end,
      now: Math.min(this.now(), this.visibleAsOf),
    };
    if (path === "/events/count") return { status: 200, body: { count: this.index.count(scope) } };
    return this.page(scope, q);
  }

  private page(scope: Scope, q: Record<string, unknown>): Answer {
    // Documented: limit defaults to 1000, at most 10 000; nonsense gives the default.
    const limit =
      typeof q.limit === "number" && Number.isInteger(q.limit) && q.limit > 0
        ? Math.min(q.limit, this.maxLimit)
        : Math.min(1000, this.maxLimit);
    const descending = typeof q.sort === "string" && q.sort.toUpperCase() === "DESC";
    const after = q.search_after === undefined ? undefined : position(q.search_after);
    if (after === null) return { status: 400, body: { message: "invalid search_after" } };
    const page = this.index.page(scope, { descending, limit, after });
    const headers: Record<string, string> = {
      "X-Result-Count": String(page.events.length),
      "X-Limit": String(limit),
      "X-Sort": descending ? "DESC" : "ASC",
      // Documented: the header is always sent, also on the last page.
      "X-Search_after": page.last
        ? JSON.stringify([page.last.at, page.last.docId])
        : JSON.stringify(q.search_after ?? []),
    };
    return { status: 200, body: page.events, headers };
  }
}

/** The position a `search_after` token names, or null when it names none. */
function position(token: unknown): Position | null {
  if (
    !Array.isArray(token) ||
    token.length !== 2 ||
    typeof token[1] !== "string" ||
    Number.isNaN(Number(token[0]))
  ) {
    return null;
  }
  return { at: Number(token[0]), docId: token[1] };
}

/** Epoch ms of an RFC 3339 time (a missing offset means UTC, never the machine's zone), or NaN. */
function rfc3339(value: unknown): number {
  if (
    typeof value !== "string" ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i.test(value)
  ) {
    return Number.NaN;
  }
  return Date.parse(/(Z|[+-]\d{2}:\d{2})$/i.test(value) ? value : `${value}Z`);
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Ready-made ingestion delay distributions (ms). */
export const ingestionDelays = {
  none: () => 0,
  /** Uniform between min and max. */
  uniform:
    (minMs: number, maxMs: number) =>
    (random: Random): number =>
      random.int(minMs, maxMs),
  /** Mostly quick, with a long tail: the shape that makes a collector lose events without overlap. */
  realistic:
    (typicalMaxMs = 30_000, tailMaxMs = 300_000, tailShare = 0.05) =>
    (random: Random): number =>
      random.chance(tailShare) ? random.int(typicalMaxMs, tailMaxMs) : random.int(500, typicalMaxMs),
};
