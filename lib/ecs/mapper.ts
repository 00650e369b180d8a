import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { jsonText } from "../json-text.ts";
import { NestingTooDeepError, withoutEmpty } from "./clean.ts";
import { FINGERPRINT_FIELDS, fingerprint } from "./fingerprint.ts";
import type { GeoIpLookup } from "./geo.ts";
import {
  appendUnique,
  getIn,
  getPath,
  isObject,
  type JsonObject,
  setIn,
  setPath,
  withoutPaths,
} from "./paths.ts";
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
import { normalizeTimestamp } from "./timestamp.ts";
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

/**
 * One mapped event: the document, its `_id` (the integration's fingerprint, or `raw-<hash>` for an
 * event with neither id nor timestamp) and whether the pipeline failed. The document shares
 * unchanged branches with the input event: treat both as immutable.
 */
export interface MappedEvent {
  id: string;
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
  doc: JsonObject;
  readonly tags: string[];
  readonly geoIp: GeoIpLookup | undefined;
  parsed: unknown;
  event: JsonObject;
  /** `@version` is to become `version`; applied when the event is rebuilt once, at the end. */
  versionRenamed: boolean;
  /** A raw `useragent` string was parsed and is to leave jumpcloud.event. */
  useragentParsed: boolean;
  id: string | undefined;
  timestampFromEvent: boolean;
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

// The first walk of the whole event, so it is the one that finds an event too deep for Elasticsearch.
function dropEmptyValues(run: Run): void {
  try {
    run.parsed = withoutEmpty(run.parsed);
  } catch (error) {
    if (error instanceof NestingTooDeepError) fail(error.message);
    throw error;
  }
}

function requireObject(run: Run): void {
  if (!isObject(run.parsed)) fail("missing json object in input document");
  setEvent(run, run.parsed);
}

function setEvent(run: Run, event: JsonObject): void {
  run.event = event;
  run.doc.jumpcloud = { event };
}

function fingerprintId(run: Run): void {
  run.id = fingerprint(run.event, FINGERPRINT_FIELDS);
}

function parseTimestamp(run: Run): void {
  const raw = run.event.timestamp;
  if (raw === undefined) return;
  // Elasticsearch reads the field's toString(): a number such as 2024 is a year.
  const timestamp =
    typeof raw === "string"
      ? normalizeTimestamp(raw)
      : typeof raw === "number"
        ? normalizeTimestamp(String(raw))
        : undefined;
  if (timestamp === undefined) fail(`unable to parse date [${render(raw)}]`);
  run.doc["@timestamp"] = timestamp;
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
    setIn(run.doc, [to, "ip"], Array.isArray(value) ? value.map(validIp) : validIp(value));
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
  const compiled = table.map(([from, to]) => [from.split("."), to.split(".")] as const);
  return function copyFields(run) {
    for (const [from, to] of compiled) {
      const value = getIn(run.event, from);
      if (value !== undefined && value !== null && value !== "") setIn(run.doc, to, value);
    }
  };
}

function renameVersion(run: Run): void {
  if (!Object.hasOwn(run.event, "@version")) return;
  if (Object.hasOwn(run.event, "version")) fail("field [jumpcloud.event.version] already exists");
  run.versionRenamed = true;
}

// Not in the integration: JumpCloud sometimes sends the raw header instead of a parsed object.
function parseRawUserAgent(run: Run): void {
  const useragent = run.event.useragent;
  if (isObject(useragent)) return;
  const raw = typeof useragent === "string" ? useragent : run.event.user_agent;
  if (typeof raw !== "string") return;
  // The integration maps jumpcloud.event.useragent as an object: a string there would be rejected.
  if (typeof useragent === "string") run.useragentParsed = true;
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

const GEO_SIDES = (["source", "client"] as const).map((side) => ({
  ip: [side, "ip"],
  geo: [side, "geo"],
  as: [side, "as"],
}));

function enrichGeo(run: Run): void {
  const geoIp = run.geoIp;
  if (!geoIp) return;
  for (const side of GEO_SIDES) {
    const ips = getIn(run.doc, side.ip);
    if (ips === undefined) continue;
    const geo = firstHit(ips, (ip) => geoIp.city(ip));
    // Lookups may be cached and shared: each document gets its own copy.
    if (geo) setIn(run.doc, side.geo, geo.location ? { ...geo, location: { ...geo.location } } : { ...geo });
    const as = firstHit(ips, (ip) => geoIp.asn(ip));
    if (as)
      setIn(run.doc, side.as, as.organization ? { ...as, organization: { ...as.organization } } : { ...as });
  }
}

function addIps(ips: unknown[], value: unknown, check: boolean): void {
  if (value === undefined) return;
  for (const ip of Array.isArray(value) ? value : [value]) {
    if (typeof ip === "string" && (!check || isIP(ip) !== 0)) ips.push(ip);
  }
}

function related(run: Run): void {
  const ips: unknown[] = [];
  // Protect device addresses are not validated upstream; source.ip and client.ip already are.
  addIps(ips, getPath(run.event, "jumpcloud_protect_device.ip"), true);
  addIps(ips, getPath(run.event, "auth_context.jumpcloud_protect_device.ip"), true);
  addIps(ips, getPath(run.doc, "source.ip"), false);
  addIps(ips, getPath(run.doc, "client.ip"), false);
  if (ips.length > 0) appendUnique(run.doc, "related.ip", ips);
  const userName = getPath(run.doc, "source.user.name");
  if (userName !== undefined)
    appendUnique(run.doc, "related.user", Array.isArray(userName) ? userName : [userName]);
}

function removeDuplicateCustomFields(run: Run): void {
  rebuildEvent(run, !run.tags.includes(PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG));
}

const NOTHING: readonly string[] = [];
const VERSION_RENAME = ["@version", "version"] as const;

// One rebuild applies the rename, the raw user-agent removal and (optionally) the duplicate removal.
function rebuildEvent(run: Run, removeDuplicates: boolean): void {
  const paths = removeDuplicates ? DUPLICATE_CUSTOM_FIELDS : run.useragentParsed ? USERAGENT : NOTHING;
  if (!run.versionRenamed && paths === NOTHING) return;
  setEvent(run, withoutPaths(run.event, paths, run.versionRenamed ? VERSION_RENAME : undefined));
  run.versionRenamed = false;
  run.useragentParsed = false;
}

const USERAGENT = ["useragent"];

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
  // The integration ends by removing event.original unless preserve_original_event is on; here
  // it is only ever added with that tag (or by the failure handler), so there is nothing to remove.
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
    return this.run(text, undefined, collectedAt);
  }

