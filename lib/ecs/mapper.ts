import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { jsonText } from "../json-text.ts";
import { NestingTooDeepError, withoutEmpty, withoutEmptyInPlace } from "./clean.ts";
import { FINGERPRINT_FIELDS, fingerprint } from "./fingerprint.ts";
import type { AsFields, GeoFields, GeoIpLookup } from "./geo.ts";
import {
  appendUniqueIn,
  compilePath,
  defineValue,
  getIn,
  isObject,
  type JsonObject,
  setIn,
  withoutPaths,
} from "./paths.ts";
import {
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
 * unchanged branches with the input event, and GeoIP answers with other documents: treat all as
 * immutable.
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
  /** `preserve_duplicate_custom_fields` is off. */
  readonly removeDuplicates: boolean;
  readonly geoIp: GeoIpLookup | undefined;
  parsed: unknown;
  event: JsonObject;
  /** `@version` is to become `version`; applied when the event is rebuilt once, at the end. */
  versionRenamed: boolean;
  /** A raw `useragent` string was parsed and is to leave jumpcloud.event. */
  useragentParsed: boolean;
  /** The event holds `undefined` where empty values were dropped in place: it must be rebuilt. */
  holes: boolean;
  id: string | undefined;
  timestampFromEvent: boolean;
  text: string | undefined;
  value: unknown;
}

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
    // Text parsed here is the run's alone: its object is cleaned in place, not copied (the final
    // rebuild drops the holes). A value given is the caller's, so it is copied where it changes.
    if (run.text !== undefined && isObject(run.parsed)) {
      const cleaning = withoutEmptyInPlace(run.parsed);
      if (cleaning === "empty") run.parsed = undefined;
      run.holes = cleaning === "holes";
    } else {
      run.parsed = withoutEmpty(run.parsed);
    }
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
  // A rebuilt event takes the place of the first in the same `jumpcloud` object.
  const jumpcloud = run.doc.jumpcloud;
  if (isObject(jumpcloud)) jumpcloud.event = event;
  else run.doc.jumpcloud = { event };
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

// The pipeline's paths, compiled once.
const CATEGORIES = EVENT_CATEGORIES.map((rule) => ({
  eventTypes: rule.eventTypes,
  category: [rule.category],
  type: [rule.type],
}));
const EVENT_CATEGORY = compilePath("event.category");
const EVENT_TYPE = compilePath("event.type");
const EVENT_KIND = compilePath("event.kind");
const EVENT_ORIGINAL = compilePath("event.original");
const ERROR_MESSAGE = compilePath("error.message");
const USER_AGENT = compilePath("user_agent");
const RELATED_IP = compilePath("related.ip");
const RELATED_USER = compilePath("related.user");

function convertIps(run: Run): void {
  for (const [from, to] of IP_FIELDS) {
    const value = run.event[from];
    if (value === undefined) continue;
    // Validated before the parent is made: a failure leaves no empty object behind.
    const ip = Array.isArray(value) ? value.map(validIp) : validIp(value);
    objectIn(run.doc, to).ip = ip;
  }
}

function categorize(run: Run): void {
  const eventType = run.event.event_type;
  if (typeof eventType !== "string") return;
  for (const rule of CATEGORIES) {
    if (rule.eventTypes.has(eventType)) {
      appendUniqueIn(run.doc, EVENT_CATEGORY, rule.category);
      appendUniqueIn(run.doc, EVENT_TYPE, rule.type);
    }
  }
}

// The integration's `set` processors of rules.ts (COPIES_BEFORE_VERSION, COPIES_AFTER_VERSION),
// written out in their order: named reads (`system.id`) are several times faster than a walk
// of computed paths on events of many shapes. test/ecs/copies.test.ts holds them to the tables.
function copyBeforeVersion({ event, doc }: Run): void {
  copyTo(doc, "event", "id", event.id);
  copy(doc, "message", event.message);
}

function copyAfterVersion({ event, doc }: Run): void {
  const { system, initiated_by: initiatedBy, useragent } = event;
  if (isObject(system)) {
    copyTo(doc, "host", "id", system.id);
    copyTo(doc, "host", "hostname", system.hostname);
  }
  if (isObject(initiatedBy)) {
    copyToUser(doc, "id", initiatedBy.id);
    copyToUser(doc, "email", initiatedBy.email);
    copyToUser(doc, "name", initiatedBy.username);
  }
  copyTo(doc, "user", "name", event.username);
  if (isObject(useragent)) copyUserAgent(doc, useragent);
  copyTo(doc, "event", "action", event.event_type);
  copyTo(doc, "event", "module", event.service);
  copyTo(doc, "process", "name", event.process_name);
}

