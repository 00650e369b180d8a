import type { CollectorRequest } from "../../functions/collector/handler.ts";
import { RECHECK_SPAN_MS } from "../../lib/collect/collector.ts";
import type { EsFault } from "../../simulators/elasticsearch/server.ts";
import type { IngestionDelay } from "../../simulators/jumpcloud/event-index.ts";
import { Random } from "../../simulators/jumpcloud/random.ts";
import type { Fault } from "../../simulators/jumpcloud/server.ts";
import type { MapperFault } from "./aws-doubles.ts";
import {
  HOUR,
  MINUTE,
  SCHEDULE_MS,
  STREAM,
  T0,
  type TickPlan,
  tenant,
  World,
  type WorldOptions,
} from "./harness.ts";

/** One random scenario: a tenant, a fault mix and where runs are cut off, all from one seed. */
export interface ChaosScenario {
  seed: number;
  orgs: { orgId: string; events: number; live: boolean }[];
  /** An org the key may not read until this tick (it must not advance before, nor block the others). */
  lockedOut?: { orgId: string; untilTick: number };
  maxDelayMinutes: number;
  /** The trailing re-read on (RECHECK_AFTER 15m), and this share of live events later than the overlap. */
  recheckLatePercent: number;
  pageLimit: number;
  backfillConcurrency: number;
  refusedPercent: number;
  preloadPercent: number;
  /** JumpCloud faults in request order: `gap` requests pass before each. */
  jumpcloud: { gap: number; fault: Fault; times: number }[];
  /** Elasticsearch faults, on `_bulk` or on the look-ups' `_search`, as the `at`-th mapper invocation is sent. */
  elasticsearch: { at: number; fault: EsFault; times: number; lookups?: boolean }[];
  mapper: { at: number; fault: MapperFault }[];
  rotateJumpcloudKeyAt?: number;
  rotateElasticsearchKeyAt?: number;
  rolloverBeforeTick?: number;
  outage?: { kind: "503" | "reset"; fromTick: number; ticks: number };
  /** How the first ticks go (cut-offs, kills, a second invocation alongside). */
  ticks: TickPlan[];
}

/** What a scenario came to. */
export interface ChaosResult {
  scenario: ChaosScenario;
  violations: string[];
  ticks: number;
  elapsedMs: number;
  /** What actually happened: faults served, runs failed, cut off and killed. */
  served: {
    jumpcloudFaults: number;
    mapperFaults: number;
    failedRuns: number;
    cutOff: number;
    killed: number;
  };
  /** The last log lines, to tell what happened around a failure. */
  tail: string[];
}

const ORGS = ["5f1e2e2e2e2e2e2e2e2e2ef1", "5f1e2e2e2e2e2e2e2e2e2ef2"];
const MAX_TICKS = 60;
const RECHECK_AFTER_MINUTES = 15;

const JUMPCLOUD_FAULTS: ((r: Random) => [Fault, number])[] = [
  (r) => [{ kind: "status", status: 429, retryAfter: String(r.int(1, 3)) }, r.int(1, 8)],
  (r) => [{ kind: "status", status: 429 }, r.int(1, 8)],
  (r) => [{ kind: "status", status: r.pick([500, 502, 503, 504]) }, r.int(1, 7)],
  (r) => [{ kind: "reset" }, r.int(1, 3)],
  (r) => [{ kind: "truncated" }, r.int(1, 2)],
  (r) => [{ kind: r.pick(["malformed", "object", "non-object-element"] as const) }, 1],
  (r) => [{ kind: "headers", set: { "X-Search_after": null } }, r.int(1, 2)],
  (r) => [{ kind: "status", status: 400, body: '{"message":"invalid search_after"}' }, r.int(1, 2)],
  (r) => [{ kind: "delay", ms: 1_300 }, r.chance(0.3) ? 1 : 0],
];

const ES_FAULTS: ((r: Random) => [EsFault, number])[] = [
  (r) => [{ kind: "item-429" }, r.int(1, 60)],
  (r) => [{ kind: "item-503" }, r.int(1, 60)],
  (r) => [{ kind: "status", status: r.pick([429, 502, 503]) }, r.int(1, 9)],
  (r) => [{ kind: "reset" }, r.int(1, 3)],
  (r) => [{ kind: "store-then-reset" }, r.int(1, 2)],
  () => [{ kind: "drop-item" }, 1],
  // Past the 1 s request timeout even on undici's coarse timer.
  (r) => [{ kind: "delay", ms: 2_500 }, r.chance(0.3) ? 1 : 0],
];

const several = <T>(r: Random, max: number, make: () => T): T[] =>
  Array.from({ length: r.int(0, max) }, make);

