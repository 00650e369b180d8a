import { afterEach, describe, expect, it } from "vitest";
import { ElasticsearchDocumentSink } from "../../lib/elasticsearch/sink.ts";
import type { Logger } from "../../lib/logger.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { FAST_RETRY, itemsFor, rawEvents, testClient } from "../helpers/elasticsearch.ts";

const STREAM = "logs-jumpcloud.events-default";
// Later than every generated event: everything counts as a possible re-read.
const ALL = Date.parse("2030-01-01T00:00:00Z");

describe("re-read events looked up across the data stream (rollover)", () => {
  let es: ElasticsearchEmulator;
  const started: ElasticsearchEmulator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((e) => e.stop()));
  });

  async function sinkOn(
    emulator: ElasticsearchEmulator,
    options: { lookUpExisting?: "all" | "rereads" | "off" } = {},
  ) {
    es = emulator;
    started.push(emulator);
    const warnings: string[] = [];
    const logger = { ...console, warn: (m: string) => warnings.push(m) } as unknown as Logger;
    const client = await testClient(await es.start());
    const sink = new ElasticsearchDocumentSink(client, {
      dataStream: STREAM,
      retry: FAST_RETRY,
      sleep: async () => undefined,
      logger,
      ...options,
    });
    return { sink, warnings };
  }

  it("counts events stored before a rollover as duplicates, never storing them twice", async () => {
    const { sink } = await sinkOn(new ElasticsearchEmulator());
    const items = itemsFor(rawEvents(30, 41));
    expect((await sink.index(items.slice(0, 20))).indexed).toBe(20);
    es.rollover(STREAM);
    const again = await sink.index(items, undefined, { rereadBefore: ALL });
    expect(again).toMatchObject({ indexed: 10, duplicates: 20, rejected: [] });
    expect(es.duplicateIds(STREAM)).toStrictEqual([]);
    expect(es.ids(STREAM)).toHaveLength(30);
    expect(es.backingIndices(STREAM)).toHaveLength(2);
  });

  it("by default looks every document up: data stored by someone else before a rollover is not stored again", async () => {
    const { sink } = await sinkOn(new ElasticsearchEmulator());
    const items = itemsFor(rawEvents(12, 46));
    // As if Elastic Agent (same `_id`s) had shipped half of them before the rollover.
    await sink.index(items.slice(0, 6));
    es.rollover(STREAM);
    expect(await sink.index(items)).toMatchObject({ indexed: 6, duplicates: 6 });
    expect(es.duplicateIds(STREAM)).toStrictEqual([]);
  });

  it("shows the hole it closes: create alone stores the same event again after a rollover", async () => {
    const { sink } = await sinkOn(new ElasticsearchEmulator(), { lookUpExisting: "off" });
    const items = itemsFor(rawEvents(5, 42));
    await sink.index(items);
    es.rollover(STREAM);
    // No lookup: the new backing index takes them all.
    expect((await sink.index(items, undefined, { rereadBefore: ALL })).indexed).toBe(5);
    expect(es.duplicateIds(STREAM)).toHaveLength(5);
  });

  it("with rereads, looks up only documents older than rereadBefore; nothing when turned off", async () => {
    const { sink } = await sinkOn(new ElasticsearchEmulator(), { lookUpExisting: "rereads" });
    const items = itemsFor(rawEvents(10, 43));
    await sink.index(items);
    es.rollover(STREAM);
    const searches = () => es.requests.filter((r) => r.path.endsWith("/_search")).length;
    await sink.index(items, undefined, { rereadBefore: 0 });
    await sink.index(items);
    expect(searches()).toBe(0);
    const off = await sinkOn(new ElasticsearchEmulator(), { lookUpExisting: "off" });
    await off.sink.index(items, undefined, { rereadBefore: ALL });
    expect(es.requests.filter((r) => r.path.endsWith("/_search"))).toHaveLength(0);
  });

  it("falls back to create alone, saying so once, when the key may not read the data stream", async () => {
    const { sink, warnings } = await sinkOn(new ElasticsearchEmulator());
    const items = itemsFor(rawEvents(4, 44));
    await sink.index(items);
    es.inject(
      { kind: "status", status: 403, body: { error: { type: "security_exception" } } },
      1,
      `/${STREAM}/_search`,
    );
    const again = await sink.index(items, undefined, { rereadBefore: ALL });
    expect(again).toMatchObject({ indexed: 0, duplicates: 4 });
    await sink.index(items, undefined, { rereadBefore: ALL });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/grant it read on the data stream/);
  });

  it("retries a lookup the cluster cannot answer yet, then fails the batch unacknowledged", async () => {
    const { sink } = await sinkOn(new ElasticsearchEmulator());
    const items = itemsFor(rawEvents(3, 45));
    es.inject({ kind: "status", status: 503 }, 2, `/${STREAM}/_search`);
    expect((await sink.index(items, undefined, { rereadBefore: ALL })).indexed).toBe(3);
    es.inject({ kind: "status", status: 503 }, 100, `/${STREAM}/_search`);
    await expect(sink.index(items, undefined, { rereadBefore: ALL })).rejects.toThrow(
      /looking up 3 re-read document\(s\) .* failed after 5 attempt/,
    );
  });
});