function copyUserAgent(doc: JsonObject, useragent: JsonObject): void {
  if (isCopied(useragent.device))
    copy(objectIn(objectIn(doc, "user_agent"), "device"), "name", useragent.device);
  copyTo(doc, "user_agent", "name", useragent.name);
  copyTo(doc, "user_agent", "version", useragent.version);
  copyToOs(doc, "name", useragent.os_name);
  copyToOs(doc, "full", useragent.os_full);
  copyToOs(doc, "version", useragent.os_version);
}

function copyToUser(doc: JsonObject, key: string, value: unknown): void {
  if (isCopied(value)) copy(objectIn(objectIn(doc, "source"), "user"), key, value);
}

function copyToOs(doc: JsonObject, key: string, value: unknown): void {
  if (isCopied(value)) copy(objectIn(objectIn(doc, "user_agent"), "os"), key, value);
}

/** `set` with `ignore_empty_value`: nothing for a missing, null or empty value. */
function isCopied(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function copy(target: JsonObject, key: string, value: unknown): void {
  if (isCopied(value)) defineValue(target, key, value);
}

// The parent is made only when there is a value to put in it, as setIn does.
function copyTo(doc: JsonObject, parent: string, key: string, value: unknown): void {
  if (isCopied(value)) defineValue(objectIn(doc, parent), key, value);
}

/** `parent[key]`, made an empty object first unless it is one (as setIn makes intermediates). */
function objectIn(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (isObject(value)) return value;
  const made: JsonObject = {};
  defineValue(parent, key, made);
  return made;
}

// A cleaned event holds no `undefined` but its holes: `undefined` is "absent".
function renameVersion(run: Run): void {
  if (run.event["@version"] === undefined) return;
  if (run.event.version !== undefined) fail("field [jumpcloud.event.version] already exists");
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
  setIn(run.doc, USER_AGENT, parseUserAgent(raw));
}

function outcome(run: Run): void {
  let result = "unknown";
  const { sso_token_success: ssoTokenSuccess, success } = run.event;
  if (ssoTokenSuccess === true) result = "success";
  if (ssoTokenSuccess === false) result = "failure";
  if (success === true) result = "success";
  if (success === false) result = "failure";
  objectIn(run.doc, "event").outcome = result;
}

// The first address of a list with a City (or ASN) record; written out twice so neither allocates.
function firstCity(geoIp: GeoIpLookup, ips: unknown): GeoFields | undefined {
  if (typeof ips === "string") return geoIp.city(ips);
  if (!Array.isArray(ips)) return undefined;
  for (const ip of ips) {
    const hit = typeof ip === "string" ? geoIp.city(ip) : undefined;
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function firstAsn(geoIp: GeoIpLookup, ips: unknown): AsFields | undefined {
  if (typeof ips === "string") return geoIp.asn(ips);
  if (!Array.isArray(ips)) return undefined;
  for (const ip of ips) {
    const hit = typeof ip === "string" ? geoIp.asn(ip) : undefined;
    if (hit !== undefined) return hit;
  }
  return undefined;
}

// Named reads (`side.ip`), not getIn: documents come in many shapes, and V8 looks a named
// property up faster than a computed one.
function enrichGeo(run: Run): void {
  const geoIp = run.geoIp;
  if (!geoIp) return;
  enrichSide(geoIp, run.doc.source);
  enrichSide(geoIp, run.doc.client);
}

function enrichSide(geoIp: GeoIpLookup, side: unknown): void {
  if (!isObject(side) || side.ip === undefined) return;
  const ips = side.ip;
  const geo = firstCity(geoIp, ips);
  // Answers are shared, never copied: documents are not changed once mapped (see MappedEvent).
  if (geo) side.geo = geo;
  const as = firstAsn(geoIp, ips);
  if (as) side.as = as;
}

/** `value.ip` when `value` is a JSON object, as getIn reads it. */
function ipOf(value: unknown): unknown {
  return isObject(value) ? value.ip : undefined;
}

function addIps(ips: unknown[], value: unknown, check: boolean): void {
  if (!Array.isArray(value)) addIp(ips, value, check);
  else for (const ip of value) addIp(ips, ip, check);
}

function addIp(ips: unknown[], ip: unknown, check: boolean): void {
  if (typeof ip === "string" && (!check || isIP(ip) !== 0)) ips.push(ip);
}

function related(run: Run): void {
  const { event, doc } = run;
  const ips: unknown[] = [];
  // Protect device addresses are not validated upstream; source.ip and client.ip already are.
  addIps(ips, ipOf(event.jumpcloud_protect_device), true);
  const authContext = event.auth_context;
  if (isObject(authContext)) addIps(ips, ipOf(authContext.jumpcloud_protect_device), true);
  const source = doc.source;
  addIps(ips, ipOf(source), false);
  addIps(ips, ipOf(doc.client), false);
  if (ips.length > 0) appendUniqueIn(doc, RELATED_IP, ips);
  const user = isObject(source) ? source.user : undefined;
  const userName = isObject(user) ? user.name : undefined;
  if (userName !== undefined)
    appendUniqueIn(doc, RELATED_USER, Array.isArray(userName) ? userName : [userName]);
}

function removeDuplicateCustomFields(run: Run): void {
  rebuildEvent(run, run.removeDuplicates);
}

const NOTHING: readonly string[] = [];
const VERSION_RENAME = ["@version", "version"] as const;

// One rebuild applies the rename, the raw user-agent removal and (optionally) the duplicate removal.
function rebuildEvent(run: Run, removeDuplicates: boolean): void {
  const paths = removeDuplicates ? DUPLICATE_CUSTOM_FIELDS : run.useragentParsed ? USERAGENT : NOTHING;
  if (!run.versionRenamed && !run.holes && paths === NOTHING) return;
  setEvent(run, withoutPaths(run.event, paths, run.versionRenamed ? VERSION_RENAME : undefined));
  run.versionRenamed = false;
  run.useragentParsed = false;
  run.holes = false;
}

const USERAGENT = ["useragent"];

/**
 * The integration's ingest pipeline, step by step; a failing step throws and stops the run
 * (on_failure). Direct calls, not a loop over a list, so the compiler can inline the steps.
 */
function runPipeline(run: Run): void {
  parseJson(run);
  dropEmptyValues(run);
  requireObject(run);
  fingerprintId(run);
  parseTimestamp(run);
  convertIps(run);
  categorize(run);
  copyBeforeVersion(run);
  renameVersion(run);
  copyAfterVersion(run);
  parseRawUserAgent(run);
  outcome(run);
  enrichGeo(run);
  related(run);
  removeDuplicateCustomFields(run);
  // The integration ends by removing event.original unless preserve_original_event is on; here
  // it is only ever added with that tag (or by the failure handler), so there is nothing to remove.
}

/** Maps raw JumpCloud Directory Insights events to the ECS documents Elastic's integration produces. */
export class EcsMapper {
  /** The data stream documents go to: `logs-jumpcloud.events-<namespace>`. */
  readonly dataStream: string;
  private readonly namespace: string;
  private readonly tags: readonly string[];
  private readonly geoIp: GeoIpLookup | undefined;
  private readonly preserveOriginal: boolean;
  private readonly removeDuplicates: boolean;

  constructor(options: MapperOptions = {}) {
    this.namespace = options.namespace ?? "default";
    this.dataStream = `${DATA_STREAM_TYPE}-${DATASET}-${this.namespace}`;
    this.tags = [
      ...(options.preserveOriginalEvent ? [PRESERVE_ORIGINAL_EVENT_TAG] : []),
      ...(options.preserveDuplicateCustomFields ? [PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG] : []),
      ...(options.tags ?? DEFAULT_TAGS),
    ];
    this.geoIp = options.geoIp;
    this.preserveOriginal = this.tags.includes(PRESERVE_ORIGINAL_EVENT_TAG);
    this.removeDuplicates = !this.tags.includes(PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG);
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
    const tags = this.tags.slice();
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
      removeDuplicates: this.removeDuplicates,
      geoIp: this.geoIp,
      parsed: undefined,
      event: {},
      versionRenamed: false,
      useragentParsed: false,
      holes: false,
      id: undefined,
      timestampFromEvent: false,
      text,
      value,
    };
    // Only kept when asked for (serialising a parsed event costs as much as mapping it); the
    // failure handler adds it to error documents.
    if (this.preserveOriginal) setIn(doc, EVENT_ORIGINAL, originalText(run));
    let failed = false;
    try {
      runPipeline(run);
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
  const existing = getIn(doc, ERROR_MESSAGE);
  if (Array.isArray(existing)) existing.push(message);
  else setIn(doc, ERROR_MESSAGE, [message]);
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
  setIn(run.doc, EVENT_KIND, "pipeline_error");
  if (getIn(run.doc, EVENT_ORIGINAL) === undefined) setIn(run.doc, EVENT_ORIGINAL, originalText(run));
  if (!run.tags.includes(PRESERVE_ORIGINAL_EVENT_TAG)) run.tags.push(PRESERVE_ORIGINAL_EVENT_TAG);
  run.doc.tags = run.tags;
  appendError(run.doc, message);
}
