import { gzipSync } from "node:zlib";
import { type Client, errors } from "@elastic/elasticsearch";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ElasticsearchEmulator,
  type EsEmulatorOptions,
  type StoredDocument,
} from "../../simulators/elasticsearch/server.ts";
import { itemsFor, rawEvents, testClient, testSink } from "../helpers/elasticsearch.ts";

const STREAM = "logs-jumpcloud.events-default";
const NOW = Date.parse("2026-03-04T10:00:00Z");
const FIRST = ".ds-logs-jumpcloud.events-default-2026.03.04-000001";
const SECOND = ".ds-logs-jumpcloud.events-default-2026.03.04-000002";

/** A started emulator (fixed clock) and the project's client on it; stopped after the file. */
function emulated(options: EsEmulatorOptions = {}, env: Record<string, string> = {}) {
  const es = new ElasticsearchEmulator({ now: () => NOW, ...options });
  const ctx = { es, client: undefined as unknown as Client };
  beforeAll(async () => {
    ctx.client = await testClient(await es.start(), env);
  });
  afterEach(() => {
    es.restore();
    es.latencyMs = 0;
    es.streams.clear();
    es.requests.length = 0;
  });
  afterAll(() => es.stop());
  return ctx;
}

const doc = (id: string, extra: object = {}) => ({
  "@timestamp": "2026-03-04T09:00:00.000Z",
  event: { id },
  ...extra,
});

/** `create` operations for `docs` into `index`, by `_id`. */
function creates(docs: Record<string, object>, index = STREAM): object[] {
  return Object.entries(docs).flatMap(([id, source]) => [{ create: { _index: index, _id: id } }, source]);
}

/** The single item of a one-document bulk. */
async function createOne(client: Client, id: string, source: object, index = STREAM) {
  const response = await client.bulk({ operations: creates({ [id]: source }, index) });
  return response.items[0]?.create;
}

async function refusal(promise: Promise<unknown>): Promise<errors.ResponseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(errors.ResponseError);
  return error as errors.ResponseError;
}

