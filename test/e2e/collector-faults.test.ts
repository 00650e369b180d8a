import { afterEach, describe, expect, it } from "vitest";
import type { CollectorRequest } from "../../functions/collector/handler.ts";
import { JumpcloudAuthenticationError, LeaseLostError } from "../../lib/errors.ts";
import { Random } from "../../simulators/jumpcloud/random.ts";
import type { MapperFault } from "./aws-doubles.ts";
import {
  HOUR,
  idOf,
  MINUTE,
  type RunRecord,
  SCHEDULE_MS,
  T0,
  tenant,
  World,
  type WorldOptions,
} from "./harness.ts";

// The collector's side of the promise: cut off, killed, run twice at once, replayed, fanned out
// over orgs or let down by its mapper, it stores every event once and never moves its checkpoint
// backwards or past an event the mapper did not acknowledge.
const ORG = "5f1e2e2e2e2e2e2e2e2e2e33";
const oneOrg = (count: number, seed: number, extra: Partial<WorldOptions> = {}): WorldOptions => ({
  orgs: [{ orgId: ORG, events: tenant(ORG, count, seed) }],
  seed,
  ...extra,
});
const summaries = (records: readonly RunRecord[]) =>
  records.flatMap((r) => (r.response?.mode === "collected" ? r.response.summaries : []));

