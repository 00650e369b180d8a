import type { AsnResponse, CityResponse, Reader } from "maxmind";
import { openGeoIpReader } from "../../lib/ecs/geo.ts";

/**
 * Ingest pipelines as far as this project uses them (issue 22's cluster GeoIP mode): stored by
 * `PUT _ingest/pipeline/<id>`, applied by `_bulk`'s `pipeline` parameter, running `geoip`,
 * `rename`, `set`, `append` and `pipeline` processors with their `if` conditions and `on_failure`.
 * Painless is not emulated: an `if` is read only in the null-check form the integration writes
 * (`ctx.a?.b == null && ctx.c?.d != null`); anything else is refused at PUT, as a real cluster
 * refuses a script that does not compile.
 */

type Doc = Record<string, unknown>;
type Processor = Record<string, Record<string, unknown>>;

/** A stored pipeline. */
export interface PipelineBody {
  description?: string;
  processors: Processor[];
  on_failure?: Processor[];
}

/** The GeoIP databases the emulated cluster has: `pending` until its first download. */
export interface GeoIpDatabases {
  /** File name (`GeoLite2-City.mmdb`, `GeoLite2-ASN.mmdb`) → a `.mmdb` path standing in for it. */
  files: Record<string, string>;
  /** True: not downloaded yet, documents are tagged `_geoip_database_unavailable_<file>`. */
  pending?: boolean;
}

class PipelineFailure extends Error {}

const CONDITION = /^\s*ctx((?:\??\.[A-Za-z_@][\w@]*)+)\s*(==|!=)\s*null\s*$/;

/** Reads an `if` in the null-check form; undefined when it is not in that form. */
export function parseCondition(text: string): ((doc: Doc) => boolean) | undefined {
  const clauses = text.split("&&").map((clause) => CONDITION.exec(clause));
  if (clauses.some((c) => c === null)) return undefined;
  const checks = (clauses as RegExpExecArray[]).map(([, path = "", op]) => {
    const keys = path.split(/\??\./).filter(Boolean);
    return (doc: Doc) => (op === "==" ? valueAt(doc, keys) == null : valueAt(doc, keys) != null);
  });
  return (doc) => checks.every((check) => check(doc));
}

function valueAt(doc: Doc, keys: readonly string[]): unknown {
  let at: unknown = doc;
  for (const key of keys) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Doc)[key];
  }
  return at;
}

function setAt(doc: Doc, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = doc;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
    at = at[key] as Doc;
  }
  at[keys.at(-1) as string] = value;
}

function removeAt(doc: Doc, path: string): unknown {
  const keys = path.split(".");
  const parent = valueAt(doc, keys.slice(0, -1));
  if (parent === null || typeof parent !== "object") return undefined;
  const last = keys.at(-1) as string;
  const value = (parent as Doc)[last];
  delete (parent as Doc)[last];
  return value;
}

// `{{{a.b}}}` templates, as the integration's append values use them.
function render(value: unknown, doc: Doc, failure?: string): unknown {
  if (typeof value !== "string") return value;
  return value.replace(/\{\{\{?\s*([\w.@]+)\s*\}?\}\}/g, (_, path: string) => {
    if (path === "_ingest.on_failure_message") return failure ?? "";
    // As Elasticsearch renders it: ISO 8601 with the zone offset (`2026-12-08T04:50:12.345Z`).
    if (path === "_ingest.timestamp") return new Date().toISOString();
    return String(valueAt(doc, path.split(".")) ?? "");
  });
}

// What the geoip processor writes for a City database with its default properties.
function cityRecord(record: CityResponse): Doc {
  const out: Doc = {};
  if (record.continent?.names?.en) out.continent_name = record.continent.names.en;
  if (record.country?.iso_code) out.country_iso_code = record.country.iso_code;
  if (record.country?.names?.en) out.country_name = record.country.names.en;
  const subdivision = record.subdivisions?.at(-1);
  if (subdivision?.iso_code && record.country?.iso_code)
    out.region_iso_code = `${record.country.iso_code}-${subdivision.iso_code}`;
  if (subdivision?.names?.en) out.region_name = subdivision.names.en;
  if (record.city?.names?.en) out.city_name = record.city.names.en;
  if (record.location?.latitude !== undefined && record.location?.longitude !== undefined)
    out.location = { lat: record.location.latitude, lon: record.location.longitude };
  return out;
}

function asnRecord(record: AsnResponse, properties: readonly string[]): Doc {
  const out: Doc = {};
  if (properties.includes("asn") && record.autonomous_system_number !== undefined)
    out.asn = record.autonomous_system_number;
  if (properties.includes("organization_name") && record.autonomous_system_organization)
    out.organization_name = record.autonomous_system_organization;
  return out;
}

/** The emulated cluster's pipelines and GeoIP databases. */
export class IngestPipelines {
  private readonly pipelines = new Map<string, PipelineBody>();
  private readonly readers = new Map<string, Reader<CityResponse | AsnResponse>>();
  /** GeoIP lookups run, for `_ingest/geoip/stats`. */
  private lookups = 0;

  constructor(private readonly geoip: GeoIpDatabases = { files: {} }) {}

  /** Opens the databases standing in for the cluster's (once, before serving). */
  async open(): Promise<void> {
    for (const [file, path] of Object.entries(this.geoip.files))
      this.readers.set(file, await openGeoIpReader(path, file.includes("ASN") ? "ASN" : "City"));
  }

  /** As the cluster's download finishing: from now on the databases answer. */
  downloaded(): void {
    this.geoip.pending = false;
  }

