import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback, loopbackOrigin } from "../loopback.ts";
import {
  authenticate,
  type Caller,
  type Grant,
  missingPrivileges,
  privilegesBody,
  UNAUTHORIZED,
} from "./auth.ts";
import { Fleet } from "./fleet.ts";
import { type Answer, kibanaError, NOT_FOUND } from "./responses.ts";
import { RuleStore, type RulesRequest, type StoredRule } from "./rules.ts";

export type { StoredRule } from "./rules.ts";

/** Emulation settings. */
export interface KibanaEmulatorOptions {
  /** Version reported by `GET /api/status` (default 8.17.0); 8.x and 9.x differ in a few shapes. */
  version?: string;
  /**
   * API keys (the text after `ApiKey `) and basic users (`user:password`) accepted, each with what it
   * may do. Default: one key `emulator-key` allowed everything.
   */
  credentials?: Record<string, Grant>;
  /** Spaces that exist besides `default`. */
  spaces?: string[];
  /** Fleet's package registry reachable? false → installs answer as Kibana does when it cannot be reached. */
  registry?: boolean;
  /** Package versions the registry has for `jumpcloud`, oldest first (default 1.22.0, 1.23.0; the last is "latest"). */
  packageVersions?: string[];
}

/** A request as received. */
export interface KibanaRecordedRequest {
  method: string;
  /** The path without its `/s/<space>` prefix nor query string. */
  path: string;
  query: Record<string, string>;
  space: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The answer's status. */
  status: number;
}

interface Context {
  method: string;
  path: string;
  search: string;
  query: URLSearchParams;
  space: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  caller: Caller | undefined;
}

interface Route {
  method: string;
  pattern: RegExp;
  /** `optional`: served without credentials too (only `/api/status`). */
  auth?: "optional";
  /** Fleet's own authz (403 `Forbidden`) or core's `securitySolution` privilege check. */
  needs?: "fleet" | "rules";
  handle: (ctx: Context, params: string[]) => Answer;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SPACE_PREFIX = /^\/s\/([a-z0-9_-]+)(?=\/|$)/;

/**
 * Kibana 8.x/9.x on loopback for what `setup --kibana` uses: status, spaces, Fleet EPM (`jumpcloud`),
 * the dashboard saved object, the detection engine. As Kibana, a `/s/<space>` of no existing space is
 * not refused (objects land in it); `ApiKey`/`Basic` auth; `kbn-xsrf` on non-GET; `fail()` for faults.
 */
export class KibanaEmulator {
  readonly requests: KibanaRecordedRequest[] = [];
  private readonly fleet: Fleet;
  private readonly store = new RuleStore();
  private readonly faults: { match: string; status: number; body: unknown; remaining: number }[] = [];
  private readonly spaceIds: Set<string>;
  private readonly grants: Record<string, Grant>;
  private readonly version: string;
  private readonly uuid = randomUUID();
  private readonly routes: Route[];
  private server: Server | undefined;

  constructor(options: KibanaEmulatorOptions = {}) {
    this.version = options.version ?? "8.17.0";
    this.grants = options.credentials ?? { "emulator-key": { fleet: true, rules: true } };
    this.spaceIds = new Set(["default", ...(options.spaces ?? [])]);
    this.fleet = new Fleet({
      kibanaVersion: this.version,
      registry: options.registry ?? true,
      versions: options.packageVersions ?? ["1.22.0", "1.23.0"],
    });
    this.routes = this.buildRoutes();
  }

  /** How many times Fleet installed or reinstalled the package ("already installed" answers excluded). */
  get installCount(): number {
    return this.fleet.installCount;
  }

  /** Makes Fleet's package registry reachable or not from now on (the `registry` option, changed later). */
  set registry(reachable: boolean) {
    this.fleet.registry = reachable;
  }

  /** Stored detection rules of a space, as the API returns them. */
  rules(space = "default"): StoredRule[] {
    return this.store.list(space);
  }