describe("the collector cut off, killed, doubled and let down, end to end", () => {
  let world: World | undefined;
  afterEach(async () => world?.stop());

  const start = async (options: WorldOptions) => {
    world = await new World(options).start();
    return world;
  };

  it.each(["1", "4"])(
    "cut off by the Lambda deadline at random pages (backfill concurrency %s): resumes, every event once",
    async (concurrency) => {
      const w = await start(
        oneOrg(500, 41, { collectorEnv: { BACKFILL_CONCURRENCY: concurrency, PAGE_LIMIT: "25" } }),
      );
      const random = new Random(41);
      const result = await w.runUntilCaughtUp({
        plan: (tick) => (tick <= 10 ? { cutAfterPages: random.int(1, 5) } : {}),
      });
      expect(result.caughtUp).toBe(true);
      expect(summaries(w.runs).filter((s) => s.status === "work-remaining").length).toBeGreaterThan(2);
      expect(await w.violations()).toStrictEqual([]);
      expect(w.storedIds().size).toBe(500);
    },
  );

  it("killed during a page (no answer, lease left held): the next runs wait for the lease, then resume", async () => {
    const w = await start(oneOrg(500, 42, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    const result = await w.runUntilCaughtUp({
      plan: (tick) => (tick === 1 || tick === 3 ? { killAfterPages: 3 } : {}),
    });
    expect(result.caughtUp).toBe(true);
    expect(w.runs.filter((r) => r.killed)).toHaveLength(2);
    expect(summaries(w.runs).some((s) => s.status === "locked")).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(500);
  });

  it("a catch-up killed after a few pages in every run still moves its checkpoint (resumes at the page)", async () => {
    const w = await start(oneOrg(600, 43, { collectorEnv: { PAGE_LIMIT: "20" } }));
    // Every run dies after 4 pages; the lease makes every other tick wait.
    for (let tick = 0; tick < 8; tick++) await w.tick({ killAfterPages: 4 });
    const cursor = (await w.checkpoint())?.cursor;
    expect(cursor).toBeGreaterThan(T0 - 6 * HOUR);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("two scheduled runs at once: one works, the other finds the lease taken; every event once", async () => {
    const w = await start(oneOrg(500, 44));
    // The run that takes the lease waits in its first page until the other one has answered.
    const release = w.mapper.holdAt(1);
    w.clock += SCHEDULE_MS;
    const both = [w.invoke({}), w.invoke({})];
    const first = await Promise.race(both);
    expect(summaries([first])[0]?.status).toBe("locked");
    release();
    await Promise.all(both);
    const result = await w.runUntilCaughtUp({ plan: () => ({ alongside: [{}] }) });
    expect(result.caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(500);
  });

  it("a stale run whose lease expired cannot move the checkpoint the next run moved on", async () => {
    const w = await start(oneOrg(500, 45, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    const release = w.mapper.holdAt(3);
    w.clock += SCHEDULE_MS;
    const stale = w.invoke({});
    await w.mapper.reached(3);
    // The held run's lease (5 minutes) expires; the next scheduled run takes over and catches up.
    w.clock += 2 * SCHEDULE_MS;
    const next = await w.invoke({});
    expect(summaries([next])[0]?.status).toBe("caught-up");
    release();
    const zombie = await stale;
    expect(zombie.error).toBeInstanceOf(LeaseLostError);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(500);
  });

  describe("a replay", () => {
    const replay = (start: number, end: number): CollectorRequest => ({
      replay: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
    });
    const inWindow = (w: World, start: number, end: number) =>
      w.truth.filter((e) => e.at >= start && e.at < end).length;

    it("overlapping the first scheduled run: both store, nothing twice, the scheduled cursor its own", async () => {
      const w = await start(oneOrg(500, 46));
      const [from, to] = [T0 - 4 * HOUR, T0 - 2 * HOUR];
      const first = await w.tick({ alongside: [replay(from, to)] });
      const done = summaries(first).find((s) => s.key.includes("#replay#"));
      expect(done?.status).toBe("caught-up");
      expect((done?.counts.indexed ?? 0) + (done?.counts.duplicates ?? 0)).toBe(inWindow(w, from, to));
      expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
      const again = await w.invoke(replay(from, to));
      expect(summaries([again])[0]).toMatchObject({ status: "caught-up", fetched: 0 });
      expect(await w.violations()).toStrictEqual([]);
      expect(w.storedIds().size).toBe(500);
    });

    it("cut off, then invoked again with the same payload: resumes where it stopped, all duplicates", async () => {
      // One window at a time, so no page is in flight when the cut comes: the count is exact.
      const w = await start(oneOrg(500, 47, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
      expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
      const [from, to] = [T0 - 5 * HOUR, T0 - HOUR];
      const cut = await w.invoke(replay(from, to), { cutAfterPages: 3 });
      expect(summaries([cut])[0]?.status).toBe("work-remaining");
      const rest = await w.invoke(replay(from, to));
      const [a, b] = [summaries([cut])[0], summaries([rest])[0]];
      expect(b?.status).toBe("caught-up");
      expect((a?.fetched ?? 0) + (b?.fetched ?? 0)).toBe(inWindow(w, from, to));
      expect((a?.counts.duplicates ?? 0) + (b?.counts.duplicates ?? 0)).toBe(inWindow(w, from, to));
      expect(await w.violations()).toStrictEqual([]);
    });
  });

  it("a multi-org tenant where one org fails: the others go on, the failing one does not advance", async () => {
    const orgs = ["5f1e2e2e2e2e2e2e2e2e2ea1", "5f1e2e2e2e2e2e2e2e2e2eb2", "5f1e2e2e2e2e2e2e2e2e2ec3"];
    const [a, b, c] = orgs as [string, string, string];
    const w = await start({
      orgs: orgs.map((orgId, i) => ({ orgId, events: tenant(orgId, 300, 48 + i) })),
      keyOrgs: [a, c],
    });
    const failing = [await w.tick(), await w.tick(), await w.tick()].flat();
    const ofB = failing.filter((r) => r.request.orgId === b);
    expect(ofB).toHaveLength(3);
    expect(ofB.every((r) => r.error instanceof JumpcloudAuthenticationError)).toBe(true);
    expect((await w.checkpoint(b))?.cursor).toBeUndefined();
    expect((await w.checkpoint(a))?.cursor).toBe(w.clock - MINUTE);
    expect((await w.checkpoint(c))?.cursor).toBe(w.clock - MINUTE);
    w.grantOrg(b);
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(900);
  });

  it("the mapper timing out after it indexed: the page is read again, and its retry is all duplicates", async () => {
    const w = await start(oneOrg(400, 51, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    w.mapper.failAt(3, "timeout-after-index");
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    const timedOut = w.mapper.invocations[2];
    expect(timedOut?.error).toMatch(/^Sandbox.Timedout/);
    const ids = (timedOut?.events ?? []).map(idOf).sort();
    const retry = w.mapper.invocations.find((i) => i.n > 3 && i.events.some((e) => ids.includes(idOf(e))));
    expect(retry?.events.map(idOf).sort()).toStrictEqual(ids);
    expect(retry?.result).toMatchObject({ received: ids.length, duplicates: ids.length, indexed: 0 });
    expect(await w.violations()).toStrictEqual([]);
  });

  it.each<MapperFault>(["crash-before", "throttled"])(
    "the mapper invocation failing (%s): the run fails, the next one delivers the page",
    async (fault) => {
      const w = await start(oneOrg(400, 52));
      w.mapper.failAt(2, fault);
      expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
      expect(w.runs.filter((r) => r.error)).toHaveLength(1);
      expect(await w.violations()).toStrictEqual([]);
      expect(w.storedIds().size).toBe(400);
    },
  );

  it("an event over Lambda's 6 MB payload limit lands once too", async () => {
    const events = tenant(ORG, 200, 53);
    const big = events[120];
    if (big) big.event.message = "x".repeat(6_500_000);
    const w = await start({ orgs: [{ orgId: ORG, events }] });
    expect((await w.runUntilCaughtUp({ maxTicks: 8 })).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(200);
  });
});
