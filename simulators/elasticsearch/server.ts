import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { closeServer, FaultQueue, listenOnLoopback, loopbackOrigin } from "../loopback.ts";
import { bulk, type ItemFault } from "./bulk.ts";
import {
  type BackingIndex,
  backingIndexName,
  DataStreams,
  type StoredDocument,
  wildcard,
} from "./data-streams.ts";
import { DEFAULT_DEPTH_LIMIT } from "./depth-limit.ts";
import { type GeoIpDatabases, IngestPipelines } from "./ingest.ts";
import { type Answer, esError, filterPath, indexNotFound } from "./responses.ts";
import { count, search } from "./search.ts";
import { hasPrivileges } from "./security.ts";

export type { StoredDocument } from "./data-streams.ts";

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

/** A whole-cluster outage: every request answered 503, or its connection dropped, `requests` times (default: until `restore()`). */
export interface EsOutage {
  kind: "503" | "reset";
  requests?: number;
}

/** A request as received. */
export interface EsRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The body (decompressed); empty when `retainSources` is false or it exceeded `maxContentLength`. */
  body: string;
  /** The answer's status; -1 when the connection was dropped. */
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
  /** `index.mapping.depth.limit` of every backing index (default 20). */
  mappingDepthLimit?: number;
  /** `http.max_content_length` in bytes, of the decompressed body (default 100 MB). */
  maxContentLength?: number;
  /** Milliseconds every request waits before it is handled (default 0; `latencyMs` changes it later). */
  latencyMs?: number;
  /** GeoIP databases the cluster has (`.mmdb` paths by file name), or `pending` as before its first download. */
  geoip?: GeoIpDatabases;
  /** False: documents are stored as `_index`/`_id` only and requests recorded without body, for load tests. */
  retainSources?: boolean;
  /** Clock naming backing indices (default `Date.now`). */
  now?: () => number;
}

const DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024;

/**
 * Elasticsearch 8.x on loopback, enough of its REST API for the official client: the product
 * header on `GET /` (and `HEAD /`), index and component templates, `_has_privileges`, and:
 * - data streams, created on the first `_bulk` item for them, with backing indices named as real ES
 *   names them (`.ds-<stream>-<yyyy.MM.dd>-000001`); `create` goes to the write index and `_id`
 *   is unique only there: after `POST /<stream>/_rollover` (or `rollover()`) an `_id` is stored
 *   again, as in a real cluster. Bulk items answer with the backing index as `_index`.
 * - `_search` and `_count` over streams, patterns and backing indices (`ids`, `term`, `terms`,
 *   `exists`, `bool`; `size`, `from`, `_source` filtering, `track_total_hits`); `GET _data_stream`.
 * - `index.mapping.depth.limit` (`mappingDepthLimit`): deeper documents refused per item with 400
 *   `document_parsing_exception` worded as real ES words it.
 * - faults: `inject()` per request or bulk item; `outage()` / `restore()` for the whole cluster;
 *   `latencyMs`; `maxContentLength` (`http.max_content_length`: 413 with an empty body).
 * - `retainSources: false`: a lean store (only `_index`/`_id`) that holds a million documents.
 */
export class ElasticsearchEmulator {
  readonly requests: EsRecordedRequest[] = [];
  /**
   * Data stream → documents of its write index by `_id`. Setting or deleting an entry (tests seed
   * documents so) starts that stream afresh, with those documents in its first backing index.
   */
  readonly streams: Map<string, Map<string, StoredDocument>>;
  readonly componentTemplates = new Map<string, unknown>();
  readonly indexTemplates = new Map<string, unknown>();
  /** Milliseconds every request waits before it is handled; the request is carried out even if its client gave up. */
  latencyMs: number;
  /** Ingest pipelines and the GeoIP databases standing in for the cluster's. */
  readonly ingest: IngestPipelines;
  private readonly dataStreams: DataStreams;
  private readonly faults = new FaultQueue<EsFault>();
  private down: { kind: EsOutage["kind"]; remaining: number } | undefined;
  private readonly waits = new Set<() => void>();
  private server: Server | undefined;

  constructor(private readonly options: EsEmulatorOptions = {}) {
    for (const [name, body] of Object.entries(options.componentTemplates ?? {}))
      this.componentTemplates.set(name, body);
    for (const [name, body] of Object.entries(options.indexTemplates ?? {}))
      this.indexTemplates.set(name, body);
    this.dataStreams = new DataStreams(options.now ?? Date.now);
    this.streams = this.dataStreams.writeIndices;
    this.latencyMs = options.latencyMs ?? 0;
    this.ingest = new IngestPipelines(options.geoip);
  }

