import { createHash } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import { DATA_STREAM_TYPE, DATASET, PACKAGE } from "../ecs/rules.ts";
import type { GeoIpMode } from "../settings/geoip-mode.ts";
import { toElasticsearchError } from "./client.ts";

type Processor = Record<string, Record<string, unknown>>;

/** An ingest pipeline body as `PUT _ingest/pipeline/<id>` takes it. */
export interface PipelineBody {
  description: string;
  processors: Processor[];
  on_failure: Processor[];
  _meta: { managed_by: string; hash: string };
}

/** The GeoIP database files the integration's `geoip` processors read (the cluster downloads them). */
export const CLUSTER_DATABASES = ["GeoLite2-City.mmdb", "GeoLite2-ASN.mmdb"] as const;

/**
 * The pipeline every `_bulk` names: with the `geoip` steps in `cluster` mode, without them
 * otherwise (two names, so deployments in different modes on one cluster do not undo each other).
 */
export function pipelineName(mode: GeoIpMode): string {
  const base = `jumpcloud-elastic-${DATA_STREAM_TYPE}-${DATASET}`;
  return mode === "cluster" ? `${base}-geoip` : base;
}

// The integration's geoip steps for one address field (elastic/integrations, packages/jumpcloud,
// events' default.yml, 1.22.0): same processors, conditions, ignore_missing and renames.
function geoIpSteps(field: "source" | "client"): Processor[] {
  return [
    {
      geoip: {
        field: `${field}.ip`,
        target_field: `${field}.geo`,
        ignore_missing: true,
        if: `ctx.${field}?.geo == null && ctx.${field}?.ip != null`,
      },
    },
    {
      geoip: {
        database_file: "GeoLite2-ASN.mmdb",
        field: `${field}.ip`,
        target_field: `${field}.as`,
        properties: ["asn", "organization_name"],
        ignore_missing: true,
        if: `ctx.${field}?.ip != null`,
      },
    },
    { rename: { field: `${field}.as.asn`, target_field: `${field}.as.number`, ignore_missing: true } },
    {
      rename: {
        field: `${field}.as.organization_name`,
        target_field: `${field}.as.organization.name`,
        ignore_missing: true,
      },
    },
  ];
}

/**
 * The `@custom` pipelines Fleet's integration pipelines end with (Elastic 8.12 on), in Fleet's
 * order: every event, every log, the integration, the dataset. Missing ones are skipped.
 */
export const CUSTOM_PIPELINES = [
  "global@custom",
  `${DATA_STREAM_TYPE}@custom`,
  `${DATA_STREAM_TYPE}-${PACKAGE}.integration@custom`,
  `${DATA_STREAM_TYPE}-${DATASET}@custom`,
] as const;

const customCalls = (): Processor[] =>
  CUSTOM_PIPELINES.map((name) => ({
    pipeline: {
      name,
      ignore_missing_pipeline: true,
      description: `[jumpcloud-elastic] the user's ${name} pipeline, as Fleet calls it`,
    },
  }));

// When the document reached the cluster, as Fleet's final pipeline adds it to what Elastic Agent
// ships: detection rules look back on it (`timestamp_override`), so an event collected late is
// still seen by the next run of every rule. Fleet then cuts it to seconds with a script; the
// rules need no such cut, and a `set` runs on every version.
const INGESTED: Processor = {
  set: {
    field: "event.ingested",
    value: "{{{_ingest.timestamp}}}",
    description:
      "[jumpcloud-elastic] when the document reached the cluster, as Fleet's final pipeline sets it",
  },
};

// As the integration marks a document it could not process: stored, never lost.
const ON_FAILURE: Processor[] = [
  { set: { field: "event.kind", value: "pipeline_error" } },
  { append: { field: "tags", value: "preserve_original_event", allow_duplicates: false } },
  { append: { field: "error.message", value: "{{{ _ingest.on_failure_message }}}" } },
];

/** The pipeline body for a mode; `_meta.hash` names its content, so setup rewrites it only when it changed. */
export function ingestPipeline(mode: GeoIpMode): PipelineBody {
  const body = {
    description:
      mode === "cluster"
        ? "jumpcloud-elastic: the JumpCloud integration's GeoIP steps, then the @custom pipelines Fleet calls"
        : "jumpcloud-elastic: the @custom pipelines Fleet calls (GeoIP is done before indexing, or off)",
    processors: [
      INGESTED,
      ...(mode === "cluster" ? [...geoIpSteps("source"), ...geoIpSteps("client")] : []),
      ...customCalls(),
    ],
    on_failure: ON_FAILURE,
  };
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
  return { ...body, _meta: { managed_by: "jumpcloud-elastic", hash } };
}

/** Our pipeline as the cluster holds it. */
export interface PipelineStatus {
  name: string;
  /** Absent, or present with other content than this version's. */
  current: boolean;
  exists: boolean;
}

/** Reads the pipeline of `mode` from the cluster; `setup` and `doctor` decide from this. */
export async function pipelineStatus(
  client: Client,
  mode: GeoIpMode,
  options: { signal?: AbortSignal } = {},
): Promise<PipelineStatus> {
  const name = pipelineName(mode);
  let found: Record<string, { _meta?: { hash?: string; managed_by?: string } }>;
  try {
    found = (await client.ingest.getPipeline({ id: name }, options)) as typeof found;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 404)
      return { name, current: false, exists: false };
    throw error;
  }
  const meta = found[name]?._meta;
  return { name, exists: found[name] !== undefined, current: meta?.hash === ingestPipeline(mode)._meta.hash };
}

