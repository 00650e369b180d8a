import { afterEach, describe, expect, it } from "vitest";
import { RECHECK_SPAN_MS } from "../../lib/collect/collector.ts";
import { type Fault, ingestionDelays } from "../../simulators/jumpcloud/server.ts";
import { HOUR, JUMPCLOUD_ARN, MINUTE, SCHEDULE_MS, T0, tenant, World, type WorldOptions } from "./harness.ts";

// The JumpCloud side of the promise: whatever the API does, every event lands once, and a run
// that gives up leaves its checkpoint behind every event not acknowledged.
const ORG = "5f1e2e2e2e2e2e2e2e2e2e11";
const oneOrg = (count: number, seed: number, extra: Partial<WorldOptions> = {}): WorldOptions => ({
  orgs: [{ orgId: ORG, events: tenant(ORG, count, seed) }],
  seed,
  ...extra,
});

type Retry = { failure: string; delayMs: number };

describe("JumpCloud faults, end to end through the collector and mapper handlers", () => {
  let world: World | undefined;
  afterEach(async () => world?.stop());

  const start = async (options: WorldOptions) => {
    world = await new World(options).start();
    return world;
  };

  /** Lets `passes` requests to /events through, then serves `fault` `times` times. */
  const injectAfter = (w: World, passes: number, fault: Fault, times: number) => {
    if (passes > 0) w.sim.inject({ kind: "pass" }, passes, "/events");
    w.sim.inject(fault, times, "/events");
  };

  const served = (w: World, kind: Fault["kind"]) => w.sim.requests.filter((r) => r.fault === kind).length;

  it.each<[string, Fault, number, boolean]>([
    [
      "a 429 storm with Retry-After, longer than a run's retries",
      { kind: "status", status: 429, retryAfter: "1" },
      9,
      true,
    ],
    ["a 429 storm without Retry-After", { kind: "status", status: 429 }, 9, true],
    [
      "a 429 asking to wait past the retry budget",
      { kind: "status", status: 429, retryAfter: "600" },
      2,
      true,
    ],
    ["a burst of 500s", { kind: "status", status: 500 }, 4, false],
    ["a burst of 503s longer than a run's retries", { kind: "status", status: 503 }, 8, true],
    [
      "a 504 from the gateway",
      { kind: "status", status: 504, body: "<html>gateway timeout</html>" },
      3,
      false,
    ],
    ["connection resets", { kind: "reset" }, 4, false],
    ["answers that never come within the timeout", { kind: "delay", ms: 1_300 }, 2, false],
    ["bodies that stall after the headers", { kind: "slow-body", ms: 1_300 }, 1, false],
    ["truncated pages", { kind: "truncated" }, 3, false],
    ["a malformed page", { kind: "malformed" }, 1, true],
    ["an object instead of an array", { kind: "object" }, 1, true],
    ["an array holding a non-object", { kind: "non-object-element" }, 1, true],
    ["a full page without X-Search_after", { kind: "headers", set: { "X-Search_after": null } }, 1, true],
    [
      "X-Result-Count disagreeing with the page",
      { kind: "headers", set: { "X-Result-Count": "7" } },
      1,
      true,
    ],
  ])("%s: every event lands once", async (_, fault, times, failsARun) => {
    // One window at a time: a storm then meets one request, so whether a run fails is certain.
    const w = await start(oneOrg(300, 21, { collectorEnv: { BACKFILL_CONCURRENCY: "1" } }));
    injectAfter(w, 3, fault, times);
    const result = await w.runUntilCaughtUp();
    expect(result.caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(served(w, fault.kind)).toBe(times);
    expect(w.runs.some((r) => r.error !== undefined)).toBe(failsARun);
    expect(w.storedIds().size).toBe(300);
  });

  it("waits what Retry-After asks before trying again", async () => {
    const w = await start(oneOrg(200, 22));
    injectAfter(w, 1, { kind: "status", status: 429, retryAfter: "7" }, 2);
    await w.runUntilCaughtUp();
    const retries = w.logs.filter((l) => l.message === "retrying").map((l) => l.fields as Retry);
    const waits = retries.filter((f) => f.failure === "status 429").map((f) => f.delayMs);
    expect(waits).toStrictEqual([7_000, 7_000]);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("deployed before the JumpCloud secret was filled: every run says so, nothing moves; filled, it catches up", async () => {
    const w = await start(oneOrg(300, 27));
    w.unfill(JUMPCLOUD_ARN);
    const unfilled = [await w.tick(), await w.tick()];
    expect(unfilled.flat().every((r) => /secret not filled yet/.test(String(r.error)))).toBe(true);
    expect(w.sim.requests).toStrictEqual([]);
    w.fill();
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(300);
  });

  it("picks up a key rotated in the secret mid-run, the old one refused, without failing a run", async () => {
    const w = await start(oneOrg(300, 23));
    w.mapper.onInvoke = (n) => {
      if (n === 4) w.rotateJumpcloudKey("jc-e2e-key-0002");
    };
    const result = await w.runUntilCaughtUp();
    expect(result.caughtUp).toBe(true);
    expect(w.runs.filter((r) => r.error)).toStrictEqual([]);
    expect(w.sim.requests.filter((r) => r.status === 401).length).toBeGreaterThan(0);
    expect(w.secrets.reads.filter((arn) => arn === JUMPCLOUD_ARN).length).toBeGreaterThanOrEqual(2);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("events made visible late (within the overlap), in a tenant that keeps producing them, land once", async () => {
    const w = await start({
      orgs: [{ orgId: ORG, events: tenant(ORG, 300, 24, T0 - 2 * HOUR, T0 + 40 * MINUTE) }],
      ingestionDelay: ingestionDelays.uniform(0, 5 * MINUTE),
    });
    expect((await w.runUntilCaughtUp()).caughtUp).toBe(true);
    // Most were not visible yet when their window was first read: only the overlap finds them.
    expect(w.truth.filter((e) => e.visibleAt - e.at > MINUTE).length).toBeGreaterThan(150);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(300);
  });

  it("events made visible later than the overlap are stored once, by the trailing re-read", async () => {
    const w = await start({
      orgs: [{ orgId: ORG, events: tenant(ORG, 300, 28, T0, T0 + HOUR) }],
      collectorEnv: { RECHECK_AFTER: "15m" },
      // A fifth of the events become visible 7 to 12 minutes late: past SOURCE_LAG + OVERLAP (6 minutes).
      ingestionDelay: (random) => (random.chance(0.2) ? random.int(7, 12) * MINUTE : 0),
    });
    const lastAt = Math.max(...w.truth.map((e) => e.at));
    const until = lastAt + 15 * MINUTE + RECHECK_SPAN_MS + 3 * SCHEDULE_MS;
    expect((await w.runUntilCaughtUp({ until, maxTicks: 60 })).caughtUp).toBe(true);
    const late = w.runs.flatMap((r) => (r.response?.mode === "collected" ? r.response.summaries : []));
    expect(late.reduce((n, s) => n + s.lateEvents, 0)).toBeGreaterThan(10);
    expect(await w.violations()).toStrictEqual([]);
    expect(w.storedIds().size).toBe(300);
  });

  // Was a gap: the first run to catch up marked where the re-read starts, after events the cursor
  // had passed before they were visible. The mark is now set when the checkpoint is first read.
  it("runs that always end work-remaining still re-read the spans due: late events land once", async () => {
    const w = await start({
      orgs: [{ orgId: ORG, events: tenant(ORG, 90, 29, T0 - 30 * MINUTE, T0 + HOUR) }],
      collectorEnv: { RECHECK_AFTER: "15m", PAGE_LIMIT: "1000", BACKFILL_CONCURRENCY: "1" },
      ingestionDelay: (random) => (random.chance(0.2) ? random.int(7, 14) * MINUTE : 0),
    });
    const lastAt = Math.max(...w.truth.map((e) => e.at));
    const until = lastAt + 15 * MINUTE + RECHECK_SPAN_MS + 3 * SCHEDULE_MS;
    const result = await w.runUntilCaughtUp({
      until,
      maxTicks: 80,
      plan: (tick) => (tick <= 14 ? { cutAfterPages: 1 } : {}),
    });
    expect(result.caughtUp).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("a service account whose tokens expire between and during runs: refreshed on the 401, no run fails", async () => {
    const w = await start(oneOrg(300, 26, { serviceAccount: { tokenLifetimeSeconds: 240 } }));
    const result = await w.runUntilCaughtUp({ plan: (tick) => (tick <= 3 ? { cutAfterPages: 2 } : {}) });
    expect(result.caughtUp).toBe(true);
    expect(w.runs.filter((r) => r.error)).toStrictEqual([]);
    expect(w.sim.requests.filter((r) => r.path === "/oauth2/token").length).toBeGreaterThan(1);
    expect(w.sim.requests.some((r) => r.status === 401)).toBe(true);
    expect(await w.violations()).toStrictEqual([]);
  });

  it("reads a window again from its start when JumpCloud refuses the saved search_after (400)", async () => {
    const w = await start(oneOrg(600, 25, { collectorEnv: { BACKFILL_CONCURRENCY: "1", PAGE_LIMIT: "25" } }));
    await w.tick({ cutAfterPages: 3 });
    w.sim.inject({ kind: "status", status: 400, body: '{"message":"invalid search_after"}' }, 1, "/events");
    const result = await w.runUntilCaughtUp();
    expect(result.caughtUp).toBe(true);
    const refused = w.sim.requests.find((r) => r.status === 400);
    expect(refused?.rawBody).toContain('"search_after"');
    expect(w.logs.map((l) => l.message)).toContain(
      "saved position refused; reading the window again from its start",
    );
    expect(w.acknowledgedCounts().duplicates).toBeGreaterThan(0);
    expect(await w.violations()).toStrictEqual([]);
  });
});