describe("data streams: backing indices, _id uniqueness per write index, rollover", () => {
  const t = emulated();

  it("creates the stream on the first create, with a backing index named as real ES names it", async () => {
    const item = await createOne(t.client, "a", doc("a"));
    expect(item).toMatchObject({ _index: FIRST, _id: "a", _version: 1, result: "created", status: 201 });
    expect(t.es.backingIndices(STREAM)).toStrictEqual([FIRST]);
    const { data_streams } = await t.client.indices.getDataStream({ name: STREAM });
    expect(data_streams).toMatchObject([
      {
        name: STREAM,
        generation: 1,
        indices: [{ index_name: FIRST }],
        timestamp_field: { name: "@timestamp" },
      },
    ]);
  });

  it("refuses a second copy in the same write index with 409, and stores it again after a rollover", async () => {
    await createOne(t.client, "a", doc("a"));
    expect(await createOne(t.client, "a", doc("a"))).toMatchObject({
      _index: FIRST,
      _id: "a",
      status: 409,
      error: {
        type: "version_conflict_engine_exception",
        reason: "[a]: version conflict, document already exists (current version [1])",
        index: FIRST,
      },
    });

    const rolled = await t.client.indices.rollover({ alias: STREAM });
    expect(rolled).toStrictEqual({
      acknowledged: true,
      shards_acknowledged: true,
      old_index: FIRST,
      new_index: SECOND,
      rolled_over: true,
      dry_run: false,
      lazy: false,
      conditions: {},
    });
    expect(await createOne(t.client, "a", doc("a"))).toMatchObject({ _index: SECOND, status: 201 });
    expect(await createOne(t.client, "a", doc("a"))).toMatchObject({ _index: SECOND, status: 409 });

    expect(t.es.ids(STREAM)).toStrictEqual(["a", "a"]);
    expect(t.es.duplicateIds(STREAM)).toStrictEqual(["a"]);
    expect(t.es.documents(STREAM).map((d) => d._index)).toStrictEqual([FIRST, SECOND]);
    expect(t.es.documents(SECOND)).toHaveLength(1);
    expect(t.es.backingIndices(STREAM)).toStrictEqual([FIRST, SECOND]);
  });

  it("rolls over programmatically too, and refuses to roll over a stream that does not exist", async () => {
    await createOne(t.client, "a", doc("a"));
    expect(t.es.rollover(STREAM)).toStrictEqual({ oldIndex: FIRST, newIndex: SECOND });
    expect(() => t.es.rollover("logs-nope-default")).toThrow("no data stream [logs-nope-default]");
    const error = await refusal(t.client.indices.rollover({ alias: "logs-nope-default" }));
    expect(error.statusCode).toBe(400);
    expect(error.body).toMatchObject({
      error: {
        type: "illegal_argument_exception",
        reason: "rollover target [logs-nope-default] does not exist",
      },
    });
  });

  it("rolls over only when a max_docs condition is met, and not at all on dry_run", async () => {
    await t.client.bulk({ operations: creates({ a: doc("a"), b: doc("b") }) });
    const unmet = await t.client.indices.rollover({ alias: STREAM, conditions: { max_docs: 3 } });
    expect(unmet).toMatchObject({
      rolled_over: false,
      acknowledged: false,
      conditions: { "[max_docs: 3]": false },
    });
    const dry = await t.client.indices.rollover({ alias: STREAM, dry_run: true });
    expect(dry).toMatchObject({ rolled_over: false, dry_run: true, old_index: FIRST, new_index: SECOND });
    expect(t.es.backingIndices(STREAM)).toStrictEqual([FIRST]);
    const met = await t.client.indices.rollover({ alias: STREAM, conditions: { max_docs: 2 } });
    expect(met).toMatchObject({
      rolled_over: true,
      new_index: SECOND,
      conditions: { "[max_docs: 2]": true },
    });
  });

  it("refuses create aimed at a backing index, as real ES does", async () => {
    await createOne(t.client, "a", doc("a"));
    expect(await createOne(t.client, "b", doc("b"), FIRST)).toMatchObject({
      status: 400,
      error: {
        type: "illegal_argument_exception",
        reason: `index request with op_type=create targeting backing indices is disallowed, target corresponding data stream [${STREAM}] instead`,
      },
    });
    expect(t.es.ids(STREAM)).toStrictEqual(["a"]);
  });

  it("refuses other operations per item, reading a delete as the one line it is", async () => {
    const response = await t.client.bulk({
      operations: [{ delete: { _index: STREAM, _id: "a" } }, ...creates({ b: doc("b") })],
    });
    expect(response.items.map((i) => Object.entries(i).map(([op, r]) => [op, r.status]))).toStrictEqual([
      [["delete", 400]],
      [["create", 201]],
    ]);
    expect(response.items[0]?.delete?.error?.reason).toBe(
      "only write ops with an op_type of create are allowed in data streams",
    );
  });

  it("keeps seeding through `streams`: a seeded entry is the write index, and replacing it drops the history", async () => {
    const seeded = (id: string): StoredDocument => ({ _index: STREAM, _id: id, _source: {} });
    t.es.streams.set(STREAM, new Map([["s", seeded("s")]]));
    expect(await createOne(t.client, "s", doc("s"))).toMatchObject({ _index: FIRST, status: 409 });
    t.es.rollover(STREAM);
    expect(t.es.backingIndices(STREAM)).toHaveLength(2);

    t.es.streams.set(STREAM, new Map());
    expect(t.es.backingIndices(STREAM)).toStrictEqual([FIRST]);
    expect(await createOne(t.client, "s", doc("s"))).toMatchObject({ status: 201 });
    t.es.streams.clear();
    expect(t.es.documents(STREAM)).toStrictEqual([]);
  });
});

