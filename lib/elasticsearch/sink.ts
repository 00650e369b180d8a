import type { Client, estypes } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import pLimit, { type LimitFunction } from "p-limit";
import type { JsonObject } from "../ecs/paths.ts";
import {
  ElasticsearchRequestError,
  ElasticsearchResponseError,
  ElasticsearchUnavailableError,
} from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { type Attempt, DEFAULT_RETRY_POLICY, type RetrySeams, sleep, withRetries } from "../retry.ts";
import { describeElasticsearchError } from "./client.ts";
import { toBulkLines } from "./ndjson.ts";

/** One document to store, with the raw event it came from (for dead letters). */
export interface IndexItem {
  /** `_id`, as the mapper decided it. */
  id: string;
  document: JsonObject;
  raw: unknown;
  /** A pipeline-error document: counted apart once indexed. */
  pipelineError: boolean;
}

/** Why Elasticsearch refused one document for good. */
export interface Rejection {
  item: IndexItem;
  status: number;
  type: string;
  reason: string;
}

/** What happened to a batch: every item is exactly one of indexed, duplicate or rejected. */
export interface IndexOutcome {
  indexed: number;
  /** Pipeline-error documents among the indexed. */
  pipelineErrors: number;
  /** Indexed documents with an address that the cluster stored without geo (see Counts). */
  withoutGeo: number;
  /** Indexed documents stored without the ingest pipeline (it was missing). */
  withoutPipeline: number;
  duplicates: number;
  rejected: Rejection[];
}

/** An outcome with nothing counted yet. */
export function emptyOutcome(): IndexOutcome {
  return { indexed: 0, pipelineErrors: 0, withoutGeo: 0, withoutPipeline: 0, duplicates: 0, rejected: [] };
}

/** Counts an item as indexed, and as a pipeline error when it is one. */
export function countIndexed(outcome: IndexOutcome, item: IndexItem): void {
  outcome.indexed++;
  if (item.pipelineError) outcome.pipelineErrors++;
}

/** Per call: by when the work must be over. */
export interface IndexOptions {
  /** Epoch ms: no request is started, and no retry wait begun, that would end after it. */
  deadline?: number;
  /**
   * Epoch ms: documents with an earlier `@timestamp` may be stored already (in an older backing
   * index, where `create` cannot see them); with `lookUpExisting: "rereads"` only they are looked up.
   */
  rereadBefore?: number;
}

/** Port: where mapped documents go. Throws only when it cannot vouch for every item. */
export interface DocumentSink {
  index(items: readonly IndexItem[], signal?: AbortSignal, options?: IndexOptions): Promise<IndexOutcome>;
}

/** Settings of the Elasticsearch sink; retry seams default to production ones. */
export interface ElasticsearchSinkOptions extends Partial<RetrySeams> {
  /** Data stream, `logs-jumpcloud.events-<namespace>`. */
  dataStream: string;
  /** Largest `_bulk` body (default 5 MB; Elasticsearch refuses bodies over http.max_content_length, 100 MB by default). */
  maxBatchBytes?: number;
  /**
   * Which documents are looked up across the data stream before indexing (default `all`): every
   * one, only possible re-reads (before `rereadBefore`), or none (`create` alone).
   */
  lookUpExisting?: "all" | "rereads" | "off";
  /** `_bulk` (and lookup) requests of one `index` call in flight at once (default 4). */
  concurrency?: number;
  /**
   * The ingest pipeline `_bulk` names (this project's; it also overrides a Fleet template's default
   * pipeline). Default `_none`: no pipeline at all.
   */
  pipeline?: string;
  /** GEOIP=cluster: what the cluster says of its GeoIP databases, to count documents stored without geo. */
  clusterGeoIp?: { databasesMissing(): Promise<boolean> };
}

/** How long documents go without the pipeline after it was found missing, before it is tried again. */
const PIPELINE_RETRY_MS = 5 * 60_000;

/** What one `_bulk` request was sent with: what its indexed documents are counted as. */
interface Sent {
  pipeline: string;
  withoutPipeline: boolean;
  withoutGeo: boolean;
}

/** `_id`s per lookup request: well under `index.max_result_window` (10 000). */
const LOOKUP_CHUNK = 5_000;

interface Prepared {
  item: IndexItem;
  lines: string;
  bytes: number;
}

/** One `index` call: where its counts go, and what stops it. */
interface Call {
  outcome: IndexOutcome;
  signal: AbortSignal | undefined;
  deadline: number | undefined;
}

const DONE: Attempt<void> = { done: true, value: undefined };