function tickPlan(r: Random): TickPlan {
  const plan: TickPlan = {};
  if (r.chance(0.35)) plan.cutAfterPages = r.int(1, 6);
  else if (r.chance(0.1)) plan.killAfterPages = r.int(0, 5);
  if (r.chance(0.15)) plan.alongside = [{}];
  else if (r.chance(0.1)) plan.alongside = [replayRequest(r)];
  return plan;
}

function replayRequest(r: Random): CollectorRequest {
  const start = T0 - r.int(60, 300) * MINUTE;
  const end = Math.min(T0, start + r.int(10, 120) * MINUTE);
  return {
    replay: { start: new Date(start).toISOString(), end: new Date(end).toISOString(), orgId: ORGS[0] },
  };
}

/** The scenario of `seed`: the same seed always gives the same scenario. */
export function generateScenario(seed: number): ChaosScenario {
  const r = new Random(seed * 7919 + 1);
  const orgCount = r.chance(0.25) ? 2 : 1;
  const orgs = ORGS.slice(0, orgCount).map((orgId) => ({
    orgId,
    events: r.int(100, 400),
    live: r.chance(0.4),
  }));
  // Faults are aimed within the pages a catch-up makes (about one per page, plus a window per hour).
  const pages = Math.max(...orgs.map((o) => o.events)) / 50 + 6;
  const pageLimit = r.pick([20, 50, 100]);
  const invocations = Math.ceil((orgs.reduce((n, o) => n + o.events, 0) / pageLimit + 6) * 0.8);
  const jumpcloud = several(r, 5, () => {
    const [fault, times] = r.pick(JUMPCLOUD_FAULTS)(r);
    return { gap: r.int(0, Math.min(8, Math.ceil(pages / 3))), fault, times };
  }).filter((f) => f.times > 0);
  const elasticsearch = several(r, 4, () => {
    const [fault, times] = r.pick(ES_FAULTS)(r);
    const lookups = !fault.kind.startsWith("item-") && r.chance(0.3);
    return { at: r.int(1, invocations), fault, times, ...(lookups && { lookups }) };
  }).filter((f) => f.times > 0);
  const preloadPercent = r.chance(0.2) ? 30 : 0;
  const rollover = r.chance(0.3) ? r.int(2, 6) : undefined;
  return {
    seed,
    orgs,
    ...(orgCount > 1 && r.chance(0.4) && { lockedOut: { orgId: ORGS[1] as string, untilTick: r.int(2, 5) } }),
    maxDelayMinutes: r.chance(0.4) ? r.int(1, 5) : 0,
    recheckLatePercent: r.chance(0.25) ? r.int(5, 30) : 0,
    pageLimit,
    backfillConcurrency: r.pick([1, 2, 4]),
    refusedPercent: r.chance(0.2) ? 3 : 0,
    preloadPercent,
    jumpcloud,
    elasticsearch,
    mapper: several(r, 2, () => ({
      at: r.int(1, invocations),
      fault: r.pick(["timeout-after-index", "crash-before", "throttled"] as const),
    })),
    ...(r.chance(0.2) && { rotateJumpcloudKeyAt: r.int(2, invocations) }),
    ...(r.chance(0.15) && { rotateElasticsearchKeyAt: r.int(2, invocations) }),
    ...(rollover !== undefined && { rolloverBeforeTick: rollover }),
    ...(r.chance(0.15) && {
      outage: { kind: r.pick(["503", "reset"] as const), fromTick: r.int(1, 4), ticks: r.int(1, 3) },
    }),
    ticks: Array.from({ length: 8 }, () => tickPlan(r)),
  };
}

function worldOptions(s: ChaosScenario): WorldOptions {
  const r = new Random(s.seed);
  const orgs = s.orgs.map((o, i) => ({
    orgId: o.orgId,
    events: tenant(o.orgId, o.events, s.seed * 31 + i, T0 - 5 * HOUR, liveUntil(o.live)),
  }));
  const refused = new Set(
    orgs
      .flatMap((o) => o.events)
      .filter(() => r.int(1, 100) <= s.refusedPercent)
      .map((g) => g.event.id),
  );
  return {
    orgs,
    seed: s.seed,
    ...(s.lockedOut && { keyOrgs: orgs.map((o) => o.orgId).filter((id) => id !== s.lockedOut?.orgId) }),
    ingestionDelay: delays(s),
    collectorEnv: {
      PAGE_LIMIT: String(s.pageLimit),
      BACKFILL_CONCURRENCY: String(s.backfillConcurrency),
      ...(s.recheckLatePercent > 0 && { RECHECK_AFTER: `${RECHECK_AFTER_MINUTES}m` }),
    },
    mapperEnv: { ELASTICSEARCH_REQUEST_TIMEOUT: "1s" },
    elasticsearch: {
      rejectDocument: (doc) =>
        refused.has((doc.event as { id?: unknown }).id)
          ? "failed to parse field [jumpcloud.event.id]"
          : undefined,
    },
  };
}

