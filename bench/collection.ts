// Collection: a backfill from the JumpCloud simulator (every request answered after a fixed
// latency) into the Elasticsearch emulator with the `run --once` composition, against the API's
// lower bound `pages × latency ÷ concurrency`, and against Elastic Agent's httpjson input.
// Usage: node --expose-gc --import tsx bench/collection.ts [--quick]
import { availableParallelism } from "node:os";
import { SETTINGS } from "../lib/settings/schema.ts";
import { type LoadReport, runLoad } from "../test/load/run-load.ts";
import {
  type BenchOptions,
  type BenchRow,
  type BenchSection,
  grouped,
  isMain,
  printSection,
} from "./section.ts";

/** Per request, as the issue fixes it: a JumpCloud answer is rarely faster. */
export const LATENCY_MS = 150;
/**
 * A slower API, as JumpCloud answers large pages on a busy tenant: the API, not this machine's
 * CPU, is then the limit, so the row shows how much of the waiting the pipeline hides.
 */
export const SLOW_LATENCY_MS = 600;
/** Elastic Agent's JumpCloud integration: one request of at most 10 000 events per poll. */
const AGENT = { perRequest: 10_000, intervalMs: 5 * 60_000 };

interface Backfill {
  latencyMs: number;
  pageLimit: number;
  concurrency: number;
  events: number;
  wallMs: number;
  eventsPerSecond: number;
  pageRequests: number;
  countRequests: number;
  /** `ceil(events ÷ page) × latency ÷ concurrency`: the API alone, everything else free. */
  lowerBoundMs: number;
  ratio: number;
  collectorCpuMs: number;
  simulatorCpuMs: number;
  emulatorCpuMs: number;
  peakRssBytes: number;
  /**
   * The least wall time this machine allows whatever the API: the collector's CPU (one thread),
   * or all three processes' CPU spread over every core, whichever is more.
   */
  cpuFloorMs: number;
}

async function backfill(
  events: number,
  pageLimit: number,
  concurrency: number,
  latencyMs = LATENCY_MS,
): Promise<Backfill> {
  const report: LoadReport = await runLoad({
    events,
    latencyMs,
    env: { PAGE_LIMIT: String(pageLimit), BACKFILL_CONCURRENCY: String(concurrency) },
    log: () => undefined,
    signals: { listen: () => () => undefined },
  });
  if (report.problems.length > 0) throw new Error(`the backfill went wrong: ${report.problems.join("; ")}`);
  const lowerBoundMs = (Math.ceil(events / pageLimit) * latencyMs) / concurrency;
  return {
    latencyMs,
    pageLimit,
    concurrency,
    events,
    wallMs: report.wallMs,
    eventsPerSecond: report.eventsPerSecond,
    pageRequests: report.simulator.pageRequests,
    countRequests: report.simulator.countRequests,
    lowerBoundMs,
    ratio: report.wallMs / lowerBoundMs,
    collectorCpuMs: report.collector.cpuMs,
    simulatorCpuMs: report.simulator.cpuMs,
    emulatorCpuMs: report.emulator.cpuMs,
    peakRssBytes: report.collector.maxRssBytes,
    cpuFloorMs: Math.max(
      report.collector.cpuMs,
      (report.collector.cpuMs + report.simulator.cpuMs + report.emulator.cpuMs) / availableParallelism(),
    ),
  };
}

/** The same backfill as Elastic Agent's httpjson input does it: computed from its request count. */
export function agentBackfill(events: number) {
  const requests = Math.ceil(events / AGENT.perRequest);
  const wallMs = requests * AGENT.intervalMs;
  return { requests, wallMs, eventsPerSecond: events / (wallMs / 1000) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function rows(
  b: Backfill,
  agent: ReturnType<typeof agentBackfill>,
  at10k: Backfill,
  slow: Backfill,
): BenchRow[] {
  const cpu = `CPU: collector ${seconds(b.collectorCpuMs)}, simulator ${seconds(b.simulatorCpuMs)}, emulator ${seconds(b.emulatorCpuMs)}`;
  return [
    {
      measure: `backfill ${grouped(b.events)} events, ${LATENCY_MS} ms/request, page ${grouped(b.pageLimit)}, concurrency ${b.concurrency} (defaults)`,
      value: `${grouped(b.eventsPerSecond)} events/s (${seconds(b.wallMs)})`,
      against: `${b.ratio.toFixed(2)}× the API lower bound ${seconds(b.lowerBoundMs)} (target ≤ 1.3×)`,
    },
    {
      measure: "  CPU floor of this machine",
      value: seconds(b.cpuFloorMs),
      against: `wall ÷ max(API lower bound, CPU floor) = ${(b.wallMs / Math.max(b.lowerBoundMs, b.cpuFloorMs)).toFixed(2)}×; ${cpu}`,
    },
    {
      measure: "  requests",
      value: `${b.pageRequests + b.countRequests}`,
      against: `${b.pageRequests} pages (${Math.ceil(b.events / b.pageLimit)} at least), ${b.countRequests} counts`,
    },
    {
      measure: `backfill at page ${grouped(at10k.pageLimit)}`,
      value: `${grouped(at10k.eventsPerSecond)} events/s (${seconds(at10k.wallMs)})`,
      against: `${at10k.ratio.toFixed(2)}× its lower bound ${seconds(at10k.lowerBoundMs)}; ${at10k.pageRequests} pages; collector CPU ${seconds(at10k.collectorCpuMs)}`,
    },
    {
      measure: `backfill ${grouped(slow.events)} events, ${slow.latencyMs} ms/request (API-bound), defaults`,
      value: `${grouped(slow.eventsPerSecond)} events/s (${seconds(slow.wallMs)})`,
      against: `${slow.ratio.toFixed(2)}× its lower bound ${seconds(slow.lowerBoundMs)}; collector CPU ${seconds(slow.collectorCpuMs)}`,
    },
    {
      measure: "the same backfill, Elastic Agent httpjson (10 000 per 5-min poll, computed)",
      value: `${grouped(agent.eventsPerSecond)} events/s (${(agent.wallMs / 3_600_000).toFixed(1)} h)`,
      against: `${agent.requests} requests; ${Math.round(agent.wallMs / b.wallMs)}× our wall time`,
    },
  ];
}

/** Part 2 of `npm run bench`. */
export async function measure(options: BenchOptions = {}): Promise<BenchSection> {
  const events = options.quick ? 50_000 : 500_000;
  const pageLimit = SETTINGS.pageLimit.default as number;
  const concurrency = SETTINGS.backfillConcurrency.default as number;
  options.log?.(`collection: backfill of ${events} events at the default page size…`);
  const defaults = await backfill(events, pageLimit, concurrency);
  options.log?.("collection: the same at 10 000 per page…");
  const at10k = await backfill(events, 10_000, concurrency);
  const slowEvents = options.quick ? 20_000 : 200_000;
  options.log?.(`collection: ${slowEvents} events at ${SLOW_LATENCY_MS} ms per request…`);
  const slow = await backfill(slowEvents, pageLimit, concurrency, SLOW_LATENCY_MS);
  const agent = agentBackfill(events);
  return {
    title: "Collection (backfill against the JumpCloud simulator, into the Elasticsearch emulator)",
    rows: rows(defaults, agent, at10k, slow),
    results: { latencyMs: LATENCY_MS, defaults, at10k, apiBound: slow, elasticAgent: agent },
  };
}

if (isMain(import.meta.url))
  printSection(await measure({ quick: process.argv.includes("--quick"), log: console.error }));
