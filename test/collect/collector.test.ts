import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckpointStore } from "../../lib/collect/checkpoint.ts";
import {
  type CollectOptions,
  Collector,
  type CollectSummary,
  checkpointKey,
  parseCheckpointKey,
} from "../../lib/collect/collector.ts";
import { type BatchDelivery, InProcessDelivery } from "../../lib/collect/delivery.ts";
import { DynamoDbCheckpointStore } from "../../lib/collect/dynamodb-checkpoint-store.ts";
import { FileCheckpointStore } from "../../lib/collect/file-checkpoint-store.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { MapperInvocationError } from "../../lib/errors.ts";
import { ApiKeyAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../../lib/jumpcloud/client.ts";
import { silentLogger } from "../../lib/logger.ts";
import type { BatchContext } from "../../lib/pipeline/index-events.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import {
  JumpcloudSimulator,
  type JumpcloudSimulator as Simulator,
} from "../../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { startDynalite } from "../helpers/dynalite.ts";
import { testClient, testSink } from "../helpers/elasticsearch.ts";

const ORG = "5f0c0c0c0c0c0c0c0c0c0c0c";
const KEY = "collector-test-key-123";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.parse("2026-05-01T12:00:00Z");
const STREAM = "logs-jumpcloud.events-default";

const OPTIONS: Omit<CollectOptions, "key"> = {
  services: ["all"],
  pageLimit: 100,
  windows: { sourceLag: MINUTE, overlap: 5 * MINUTE, maxWindow: HOUR, initialLookback: 6 * HOUR },
  safetyMarginMs: 1_000,
  leaseMs: 10 * MINUTE,
  backfillConcurrency: 1,
  maxEventsPerWindow: 50_000,
};

/** One tenant, the simulated API, an emulated cluster, and a controllable clock. */
class World {
  clock = NOW;
  sim: Simulator;
  es = new ElasticsearchEmulator();
  store: CheckpointStore;
  delivery!: BatchDelivery;
  source!: DirectoryInsightsClient;
  deliveries = 0;

  constructor(events: GeneratedEvent[], options: { delay?: number; store?: CheckpointStore } = {}) {
    this.sim = new JumpcloudSimulator({
      tenants: [{ orgId: ORG, events }],
      keys: [{ key: KEY, orgs: [ORG] }],
      ...(options.delay !== undefined && { ingestionDelay: () => options.delay as number }),
      now: () => this.clock,
    });
    this.store =
      options.store ?? new FileCheckpointStore(join(mkdtempSync(join(tmpdir(), "collector-")), "cp.json"));
  }

  async start(): Promise<this> {
    const apiUrl = await this.sim.start();
    this.source = new DirectoryInsightsClient({ apiUrl, auth: new ApiKeyAuthenticator(KEY) });
    const es = await testClient(await this.es.start());
    const inner = new InProcessDelivery({
      mapper: new EcsMapper(),
      sink: testSink(es),
      deadLetters: new FileDeadLetterSink(mkdtempSync(join(tmpdir(), "dl-"))),
      now: () => new Date(this.clock),
    });
    this.delivery = {
      deliver: async (events, context, signal) => {
        this.deliveries++;
        return inner.deliver(events, context, signal);
      },
    };
    return this;
  }

  async stop(): Promise<void> {
    await this.sim.stop();
    await this.es.stop();
  }

  run(
    options: Partial<CollectOptions> = {},
    deps: {
      remainingMs?: () => number;
      delivery?: BatchDelivery;
      owner?: string;
      stop?: AbortSignal;
    } = {},
  ) {
    const key = options.key ?? checkpointKey(ORG, ["all"], options.replay);
    return new Collector(
      {
        source: this.source,
        store: this.store,
        delivery: deps.delivery ?? this.delivery,
        logger: silentLogger,
        owner: deps.owner ?? `run-${Math.random()}`,
        now: () => this.clock,
        remainingMs: deps.remainingMs ?? (() => Number.POSITIVE_INFINITY),
        ...(deps.stop && { stop: deps.stop }),
      },
      { ...OPTIONS, orgId: ORG, ...options, key },
    ).run();
  }

