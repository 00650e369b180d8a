import { isIP } from "node:net";
import { withoutEmpty } from "./clean.ts";
import { FINGERPRINT_FIELDS, fingerprint } from "./fingerprint.ts";
import type { GeoIpLookup } from "./geo.ts";
import { appendUnique, deletePath, getPath, isObject, type JsonObject, setPath } from "./paths.ts";
import {
  COPIES_AFTER_VERSION,
  COPIES_BEFORE_VERSION,
  DATA_STREAM_TYPE,
  DATASET,
  DEFAULT_TAGS,
  DUPLICATE_CUSTOM_FIELDS,
  ECS_VERSION,
  EVENT_CATEGORIES,
  IP_FIELDS,
  PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG,
  PRESERVE_ORIGINAL_EVENT_TAG,
} from "./rules.ts";
import { formatTimestamp, parseIso8601 } from "./timestamp.ts";
import { parseUserAgent } from "./user-agent.ts";

/** How documents are built; mirrors the integration's settings. */
export interface MapperOptions {
  /** Data stream namespace (default `default`). */
  namespace?: string;
  /** User tags, added after the `preserve_*` tags (default `["forwarded"]`). */
  tags?: readonly string[];
  /** Keep the raw event text in `event.original`. */
  preserveOriginalEvent?: boolean;
  /** Keep the `jumpcloud.event.*` fields that were copied to ECS fields. */
  preserveDuplicateCustomFields?: boolean;
  /** GeoIP enrichment; none means no enrichment. */
  geoIp?: GeoIpLookup;
}

/** One mapped event: the document, its `_id` (absent when the event has neither id nor timestamp), and whether the pipeline failed. */
export interface MappedEvent {
  id: string | undefined;
  document: JsonObject;
  failed: boolean;
}

/** Message added to `error.message` when `@timestamp` is not the event's own time. */
export const COLLECTION_TIME_NOTE = "@timestamp is the collection time: the event has no usable timestamp";

class StepFailure extends Error {}

function fail(message: string): never {
  throw new StepFailure(message);
}

interface Run {
  readonly doc: JsonObject;
  readonly tags: string[];
  readonly geoIp: GeoIpLookup | undefined;
  parsed: unknown;
  event: JsonObject;
  id: string | undefined;
  timestampFromEvent: boolean;
  readText: () => string;
  text: string | undefined;
  value: unknown;
}

type Step = (run: Run) => void;