// A live tenant keeps producing events while the schedule runs.
const liveUntil = (live: boolean) => (live ? T0 + 30 * MINUTE : T0 - 2 * MINUTE);

// Within the overlap for any event; later than it (up to the trailing re-read) only for events
// young when first read (the live ones): older ones are `replay`'s.
function delays(s: ChaosScenario): IngestionDelay {
  return (random, event) => {
    if (event.at >= T0 && random.int(1, 100) <= s.recheckLatePercent) return random.int(7, 14) * MINUTE;
    return s.maxDelayMinutes > 0 ? random.int(0, s.maxDelayMinutes * MINUTE) : 0;
  };
}

const faultPath = (f: ChaosScenario["elasticsearch"][number]) =>
  f.fault.kind.startsWith("item-") ? undefined : f.lookups ? `/${STREAM}/_search` : "/_bulk";

// Faults that fire as the mapper is invoked: cluster faults, key rotations, mapper failures.
function armInvocationFaults(world: World, s: ChaosScenario): void {
  for (const m of s.mapper) world.mapper.failAt(m.at, m.fault);
  world.mapper.onInvoke = (n) => {
    for (const f of s.elasticsearch.filter((e) => e.at === n))
      world.es.inject(f.fault, f.times, faultPath(f));
    if (n === s.rotateJumpcloudKeyAt) world.rotateJumpcloudKey(`jc-e2e-key-rotated-${s.seed}`);
    if (n === s.rotateElasticsearchKeyAt) world.rotateElasticsearchKey(`es-e2e-key-rotated-${s.seed}`);
  };
}

// Changes between ticks: a rollover, an outage and its end, an org's access granted.
async function beforeTick(world: World, s: ChaosScenario, tick: number): Promise<void> {
  if (tick === s.rolloverBeforeTick) await world.rollover();
  if (s.outage && tick === s.outage.fromTick) world.es.outage({ kind: s.outage.kind });
  if (s.outage && tick === s.outage.fromTick + s.outage.ticks) world.es.restore();
  if (s.lockedOut && tick === s.lockedOut.untilTick) world.grantOrg(s.lockedOut.orgId);
}

/** Runs a scenario until caught up (or MAX_TICKS) and checks every invariant; `inspect` sees the world at the end. */
export async function runScenario(
  s: ChaosScenario,
  inspect?: (world: World) => void | Promise<void>,
): Promise<ChaosResult> {
  const started = Date.now();
  const options = worldOptions(s);
  const world = await new World(options).start();
  try {
    const r = new Random(s.seed + 1);
    const all = options.orgs.flatMap((o) => o.events);
    if (s.preloadPercent > 0) await world.preload(all.filter(() => r.int(1, 100) <= s.preloadPercent));
    for (const f of s.jumpcloud) {
      if (f.gap > 0) world.sim.inject({ kind: "pass" }, f.gap, "/events");
      world.sim.inject(f.fault, f.times, "/events");
    }
    armInvocationFaults(world, s);
    const lastAt = Math.max(...world.truth.map((e) => e.at));
    const rechecked = lastAt + RECHECK_AFTER_MINUTES * MINUTE + RECHECK_SPAN_MS + 3 * SCHEDULE_MS;
    const result = await world.runUntilCaughtUp({
      maxTicks: MAX_TICKS,
      ...(s.recheckLatePercent > 0 && { until: rechecked }),
      plan: (tick) => s.ticks[tick - 1] ?? {},
      before: (tick) => beforeTick(world, s, tick),
    });
    const violations = await world.violations();
    if (!result.caughtUp) violations.unshift(`not caught up after ${result.ticks} ticks`);
    const tail = world.logs.slice(-15).map((l) => `${l.level} ${l.message} ${safeJson(l.fields)}`);
    const served = whatHappened(world);
    await inspect?.(world);
    return { scenario: s, violations, ticks: result.ticks, elapsedMs: Date.now() - started, tail, served };
  } finally {
    await world.stop();
  }
}

function whatHappened(world: World): ChaosResult["served"] {
  const summaries = world.runs.flatMap((r) => (r.response?.mode === "collected" ? r.response.summaries : []));
  return {
    jumpcloudFaults: world.sim.requests.filter((r) => r.fault !== undefined && r.fault !== "pass").length,
    mapperFaults: world.mapper.invocations.filter((i) => i.fault !== undefined).length,
    failedRuns: world.runs.filter((r) => r.error !== undefined).length,
    cutOff: summaries.filter((x) => x.status === "work-remaining").length,
    killed: world.runs.filter((r) => r.killed).length,
  };
}

/** One line: enough to read what the scenario did. */
export function describeScenario(s: ChaosScenario): string {
  return JSON.stringify(s);
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))?.slice(0, 300) ??
      ""
    );
  } catch {
    return String(value);
  }
}