  stored(): Set<string> {
    return new Set(this.es.documents(STREAM).map((d) => (d._source.event as { id: string }).id));
  }
}

const tenant = (count: number, start = NOW - 6 * HOUR, end = NOW - 2 * MINUTE, seed = 5) =>
  generateTenantEvents({ seed, start, end, count, organization: ORG });

const ids = (events: GeneratedEvent[]) => new Set(events.map((g) => g.event.id as string));

describe("checkpoint keys", () => {
  it.each([
    [undefined, ["all"], undefined],
    [ORG, ["sso", "directory"], undefined],
    [ORG, ["all"], { start: NOW - HOUR, end: NOW }],
  ])("reads back what checkpointKey wrote (%s %s %o)", (orgId, services, replay) => {
    const key = checkpointKey(orgId, services, replay);
    expect(parseCheckpointKey(key)).toStrictEqual({
      orgId,
      services: [...services].sort(),
      ...(replay && { replay }),
    });
  });

  it.each(["", "x", "a#b#other", "a#b#replay#nope#2026-01-01T00:00:00Z", "a#b#scheduled#extra"])(
    "refuses a key it did not write: %j",
    (key) => expect(parseCheckpointKey(key)).toBeUndefined(),
  );
});

describe("collector", () => {
  it("collects a tenant from the initial lookback to now − lag, every event once, and a second run finds nothing new", async () => {
    const events = tenant(1_234);
    const w = await new World(events).start();
    try {
      const first = await w.run();
      expect(first).toMatchObject({
        status: "caught-up",
        fetched: 1_234,
        counts: { indexed: 1_234, duplicates: 0 },
        workRemaining: false,
      });
      expect(first.cursorAfter).toBe(new Date(NOW - MINUTE).toISOString());
      const saved = await w.store.get(checkpointKey(ORG, ["all"]));
      expect(saved?.stats).toMatchObject({ windows: first.windows, fetched: 1_234, counts: first.counts });
      expect(w.stored()).toStrictEqual(ids(events));

      const second = await w.run();
      expect(second.counts.indexed).toBe(0);
      expect(second.windows).toBe(1); // only the overlap is read again
    } finally {
      await w.stop();
    }
  });

  it("indexes late-arriving events once, thanks to the overlap", async () => {
    const events = tenant(600, NOW - 2 * HOUR, NOW - 2 * MINUTE);
    // Every event becomes visible 3 minutes after its time: later than the 1 minute lag.
    const w = await new World(events, { delay: 3 * MINUTE }).start();
    try {
      const early = await w.run();
      expect(early.fetched).toBeLessThan(600);
      w.clock += 10 * MINUTE; // the late ones are visible now, and still inside the overlap
      await w.run();
      expect(w.stored()).toStrictEqual(ids(events));
      expect(w.es.documents(STREAM)).toHaveLength(600);
    } finally {
      await w.stop();
    }
  });

  it.each([1, 3, 7, 12])(
    "resumes after a run cut off after %i page(s), ending with every event exactly once",
    async (cut) => {
      const events = tenant(1_500);
      const w = await new World(events).start();
      try {
        let budget = cut;
        const cutOff = await w.run(
          {},
          { remainingMs: () => (w.deliveries >= budget ? 0 : Number.POSITIVE_INFINITY) },
        );
        expect(cutOff.status).toBe("work-remaining");
        expect(cutOff.workRemaining).toBe(true);
        const saved = await w.store.get(checkpointKey(ORG, ["all"]));
        expect(saved?.leaseOwner).toBeUndefined();
        budget = Number.POSITIVE_INFINITY;
        const rest = await w.run();
        expect(rest.status).toBe("caught-up");
        expect(w.stored()).toStrictEqual(ids(events));
        // At most the page in flight when cut off comes again.
        expect(cutOff.counts.indexed + rest.counts.indexed).toBe(1_500);
        expect(rest.counts.duplicates).toBeLessThanOrEqual(OPTIONS.pageLimit);
      } finally {
        await w.stop();
      }
    },
  );

  it("never moves the cursor past events the mapper did not acknowledge", async () => {
    const events = tenant(800);
    const w = await new World(events).start();
    try {
      let calls = 0;
      const failing: BatchDelivery = {
        deliver: async (batch, context, signal) => {
          if (++calls === 4) throw new MapperInvocationError("mapper Lambda failed");
          return w.delivery.deliver(batch, context, signal);
        },
      };
      await expect(w.run({}, { delivery: failing })).rejects.toBeInstanceOf(MapperInvocationError);
      const after = await w.store.get(checkpointKey(ORG, ["all"]));
      expect(after?.leaseOwner).toBeUndefined();
      // Whatever is behind the cursor, or behind the saved page, is stored.
      const safe = events.filter((g) => after?.cursor !== undefined && g.at < after.cursor);
      for (const id of ids(safe)) expect(w.stored().has(id)).toBe(true);
      expect(w.stored().size).toBeLessThan(800);
      await w.run();
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });

  it("saves a page's position only after the mapper acknowledged it (a failure mid-window)", async () => {
    const events = tenant(550, NOW - 50 * MINUTE, NOW - 2 * MINUTE, 17);
    const w = await new World(events).start();
    try {
      let calls = 0;
      const failing: BatchDelivery = {
        deliver: async (batch, context, signal) => {
          if (++calls === 3) throw new MapperInvocationError("mapper down");
          return w.delivery.deliver(batch, context, signal);
        },
      };
      await expect(w.run({}, { delivery: failing })).rejects.toBeInstanceOf(MapperInvocationError);
      const saved = await w.store.get(checkpointKey(ORG, ["all"]));
      expect(saved?.progress).toMatchObject([{ pages: 2 }]);
      expect(saved?.cursor ?? 0).toBeLessThanOrEqual((events[0] as GeneratedEvent).at);
      const order = w.sim.allEvents(ORG).map((e) => e.id as string);
      expect(w.stored()).toStrictEqual(new Set(order.slice(0, 200)));
      await w.run();
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });

  it("reads a window again from its start when JumpCloud refuses the saved position", async () => {
    const events = tenant(550, NOW - 50 * MINUTE, NOW - 2 * MINUTE, 18);
    const w = await new World(events).start();
    try {
      await w.run({}, { remainingMs: () => (w.deliveries >= 2 ? 0 : Number.POSITIVE_INFINITY) });
      expect((await w.store.get(checkpointKey(ORG, ["all"])))?.progress[0]?.searchAfter).toBeDefined();
      w.sim.inject(
        { kind: "status", status: 400, body: JSON.stringify({ message: "invalid search_after" }) },
        1,
        "/events",
      );
      w.deliveries = -1_000;
      const rest = await w.run();
      expect(rest.status).toBe("caught-up");
      expect(rest.counts.duplicates).toBeGreaterThanOrEqual(200);
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });

  it("does not advance when the API keeps failing, then catches up", async () => {
    const events = tenant(500);
    const w = await new World(events).start();
    try {
      w.sim.inject({ kind: "status", status: 503 }, 1_000);
      const fast = new DirectoryInsightsClient({
        apiUrl: w.sim.baseUrl,
        auth: new ApiKeyAuthenticator(KEY),
        http: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 1_000 } },
      });
      const original = w.source;
      w.source = fast;
      await expect(w.run()).rejects.toThrow(/failed after 2 attempt/);
      expect((await w.store.get(checkpointKey(ORG, ["all"])))?.cursor).toBeUndefined();
      w.sim.clearFaults();
      w.source = original;
      await w.run();
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });

  it("replays a window (all duplicates) without moving the scheduled cursor, and a cut-off replay resumes", async () => {
    const events = tenant(900);
    const w = await new World(events).start();
    try {
      await w.run();
      const scheduled = await w.store.get(checkpointKey(ORG, ["all"]));
      const replay = { start: NOW - 5 * HOUR, end: NOW - 2 * HOUR };
      const inReplay = events.filter((g) => g.at >= replay.start && g.at < replay.end).length;

      const cut = await w.run(
        { replay },
        { remainingMs: () => (w.deliveries >= 2 ? 0 : Number.POSITIVE_INFINITY) },
      );
      expect(cut.status).toBe("work-remaining");
      w.deliveries = -1_000;
      const rest = await w.run({ replay });
      expect(rest.status).toBe("caught-up");
      expect(cut.counts.duplicates + rest.counts.duplicates).toBeGreaterThanOrEqual(inReplay);
      expect(cut.counts.indexed + rest.counts.indexed).toBe(0);
      expect((await w.store.get(checkpointKey(ORG, ["all"], replay)))?.done).toBe(true);
      expect(await w.store.get(checkpointKey(ORG, ["all"]))).toMatchObject({ cursor: scheduled?.cursor });
      const again = await w.run({ replay });
      expect(again.fetched).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it.each([
    ["one window at a time", 1],
    ["catching up with several windows at once", 4],
  ])(
    "stops when told (Ctrl-C) %s: page in flight abandoned, lease released, nothing lost on the next run",
    async (_, concurrency) => {
      const events = tenant(3_000, NOW - 20 * HOUR, NOW - 2 * MINUTE, 12);
      const w = await new World(events).start();
      try {
        const stop = new AbortController();
        const options = {
          windows: { ...OPTIONS.windows, initialLookback: 21 * HOUR },
          backfillConcurrency: concurrency,
          maxEventsPerWindow: 400,
        };
        // Stopped while the third page is being delivered: that page must not count as done.
        const delivery: BatchDelivery = {
          deliver: async (batch, context, signal) => {
            if (w.deliveries === 2) stop.abort();
            return w.delivery.deliver(batch, context, signal);
          },
        };
        const cut = await w.run(options, { delivery, stop: stop.signal });
        expect(cut.status).toBe("interrupted");
        expect(cut.workRemaining).toBe(true);
        const saved = await w.store.get(checkpointKey(ORG, ["all"]));
        expect(saved?.leaseOwner).toBeUndefined();
        expect(w.stored().size).toBeLessThan(events.length);
        // Everything the cursor passed was stored.
        const passed = events.filter((g) => g.at < (saved?.cursor ?? 0));
        for (const g of passed) expect(w.stored().has(g.event.id as string)).toBe(true);

        const rest = await w.run(options, { owner: "next" });
        expect(rest.status).toBe("caught-up");
        expect(w.stored()).toStrictEqual(ids(events));
        expect(w.es.documents(STREAM)).toHaveLength(events.length);
      } finally {
        await w.stop();
      }
    },
  );

  it("starts a changed service list at the org's previous cursor, not the initial lookback", async () => {
    const events = tenant(600);
    const w = await new World(events).start();
    try {
      const all = await w.run();
      const narrowed = await w.run({ key: checkpointKey(ORG, ["sso"]), services: ["sso"] });
      expect(narrowed.cursorBefore).toBe(all.cursorAfter);
      // Only the overlap was read again: all duplicates.
      expect(narrowed.counts.indexed).toBe(0);
      expect(narrowed.fetched).toBeLessThan(events.length / 10);
      // A backfill asks for the initial lookback on purpose.
      const fresh = await w.run({
        key: checkpointKey(ORG, ["radius"]),
        services: ["radius"],
        carryCursorOver: false,
      });
      expect(fresh.cursorBefore).toBeUndefined();
      expect(fresh.fetched).toBe(events.filter((g) => g.event.service === "radius").length);
    } finally {
      await w.stop();
    }
  });

  it("finds the org's previous checkpoint by key reads alone: a run never scans the table", async () => {
    const events = tenant(600);
    const file = new FileCheckpointStore(join(mkdtempSync(join(tmpdir(), "collector-")), "cp.json"));
    // The collector's role may read and update items, not scan (infra/constructs/functions.ts).
    const store: CheckpointStore = Object.assign(Object.create(file) as CheckpointStore, {
      list: () => Promise.reject(new Error("AccessDeniedException: not authorized to perform dynamodb:Scan")),
    });
    const w = await new World(events, { store }).start();
    try {
      const all = await w.run();
      expect(all.status).toBe("caught-up");
      const narrowed = await w.run({ key: checkpointKey(ORG, ["sso"]), services: ["sso"] });
      expect(narrowed.cursorBefore).toBe(all.cursorAfter);
      expect(await store.get(checkpointKey(ORG, ["sso"]))).toMatchObject({ registered: true });
    } finally {
      await w.stop();
    }
  });

  it.each([
    ["the org index", "registerScheduled"],
    ["the first save", "save"],
  ] as const)("gives the lease back when %s fails before any window is read", async (_, method) => {
    const file = new FileCheckpointStore(join(mkdtempSync(join(tmpdir(), "collector-")), "cp.json"));
    let failures = 1;
    const store: CheckpointStore = Object.assign(Object.create(file) as CheckpointStore, {
      [method]: (...args: unknown[]) =>
        failures-- > 0
          ? Promise.reject(new Error("AccessDeniedException: denied"))
          : (file[method] as (...a: unknown[]) => Promise<unknown>).apply(file, args),
    });
    const w = await new World(tenant(300), { store }).start();
    try {
      await expect(w.run()).rejects.toThrow(/AccessDenied/);
      expect((await store.get(checkpointKey(ORG, ["all"])))?.leaseOwner).toBeUndefined();
      // The next run is not "locked" out for a lease duration: it collects.
      const next = await w.run();
      expect(next.status).toBe("caught-up");
      expect(w.stored().size).toBe(300);
    } finally {
      await w.stop();
    }
  });

  it("tells the mapper when the batch is abandoned (the run's deadline), and nothing locally", async () => {
    const w = await new World(tenant(300)).start();
    try {
      const contexts: BatchContext[] = [];
      const delivery: BatchDelivery = {
        deliver: (events, context, signal) => {
          contexts.push(context);
          return w.delivery.deliver(events, context, signal);
        },
      };
      const before = Date.now();
      await w.run({}, { delivery, remainingMs: () => 600_000 });
      const after = Date.now();
      expect(contexts.length).toBeGreaterThan(0);
      for (const { deadline } of contexts) {
        // Half the safety margin (1 s) before the end: when the collector abandons requests.
        const at = Date.parse(deadline as string);
        expect(at).toBeGreaterThanOrEqual(before + 600_000 - 500);
        expect(at).toBeLessThanOrEqual(after + 600_000 - 500);
      }
      contexts.length = 0;
      await w.run({ key: "local" }, { delivery });
      expect(contexts.length).toBeGreaterThan(0);
      expect(contexts.every((c) => c.deadline === undefined)).toBe(true);
    } finally {
      await w.stop();
    }
  });

  it("backfills a large tenant with several windows at once, busy ones in parts, to the exact event set", async () => {
    const events = tenant(6_000, NOW - 30 * HOUR, NOW - 2 * MINUTE, 9);
    const w = await new World(events).start();
    try {
      const summary = await w.run({
        windows: { ...OPTIONS.windows, initialLookback: 31 * HOUR },
        backfillConcurrency: 4,
        maxEventsPerWindow: 120,
        pageLimit: 50,
      });
      expect(summary.status).toBe("caught-up");
      expect(summary.windows).toBeGreaterThanOrEqual(30);
      expect(w.stored()).toStrictEqual(ids(events));
      expect(summary.counts.indexed).toBe(6_000);
      // About 200 events an hour: each window's first page showed it busy, and it was read in parts,
      // sized from that page: no count request.
      const pages = w.sim.requests.filter((r) => r.path === "/events");
      const spans = pages.map((r) => {
        const body = r.body as { start_time: string; end_time: string };
        return Date.parse(body.end_time) - Date.parse(body.start_time);
      });
      expect(w.sim.requests.filter((r) => r.path === "/events/count")).toHaveLength(0);
      expect(spans.filter((span) => span < HOUR).length).toBeGreaterThanOrEqual(30);
    } finally {
      await w.stop();
    }
  });

  it("reads the parts of one busy window at once", async () => {
    const events = tenant(2_000, NOW - 59 * MINUTE, NOW - 2 * MINUTE, 19);
    const w = await new World(events).start();
    try {
      let inFlight = 0;
      let most = 0;
      const delivery: BatchDelivery = {
        deliver: async (batch, context, signal) => {
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          return w.delivery.deliver(batch, context, signal);
        },
      };
      const summary = await w.run(
        {
          windows: { ...OPTIONS.windows, initialLookback: HOUR },
          backfillConcurrency: 4,
          maxEventsPerWindow: 200,
        },
        { delivery },
      );
      expect(summary.status).toBe("caught-up");
      expect(w.stored()).toStrictEqual(ids(events));
      expect(summary.windows).toBe(1);
      expect(most).toBe(4);
    } finally {
      await w.stop();
    }
  });

  it("acknowledges backfill windows in cursor order, so a failure leaves no gap behind the cursor", async () => {
    const events = tenant(3_000, NOW - 20 * HOUR, NOW - 2 * MINUTE, 10);
    const w = await new World(events).start();
    try {
      let calls = 0;
      const failing: BatchDelivery = {
        deliver: async (batch, context, signal) => {
          if (++calls === 9) throw new MapperInvocationError("boom");
          try {
            return await w.delivery.deliver(batch, context, signal);
          } catch (error) {
            // As the Lambda delivery reports a sibling stopped by the failure.
            if (signal?.aborted) throw new MapperInvocationError("invoking mapper failed: Request aborted");
            throw error;
          }
        },
      };
      const options = {
        windows: { ...OPTIONS.windows, initialLookback: 21 * HOUR },
        backfillConcurrency: 4,
        pageLimit: 1_000,
      };
      // The failure that stopped the others is the one reported.
      await expect(w.run(options, { delivery: failing })).rejects.toThrow(/^boom$/);
      const cursor = (await w.store.get(checkpointKey(ORG, ["all"])))?.cursor;
      // Everything before the cursor is stored.
      const before = events.filter((g) => cursor !== undefined && g.at < cursor);
      for (const id of ids(before)) expect(w.stored().has(id)).toBe(true);
      await w.run(options);
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });
});

describe("catch-up progress", () => {
  const CATCH_UP = {
    windows: { ...OPTIONS.windows, initialLookback: 25 * HOUR },
    backfillConcurrency: 4,
    pageLimit: 50,
  };

  it("resumes every window of a cut-off catch-up at its last acknowledged page", async () => {
    const events = tenant(4_000, NOW - 24 * HOUR, NOW - 2 * MINUTE, 21);
    const w = await new World(events).start();
    try {
      let sent = 0;
      const counting: BatchDelivery = {
        deliver: async (batch, context, signal) => {
          sent += batch.length;
          return w.delivery.deliver(batch, context, signal);
        },
      };
      const cut = await w.run(CATCH_UP, {
        delivery: counting,
        remainingMs: () => (w.deliveries >= 12 ? 0 : Number.POSITIVE_INFINITY),
      });
      expect(cut.status).toBe("work-remaining");
      const saved = await w.store.get(checkpointKey(ORG, ["all"]));
      // Several windows were in flight, each with its own position.
      expect(saved?.progress.filter((p) => p.searchAfter !== undefined).length).toBeGreaterThan(1);
      const rest = await w.run(CATCH_UP, { delivery: counting });
      expect(rest.status).toBe("caught-up");
      expect(w.stored()).toStrictEqual(ids(events));
      // Read again: only the pages in flight at the cut-off (one per window at most) and the overlap.
      const overlap = events.filter((e) => e.at >= NOW - 2 * MINUTE - 5 * MINUTE).length;
      expect(sent - events.length).toBeLessThanOrEqual(4 * 50 + overlap + 50);
    } finally {
      await w.stop();
    }
  });

  it("finishes a window too big for one run over several runs, never re-reading it from the start", async () => {
    const events = tenant(1_000, NOW - 50 * MINUTE, NOW - 2 * MINUTE, 22);
    const w = await new World(events).start();
    try {
      let runs = 0;
      for (;;) {
        const before = w.deliveries;
        // Each run has time for three pages of one huge window only.
        const summary = await w.run(
          { pageLimit: 50 },
          { remainingMs: () => (w.deliveries - before >= 3 ? 0 : Number.POSITIVE_INFINITY) },
        );
        runs++;
        if (summary.status === "caught-up" || runs > 20) break;
      }
      expect(runs).toBeGreaterThanOrEqual(7);
      expect(runs).toBeLessThanOrEqual(9);
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });

  it("asks the mapper to look up events that may be stored already: the overlap, resumed windows, replays", async () => {
    const events = tenant(300, NOW - 3 * HOUR, NOW - 2 * MINUTE, 23);
    const w = await new World(events).start();
    const contexts: BatchContext[] = [];
    const recording: BatchDelivery = {
      deliver: (batch, context, signal) => {
        contexts.push(context);
        return w.delivery.deliver(batch, context, signal);
      },
    };
    try {
      await w.run({}, { delivery: recording });
      // The first run ever: nothing was sent before.
      expect(contexts.every((c) => c.rereadBefore === undefined)).toBe(true);
      contexts.length = 0;
      w.clock += 30 * MINUTE;
      await w.run({}, { delivery: recording });
      const cursor = NOW - MINUTE;
      // The overlap window: events before the last cursor are looked up, later ones are not.
      expect(contexts[0]?.rereadBefore).toBe(new Date(cursor).toISOString());
      contexts.length = 0;
      await w.run({ replay: { start: NOW - 2 * HOUR, end: NOW - HOUR } }, { delivery: recording });
      expect(contexts.map((c) => c.rereadBefore)).toContain(new Date(NOW - HOUR).toISOString());
    } finally {
      await w.stop();
    }
  });
});

describe("rollover", () => {
  it("stores no event twice when the data stream rolls over between two runs (the overlap is looked up)", async () => {
    const events = tenant(600, NOW - 3 * HOUR, NOW - 2 * MINUTE, 25);
    // Late by 3 minutes: the overlap of the second run re-reads many of the first run's events.
    const w = await new World(events, { delay: 3 * MINUTE }).start();
    try {
      await w.run();
      w.es.rollover(STREAM);
      w.clock += 10 * MINUTE;
      const second = await w.run();
      expect(second.counts.duplicates).toBeGreaterThan(0);
      expect(w.es.duplicateIds(STREAM)).toStrictEqual([]);
      expect(w.es.backingIndices(STREAM)).toHaveLength(2);
      expect(w.stored()).toStrictEqual(ids(events));
    } finally {
      await w.stop();
    }
  });
});

describe("events later than the overlap", () => {
  async function collectFor(hours: number, recheckAfter: number) {
    const events = tenant(400, NOW - 6 * HOUR, NOW - 2 * MINUTE, 24);
    // Every event becomes visible 90 minutes after its time: far beyond the 5-minute overlap.
    const w = await new World(events, { delay: 90 * MINUTE }).start();
    let late = 0;
    try {
      for (let t = 0; t <= hours * 2; t++) {
        const summary = await w.run({ recheckAfter });
        late += summary.lateEvents;
        w.clock += 30 * MINUTE;
      }
      // Never stored twice: as many documents as distinct events.
      expect(w.es.documents(STREAM)).toHaveLength(w.stored().size);
      return { stored: w.stored(), expected: ids(events), late };
    } finally {
      await w.stop();
    }
  }

  it("are lost without the trailing re-read (what RECHECK_AFTER=0 means)", async () => {
    const { stored, expected } = await collectFor(4, 0);
    expect(stored.size).toBeLessThan(expected.size);
  });

  it("are stored once by the trailing re-read, and counted as late", async () => {
    const { stored, expected, late } = await collectFor(4, 2 * HOUR);
    expect(stored).toStrictEqual(expected);
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThan(expected.size);
  });
});

describe("collector lease on DynamoDB (dynalite)", () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(() => db.stop());

  it("lets only one of two concurrent runs work", async () => {
    const events = tenant(700);
    const w = await new World(events, { store: new DynamoDbCheckpointStore(db.client, db.table) }).start();
    try {
      const [a, b] = await Promise.all([w.run({}, { owner: "a" }), w.run({}, { owner: "b" })]);
      const statuses = [a, b].map((s: CollectSummary) => s.status).sort();
      expect(statuses).toStrictEqual(["caught-up", "locked"]);
      expect(w.stored()).toStrictEqual(ids(events));
      expect(a.counts.indexed + b.counts.indexed).toBe(700);
    } finally {
      await w.stop();
    }
  });
});