/** A JSON-ish rendering of a value for error messages (Elasticsearch prints the Java value). */
function render(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function parseJson(run: Run): void {
  if (run.text === undefined) {
    run.parsed = run.value;
    return;
  }
  try {
    run.parsed = JSON.parse(run.text);
  } catch (error) {
    fail(`cannot parse event.original as JSON: ${(error as Error).message}`);
  }
}

function dropEmptyValues(run: Run): void {
  run.parsed = withoutEmpty(run.parsed);
}

function requireObject(run: Run): void {
  if (!isObject(run.parsed)) fail("missing json object in input document");
  run.event = run.parsed;
  run.doc.jumpcloud = { event: run.event };
}

function fingerprintId(run: Run): void {
  run.id = fingerprint(run.event, FINGERPRINT_FIELDS);
}

function parseTimestamp(run: Run): void {
  const raw = run.event.timestamp;
  if (raw === undefined) return;
  const text = render(raw);
  const millis = typeof raw === "string" ? parseIso8601(raw) : undefined;
  if (millis === undefined) fail(`unable to parse date [${text}]`);
  run.doc["@timestamp"] = formatTimestamp(millis);
  run.timestampFromEvent = true;
}

function validIp(value: unknown): string {
  if (typeof value === "string" && isIP(value) !== 0) return value;
  return fail(`[${render(value)}] is not a valid ipv4/ipv6 address`);
}

function convertIps(run: Run): void {
  for (const [from, to] of IP_FIELDS) {
    const value = run.event[from];
    if (value === undefined) continue;
    setPath(run.doc, `${to}.ip`, Array.isArray(value) ? value.map(validIp) : validIp(value));
  }
}

function categorize(run: Run): void {
  const eventType = run.event.event_type;
  if (typeof eventType !== "string") return;
  for (const rule of EVENT_CATEGORIES) {
    if (rule.eventTypes.has(eventType)) {
      appendUnique(run.doc, "event.category", [rule.category]);
      appendUnique(run.doc, "event.type", [rule.type]);
    }
  }
}

function copies(table: ReadonlyArray<readonly [string, string]>): Step {
  return (run) => {
    for (const [from, to] of table) {
      const value = getPath(run.event, from);
      if (value !== undefined && value !== null && value !== "") setPath(run.doc, to, value);
    }
  };
}

function renameVersion(run: Run): void {
  if (!Object.hasOwn(run.event, "@version")) return;
  if (Object.hasOwn(run.event, "version")) fail("field [jumpcloud.event.version] already exists");
  run.event.version = run.event["@version"];
  delete run.event["@version"];
}

// Not in the integration: JumpCloud sometimes sends the raw header instead of a parsed object.
function parseRawUserAgent(run: Run): void {
  const useragent = run.event.useragent;
  if (isObject(useragent)) return;
  const raw = typeof useragent === "string" ? useragent : run.event.user_agent;
  if (typeof raw !== "string") return;
  // The integration maps jumpcloud.event.useragent as an object: a string there would be rejected.
  if (typeof useragent === "string") delete run.event.useragent;
  setPath(run.doc, "user_agent", parseUserAgent(raw));
}

function outcome(run: Run): void {
  let result = "unknown";
  const { sso_token_success: ssoTokenSuccess, success } = run.event;
  if (ssoTokenSuccess === true) result = "success";
  if (ssoTokenSuccess === false) result = "failure";
  if (success === true) result = "success";
  if (success === false) result = "failure";
  setPath(run.doc, "event.outcome", result);
}

function firstHit<T>(ips: unknown, lookup: (ip: string) => T | undefined): T | undefined {
  for (const ip of Array.isArray(ips) ? ips : [ips]) {
    if (typeof ip !== "string") continue;
    const hit = lookup(ip);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function enrichGeo(run: Run): void {
  const geoIp = run.geoIp;
  if (!geoIp) return;
  for (const side of ["source", "client"] as const) {
    const ips = getPath(run.doc, `${side}.ip`);
    if (ips === undefined) continue;
    const geo = firstHit(ips, (ip) => geoIp.city(ip));
    if (geo) setPath(run.doc, `${side}.geo`, geo);
    const as = firstHit(ips, (ip) => geoIp.asn(ip));
    if (as) setPath(run.doc, `${side}.as`, as);
  }
}

function ipsAt(root: JsonObject, path: string): string[] {
  const value = getPath(root, path);
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((ip): ip is string => typeof ip === "string" && isIP(ip) !== 0);
}

function related(run: Run): void {
  const ips = [
    ...ipsAt(run.event, "jumpcloud_protect_device.ip"),
    ...ipsAt(run.event, "auth_context.jumpcloud_protect_device.ip"),
    ...ipsAt(run.doc, "source.ip"),
    ...ipsAt(run.doc, "client.ip"),
  ];
  if (ips.length > 0) appendUnique(run.doc, "related.ip", ips);
  const userName = getPath(run.doc, "source.user.name");
  if (userName !== undefined) appendUnique(run.doc, "related.user", [userName]);
}

function removeDuplicateCustomFields(run: Run): void {
  if (run.tags.includes(PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG)) return;
  for (const path of DUPLICATE_CUSTOM_FIELDS) deletePath(run.event, path);
}

function removeOriginalUnlessPreserved(run: Run): void {
  if (!run.tags.includes(PRESERVE_ORIGINAL_EVENT_TAG)) deletePath(run.doc, "event.original");
}

/** The integration's ingest pipeline, step by step; a failing step stops the run (on_failure). */
const PIPELINE: readonly Step[] = [
  parseJson,
  dropEmptyValues,
  requireObject,
  fingerprintId,
  parseTimestamp,
  convertIps,
  categorize,
  copies(COPIES_BEFORE_VERSION),
  renameVersion,
  copies(COPIES_AFTER_VERSION),
  parseRawUserAgent,
  outcome,
  enrichGeo,
  related,
  removeDuplicateCustomFields,
  removeOriginalUnlessPreserved,
];

/** Maps raw JumpCloud Directory Insights events to the ECS documents Elastic's integration produces. */
export class EcsMapper {
  /** The data stream documents go to: `logs-jumpcloud.events-<namespace>`. */
  readonly dataStream: string;
  private readonly namespace: string;
  private readonly tags: readonly string[];
  private readonly geoIp: GeoIpLookup | undefined;

  constructor(options: MapperOptions = {}) {
    this.namespace = options.namespace ?? "default";
    this.dataStream = `${DATA_STREAM_TYPE}-${DATASET}-${this.namespace}`;
    this.tags = [
      ...(options.preserveOriginalEvent ? [PRESERVE_ORIGINAL_EVENT_TAG] : []),
      ...(options.preserveDuplicateCustomFields ? [PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG] : []),
      ...(options.tags ?? DEFAULT_TAGS),
    ];
    this.geoIp = options.geoIp;
  }

  /** Maps one event given as raw JSON text (kept verbatim as `event.original`). */
  mapText(text: string, collectedAt: Date = new Date()): MappedEvent {
    return this.run(text, undefined, () => text, collectedAt);
  }

  /** Maps one event already parsed from JSON (as the API client returns them). */
  mapValue(value: unknown, collectedAt: Date = new Date()): MappedEvent {
    return this.run(undefined, value, () => stringify(value), collectedAt);
  }

  private run(
    text: string | undefined,
    value: unknown,
    readText: () => string,
    collectedAt: Date,
  ): MappedEvent {
    const tags = [...this.tags];
    // What Elastic Agent and Fleet set before the ingest pipeline runs.
    const doc: JsonObject = {
      "@timestamp": collectedAt.toISOString(),
      data_stream: { type: DATA_STREAM_TYPE, dataset: DATASET, namespace: this.namespace },
      ecs: { version: ECS_VERSION },
      event: { dataset: DATASET },
    };
    // Serialising a parsed event costs as much as mapping it: only done when the text is kept.
    if (text !== undefined || tags.includes(PRESERVE_ORIGINAL_EVENT_TAG))
      setPath(doc, "event.original", readText());
    if (tags.length > 0) doc.tags = tags;
    const run: Run = {
      doc,
      tags,
      geoIp: this.geoIp,
      parsed: undefined,
      event: {},
      id: undefined,
      timestampFromEvent: false,
      readText,
      text,
      value,
    };
    let failed = false;
    try {
      for (const step of PIPELINE) step(run);
    } catch (error) {
      failed = true;
      onFailure(run, error);
    }
    if (!run.timestampFromEvent) appendError(doc, COLLECTION_TIME_NOTE);
    return { id: run.id, document: doc, failed };
  }
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function appendError(doc: JsonObject, message: string): void {
  const existing = getPath(doc, "error.message");
  if (Array.isArray(existing)) existing.push(message);
  else setPath(doc, "error.message", [message]);
}

// The pipeline's on_failure handler: the partial document is kept and marked.
function onFailure(run: Run, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  setPath(run.doc, "event.kind", "pipeline_error");
  if (getPath(run.doc, "event.original") === undefined) setPath(run.doc, "event.original", run.readText());
  if (!run.tags.includes(PRESERVE_ORIGINAL_EVENT_TAG)) run.tags.push(PRESERVE_ORIGINAL_EVENT_TAG);
  run.doc.tags = run.tags;
  appendError(run.doc, message);
}
