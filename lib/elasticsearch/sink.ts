import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import type { JsonObject } from "../ecs/paths.ts";
import { ElasticsearchRequestError, ElasticsearchUnavailableError } from "../errors.ts";
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
      let failure: string;
      let cause: unknown;
      try {
        const response = await this.client.bulk(
          { operations: pending.map((p) => p.lines).join("") as never, pipeline: "_none" },
          { signal },
        );
        const retry: Prepared[] = [];
        const statuses: number[] = [];
        for (const [i, entry] of response.items.entries()) {
          const prepared = pending[i] as Prepared;
          const result = entry.create ?? Object.values(entry)[0];
          const status = result?.status ?? 0;
          if (status >= 200 && status < 300) outcome.indexed++;
          else if (status === 409) outcome.duplicates++;
          else if (retryable(status)) {
            retry.push(prepared);
            statuses.push(status);
          } else {
            outcome.rejected.push({
              item: prepared.item,
              status,
              type: result?.error?.type ?? "unknown",
              reason: result?.error?.reason ?? "no reason given",
            });
          }
        }
        if (response.items.length !== pending.length) {
          throw new ElasticsearchUnavailableError(
            `_bulk answered ${response.items.length} items for ${pending.length} documents`,
          );
        }
        if (retry.length === 0) return;
        pending = retry;
        failure = `${retry.length} item(s) refused with ${[...new Set(statuses)].join("/")}`;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof ElasticsearchUnavailableError) throw error;
        const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
        if (status === 413 && pending.length > 1) {
          // Too large for the cluster's http.max_content_length: halve and go on.
          const half = Math.ceil(pending.length / 2);
          await this.send(pending.slice(0, half), outcome, signal);
          await this.send(pending.slice(half), outcome, signal);
          return;
        }
        if (status === 413) {
          const only = pending[0] as Prepared;
          outcome.rejected.push({
            item: only.item,
            status,
            type: "request_entity_too_large",
            reason: `one document of ${only.bytes} bytes exceeds the cluster's http.max_content_length`,
          });
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
}
