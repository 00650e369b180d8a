import type { Client, estypes } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import type { JsonObject } from "../ecs/paths.ts";
import {
  ElasticsearchRequestError,
  ElasticsearchResponseError,
  ElasticsearchUnavailableError,
} from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, sleep } from "../retry.ts";
import { describeElasticsearchError } from "./client.ts";
import { createAction } from "./ndjson.ts";

/** One document to store, with the raw event it came from (for dead letters). */
export interface IndexItem {
  /** `_id`; absent for events with neither id nor timestamp (Elasticsearch then picks one). */
  id: string | undefined;
  document: JsonObject;
  raw: unknown;
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
  duplicates: number;
  rejected: Rejection[];
}

/** Port: where mapped documents go. Throws only when it cannot vouch for every item. */
export interface DocumentSink {
  index(items: readonly IndexItem[], signal?: AbortSignal): Promise<IndexOutcome>;
}

/** Settings of the Elasticsearch sink. */
export interface ElasticsearchSinkOptions {
  /** Data stream, `logs-jumpcloud.events-<namespace>`. */
  dataStream: string;
  /** Largest `_bulk` body (default 5 MB; Elasticsearch refuses bodies over http.max_content_length, 100 MB by default). */
  maxBatchBytes?: number;
  retry?: RetryPolicy;
  logger?: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

interface Prepared {
  item: IndexItem;
  lines: string;
  bytes: number;
}

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
 * the failed items), anything else rejected for a dead letter. Requests go with `pipeline=_none`,
 * so documents already in ECS are not processed again by an installed integration's pipeline.
 */
export class ElasticsearchDocumentSink implements DocumentSink {
  private readonly maxBatchBytes: number;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly client: Client,
    private readonly options: ElasticsearchSinkOptions,
  ) {
    this.maxBatchBytes = options.maxBatchBytes ?? 5_000_000;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.logger = options.logger ?? silentLogger;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  async index(items: readonly IndexItem[], signal?: AbortSignal): Promise<IndexOutcome> {
    const outcome: IndexOutcome = { indexed: 0, duplicates: 0, rejected: [] };
    for (const batch of this.batches(items)) await this.send(batch, outcome, signal);
    return outcome;
  }

  private *batches(items: readonly IndexItem[]): Generator<Prepared[]> {
    let batch: Prepared[] = [];
    let size = 0;
    for (const item of items) {
      const lines = `${createAction(this.options.dataStream, item.id)}\n${JSON.stringify(item.document)}\n`;
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

  private async send(batch: Prepared[], outcome: IndexOutcome, signal?: AbortSignal): Promise<void> {
    const started = this.now();
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      let failure = "";
      let cause: unknown;
      let response: estypes.BulkResponse;
      try {
        response = await this.client.bulk(
          { operations: pending.map((p) => p.lines).join("") as never, pipeline: "_none" },
          { signal },
        );
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // Only the client's own errors are about the cluster; anything else is a bug to surface.
        if (!(error instanceof errors.ElasticsearchClientError)) throw error;
        const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
        if (status === 413) {
          await this.tooLarge(pending, outcome, signal);
          return;
        }
        if (status !== undefined && !retryable(status)) {
          throw new ElasticsearchRequestError(
            `Elasticsearch refused the _bulk request: ${describeElasticsearchError(error)}`,
            status,
            {
              cause: error,
            },
          );
        }
        failure = describeElasticsearchError(error);
        cause = error;
        response = { errors: true, items: [], took: 0 };
      }
      if (cause === undefined) {
        // Every item is classified before anything is counted: a malformed answer vouches for nothing.
        if (!Array.isArray(response.items) || response.items.length !== pending.length) {
          throw new ElasticsearchResponseError(
            `_bulk answered ${Array.isArray(response.items) ? response.items.length : "no"} items for ${pending.length} documents`,
          );
        }
        const retry: Prepared[] = [];
        const statuses = new Set<number>();
        const local: IndexOutcome = { indexed: 0, duplicates: 0, rejected: [] };
        for (const [i, entry] of response.items.entries()) {
          const prepared = pending[i] as Prepared;
          const result = entry.create ?? Object.values(entry)[0];
          const status = result?.status;
          const type = result?.error?.type ?? "unknown";
          const reason = result?.error?.reason ?? "no reason given";
          if (typeof status !== "number")
            throw new ElasticsearchResponseError(`_bulk item ${i} has no status`);
          if (status >= 200 && status < 300) local.indexed++;
          else if (status === 409) local.duplicates++;
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
        outcome.duplicates += local.duplicates;
        outcome.rejected.push(...local.rejected);
        if (retry.length === 0) return;
        pending = retry;
        failure = `${retry.length} item(s) refused with ${[...statuses].join("/")}`;
      }
      const elapsed = this.now() - started;
      const delay = backoffDelay(attempt - 1, this.retry, this.random);
      if (attempt >= this.retry.maxAttempts || elapsed + delay > this.retry.maxElapsedMs) {
        throw new ElasticsearchUnavailableError(
          `_bulk into ${this.options.dataStream}: ${pending.length} document(s) still not stored after ${attempt} attempt(s) in ${elapsed} ms (${failure})`,
          { cause },
        );
      }
      this.logger.warn("retrying _bulk", { attempt, failure, pending: pending.length, delayMs: delay });
      await this.sleep(delay, signal);
    }
  }

  // Too large for the cluster's http.max_content_length: halve and go on; alone, a dead letter.
  private async tooLarge(pending: Prepared[], outcome: IndexOutcome, signal?: AbortSignal): Promise<void> {
    if (pending.length > 1) {
      const half = Math.ceil(pending.length / 2);
      await this.send(pending.slice(0, half), outcome, signal);
      await this.send(pending.slice(half), outcome, signal);
      return;
    }
    const only = pending[0] as Prepared;
    outcome.rejected.push({
      item: only.item,
      status: 413,
      type: "request_entity_too_large",
      reason: `one document of ${only.bytes} bytes exceeds the cluster's http.max_content_length`,
    });
  }
}
