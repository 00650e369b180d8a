import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { closeServer, FaultQueue, listenOnLoopback, loopbackOrigin } from "../loopback.ts";

/** A stored document. */
export interface StoredDocument {
  _index: string;
  _id: string;
  _source: Record<string, unknown>;
}

/** A fault the emulation serves on demand. */
export type EsFault =
  | { kind: "status"; status: number; body?: unknown }
  | { kind: "delay"; ms: number }
  | { kind: "reset" }
  /** The next `times` bulk items are refused with 429 (es_rejected_execution_exception). */
  | { kind: "item-429" }
  /** The next `times` bulk items fail with a 5xx item status. */
  | { kind: "item-503" }
  /** The next `times` bulk items are refused for missing privileges (403 security_exception). */
  | { kind: "item-403" }
  /** The request is processed and stored, then the connection drops before the answer. */
  | { kind: "store-then-reset" }
  /** The answer lists one item fewer than the request held. */
  | { kind: "drop-item" };

/** A request as received. */
export interface EsRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

/** Emulation settings. */
export interface EsEmulatorOptions {
  /** Version reported by `GET /` (default 8.15.0). */
  version?: string;
  /** Credentials accepted (`Authorization` header values); none = no auth. */
  authorizations?: string[];
  /** Documents refused with a mapping error (400), e.g. to test dead letters. */
  rejectDocument?: (doc: Record<string, unknown>) => string | undefined;
  /** Component templates present from the start (e.g. `ecs@mappings`). */
  componentTemplates?: Record<string, unknown>;
  indexTemplates?: Record<string, unknown>;
  /** Cluster or index privileges the caller lacks: `_has_privileges` answers false for them (default: none). */
  deniedPrivileges?: string[];
  /** Security is off: `_security` APIs answer 500 as such a cluster does (default: on). */
  securityDisabled?: boolean;
}

/**
 * Elasticsearch on loopback, enough of its REST API for the official client: the product header
 * on `GET /`, `_bulk` with `create` semantics per data stream, index and component templates,
 * `_count` and `_search` over what it stored, `_has_privileges`, and faults on demand.
 */
export class ElasticsearchEmulator {
  readonly requests: EsRecordedRequest[] = [];
  /** Data stream (or index) name → `_id` → document. */
  readonly streams = new Map<string, Map<string, StoredDocument>>();
  readonly componentTemplates = new Map<string, unknown>();
  readonly indexTemplates = new Map<string, unknown>();
  private readonly faults = new FaultQueue<EsFault>();
  private server: Server | undefined;

  constructor(private readonly options: EsEmulatorOptions = {}) {
    for (const [name, body] of Object.entries(options.componentTemplates ?? {}))
      this.componentTemplates.set(name, body);
    for (const [name, body] of Object.entries(options.indexTemplates ?? {}))
      this.indexTemplates.set(name, body);
  }