  /** Maps one event already parsed from JSON (as the API client returns them). */
  mapValue(value: unknown, collectedAt: Date = new Date()): MappedEvent {
    return this.run(undefined, value, collectedAt);
  }

  private lastCollectedAt = Number.NaN;
  private lastCollectedAtIso = "";

  // A batch shares one collection time: format it once.
  private isoTime(date: Date): string {
    const time = date.getTime();
    if (time !== this.lastCollectedAt) {
      this.lastCollectedAt = time;
      this.lastCollectedAtIso = date.toISOString();
    }
    return this.lastCollectedAtIso;
  }

  private run(text: string | undefined, value: unknown, collectedAt: Date): MappedEvent {
    const tags = [...this.tags];
    // What Elastic Agent and Fleet set before the ingest pipeline runs.
    const doc: JsonObject = {
      "@timestamp": this.isoTime(collectedAt),
      data_stream: { type: DATA_STREAM_TYPE, dataset: DATASET, namespace: this.namespace },
      ecs: { version: ECS_VERSION },
      event: { dataset: DATASET },
    };
    if (tags.length > 0) doc.tags = tags;
    const run: Run = {
      doc,
      tags,
      geoIp: this.geoIp,
      parsed: undefined,
      event: {},
      versionRenamed: false,
      useragentParsed: false,
      id: undefined,
      timestampFromEvent: false,
      text,
      value,
    };
    // Only kept when asked for (serialising a parsed event costs as much as mapping it); the
    // failure handler adds it to error documents.
    if (tags.includes(PRESERVE_ORIGINAL_EVENT_TAG)) setPath(doc, "event.original", originalText(run));
    let failed = false;
    try {
      for (const step of PIPELINE) step(run);
    } catch (error) {
      failed = true;
      onFailure(run, error);
    }
    if (!run.timestampFromEvent) appendError(run.doc, COLLECTION_TIME_NOTE);
    return { id: run.id ?? rawId(run), document: run.doc, failed };
  }
}

/**
 * The `_id` of an event with neither id nor timestamp (or no event at all): a hash of the raw
 * input, so a re-send is a 409 and not a second copy. Exactly as earlier versions computed it,
 * so ids already stored do not change: text hashes as given, a string value too, any other
 * value as its JSON.
 */
function rawId(run: Run): string {
  const text = run.text ?? (typeof run.value === "string" ? run.value : originalText(run));
  return `raw-${createHash("sha256").update(text).digest("base64url").slice(0, 32)}`;
}

/** The raw event text: as given, or the parsed event serialised (however deep). */
function originalText(run: Run): string {
  if (run.text !== undefined) return run.text;
  if (run.value === undefined) return String(run.value);
  try {
    return jsonText(run.value);
  } catch {
    return String(run.value);
  }
}

function appendError(doc: JsonObject, message: string): void {
  const existing = getPath(doc, "error.message");
  if (Array.isArray(existing)) existing.push(message);
  else setPath(doc, "error.message", [message]);
}

// The pipeline's on_failure handler: the partial document is kept and marked.
function onFailure(run: Run, error: unknown): void {
  // Anything but a step's own failure is a bug or a broken dependency: still a document, but said so.
  const message =
    error instanceof StepFailure
      ? error.message
      : `unexpected mapper error: ${error instanceof Error ? error.message : String(error)}`;
  if (run.doc.jumpcloud !== undefined) {
    // A raw user-agent string would make even the error document fail to index (object mapping).
    if (!run.useragentParsed) parseRawUserAgent(run);
    rebuildEvent(run, false);
  }
  setPath(run.doc, "event.kind", "pipeline_error");
  if (getPath(run.doc, "event.original") === undefined) setPath(run.doc, "event.original", originalText(run));
  if (!run.tags.includes(PRESERVE_ORIGINAL_EVENT_TAG)) run.tags.push(PRESERVE_ORIGINAL_EVENT_TAG);
  run.doc.tags = run.tags;
  appendError(run.doc, message);
}