  /** Serves `fault` `times` times (to requests on `path` only, when given; item faults count items). */
  inject(fault: EsFault, times = 1, path?: string): void {
    this.faults.add(fault, times, path);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Takes the whole cluster down: every request, `GET /` included, fails as `outage` says. */
  outage(outage: EsOutage): void {
    this.down = { kind: outage.kind, remaining: outage.requests ?? Number.POSITIVE_INFINITY };
  }

  /** Ends an outage. */
  restore(): void {
    this.down = undefined;
  }

  /** Rolls `stream` over to a new write index, as `POST /<stream>/_rollover` does; throws when there is no such stream. */
  rollover(stream: string): { oldIndex: string; newIndex: string } {
    const rolled = this.dataStreams.rollover(stream);
    if (!rolled) throw new Error(`no data stream [${stream}]`);
    return { oldIndex: rolled.oldIndex.name, newIndex: rolled.newIndex.name };
  }

  /** Every stored copy in a data stream (across its backing indices, oldest first) or in one backing index. */
  documents(target: string): StoredDocument[] {
    return this.indicesOf(target).flatMap((index) => [...index.docs.values()]);
  }

  /** The `_id` of every stored copy in a data stream: an `_id` listed twice was stored twice. */
  ids(stream: string): string[] {
    return this.documents(stream).map((d) => d._id);
  }

  /** The `_id`s stored more than once in a data stream (in several backing indices). */
  duplicateIds(stream: string): string[] {
    const seen = new Set<string>();
    const twice = new Set<string>();
    for (const id of this.ids(stream)) (seen.has(id) ? twice : seen).add(id);
    return [...twice];
  }

  /** A data stream's backing index names, oldest first; the last is the write index. */
  backingIndices(stream: string): string[] {
    return this.dataStreams.indices(stream).map((i) => i.name);
  }

  async start(port = 0): Promise<string> {
    await this.ingest.open();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          this.json(res, 500, { error: { type: "emulator_error", reason: String(error) }, status: 500 });
      });
    });
    await listenOnLoopback(this.server, port);
    return this.url;
  }

  get url(): string {
    return loopbackOrigin(this.server);
  }

  async stop(): Promise<void> {
    for (const release of [...this.waits]) release();
    await closeServer(this.server);
    this.server = undefined;
  }

  private indicesOf(target: string): BackingIndex[] {
    if (this.streams.has(target)) return this.dataStreams.indices(target);
    const backing = this.dataStreams.backing(target);
    return backing ? [backing.index] : [];
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
    res.end(JSON.stringify(body));
  }

  // A pause that `stop()` cuts short, so no timer outlives the emulator.
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.waits.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.waits.add(release);
    });
  }

  private takeOutage(): EsOutage["kind"] | undefined {
    const down = this.down;
    if (down && --down.remaining <= 0) this.down = undefined;
    return down?.kind;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, this.options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH);
    const url = new URL(req.url ?? "/", "http://x");
    const request: EsRecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: body ?? "",
      status: 0,
    };
    const record = this.options.retainSources === false ? { ...request, body: "" } : request;
    this.requests.push(record);
    const settle = (status: number) => {
      record.status = status;
    };
    if (this.latencyMs > 0) await this.wait(this.latencyMs);
    if (this.interrupted(req, res, settle)) return;
    if (body === undefined) {
      // As Netty's aggregator answers: no body, not even the product header.
      settle(413);
      res.writeHead(413, { "content-length": "0" });
      res.end();
      return;
    }
    await this.serve(request, req, res, settle);
  }

  // An outage answers before anything else is looked at.
  private interrupted(req: IncomingMessage, res: ServerResponse, settle: (status: number) => void): boolean {
    const outage = this.takeOutage();
    if (outage === "reset") {
      settle(-1);
      req.socket.destroy();
    } else if (outage === "503") {
      settle(503);
      const [status, body] = esError(
        503,
        "cluster_block_exception",
        "blocked by: [SERVICE_UNAVAILABLE/2/no master];",
      );
      this.json(res, status, body);
    }
    return outage !== undefined;
  }

  private async serve(
    request: EsRecordedRequest,
    req: IncomingMessage,
    res: ServerResponse,
    settle: (status: number) => void,
  ): Promise<void> {
    const fault = this.faults.take(request.path, [
      "status",
      "delay",
      "reset",
      "store-then-reset",
      "drop-item",
    ]);
    if (fault?.kind === "reset") {
      settle(-1);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await this.wait(fault.ms);
    if (fault?.kind === "status") {
      settle(fault.status);
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
      settle(401);
      this.json(res, 401, {
        error: { type: "security_exception", reason: "unable to authenticate" },
        status: 401,
      });
      return;
    }
    const [status, answer] = this.route(request);
    settle(status);
    if (fault?.kind === "store-then-reset") {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === "drop-item") (answer as { items?: unknown[] }).items?.pop();
    this.json(res, status, filterPath(answer, request.query.filter_path));
  }

  // PUT/GET/DELETE _ingest/pipeline/<id>, GET _ingest/geoip/stats.
  private ingestApi(r: EsRecordedRequest, parts: string[]): Answer {
    const [, kind, id] = parts;
    // Denied privileges are enforced here as the cluster does: 403 naming the action.
    const denied = (privilege: string, action: string): Answer | undefined =>
      this.options.deniedPrivileges?.includes(privilege)
        ? [
            403,
            {
              error: {
                type: "security_exception",
                reason: `action [${action}] is unauthorized for API key, this action is granted by the cluster privileges [${privilege},manage,all]`,
              },
              status: 403,
            },
          ]
        : undefined;
    if (kind === "geoip" && id === "stats" && r.method === "GET")
      return denied("monitor", "cluster:monitor/ingest/geoip/stats") ?? [200, this.ingest.stats()];
    const write = r.method === "PUT" || r.method === "DELETE";
    const refused = write ? denied("manage_pipeline", "cluster:admin/ingest/pipeline/put") : undefined;
    if (refused) return refused;
    if (kind !== "pipeline" || id === undefined)
      return [
        404,
        { error: { type: "unsupported", reason: `${r.method} ${r.path} is not emulated` }, status: 404 },
      ];
    const missing: Answer = [404, {}];
    if (r.method === "GET") {
      const body = this.ingest.get(id);
      return body ? [200, { [id]: body }] : missing;
    }
    if (r.method === "DELETE")
      return this.ingest.delete(id)
        ? [200, { acknowledged: true }]
        : [
            404,
            {
              error: { type: "resource_not_found_exception", reason: `pipeline [${id}] is missing` },
              status: 404,
            },
          ];
    if (r.method === "PUT") {
      const problem = this.ingest.put(id, JSON.parse(r.body || "{}"));
      return problem
        ? [400, { error: { type: "parse_exception", reason: problem }, status: 400 }]
        : [200, { acknowledged: true }];
    }
    return [405, { error: `Incorrect HTTP method for uri [${r.path}]`, status: 405 }];
  }

  private route(r: EsRecordedRequest): Answer {
    const parts = r.path.split("/").filter(Boolean).map(decodeURIComponent);
    const [first, second] = parts;
    const read = r.method === "GET" || r.method === "POST";
    if (parts.length === 0 && (r.method === "GET" || r.method === "HEAD")) return this.root();
    if (
      read &&
      first === "_security" &&
      parts[1] === "user" &&
      parts.at(-1) === "_has_privileges" &&
      parts.length <= 4
    )
      return hasPrivileges(r.body, parts.length === 4 ? parts[2] : undefined, {
        denied: this.options.deniedPrivileges ?? [],
        disabled: this.options.securityDisabled ?? false,
      });
    if (first === "_ingest") return this.ingestApi(r, parts);
    if (r.method === "POST" && (first === "_bulk" || second === "_bulk"))
      return bulk(r.body, second === "_bulk" ? first : undefined, {
        ...(r.query.pipeline !== undefined &&
          r.query.pipeline !== "_none" && {
            pipeline: (doc: Record<string, unknown>) =>
              this.ingest.run(r.query.pipeline as string, doc, true),
          }),
        streams: this.dataStreams,
        itemFault: () =>
          this.faults.take("/_bulk", ["item-429", "item-503", "item-403"]) as ItemFault | undefined,
        rejectDocument: this.options.rejectDocument,
        depthLimit: this.options.mappingDepthLimit ?? DEFAULT_DEPTH_LIMIT,
        retainSources: this.options.retainSources ?? true,
      });
    if (first === "_index_template" || first === "_component_template")
      return this.template(r, first, second);
    if (r.method === "POST" && second === "_rollover" && first !== undefined)
      return this.rolloverApi(r, first);
    if (r.method === "GET" && first === "_data_stream") return this.dataStreamApi(second);
    if (read && (first === "_search" || first === "_count")) return this.searchApi(r, "_all", first);
    if (read && first !== undefined && (second === "_search" || second === "_count"))
      return this.searchApi(r, first, second);
    return [
      404,
      { error: { type: "unsupported", reason: `${r.method} ${r.path} is not emulated` }, status: 404 },
    ];
  }

  private root(): Answer {
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

  private template(
    r: EsRecordedRequest,
    kind: "_index_template" | "_component_template",
    name?: string,
  ): Answer {
    const store = kind === "_index_template" ? this.indexTemplates : this.componentTemplates;
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

  // Unconditional, or on `max_docs`/`max_primary_shard_docs` (other conditions count as unmet); `dry_run` too.
  private rolloverApi(r: EsRecordedRequest, stream: string): Answer {
    const current = this.dataStreams.indices(stream).at(-1);
    if (!current)
      return esError(400, "illegal_argument_exception", `rollover target [${stream}] does not exist`);
    const body = parseBody(r.body);
    if (body === undefined) return esError(400, "parsing_exception", "request body is not valid JSON");
    const conditions: Record<string, boolean> = {};
    for (const [name, value] of Object.entries((body.conditions ?? {}) as Record<string, unknown>)) {
      const docs = name === "max_docs" || name === "max_primary_shard_docs";
      conditions[`[${name}: ${String(value)}]`] = docs && current.docs.size >= Number(value);
    }
    const met = Object.keys(conditions).length === 0 || Object.values(conditions).some(Boolean);
    const dryRun = r.query.dry_run === "true";
    const rolled = met && !dryRun ? this.dataStreams.rollover(stream) : undefined;
    const next =
      rolled?.newIndex.name ??
      backingIndexName(stream, current.generation + 1, (this.options.now ?? Date.now)());
    return [
      200,
      {
        acknowledged: rolled !== undefined,
        shards_acknowledged: rolled !== undefined,
        old_index: current.name,
        new_index: next,
        rolled_over: rolled !== undefined,
        dry_run: dryRun,
        lazy: false,
        conditions,
      },
    ];
  }

  private dataStreamApi(expression = "*"): Answer {
    const patterns = expression.split(",").map((p) => wildcard(p === "_all" ? "*" : p));
    const names = [...this.streams.keys()].filter((n) => patterns.some((p) => p.test(n)));
    if (names.length === 0 && !expression.includes("*") && expression !== "_all")
      return indexNotFound(expression);
    const describe = (name: string) => {
      const indices = this.dataStreams.indices(name);
      return {
        name,
        timestamp_field: { name: "@timestamp" },
        indices: indices.map((i) => ({ index_name: i.name, index_uuid: i.uuid })),
        generation: indices.at(-1)?.generation ?? 1,
        status: "GREEN",
        template: this.templateOf(name) ?? "",
        hidden: false,
        system: false,
        allow_custom_routing: false,
        replicated: false,
      };
    };
    return [200, { data_streams: names.map(describe) }];
  }

  // The highest-priority index template with `data_stream` whose patterns match, as ES picks it.
  private templateOf(stream: string): string | undefined {
    const candidates = [...this.indexTemplates.entries()].flatMap(([name, body]) => {
      const t = body as { index_patterns?: string | string[]; data_stream?: unknown; priority?: number };
      const patterns = typeof t.index_patterns === "string" ? [t.index_patterns] : (t.index_patterns ?? []);
      const matches = t.data_stream !== undefined && patterns.some((p) => wildcard(p).test(stream));
      return matches ? [{ name, priority: t.priority ?? 0 }] : [];
    });
    return candidates.sort((a, b) => b.priority - a.priority)[0]?.name;
  }

  private searchApi(r: EsRecordedRequest, target: string, kind: "_search" | "_count"): Answer {
    const body = parseBody(r.body);
    if (body === undefined) return esError(400, "parsing_exception", "request body is not valid JSON");
    const resolved = this.dataStreams.resolve(target, r.query.ignore_unavailable === "true");
    if ("missing" in resolved) return indexNotFound(resolved.missing);
    const input = { body, params: r.query, indices: resolved.indices };
    return kind === "_count" ? count(input) : search(input);
  }
}

function parseBody(body: string): Record<string, unknown> | undefined {
  try {
    return body.trim() === "" ? {} : (JSON.parse(body) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/**
 * The body, decompressed; `undefined` past `limit` bytes (decompressed, as `http.max_content_length`
 * counts). The rest of an oversized body is read and dropped, as Elasticsearch drops it.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const gzip = req.headers["content-encoding"] === "gzip";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (gzip || size <= limit) chunks.push(chunk as Buffer);
  }
  if (!gzip || size === 0) return size > limit ? undefined : Buffer.concat(chunks).toString("utf8");
  try {
    return gunzipSync(Buffer.concat(chunks), { maxOutputLength: limit }).toString("utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return undefined;
    throw error;
  }
}
