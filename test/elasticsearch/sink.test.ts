import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FileDocumentSink } from "../../lib/elasticsearch/file-sink.ts";
import { ElasticsearchDocumentSink, type IndexOutcome } from "../../lib/elasticsearch/sink.ts";
import {
  ElasticsearchRequestError,
  ElasticsearchResponseError,
  ElasticsearchUnavailableError,
} from "../../lib/errors.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { FAST_RETRY, itemsFor, rawEvents, testClient, testSink } from "../helpers/elasticsearch.ts";

const STREAM = "logs-jumpcloud.events-default";
const raw = rawEvents(60);
const items = itemsFor(raw);
const REJECTED_ID = items[7]?.id as string;

function accounted(outcome: IndexOutcome): number {
  expect(outcome.pipelineErrors).toBeLessThanOrEqual(outcome.indexed);
  return outcome.indexed + outcome.duplicates + outcome.rejected.length;
}

describe("ElasticsearchDocumentSink against the emulation, with the real client", () => {
  const es = new ElasticsearchEmulator({
    rejectDocument: (doc) =>
      (doc.event as { id?: string } | undefined)?.id === raw[7]?.id
        ? "[1:2] failed to parse field [jumpcloud.event.mfa] of type [boolean]"
        : undefined,
  });
  let client: Client;

  beforeAll(async () => {
    client = await testClient(await es.start());
  });
  afterEach(() => {
    es.clearFaults();
    es.streams.clear();
    es.requests.length = 0;
  });
  afterAll(() => es.stop());

  const bulkRequests = () => es.requests.filter((r) => r.path === "/_bulk");
  const stored = () => es.documents(STREAM).length;

  it("creates each document once with its fingerprint _id, and a re-send gives only duplicates", async () => {
    const first = await testSink(client).index(items);
    expect(first.indexed).toBe(59);
    expect(first.rejected).toHaveLength(1);
    expect(stored()).toBe(59);
    expect(es.documents(STREAM).map((d) => d._id)).toContain(items[0]?.id);

    const again = await testSink(client).index(items);
    expect(again).toMatchObject({ indexed: 0, duplicates: 59 });
    expect(again.rejected).toHaveLength(1);
    expect(stored()).toBe(59);
  });

  it("sends create actions to the data stream with pipeline=_none", async () => {
    await testSink(client).index(items.slice(0, 2));
    const [request] = bulkRequests();
    expect(request?.query.pipeline).toBe("_none");
    const [action] = (request?.body ?? "").split("\n");
    expect(JSON.parse(action as string)).toStrictEqual({ create: { _index: STREAM, _id: items[0]?.id } });
    expect(request?.headers["content-type"]).toMatch(/x-ndjson; compatible-with=8/);
  });

  it("dead-letters a mapping rejection with its type and reason, and stores the rest", async () => {
    const outcome = await testSink(client).index(items);
    expect(outcome.rejected).toStrictEqual([
      {
        item: items[7],
        status: 400,
        type: "document_parsing_exception",
        reason: "[1:2] failed to parse field [jumpcloud.event.mfa] of type [boolean]",
      },
    ]);
    expect(outcome.rejected[0]?.item.id).toBe(REJECTED_ID);
    expect(accounted(outcome)).toBe(items.length);
  });

  it.each(["item-429", "item-503"] as const)("retries only the items refused with %s", async (kind) => {
    es.inject({ kind }, 10);
    const outcome = await testSink(client).index(items);
    expect(outcome.indexed).toBe(59);
    expect(accounted(outcome)).toBe(items.length);
    const requests = bulkRequests();
    expect(requests).toHaveLength(2);
    expect((requests[1]?.body ?? "").trim().split("\n")).toHaveLength(20);
  });

  it.each([
    ["a whole-request 503", { kind: "status", status: 503 } as const],
    ["a whole-request 429", { kind: "status", status: 429 } as const],
    ["a connection reset", { kind: "reset" } as const],
  ])("retries %s and stores everything exactly once", async (_name, fault) => {
    es.inject(fault, 2, "/_bulk");
    const outcome = await testSink(client).index(items);
    expect(accounted(outcome)).toBe(items.length);
    expect(outcome.indexed + outcome.duplicates).toBe(59);
    expect(stored()).toBe(59);
  });

  it("retries a response slower than the timeout; what the slow attempt stored comes back as duplicates", async () => {
    const slowClient = await testClient(es.url, { ELASTICSEARCH_REQUEST_TIMEOUT: "1s" });
    es.inject({ kind: "delay", ms: 3_000 }, 1, "/_bulk");
    const outcome = await testSink(slowClient).index(items);
    expect(bulkRequests().length).toBeGreaterThanOrEqual(2);
    expect(accounted(outcome)).toBe(items.length);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(stored()).toBe(59);
  });

  it("stores documents without id or timestamp once, even when an answer is lost after they were stored", async () => {
    const idless = itemsFor([{ event_type: "a" }, { event_type: "b" }, "not an event"]);
    for (const item of idless) expect(item.id).toMatch(/^raw-[\w-]{32}$/);
    es.inject({ kind: "store-then-reset" }, 1, "/_bulk");
    const outcome = await testSink(client).index(idless);
    expect(outcome).toMatchObject({ indexed: 0, duplicates: 3 });
    await testSink(client).index(idless);
    expect(stored()).toBe(3);
  });

  it("counts pipeline-error documents among the indexed only", async () => {
    const mixed = itemsFor(["not an event", raw[0], "[1]"]);
    expect(await testSink(client).index(mixed)).toMatchObject({
      indexed: 3,
      pipelineErrors: 2,
      withoutGeo: 0,
      withoutPipeline: 0,
      duplicates: 0,
    });
    expect(await testSink(client).index(mixed)).toMatchObject({
      indexed: 0,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
      duplicates: 3,
    });
  });

  it("fails the batch, without dead letters, when items are refused for missing privileges", async () => {
    es.inject({ kind: "item-403" }, 5);
    const error = await testSink(client)
      .index(items)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElasticsearchRequestError);
    expect((error as ElasticsearchRequestError).status).toBe(403);
    expect(String(error)).toMatch(/security_exception/);
  });

  it("vouches for nothing when the answer does not match the request", async () => {
    es.inject({ kind: "drop-item" }, 1, "/_bulk");
    await expect(testSink(client).index(items)).rejects.toBeInstanceOf(ElasticsearchResponseError);
  });

  it("fails when Elasticsearch keeps refusing items past the retry budget, acknowledging nothing", async () => {
    es.inject({ kind: "item-429" }, 10_000);
    const error = await testSink(client)
      .index(items)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElasticsearchUnavailableError);
    expect(String((error as Error).message)).toMatch(
      /60 document\(s\) still not stored after 5 attempt\(s\)/,
    );
  });

  it("fails when the cluster is unreachable", async () => {
    const dead = await testClient("http://127.0.0.1:9");
    const error = await testSink(dead)
      .index(items)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElasticsearchUnavailableError);
    expect(String((error as Error).message)).toMatch(/connection error/);
  });

  it("fails at once, typed, when the cluster refuses the credentials", async () => {
    es.inject(
      {
        kind: "status",
        status: 401,
        body: { error: { type: "security_exception", reason: "unable to authenticate" }, status: 401 },
      },
      1,
      "/_bulk",
    );
    const error = await testSink(client)
      .index(items)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElasticsearchRequestError);
    expect((error as ElasticsearchRequestError).status).toBe(401);
    expect(bulkRequests()).toHaveLength(1);
  });

  it("splits batches by bytes", async () => {
    const outcome = await testSink(client, { maxBatchBytes: 20_000 }).index(items);
    expect(accounted(outcome)).toBe(items.length);
    const requests = bulkRequests();
    expect(requests.length).toBeGreaterThan(2);
    for (const r of requests) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(20_000);
  });

  it("sends a page's batches a few at once (at most `concurrency`), asking only for what it reads", async () => {
    es.latencyMs = 30;
    let inFlight = 0;
    let most = 0;
    const counting = new Proxy(client, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        if (name !== "bulk") return value;
        return async (...args: unknown[]) => {
          most = Math.max(most, ++inFlight);
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            inFlight--;
          }
        };
      },
    });
    try {
      const outcome = await testSink(counting, { maxBatchBytes: 10_000, concurrency: 3 }).index(items);
      expect(accounted(outcome)).toBe(items.length);
      expect(outcome.indexed).toBe(59);
      expect(bulkRequests().length).toBeGreaterThan(3);
      expect(most).toBe(3);
      expect(bulkRequests().every((r) => r.query.filter_path?.includes("items.*.status"))).toBe(true);
    } finally {
      es.latencyMs = 0;
    }
  });

  it("halves a batch the cluster finds too large (413), and dead-letters a single oversized document", async () => {
    es.inject({ kind: "status", status: 413 }, 1, "/_bulk");
    const outcome = await testSink(client).index(items);
    expect(outcome.indexed).toBe(59);
    es.streams.clear();
    es.inject({ kind: "status", status: 413 }, 100, "/_bulk");
    const alone = await testSink(client).index(items.slice(0, 1));
    expect(alone.rejected[0]).toMatchObject({ status: 413, type: "request_entity_too_large" });
  });

  it("compresses request bodies when asked", async () => {
    const gzip = await testClient(es.url, { ELASTICSEARCH_COMPRESSION: "true" });
    await new ElasticsearchDocumentSink(gzip, { dataStream: STREAM, retry: FAST_RETRY }).index(
      items.slice(0, 3),
    );
    expect(bulkRequests()[0]?.headers["content-encoding"]).toBe("gzip");
    expect(stored()).toBe(3);
  });
});

describe("FileDocumentSink", () => {
  it("stores each _id once and counts pipeline-error documents among the indexed only", async () => {
    const sink = new FileDocumentSink(mkdtempSync(join(tmpdir(), "docs-")), STREAM);
    const mixed = itemsFor(["not an event", raw[0], "[1]", raw[0]]);
    expect(await sink.index(mixed)).toStrictEqual({
      indexed: 3,
      pipelineErrors: 2,
      withoutGeo: 0,
      withoutPipeline: 0,
      duplicates: 1,
      rejected: [],
    });
    expect(await sink.index(mixed)).toStrictEqual({
      indexed: 0,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
      duplicates: 4,
      rejected: [],
    });
  });
});