  /** `PUT _ingest/pipeline/<id>`: a problem text when the body could not compile. */
  put(id: string, body: PipelineBody): string | undefined {
    if (!Array.isArray(body.processors)) return "[processors] required property is missing";
    for (const processor of [...body.processors, ...(body.on_failure ?? [])]) {
      const [type, options = {}] = Object.entries(processor)[0] ?? [];
      if (!["geoip", "rename", "set", "append", "pipeline"].includes(type ?? ""))
        return `No processor type exists with name [${type}]`;
      if (typeof options.if === "string" && parseCondition(options.if) === undefined)
        return `compile error: this emulation reads only null checks, not [${options.if}]`;
    }
    this.pipelines.set(id, structuredClone(body));
    return undefined;
  }

  get(id: string): PipelineBody | undefined {
    return this.pipelines.get(id);
  }

  delete(id: string): boolean {
    return this.pipelines.delete(id);
  }

  /** `GET _ingest/geoip/stats`, as a cluster answers it. */
  stats(): Doc {
    const files = Object.keys(this.geoip.files);
    return {
      stats: {
        successful_downloads: this.geoip.pending ? 0 : files.length,
        failed_downloads: 0,
        total_download_time: 0,
        databases_count: this.geoip.pending ? 0 : files.length,
        skipped_updates: 0,
        expired_databases: 0,
      },
      nodes: {
        node1: {
          databases: this.geoip.pending ? [] : files.map((name) => ({ name })),
          files_in_temp: [],
          cache_stats: { count: 0, hits: this.lookups, misses: 0, evictions: 0 },
        },
      },
    };
  }

  /**
   * Runs pipeline `id` on a copy of `doc` (on `doc` itself with `inPlace`: a document parsed for
   * this run alone): the document to store, or the failure a bulk item reports.
   */
  run(id: string, doc: Doc, inPlace = false): { doc: Doc } | { error: { type: string; reason: string } } {
    if (!this.pipelines.has(id))
      return {
        error: { type: "illegal_argument_exception", reason: `pipeline with id [${id}] does not exist` },
      };
    const copy = inPlace ? doc : structuredClone(doc);
    try {
      this.execute(id, copy, 0);
      return { doc: copy };
    } catch (error) {
      return { error: { type: "pipeline_exception", reason: (error as Error).message } };
    }
  }

  private execute(id: string, doc: Doc, depth: number): void {
    const pipeline = this.pipelines.get(id) as PipelineBody;
    try {
      for (const processor of pipeline.processors) this.process(processor, doc, depth);
    } catch (error) {
      if (!pipeline.on_failure) throw error;
      for (const processor of pipeline.on_failure)
        this.process(processor, doc, depth, (error as Error).message);
    }
  }

  private process(processor: Processor, doc: Doc, depth: number, failure?: string): void {
    const [type, o = {}] = Object.entries(processor)[0] ?? [];
    if (typeof o.if === "string" && !(parseCondition(o.if) as (d: Doc) => boolean)(doc)) return;
    if (type === "pipeline") {
      const name = String(o.name);
      if (!this.pipelines.has(name)) {
        if (o.ignore_missing_pipeline === true) return;
        throw new PipelineFailure(`Pipeline processor configured for non-existent pipeline [${name}]`);
      }
      if (depth > 10) throw new PipelineFailure("Cycle detected");
      this.execute(name, doc, depth + 1);
    } else if (type === "rename") {
      const from = String(o.field);
      if (valueAt(doc, from.split(".")) === undefined) {
        if (o.ignore_missing === true) return;
        throw new PipelineFailure(`field [${from}] doesn't exist`);
      }
      setAt(doc, String(o.target_field), removeAt(doc, from));
    } else if (type === "set") {
      const value =
        o.copy_from !== undefined
          ? valueAt(doc, String(o.copy_from).split("."))
          : render(o.value, doc, failure);
      setAt(doc, String(o.field), value);
    } else if (type === "append") {
      const field = String(o.field);
      const current = valueAt(doc, field.split("."));
      const list = current === undefined ? [] : Array.isArray(current) ? [...current] : [current];
      for (const value of [o.value].flat().map((v) => render(v, doc, failure)))
        if (o.allow_duplicates !== false || !list.includes(value)) list.push(value);
      setAt(doc, field, list);
    } else if (type === "geoip") {
      this.geoIp(o, doc);
    }
  }

  private geoIp(o: Record<string, unknown>, doc: Doc): void {
    const field = String(o.field);
    const ip = valueAt(doc, field.split("."));
    if (ip === undefined || ip === null) {
      if (o.ignore_missing === true) return;
      throw new PipelineFailure(`field [${field}] doesn't exist`);
    }
    const file = String(o.database_file ?? "GeoLite2-City.mmdb");
    if (this.geoip.pending || !this.readers.has(file)) {
      // As a cluster whose download has not finished: tagged, and stored.
      const tags = (Array.isArray(doc.tags) ? doc.tags : []) as unknown[];
      const tag = `_geoip_database_unavailable_${file}`;
      if (!tags.includes(tag)) doc.tags = [...tags, tag];
      return;
    }
    this.lookups++;
    const record = (this.readers.get(file) as Reader<CityResponse | AsnResponse>).get(String(ip));
    if (!record) return;
    const out = file.includes("ASN")
      ? asnRecord(
          record as AsnResponse,
          (o.properties as string[] | undefined) ?? ["asn", "organization_name"],
        )
      : cityRecord(record as CityResponse);
    if (Object.keys(out).length > 0) setAt(doc, String(o.target_field ?? "geoip"), out);
  }
}