/** What installing the pipeline did. */
export interface PipelineSetupResult {
  action: "installed" | "updated" | "unchanged";
  pipeline: string;
}

/** Installs or updates our ingest pipeline for `mode`, idempotently (a PUT only when content changed). */
export async function setupIngestPipeline(client: Client, mode: GeoIpMode): Promise<PipelineSetupResult> {
  try {
    const status = await pipelineStatus(client, mode);
    if (status.current) return { action: "unchanged", pipeline: status.name };
    await client.ingest.putPipeline({ id: status.name, ...ingestPipeline(mode) } as never);
    return { action: status.exists ? "updated" : "installed", pipeline: status.name };
  } catch (error) {
    throw toElasticsearchError(`installing the ingest pipeline ${pipelineName(mode)} failed`, error);
  }
}

/** The cluster's GeoIP databases, from `GET _ingest/geoip/stats`. */
export interface ClusterGeoIp {
  /**
   * `ready`: every node holding databases has both; `pending`: one of them lacks one (the download has
   * not finished; documents are tagged `_geoip_database_unavailable_<file>`); `none`: no node has any.
   */
  state: "ready" | "pending" | "none";
  /** Database files present on every node. */
  databases: string[];
  /** Database files some node lacks. */
  missing: string[];
  successfulDownloads: number;
  failedDownloads: number;
  /** Databases not updated for 30 days (the cluster stops using them). */
  expiredDatabases: number;
}

interface GeoIpStatsBody {
  stats?: { successful_downloads?: number; failed_downloads?: number; expired_databases?: number };
  nodes?: Record<string, { databases?: { name: string }[]; config_databases?: string[] }>;
}

/** One line on the cluster's GeoIP databases, from `_ingest/geoip/stats`. */
export function clusterGeoIpText(state: ClusterGeoIp): string {
  const downloads = `${state.successfulDownloads} download(s), ${state.failedDownloads} failed`;
  if (state.state === "ready")
    return `the cluster's GeoIP databases are ready: ${state.databases.join(", ")} (${downloads}${state.expiredDatabases > 0 ? `; ${state.expiredDatabases} expired: not updated for 30 days, check the cluster's access to geoip.elastic.co and storage.googleapis.com` : ""})`;
  return `the cluster has not downloaded ${state.missing.join(", ")} yet (${downloads}): it does once a pipeline uses geoip, usually within minutes; until then documents are stored without geo and tagged _geoip_database_unavailable_<file>`;
}

/** Reads the cluster's GeoIP state (needs the `monitor` cluster privilege). */
export async function clusterGeoIp(
  client: Client,
  options: { signal?: AbortSignal } = {},
): Promise<ClusterGeoIp> {
  const body = (await client.ingest.geoIpStats({}, options)) as unknown as GeoIpStatsBody;
  return readGeoIpStats(body);
}

/** The state a `_ingest/geoip/stats` answer describes. */
export function readGeoIpStats(body: GeoIpStatsBody): ClusterGeoIp {
  // A node may use a database it downloaded or one placed in its config directory. Only ingest
  // nodes load databases, and the stats do not say which nodes those are: the nodes that hold any
  // database stand for them (a master or ML node, with none, must not read as "not downloaded").
  const onNode = Object.values(body.nodes ?? {})
    .map((node) => new Set([...(node.databases ?? []).map((d) => d.name), ...(node.config_databases ?? [])]))
    .filter((held) => held.size > 0);
  const databases = CLUSTER_DATABASES.filter((file) => onNode.length > 0 && onNode.every((n) => n.has(file)));
  const missing = CLUSTER_DATABASES.filter((file) => !databases.includes(file));
  const any = onNode.some((n) => CLUSTER_DATABASES.some((file) => n.has(file)));
  return {
    state: missing.length === 0 ? "ready" : any ? "pending" : "none",
    databases,
    missing,
    successfulDownloads: body.stats?.successful_downloads ?? 0,
    failedDownloads: body.stats?.failed_downloads ?? 0,
    expiredDatabases: body.stats?.expired_databases ?? 0,
  };
}

/**
 * Whether the cluster's GeoIP databases are missing, read from `_ingest/geoip/stats` at most once a
 * minute until they are there (then never again). Unknown (stats refused: no `monitor`) reads as
 * not missing, and is not asked again: documents are then not counted as stored without geo.
 */
export class ClusterGeoIpWatch {
  private ready = false;
  private checked: { at: number; missing: Promise<boolean> } | undefined;

  constructor(
    private readonly client: Client,
    private readonly options: {
      onUnknown?: (error: unknown) => void;
      now?: () => number;
      recheckMs?: number;
    } = {},
  ) {}

  /** True while the last look found a database missing on some node. */
  databasesMissing(): Promise<boolean> {
    if (this.ready) return Promise.resolve(false);
    const now = (this.options.now ?? Date.now)();
    if (this.checked === undefined || now - this.checked.at >= (this.options.recheckMs ?? 60_000)) {
      const missing = clusterGeoIp(this.client).then(
        (state) => {
          this.ready = state.state === "ready";
          return !this.ready;
        },
        (error: unknown) => {
          // Not allowed (no `monitor`) or not answered: asked once per sink, then left unknown.
          this.ready = true;
          this.options.onUnknown?.(error);
          return false;
        },
      );
      this.checked = { at: now, missing };
    }
    return this.checked.missing;
  }
}
