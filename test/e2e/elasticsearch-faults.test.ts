import { afterEach, describe, expect, it } from "vitest";
import type { EsFault } from "../../simulators/elasticsearch/server.ts";
import { Random } from "../../simulators/jumpcloud/random.ts";
import { ingestionDelays } from "../../simulators/jumpcloud/server.ts";
import { ES_ARN, HOUR, idOf, MINUTE, STREAM, T0, tenant, World, type WorldOptions } from "./harness.ts";

// The Elasticsearch side of the promise: whatever the cluster does, every event is stored once or
// dead-lettered with the cluster's reason, and the collector only moves on what the mapper vouched for.
const ORG = "5f1e2e2e2e2e2e2e2e2e2e22";
const N = 300;
// The look-ups' switch, by its old name and its new one (a variable the schema does not know is ignored).
const LOOKUPS_OFF = { LOOKUP_REREADS: "false", LOOKUP_EXISTING: "off" };
const oneOrg = (seed: number, extra: Partial<WorldOptions> = {}): WorldOptions => ({
  orgs: [{ orgId: ORG, events: tenant(ORG, N, seed) }],
  seed,
  ...extra,
});

describe("Elasticsearch faults, end to end through the collector and mapper handlers", () => {
  let world: World | undefined;
  afterEach(async () => world?.stop());

  const start = async (options: WorldOptions) => {
    world = await new World(options).start();
    return world;
  };

  /** Serves `fault` `times` times from the `at`-th mapper invocation on (mid-run, not at start-up). */
  const injectAt = (w: World, at: number, fault: EsFault, times: number) => {
    const path = fault.kind.startsWith("item-") ? undefined : "/_bulk";
    w.mapper.onInvoke = (n) => {
      if (n === at) w.es.inject(fault, times, path);
    };
  };

  // What shows the fault was served: the failed requests, or for the faults that answer 200 (or
  // never answer), what the documents went through.
  const failedBulks = (w: World) =>
    w.es.requests.filter((r) => r.path === "/_bulk" && r.status !== 200).length;
  const duplicates = (w: World) => w.mapper.invocations.reduce((n, i) => n + (i.result?.duplicates ?? 0), 0);
  const failedInvocations = (w: World) => w.mapper.invocations.filter((i) => i.error).length;

  it.each<[string, EsFault, number, boolean, (w: World) => number]>([
    [
      "item-level 429s",
      { kind: "item-429" },
      60,
      false,
      (w) => w.logs.filter((l) => l.message === "retrying _bulk").length,
    ],
    [
      "item-level 503s",
      { kind: "item-503" },
      60,
      false,
      (w) => w.logs.filter((l) => l.message === "retrying _bulk").length,
    ],
    ["a burst of whole-request 503s", { kind: "status", status: 503 }, 4, false, failedBulks],
    ["whole-request 503s past the retry budget", { kind: "status", status: 503 }, 40, true, failedBulks],
    ["whole-request 429s", { kind: "status", status: 429 }, 3, false, failedBulks],
    ["connection resets", { kind: "reset" }, 3, false, failedBulks],
    ["requests stored, then the connection dropped", { kind: "store-then-reset" }, 2, false, duplicates],
    ["an answer with one item too few", { kind: "drop-item" }, 1, true, failedInvocations],
    [
      "a privilege refused on an item (the batch fails, no dead letter)",
      { kind: "item-403" },
      1,
      true,
      failedInvocations,
    ],
  ])("%s: every event stored once", async (_, fault, times, failsARun, served) => {
    // One window at a time: a burst then meets one invocation, so whether a run fails is certain.
    const w = await start(oneOrg(31, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    injectAt(w, 3, fault, times);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
    expect(w.deadLetters()).toStrictEqual([]);
    expect(w.runs.some((r) => r.error !== undefined)).toBe(failsARun);
    expect(served(w)).toBeGreaterThan(0);
  });

  it("the look-ups across the data stream failing for a while: retried, every event stored once", async () => {
    const w = await start(oneOrg(30, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    w.mapper.onInvoke = (n) => {
      if (n === 2) w.es.inject({ kind: "status", status: 503 }, 3, `/${STREAM}/_search`);
    };
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(w.es.requests.filter((r) => r.path.endsWith("/_search") && r.status === 503)).toHaveLength(3);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
  });

  it("a request stored and then lost counts its documents as duplicates when sent again", async () => {
    const w = await start(oneOrg(32, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    injectAt(w, 2, { kind: "store-then-reset" }, 1);
    await w.runUntilCaughtUp();
    const second = w.mapper.invocations.find((i) => i.n === 2);
    expect(second?.result?.duplicates).toBe(second?.events.length);
    expect(await w.violations()).toStrictEqual([]);
  });

  it.each<"503" | "reset">(["503", "reset"])(
    "down (%s) for several runs, then back: nothing moves while it is down, then everything lands once",
    async (kind) => {
      const w = await start(oneOrg(33));
      w.es.outage({ kind });
      const down = [await w.tick(), await w.tick(), await w.tick()].flat();
      expect(down.every((r) => r.error !== undefined)).toBe(true);
      expect((await w.checkpoint())?.cursor).toBeUndefined();
      w.es.restore();
      expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
      expect(await w.violations()).toStrictEqual([]);
      expect(w.storedIds().size).toBe(N);
    },
  );

  it("rolled over between runs: events read again (overlap, replay) are not stored a second time", async () => {
    const events = tenant(ORG, N, 40, T0 - 2 * HOUR, T0 + 30 * MINUTE);
    const w = await start({
      orgs: [{ orgId: ORG, events }],
      ingestionDelay: ingestionDelays.uniform(0, 4 * MINUTE),
    });
    const result = await w.runUntilCaughtUp({
      before: (tick) => (tick === 3 || tick === 6 ? w.rollover() : undefined),
    });
    expect(result.caughtUp).toBe(true);
    await w.invoke({
      replay: { start: new Date(T0 - 2 * HOUR).toISOString(), end: new Date(T0).toISOString() },
    });
    expect(w.es.backingIndices(STREAM)).toHaveLength(3);
    expect(w.es.duplicateIds(STREAM)).toStrictEqual([]);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
  });

  it("without the look-ups (LOOKUP_EXISTING=off), the same rollover stores events twice: the checks see it", async () => {
    const events = tenant(ORG, N, 40, T0 - 2 * HOUR, T0 + 30 * MINUTE);
    const w = await start({ orgs: [{ orgId: ORG, events }], mapperEnv: LOOKUPS_OFF });
    await w.runUntilCaughtUp({ before: (tick) => (tick === 3 ? w.rollover() : undefined) });
    await w.invoke({
      replay: { start: new Date(T0 - 2 * HOUR).toISOString(), end: new Date(T0).toISOString() },
    });
    expect(w.es.duplicateIds(STREAM).length).toBeGreaterThan(0);
    expect(await w.violations()).toContainEqual(expect.stringMatching(/stored 2 times/));
  });

  // Elasticsearch keeps an `_id` unique per backing index only. These two failed (stored twice)
  // while only events a checkpoint read *again* were looked up across the data stream
  // (LOOKUP_REREADS): an event stored by someone else before the last rollover (Elastic Agent, or
  // a replay run ahead of the scheduled cursor) was created again in the new write index when
  // the checkpoint first read it. They guard LOOKUP_EXISTING=all (the default), which looks up
  // every document.
  it("a cluster that already holds part of the data, rolled over since: nothing is stored twice", async () => {
    const events = tenant(ORG, N, 36);
    const random = new Random(36);
    const w = await start({ orgs: [{ orgId: ORG, events }] });
    await w.preload(events.filter(() => random.chance(0.3)));
    await w.rollover();
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("a replay ahead of the scheduled cursor, a rollover, then the scheduled run: nothing stored twice", async () => {
    const w = await start(oneOrg(43));
    const replayed = await w.invoke({
      replay: { start: new Date(T0 - 2 * HOUR).toISOString(), end: new Date(T0 - HOUR).toISOString() },
    });
    expect(replayed.response?.mode === "collected" && replayed.response.summaries[0]?.status).toBe(
      "caught-up",
    );
    await w.rollover();
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("slow past the request timeout: retried, and what the slow request stored counts once", async () => {
    const w = await start(oneOrg(34, { mapperEnv: { ELASTICSEARCH_REQUEST_TIMEOUT: "250ms" } }));
    // undici checks its headers timeout on a coarse (~0.5 s) timer: the delay leaves it no doubt.
    injectAt(w, 2, { kind: "delay", ms: 2_000 }, 2);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(w.logs.some((l) => l.message === "retrying _bulk")).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
  });

  it("refused documents are dead-lettered with the cluster's reason, the rest stored once", async () => {
    const events = tenant(ORG, N, 35);
    const random = new Random(35);
    const refused = new Set(events.filter(() => random.chance(0.05)).map((g) => g.event.id));
    const reason = "failed to parse field [jumpcloud.event.resource.id] of type [keyword]";
    const w = await start({
      orgs: [{ orgId: ORG, events }],
      elasticsearch: {
        rejectDocument: (doc) => (refused.has((doc.event as { id?: unknown }).id) ? reason : undefined),
      },
    });
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    const letters = w.deadLetters();
    expect(new Set(letters.map((l) => l.id))).toStrictEqual(
      new Set(events.filter((g) => refused.has(g.event.id)).map((g) => idOf(g.event))),
    );
    expect(new Set(letters.map((l) => l.reason))).toStrictEqual(new Set([reason]));
    expect(w.acknowledgedCounts().deadLettered).toBe(refused.size);
  });

  it("a cluster already holding part of the data: those count as duplicates and are not stored again", async () => {
    const events = tenant(ORG, N, 36);
    const random = new Random(36);
    const shipped = events.filter(() => random.chance(0.4));
    const w = await start({ orgs: [{ orgId: ORG, events }] });
    await w.preload(shipped);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.acknowledgedCounts()).toMatchObject({ indexed: N - shipped.length, duplicates: shipped.length });
  });

  it("413 on a large batch (http.max_content_length): halved until it fits, nothing lost", async () => {
    const w = await start(
      oneOrg(37, { collectorEnv: { PAGE_LIMIT: "200" }, elasticsearch: { maxContentLength: 30_000 } }),
    );
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(w.runs.filter((r) => r.error)).toStrictEqual([]);
    expect(w.es.requests.some((r) => r.path === "/_bulk" && r.status === 413)).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.deadLetters()).toStrictEqual([]);
  });

  it("a document larger than http.max_content_length alone: dead-lettered with the reason", async () => {
    const events = tenant(ORG, 200, 38);
    const big = events[77];
    if (big) big.event.message = "y".repeat(40_000);
    const w = await start({ orgs: [{ orgId: ORG, events }], elasticsearch: { maxContentLength: 30_000 } });
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.deadLetters()).toStrictEqual([
      expect.objectContaining({
        id: idOf(big?.event),
        reason: expect.stringMatching(/exceeds the cluster's http.max_content_length/),
      }),
    ]);
  });

  it("the dead-letter bucket unwritable for a while: nothing refused is acknowledged until its letter is kept", async () => {
    const events = tenant(ORG, N, 41);
    const refused = new Set(events.filter((_, i) => i % 40 === 7).map((g) => g.event.id));
    const w = await start({
      orgs: [{ orgId: ORG, events }],
      elasticsearch: {
        rejectDocument: (doc) =>
          refused.has((doc.event as { id?: unknown }).id) ? "mapping conflict" : undefined,
      },
    });
    w.s3.failing.add("PutObjectCommand");
    const blocked = [await w.tick(), await w.tick()].flat();
    expect(blocked.every((r) => r.error !== undefined)).toBe(true);
    w.s3.failing.clear();
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.deadLetters()).toHaveLength(refused.size);
  });

  it("deployed before its secret was filled: every run fails, nothing moves; filled, it catches up", async () => {
    const w = await start(oneOrg(42));
    w.unfill(ES_ARN);
    const unfilled = [await w.tick(), await w.tick()].flat();
    expect(unfilled.every((r) => /secret not filled yet/.test(String(r.error)))).toBe(true);
    expect((await w.checkpoint())?.cursor).toBeUndefined();
    w.fill();
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
  });

  it("its API key rotated mid-run: the refused batch fails, the next invocation reads the secret again", async () => {
    const w = await start(oneOrg(39));
    w.mapper.onInvoke = (n) => {
      if (n === 3) w.rotateElasticsearchKey("es-e2e-key-0002");
    };
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(w.es.requests.some((r) => r.status === 401)).toBe(true);
    expect(w.secrets.reads.filter((arn) => arn === ES_ARN).length).toBeGreaterThanOrEqual(2);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(N);
  });
});