/** The parts of a `_bulk` answer the sink reads. */
const BULK_FILTER = ["errors", "items.*.status", "items.*.error.type", "items.*.error.reason"];

/** Item errors that would hit every document alike: the batch fails instead of being dead-lettered. */
const BATCH_FAILURES = new Set([
  "security_exception",
  "cluster_block_exception",
  "index_closed_exception",
  "index_not_found_exception",
]);

/** Item statuses worth retrying: throttling and server-side trouble. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * `_bulk` `create` into a data stream, classified per item the way Elastic's serverless forwarder
 * does: 201 indexed, 409 duplicate (already stored: success), 429/5xx retried with backoff (only
 * the failed items), anything else rejected for a dead letter. Requests name this project's ingest
 * pipeline (or `_none`), so documents already in ECS are not processed again by an installed
 * integration's default pipeline; a missing pipeline costs the documents their geo, never their storage.
 */
export class ElasticsearchDocumentSink implements DocumentSink {
  private readonly maxBatchBytes: number;
  private readonly seams: RetrySeams;
  private lookupRefused = false;
  /** Epoch ms until which documents go without the pipeline (found missing). */
  private pipelineMissingUntil = 0;
  private pipelineMissingTold = false;

  constructor(
    private readonly client: Client,
    private readonly options: ElasticsearchSinkOptions,
  ) {
    this.maxBatchBytes = options.maxBatchBytes ?? 5_000_000;
    this.seams = {
      retry: options.retry ?? DEFAULT_RETRY_POLICY,
      logger: options.logger ?? silentLogger,
      sleep: options.sleep ?? sleep,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
  }

  async index(
    items: readonly IndexItem[],
    signal?: AbortSignal,
    options: IndexOptions = {},
  ): Promise<IndexOutcome> {
    const call: Call = { outcome: emptyOutcome(), signal, deadline: options.deadline };
    const limit = pLimit(this.options.concurrency ?? 4);
    const fresh = await this.withoutStored(items, options.rereadBefore, call, limit);
    // A page larger than one `_bulk` body goes in several, a few at once; counts add up in any order.
    await limit.map([...this.batches(fresh)], (batch) => this.send(batch, call));
    return call.outcome;
  }

  /**
   * The items not stored already: looked up by `_id` across the data stream (every backing index:
   * `create` sees only the write index), the ones found counted as duplicates.
   */
  private async withoutStored(
    items: readonly IndexItem[],
    rereadBefore: number | undefined,
    call: Call,
    limit: LimitFunction,
  ): Promise<readonly IndexItem[]> {
    const mode = this.options.lookUpExisting ?? "all";
    if (mode === "off" || this.lookupRefused || items.length === 0) return items;
    if (mode === "rereads" && rereadBefore === undefined) return items;
    const candidates =
      mode === "all" ? items : items.filter((item) => !(eventTime(item) >= (rereadBefore as number)));
    const chunks: string[][] = [];
    for (let i = 0; i < candidates.length; i += LOOKUP_CHUNK) {
      chunks.push(candidates.slice(i, i + LOOKUP_CHUNK).map((item) => item.id));
    }
    const found = new Set((await limit.map(chunks, (ids) => this.stored(ids, call))).flat());
    if (found.size === 0) return items;
    call.outcome.duplicates += items.filter((item) => found.has(item.id)).length;
    return items.filter((item) => !found.has(item.id));
  }

  // The `_id`s among `ids` stored in any backing index of the data stream (retried like `_bulk`).
  private async stored(ids: string[], call: Call): Promise<string[]> {
    let cause: unknown;
    return withRetries(
      async (): Promise<Attempt<string[]>> => {
        try {
          const response = await this.client.search(
            {
              index: this.options.dataStream,
              query: { ids: { values: ids } },
              _source: false,
              // An `_id` may have a copy in several backing indices: room for two each.
              size: Math.min(10_000, ids.length * 2),
              ignore_unavailable: true,
              allow_no_indices: true,
              // Only the ids: with no hit at all the answer is `{}`.
              filter_path: ["hits.hits._id"],
            },
            { signal: call.signal },
          );
          return { done: true, value: (response.hits?.hits ?? []).map((hit) => hit._id as string) };
        } catch (error) {
          if (this.refusedLookup(error, call.signal)) return { done: true, value: [] };
          cause = error;
          return { done: false, failure: describeElasticsearchError(error), fields: { ids: ids.length } };
        }
      },
      {
        ...this.seams,
        message: "retrying the lookup of re-read documents",
        signal: call.signal,
        deadline: call.deadline,
        giveUp: ({ attempts, elapsedMs, failure }) =>
          new ElasticsearchUnavailableError(
            `looking up ${ids.length} re-read document(s) in ${this.options.dataStream} failed after ${attempts} attempt(s) in ${elapsedMs} ms (${failure})`,
            { cause },
          ),
      },
    );
  }

  /**
   * A key without `read` on the data stream cannot look up: from then on this sink indexes re-reads
   * with `create` alone (after a rollover they may be stored twice), and says so once. Anything
   * else not worth retrying is thrown.
   */
  private refusedLookup(error: unknown, signal: AbortSignal | undefined): boolean {
    const status = requestStatus(error, signal, "_search");
    if (status !== 403) return false;
    this.lookupRefused = true;
    this.seams.logger.warn(
      `the API key may not read ${this.options.dataStream}: re-read events are not looked up, so after a rollover they may be stored twice; grant it read on the data stream`,
    );
    return true;
  }

  private *batches(items: readonly IndexItem[]): Generator<Prepared[]> {
    let batch: Prepared[] = [];
    let size = 0;
    for (const item of items) {
      const lines = toBulkLines(this.options.dataStream, item);
      const bytes = Buffer.byteLength(lines);
      if (batch.length > 0 && size + bytes > this.maxBatchBytes) {
        yield batch;
        batch = [];
        size = 0;
      }
      batch.push({ item, lines, bytes });
      size += bytes;
    }
    if (batch.length > 0) yield batch;
  }

  // Each attempt sends what is still pending: the whole batch, or the items refused with 429/5xx.
  private async send(batch: Prepared[], call: Call): Promise<void> {
    const { signal } = call;
    const sent = await this.sendingWith();
    let pending = batch;
    let unpiped: Prepared[] = [];
    let cause: unknown;
    await withRetries(
      async (): Promise<Attempt<void>> => {
        cause = undefined;
        let response: estypes.BulkResponse;
        try {
          response = await this.client.bulk(
            {
              operations: pending.map((p) => p.lines).join("") as never,
              pipeline: sent.pipeline,
              // Only what classify reads (as Beats asks): a tenth of the answer to transfer and parse.
              filter_path: BULK_FILTER,
            },
            { signal },
          );
        } catch (error) {
          if (requestStatus(error, signal) === 413) {
            await this.tooLarge(pending, call);
            return DONE;
          }
          cause = error;
          return {
            done: false,
            failure: describeElasticsearchError(error),
            fields: { pending: pending.length },
          };
        }
        const { retry, statuses, missingPipeline } = classify(response, pending, call.outcome, sent);
        unpiped = unpiped.concat(missingPipeline);
        if (retry.length === 0) return DONE;
        pending = retry;
        const failure = `${retry.length} item(s) refused with ${[...statuses].join("/")}`;
        return { done: false, failure, fields: { pending: retry.length } };
      },
      {
        ...this.seams,
        message: "retrying _bulk",
        signal,
        deadline: call.deadline,
        giveUp: ({ attempts, elapsedMs, failure }) =>
          new ElasticsearchUnavailableError(
            `_bulk into ${this.options.dataStream}: ${pending.length} document(s) still not stored after ${attempts} attempt(s) in ${elapsedMs} ms (${failure})`,
            { cause },
          ),
      },
    );
    if (unpiped.length > 0) {
      this.pipelineMissing();
      await this.send(unpiped, call);
    }
  }

  // The pipeline, unless it was found missing a short while ago; and what that makes the documents.
  private async sendingWith(): Promise<Sent> {
    const wanted = this.options.pipeline;
    const skip = wanted === undefined || this.seams.now() < this.pipelineMissingUntil;
    const geo = this.options.clusterGeoIp;
    const withoutGeo = geo !== undefined && (skip || (await geo.databasesMissing()));
    return { pipeline: skip ? "_none" : wanted, withoutPipeline: skip && wanted !== undefined, withoutGeo };
  }

  // Deleted, or never installed (no manage_pipeline): the documents are stored without it, never lost.
  private pipelineMissing(): void {
    this.pipelineMissingUntil = this.seams.now() + PIPELINE_RETRY_MS;
    if (this.pipelineMissingTold) return;
    this.pipelineMissingTold = true;
    this.seams.logger.warn(
      `the ingest pipeline ${this.options.pipeline} does not exist: documents are stored without it (no cluster GeoIP, no @custom pipelines) and it is tried again every ${PIPELINE_RETRY_MS / 60_000} minutes; run \`setup\` with a key that has manage_pipeline`,
    );
  }

  // Too large for the cluster's http.max_content_length: halve and go on; alone, a dead letter.
  private async tooLarge(pending: Prepared[], call: Call): Promise<void> {
    if (pending.length > 1) {
      const half = Math.ceil(pending.length / 2);
      await this.send(pending.slice(0, half), call);
      await this.send(pending.slice(half), call);
      return;
    }
    const only = pending[0] as Prepared;
    call.outcome.rejected.push({
      item: only.item,
      status: 413,
      type: "request_entity_too_large",
      reason: `one document of ${only.bytes} bytes exceeds the cluster's http.max_content_length`,
    });
  }
}

/**
 * The status of a failed `_bulk` request when retrying may help or it is a 413 (`undefined`: no
 * answer at all); throws for anything else.
 */
function requestStatus(
  error: unknown,
  signal: AbortSignal | undefined,
  api: "_bulk" | "_search" = "_bulk",
): number | undefined {
  if (signal?.aborted) throw signal.reason;
  // Only the client's own errors are about the cluster; anything else is a bug to surface.
  if (!(error instanceof errors.ElasticsearchClientError)) throw error;
  const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
  const answered = api === "_bulk" ? [413] : [403];
  if (status !== undefined && !answered.includes(status) && !retryable(status)) {
    throw new ElasticsearchRequestError(
      `Elasticsearch refused the ${api} request: ${describeElasticsearchError(error)}`,
      status,
      { cause: error },
    );
  }
  return status;
}

/** A document's `@timestamp` in epoch ms (NaN when it has none: such a document is looked up). */
function eventTime(item: IndexItem): number {
  const at = item.document["@timestamp"];
  return typeof at === "string" ? Date.parse(at) : Number.NaN;
}

/**
 * Counts the answered items into `outcome` and returns those to retry. Every item is classified
 * before anything is counted: a malformed answer vouches for nothing.
 */
function classify(
  response: estypes.BulkResponse,
  pending: Prepared[],
  outcome: IndexOutcome,
  sent: Sent,
): { retry: Prepared[]; statuses: Set<number>; missingPipeline: Prepared[] } {
  if (!Array.isArray(response.items) || response.items.length !== pending.length) {
    throw new ElasticsearchResponseError(
      `_bulk answered ${Array.isArray(response.items) ? response.items.length : "no"} items for ${pending.length} documents`,
    );
  }
  const retry: Prepared[] = [];
  const missingPipeline: Prepared[] = [];
  const statuses = new Set<number>();
  const local = emptyOutcome();
  for (const [i, entry] of response.items.entries()) {
    const prepared = pending[i] as Prepared;
    const result = entry.create ?? Object.values(entry)[0];
    const status = result?.status;
    const type = result?.error?.type ?? "unknown";
    const reason = result?.error?.reason ?? "no reason given";
    if (typeof status !== "number") throw new ElasticsearchResponseError(`_bulk item ${i} has no status`);
    if (status >= 200 && status < 300) countStored(local, prepared.item, sent);
    else if (status === 409) local.duplicates++;
    else if (status === 400 && sent.pipeline !== "_none" && MISSING_PIPELINE.test(reason))
      missingPipeline.push(prepared);
    else if (retryable(status)) {
      retry.push(prepared);
      statuses.add(status);
    } else if (status === 401 || status === 403 || status === 404 || BATCH_FAILURES.has(type)) {
      // Permissions, blocks, missing index: every document would fail alike. Not a dead letter.
      throw new ElasticsearchRequestError(
        `Elasticsearch refused documents for a reason no dead letter can fix: ${status} ${type}: ${reason}`,
        status,
      );
    } else {
      local.rejected.push({ item: prepared.item, status, type, reason });
    }
  }
  outcome.indexed += local.indexed;
  outcome.pipelineErrors += local.pipelineErrors;
  outcome.withoutGeo += local.withoutGeo;
  outcome.withoutPipeline += local.withoutPipeline;
  outcome.duplicates += local.duplicates;
  outcome.rejected.push(...local.rejected);
  return { retry, statuses, missingPipeline };
}

/** How Elasticsearch refuses a `_bulk` item whose `pipeline` does not exist. */
const MISSING_PIPELINE = /^pipeline with id \[[^\]]*\] does not exist/;

function countStored(outcome: IndexOutcome, item: IndexItem, sent: Sent): void {
  countIndexed(outcome, item);
  if (sent.withoutPipeline) outcome.withoutPipeline++;
  if (sent.withoutGeo && hasAddress(item.document)) outcome.withoutGeo++;
}

const hasAddress = (document: JsonObject) =>
  (document.source as JsonObject | undefined)?.ip !== undefined ||
  (document.client as JsonObject | undefined)?.ip !== undefined;