describe("_search and _count across a data stream", () => {
  const t = emulated();
  const ids = (hits: { _id?: string }[]) => hits.map((h) => h._id);

  // `a` stored twice (before and after a rollover), `b` and `c` once.
  async function twice() {
    await t.client.bulk({ operations: creates({ a: doc("a", { tags: ["x"] }), b: doc("b") }) });
    t.es.rollover(STREAM);
    await t.client.bulk({ operations: creates({ a: doc("a"), c: doc("c") }) });
  }

  it("finds every copy of an _id with an ids query, each hit naming its backing index", async () => {
    await twice();
    const found = await t.client.search({ index: STREAM, query: { ids: { values: ["a", "zz"] } } });
    expect(found.hits.total).toStrictEqual({ value: 2, relation: "eq" });
    expect(found.hits.hits).toStrictEqual([
      { _index: FIRST, _id: "a", _score: 1, _source: doc("a", { tags: ["x"] }) },
      { _index: SECOND, _id: "a", _score: 1, _source: doc("a") },
    ]);
    expect(found._shards).toMatchObject({ total: 2, failed: 0 });
  });

  it("answers terms on _id, size and _source: false, on the stream, a pattern or one backing index", async () => {
    await twice();
    const query = { terms: { _id: ["a", "c"] } };
    const page = await t.client.search({ index: "logs-jumpcloud.events-*", query, size: 1, _source: false });
    expect(page.hits.total).toStrictEqual({ value: 3, relation: "eq" });
    expect(page.hits.hits).toStrictEqual([{ _index: FIRST, _id: "a", _score: 1 }]);
    const second = await t.client.search({ index: SECOND, query, _source: false });
    expect(ids(second.hits.hits)).toStrictEqual(["a", "c"]);
    const all = await t.client.search({ index: STREAM });
    expect(ids(all.hits.hits)).toStrictEqual(["a", "b", "a", "c"]);
  });

  it("filters _source by includes and excludes, with wildcards", async () => {
    await twice();
    const included = await t.client.search({
      index: STREAM,
      query: { ids: { values: ["b"] } },
      _source: ["event.*"],
    });
    expect(included.hits.hits[0]?._source).toStrictEqual({ event: { id: "b" } });
    const excluded = await t.client.search({
      index: STREAM,
      query: { ids: { values: ["b"] } },
      _source: { excludes: ["event"] },
    });
    expect(excluded.hits.hits[0]?._source).toStrictEqual({ "@timestamp": "2026-03-04T09:00:00.000Z" });
  });

  it("matches term, exists and bool on source fields", async () => {
    await twice();
    const term = await t.client.search({ index: STREAM, query: { term: { "event.id": "b" } } });
    expect(ids(term.hits.hits)).toStrictEqual(["b"]);
    const bool = await t.client.search({
      index: STREAM,
      query: {
        bool: { filter: [{ ids: { values: ["a", "b"] } }], must_not: [{ exists: { field: "tags" } }] },
      },
    });
    expect(bool.hits.hits.map((h) => [h._index, h._id])).toStrictEqual([
      [FIRST, "b"],
      [SECOND, "a"],
    ]);
  });

  it("counts with or without a query", async () => {
    await twice();
    expect((await t.client.count({ index: STREAM })).count).toBe(4);
    expect((await t.client.count({ index: STREAM, query: { ids: { values: ["a"] } } })).count).toBe(2);
    expect((await t.client.count({ index: FIRST })).count).toBe(2);
  });

  it("answers 404 for a concrete name that does not exist, and nothing for a pattern that matches none", async () => {
    await twice();
    const missing = await refusal(t.client.search({ index: "logs-nope-default" }));
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toMatchObject({
      error: { type: "index_not_found_exception", reason: "no such index [logs-nope-default]" },
    });
    const none = await t.client.search({ index: "logs-nope-*" });
    expect(none.hits.total).toStrictEqual({ value: 0, relation: "eq" });
    const ignored = await t.client.count({ index: `logs-nope-default,${STREAM}`, ignore_unavailable: true });
    expect(ignored.count).toBe(4);
  });

  it("counts hits exactly up to 10 000 by default, and refuses a result window past 10 000", async () => {
    t.es.streams.set(
      STREAM,
      new Map(
        Array.from({ length: 10_001 }, (_, n) => [`d${n}`, { _index: STREAM, _id: `d${n}`, _source: {} }]),
      ),
    );
    const capped = await t.client.search({ index: STREAM, size: 0 });
    expect(capped.hits.total).toStrictEqual({ value: 10_000, relation: "gte" });
    const exact = await t.client.search({ index: STREAM, size: 0, track_total_hits: true });
    expect(exact.hits.total).toStrictEqual({ value: 10_001, relation: "eq" });
    const tooFar = await refusal(t.client.search({ index: STREAM, from: 9_999, size: 2 }));
    expect(tooFar.statusCode).toBe(400);
    expect(JSON.stringify(tooFar.body)).toContain("Result window is too large");
  });

  it("refuses a query it does not know as real ES does", async () => {
    await twice();
    const error = await refusal(t.client.search({ index: STREAM, query: { fuzzy_unknown: {} } as never }));
    expect(error.statusCode).toBe(400);
    expect(error.body).toMatchObject({
      error: { type: "parsing_exception", reason: "unknown query [fuzzy_unknown]" },
    });
  });
});