  /** The installed package: Fleet installs once for the cluster, so `space` does not change the answer. */
  installedPackage(_space?: string): { name: string; version: string } | undefined {
    return this.fleet.installed();
  }

  /** Dashboard saved-object ids present in a space (installs put them in the space they came from). */
  dashboards(space = "default"): string[] {
    return this.fleet.dashboardIds(space);
  }

  /** Answers the next `times` requests whose path (with space prefix and query) contains `match`. */
  fail(match: string, status: number, body?: unknown, times = 1): void {
    this.faults.push({ match, status, body: body ?? kibanaError(status)[1], remaining: times });
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, kibanaError(500, String(error)));
      });
    });
    await listenOnLoopback(this.server, port);
    return this.url;
  }

  get url(): string {
    return loopbackOrigin(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://kibana");
    const prefix = SPACE_PREFIX.exec(url.pathname);
    const space = prefix?.[1] ?? "default";
    const path = prefix ? url.pathname.slice(prefix[0].length) || "/" : url.pathname;
    const method = (req.method ?? "GET").toUpperCase();
    const ctx: Context = {
      method,
      path,
      search: url.search,
      query: url.searchParams,
      space,
      headers: req.headers,
      body,
      caller: undefined,
    };
    const answer = this.takeFault(`${url.pathname}${url.search}`) ?? this.route(ctx);
    this.requests.push({
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      space,
      headers: req.headers,
      body: body.toString("utf8"),
      status: answer[0],
    });
    this.send(res, answer);
  }

  private takeFault(target: string): Answer | undefined {
    const index = this.faults.findIndex((f) => target.includes(f.match));
    const fault = this.faults[index];
    if (!fault) return undefined;
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return [fault.status, fault.body];
  }

  /** hapi's order: route lookup (404), authentication (401), xsrf (400), then the route's authz. */
  private route(ctx: Context): Answer {
    for (const route of this.routes) {
      const match = route.method === ctx.method ? route.pattern.exec(ctx.path) : null;
      if (!match) continue;
      const auth = authenticate(headerValue(ctx.headers.authorization), this.grants);
      if ("refused" in auth) return auth.refused;
      if ("missing" in auth && route.auth !== "optional") return UNAUTHORIZED;
      ctx.caller = "caller" in auth ? auth.caller : undefined;
      if (!SAFE_METHODS.has(ctx.method) && !("kbn-xsrf" in ctx.headers) && !("kbn-version" in ctx.headers))
        return kibanaError(400, "Request must contain a kbn-xsrf header.");
      if (route.needs === "fleet" && !ctx.caller?.fleet) return kibanaError(403);
      if (route.needs === "rules" && !ctx.caller?.rules)
        return missingPrivileges(ctx.method, `${ctx.path}${ctx.search}`, "securitySolution");
      return route.handle(
        ctx,
        match.slice(1).map((p) => decodeURIComponent(p ?? "")),
      );
    }
    return NOT_FOUND;
  }

  private buildRoutes(): Route[] {
    const fleet = this.fleet;
    const rules = (ctx: Context): RulesRequest => ({
      space: ctx.space,
      username: ctx.caller?.username ?? "elastic",
      query: ctx.query,
      contentType: headerValue(ctx.headers["content-type"]),
      body: ctx.body,
    });
    return [
      { method: "GET", pattern: /^\/api\/status$/, auth: "optional", handle: (ctx) => this.status(ctx) },
      { method: "GET", pattern: /^\/api\/spaces\/space\/([^/]+)$/, handle: (_, [id = ""]) => this.space(id) },
      { method: "GET", pattern: /^\/api\/fleet\/check-permissions$/, handle: (ctx) => checkPermissions(ctx) },
      {
        method: "GET",
        pattern: /^\/api\/fleet\/epm\/packages\/([^/]+)$/,
        needs: "fleet",
        handle: (_, [n = ""]) => fleet.info(n, undefined),
      },
      {
        method: "GET",
        pattern: /^\/api\/fleet\/epm\/packages\/([^/]+)\/([^/]+)$/,
        needs: "fleet",
        handle: (_, [n = "", v = ""]) => fleet.info(n, v),
      },
      {
        method: "POST",
        pattern: /^\/api\/fleet\/epm\/packages\/([^/]+)$/,
        needs: "fleet",
        handle: (ctx, [n = ""]) => fleet.install(ctx.space, n, undefined, ctx.body),
      },
      {
        method: "POST",
        pattern: /^\/api\/fleet\/epm\/packages\/([^/]+)\/([^/]+)$/,
        needs: "fleet",
        handle: (ctx, [n = "", v = ""]) => fleet.install(ctx.space, n, v, ctx.body),
      },
      {
        method: "GET",
        pattern: /^\/api\/saved_objects\/([^/]+)\/([^/]+)$/,
        handle: (ctx, [t = "", id = ""]) => fleet.savedObject(ctx.space, t, id),
      },
      {
        method: "GET",
        pattern: /^\/api\/detection_engine\/privileges$/,
        needs: "rules",
        handle: (ctx) => [200, privilegesBody(ctx.caller as Caller, ctx.space)],
      },
      {
        method: "POST",
        pattern: /^\/api\/detection_engine\/rules\/_import$/,
        needs: "rules",
        handle: (ctx) => this.store.import(rules(ctx)),
      },
      {
        method: "GET",
        pattern: /^\/api\/detection_engine\/rules\/_find$/,
        needs: "rules",
        handle: (ctx) => this.store.find(rules(ctx)),
      },
      {
        method: "GET",
        pattern: /^\/api\/detection_engine\/rules$/,
        needs: "rules",
        handle: (ctx) => this.store.read(rules(ctx)),
      },
    ];
  }

  /**
   * `GET /api/status` (src/core/packages/status/server-internal/src/routes/status.ts): the full body
   * when authenticated, `{status: {overall: {level}}}` alone when not.
   */
  private status(ctx: Context): Answer {
    const overall = { level: "available", summary: "All services and plugins are available" };
    if (!ctx.caller) return [200, { status: { overall: { level: overall.level } } }];
    const core = {
      elasticsearch: { level: "available", summary: "Elasticsearch is available" },
      savedObjects: {
        level: "available",
        summary: "SavedObjects service has completed migrations and is available",
      },
    };
    const version = {
      number: this.version.replace(/-SNAPSHOT$/, ""),
      build_hash: "emulator0000000000000000000000000000000000",
      build_number: 80000,
      build_snapshot: this.version.endsWith("-SNAPSHOT"),
      build_flavor: "traditional",
      build_date: "2024-12-11T00:00:00.000Z",
    };
    return [
      200,
      { name: "kibana-emulator", uuid: this.uuid, version, status: { overall, core, plugins: {} } },
    ];
  }

  /** `GET /api/spaces/space/<id>` (spaces/server/routes/api/external/get.ts): 404 is a bare `response.notFound()`. */
  private space(id: string): Answer {
    if (!this.spaceIds.has(id)) return NOT_FOUND;
    if (id === "default")
      return [
        200,
        {
          id,
          name: "Default",
          description: "This is your default space!",
          color: "#00bfb3",
          disabledFeatures: [],
          _reserved: true,
        },
      ];
    return [200, { id, name: id, disabledFeatures: [] }];
  }

  private send(res: ServerResponse, [status, body]: Answer): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      "kbn-name": "kibana-emulator",
    });
    res.end(text);
  }
}

/**
 * `GET /api/fleet/check-permissions` (fleet/server/routes/setup/handlers.ts): no authz of its own; 200
 * either way, `error` one of MISSING_SECURITY | MISSING_PRIVILEGES | MISSING_FLEET_SERVER_SETUP_PRIVILEGES.
 */
function checkPermissions(ctx: Context): Answer {
  return [200, ctx.caller?.fleet ? { success: true } : { success: false, error: "MISSING_PRIVILEGES" }];
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