  /** Serves `fault` `times` times (to requests on `path` only, when given; item faults count items). */
  inject(fault: EsFault, times = 1, path?: string): void {
    this.faults.add(fault, times, path);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Every stored document of a data stream. */
  documents(stream: string): StoredDocument[] {
    return [...(this.streams.get(stream)?.values() ?? [])];
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          this.json(res, 500, { error: { type: "emulator_error", reason: String(error) }, status: 500 });
      });
    });
    await listenOnLoopback(this.server);
    return this.url;
  }

  get url(): string {
    return loopbackOrigin(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
    const body = raw.toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    const record: EsRecordedRequest = {
      method: req.method ?? "GET",
      path,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      status: 0,
    };
    this.requests.push(record);

    const fault = this.faults.take(path, ["status", "delay", "reset", "store-then-reset", "drop-item"]);
    if (fault?.kind === "reset") {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === "status") {
      record.status = fault.status;
      this.json(
        res,
        fault.status,
        fault.body ?? {
          error: { type: "simulated", reason: `simulated ${fault.status}` },
          status: fault.status,
        },
      );
      return;
    }
    if (
      this.options.authorizations &&
      !this.options.authorizations.includes(req.headers.authorization ?? "")
    ) {
      record.status = 401;
      this.json(res, 401, {
        error: { type: "security_exception", reason: "unable to authenticate" },
        status: 401,
      });
      return;
    }
    const [status, answer] = this.route(record);
    record.status = status;
    if (fault?.kind === "store-then-reset") {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === "drop-item") (answer as { items?: unknown[] }).items?.pop();
    this.json(res, status, answer);
  }

  private route(r: EsRecordedRequest): [number, unknown] {
    const parts = r.path.split("/").filter(Boolean).map(decodeURIComponent);
    if (r.method === "GET" && parts.length === 0) {
      return [
        200,
        {
          name: "emulator",
          cluster_name: "jumpcloud-elastic-test",
          version: { number: this.options.version ?? "8.15.0", build_flavor: "default" },
          tagline: "You Know, for Search",
        },
      ];
    }
    if (
      (r.method === "GET" || r.method === "POST") &&
      parts[0] === "_security" &&
      parts[1] === "user" &&
      parts[parts.length - 1] === "_has_privileges" &&
      parts.length <= 4
    )
      return this.hasPrivileges(r, parts.length === 4 ? parts[2] : undefined);
    if (r.method === "POST" && (parts[0] === "_bulk" || parts[1] === "_bulk"))
      return this.bulk(r, parts[1] === "_bulk" ? parts[0] : undefined);
    for (const [kind, store] of [
      ["_index_template", this.indexTemplates],
      ["_component_template", this.componentTemplates],
    ] as const) {
      if (parts[0] !== kind) continue;
      const name = parts[1];
      if (name === undefined) return [400, { error: "name required" }];
      if (r.method === "PUT" || r.method === "POST") {
        store.set(name, JSON.parse(r.body));
        return [200, { acknowledged: true }];
      }
      const found = store.get(name);
      if (!found)
        return [
          404,
          {
            error: { type: "resource_not_found_exception", reason: `${kind.slice(1)} [${name}] missing` },
            status: 404,
          },
        ];
      if (r.method === "HEAD") return [200, {}];
      const key = kind === "_index_template" ? "index_templates" : "component_templates";
      const inner = kind === "_index_template" ? "index_template" : "component_template";
      return [200, { [key]: [{ name, [inner]: found }] }];
    }
    if ((r.method === "GET" || r.method === "POST") && (parts[1] === "_count" || parts[1] === "_search")) {
      const docs = this.matching(parts[0] ?? "*");
      if (parts[1] === "_count") return [200, { count: docs.length }];
      const size = Number(
        r.query.size ?? (r.body ? (JSON.parse(r.body) as { size?: number }).size : undefined) ?? 10,
      );
      return [200, { hits: { total: { value: docs.length, relation: "eq" }, hits: docs.slice(0, size) } }];
    }
    return [
      404,
      { error: { type: "unsupported", reason: `${r.method} ${r.path} is not emulated` }, status: 404 },
    ];
  }

  // As the real API: every requested privilege answered by name, per index name as requested.
  private hasPrivileges(r: EsRecordedRequest, user: string | undefined): [number, unknown] {
    if (this.options.securityDisabled) {
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
      request = r.body === "" ? {} : JSON.parse(r.body);
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
    const denied = new Set(this.options.deniedPrivileges ?? []);
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

  private matching(target: string): StoredDocument[] {
    const pattern = new RegExp(
      `^${target
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    return [...this.streams.entries()]
      .filter(([name]) => pattern.test(name))
      .flatMap(([, docs]) => [...docs.values()]);
  }

  private bulk(r: EsRecordedRequest, defaultIndex: string | undefined): [number, unknown] {
    const lines = r.body.split("\n").filter((l) => l.trim() !== "");
    const items: unknown[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i] as string) as Record<string, { _index?: string; _id?: string }>;
      const [op, meta] = Object.entries(action)[0] ?? ["?", {}];
      const index = meta._index ?? defaultIndex ?? "";
      const doc = JSON.parse(lines[i + 1] ?? "{}") as Record<string, unknown>;
      const result = this.bulkItem(op, index, meta._id, doc);
      if (result.status >= 300) errors = true;
      items.push({ [op]: result });
    }
    return [200, { took: 1, errors, items }];
  }

  private bulkItem(op: string, index: string, id: string | undefined, doc: Record<string, unknown>) {
    const backing = `.ds-${index}-2026.01.01-000001`;
    const itemFault = this.faults.take("/_bulk", ["item-429", "item-503", "item-403"]);
    const refuse = (status: number, type: string, reason: string) => ({
      _index: backing,
      _id: id ?? null,
      status,
      error: { type, reason },
    });
    if (itemFault?.kind === "item-429") {
      return refuse(429, "es_rejected_execution_exception", "rejected execution of coordinating operation");
    }
    if (itemFault?.kind === "item-403") {
      return refuse(
        403,
        "security_exception",
        "action [indices:data/write/bulk[s]] is unauthorized for API key",
      );
    }
    if (itemFault?.kind === "item-503") {
      return refuse(503, "unavailable_shards_exception", "primary shard is not active");
    }
    if (op !== "create") {
      return refuse(
        400,
        "illegal_argument_exception",
        "only write ops with an op_type of create are allowed in data streams",
      );
    }
    if (typeof doc["@timestamp"] !== "string") {
      return refuse(400, "illegal_argument_exception", "data stream timestamp field [@timestamp] is missing");
    }
    const rejection = this.options.rejectDocument?.(doc);
    if (rejection) return refuse(400, "document_parsing_exception", rejection);
    const stream = this.streams.get(index) ?? new Map<string, StoredDocument>();
    this.streams.set(index, stream);
    const docId = id ?? randomUUID().replaceAll("-", "").slice(0, 20);
    if (stream.has(docId)) {
      return {
        ...refuse(
          409,
          "version_conflict_engine_exception",
          `[${docId}]: version conflict, document already exists (current version [1])`,
        ),
        _id: docId,
      };
    }
    stream.set(docId, { _index: backing, _id: docId, _source: doc });
    return { _index: backing, _id: docId, _version: 1, result: "created", status: 201 };
  }
}