describe("index.mapping.depth.limit", () => {
  // Objects `l1` … `l<depth>`, each inside the previous one.
  const nested = (depth: number): object => {
    let inner: object = { leaf: 1 };
    for (let n = depth; n >= 1; n--) inner = { [`l${n}`]: inner };
    return { "@timestamp": "t", ...inner };
  };
  const path = (depth: number) => Array.from({ length: depth }, (_, n) => `l${n + 1}`).join(".");

  describe("default (20)", () => {
    const t = emulated();

    it("stores 19 nested objects and refuses 20 per item with document_parsing_exception", async () => {
      const response = await t.client.bulk({ operations: creates({ ok: nested(19), deep: nested(20) }) });
      expect(response.items[0]?.create).toMatchObject({ _id: "ok", status: 201 });
      const cause = `Limit of mapping depth [20] has been exceeded due to object field [${path(20)}]`;
      expect(response.items[1]?.create).toMatchObject({
        _index: FIRST,
        _id: "deep",
        status: 400,
        error: {
          type: "document_parsing_exception",
          caused_by: { type: "illegal_argument_exception", reason: cause },
        },
      });
      expect(response.items[1]?.create?.error?.reason).toMatch(
        new RegExp(`^\\[1:\\d+\\] failed to parse: ${cause.replace(/[.[\]]/g, "\\$&")}$`),
      );
      expect(t.es.ids(STREAM)).toStrictEqual(["ok"]);
    });
  });

  describe("set to 3", () => {
    const t = emulated({ mappingDepthLimit: 3 });
    const reason = async (source: object) => (await createOne(t.client, "x", source))?.error;

    it("names the first object too deep and where its value starts (line:byte column)", async () => {
      expect(await reason({ "@timestamp": "t", a: { b: { c: {} } } })).toStrictEqual({
        type: "document_parsing_exception",
        reason:
          "[1:33] failed to parse: Limit of mapping depth [3] has been exceeded due to object field [a.b.c]",
        caused_by: {
          type: "illegal_argument_exception",
          reason: "Limit of mapping depth [3] has been exceeded due to object field [a.b.c]",
        },
        index_uuid: expect.any(String),
        shard: "0",
        index: FIRST,
      });
      // é is two bytes: the column counts bytes, as Jackson's does.
      expect((await reason({ "@timestamp": "é", a: { b: { c: {} } } }))?.reason).toMatch(/^\[1:34\] /);
    });

    it("counts dotted keys as the objects they expand to, and arrays as nothing", async () => {
      expect((await reason({ "@timestamp": "t", "a.b": { c: 1 } }))?.reason).toBeUndefined();
      expect((await reason({ "@timestamp": "t", "a.b.c.d": 1 }))?.reason).toMatch(
        /object field \[a\.b\.c\]$/,
      );
      expect((await reason({ "@timestamp": "t", a: [{ b: [[{ c: {} }]] }] }))?.reason).toMatch(
        /object field \[a\.b\.c\]$/,
      );
      expect(t.es.ids(STREAM)).toStrictEqual(["x"]);
    });
  });
});

describe("outages, latency and http.max_content_length", () => {
  const t = emulated({ maxContentLength: 2_000 }, { ELASTICSEARCH_COMPRESSION: "false" });

  it("answers every request 503 for the requests an outage lasts, GET / included", async () => {
    t.es.outage({ kind: "503", requests: 2 });
    const down = await refusal(t.client.info());
    expect(down.statusCode).toBe(503);
    expect(down.body).toMatchObject({ error: { type: "cluster_block_exception" }, status: 503 });
    expect((await refusal(t.client.bulk({ operations: creates({ a: doc("a") }) }))).statusCode).toBe(503);
    expect((await t.client.info()).version.number).toBe("8.15.0");
    expect(t.es.requests.map((r) => r.status)).toStrictEqual([503, 503, 200]);
    expect(t.es.documents(STREAM)).toStrictEqual([]);
  });

  it("drops every connection until restored", async () => {
    t.es.outage({ kind: "reset" });
    await expect(t.client.info()).rejects.toBeInstanceOf(errors.ConnectionError);
    await expect(t.client.ping()).rejects.toBeInstanceOf(errors.ConnectionError);
    t.es.restore();
    expect(await t.client.ping()).toBe(true);
    expect(t.es.requests.map((r) => r.status)).toStrictEqual([-1, -1, 200]);
  });

  it("delays every request by latencyMs, and carries out one whose client gave up", async () => {
    const impatient = await testClient(t.es.url, { ELASTICSEARCH_REQUEST_TIMEOUT: "100ms" });
    t.es.latencyMs = 1_000;
    await expect(impatient.bulk({ operations: creates({ a: doc("a") }) })).rejects.toBeInstanceOf(
      errors.TimeoutError,
    );
    await vi.waitFor(() => expect(t.es.ids(STREAM)).toStrictEqual(["a"]), { timeout: 20_000 });
    t.es.latencyMs = 0;
    expect((await impatient.info()).tagline).toBe("You Know, for Search");
  });

  it("answers 413 with an empty body past max_content_length, and accepts a body of exactly the limit", async () => {
    const bulk = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${t.es.url}/_bulk`, {
        method: "POST",
        body,
        headers: { "content-type": "application/x-ndjson", ...headers },
      });
    const action = `${JSON.stringify({ create: { _index: STREAM, _id: "a" } })}\n`;
    const exact = `${action}${JSON.stringify(doc("a", { pad: "" }))}\n`;
    const body = exact.replace('"pad":""', `"pad":"${"x".repeat(2_000 - exact.length)}"`);
    expect(Buffer.byteLength(body)).toBe(2_000);
    expect((await bulk(body)).status).toBe(200);

    const over = await bulk(`${body} `);
    expect(over.status).toBe(413);
    expect(over.headers.get("content-length")).toBe("0");
    expect(await over.text()).toBe("");
    // The limit counts the body decompressed, as Elasticsearch's does.
    const zipped = gzipSync(`${body} `);
    expect(zipped.length).toBeLessThan(2_000);
    expect((await bulk(zipped as unknown as string, { "content-encoding": "gzip" })).status).toBe(413);
    expect(t.es.requests.map((r) => [r.status, r.body.length])).toStrictEqual([
      [200, 2_000],
      [413, 0],
      [413, 0],
    ]);
  });

  it("gives the official client and the sink a 413 they split on, until every document fits", async () => {
    const error = await refusal(
      t.client.bulk({ operations: creates({ a: doc("a", { pad: "x".repeat(3_000) }) }) }),
    );
    expect(error.statusCode).toBe(413);
    const items = itemsFor(rawEvents(6));
    const outcome = await testSink(t.client).index(items);
    expect(outcome).toMatchObject({ indexed: 6, duplicates: 0, rejected: [] });
    expect(t.es.requests.some((r) => r.status === 413)).toBe(true);
  });
});

describe("lean mode (retainSources: false)", () => {
  const t = emulated({ retainSources: false });

  it("keeps only _index and _id, records no request bodies, and still refuses duplicates", async () => {
    const response = await t.client.bulk({ operations: creates({ a: doc("a"), b: doc("b"), c: doc("a") }) });
    expect(response.items.map((i) => i.create?.status)).toStrictEqual([201, 201, 201]);
    expect((await createOne(t.client, "a", doc("a")))?.status).toBe(409);
    expect(t.es.documents(STREAM).map((d) => [d._index, d._id, d._source])).toStrictEqual([
      [FIRST, "a", {}],
      [FIRST, "b", {}],
      [FIRST, "c", {}],
    ]);
    expect(t.es.requests.map((r) => r.body)).toStrictEqual(["", ""]);
    const found = await t.client.search({ index: STREAM, query: { ids: { values: ["b"] } } });
    expect(found.hits.hits).toStrictEqual([{ _index: FIRST, _id: "b", _score: 1 }]);
  });
});

describe("filter_path", () => {
  const ctx = emulated();

  it("keeps only the matching leaves of an answer, as Elasticsearch does", async () => {
    const response = await ctx.client.bulk({
      operations: creates({ a: doc("a"), b: doc("b") }),
      filter_path: ["errors", "items.*.status"],
    });
    expect(response).toStrictEqual({
      errors: false,
      items: [{ create: { status: 201 } }, { create: { status: 201 } }],
    });
    const none = await ctx.client.bulk({ operations: creates({ c: doc("c") }), filter_path: "nothing.here" });
    expect(none).toStrictEqual({});
  });
});
