import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type CollectionReport, collect, stopOnSignals } from "../../cli/collection-run.ts";
import type { CliIo } from "../../cli/io.ts";
import { cliLogger } from "../../cli/output.ts";
import { type CliSeams, commandSettings } from "../../cli/settings.ts";
import type { SignalSource } from "../../cli/signals.ts";
import { awsClients } from "../../lib/compose/aws.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { setupCluster } from "../../lib/elasticsearch/setup.ts";
import { geoIpMode } from "../../lib/settings/geoip-mode.ts";
import { Child, cpuMs, maxRssBytes } from "./children.ts";
import { type LoadTenant, loadTenant } from "./load-tenant.ts";
import { RssSampler } from "./rss-sampler.ts";

/** What to load: a tenant of `events` over `hours`, and an optional ceiling on the collector's RSS. */
export interface LoadOptions {
  events: number;
  hours?: number;
  maxRssMb?: number;
  /** Time the JumpCloud simulator takes to answer each events request (ms; default none). */
  latencyMs?: number;
  /** More settings for the run (e.g. `LOOKUP_EXISTING=off`, to measure what the lookup costs). */
  env?: Record<string, string>;
  /** Progress and log lines (default: stderr). */
  log?: (line: string) => void;
  /** Ctrl-C and SIGTERM (default: the process's; tests pass none). */
  signals?: SignalSource;
}

/** What a load run measured and checked; `problems` is empty when every check passed. */
export interface LoadReport {
  events: number;
  hours: number;
  wallMs: number;
  eventsPerSecond: number;
  collector: {
    rssBeforeBytes: number;
    peakRssBytes: number;
    maxRssBytes: number;
    peakHeapBytes: number;
    /** Heap still reachable after the run less before it, both after a full GC (with --expose-gc only). */
    retainedHeapBytes: number | undefined;
    /** CPU time during the run. */
    cpuMs: number;
  };
  /** Memory and CPU of the simulators' processes (CPU from their start: making the tenant too). */
  simulator: {
    generateMs: number;
    maxRssBytes: number;
    cpuMs: number;
    requests: number;
    /** `/events` requests (pages) and `/events/count` requests among them. */
    pageRequests: number;
    countRequests: number;
  };
  emulator: { maxRssBytes: number; cpuMs: number };
  outcome: CollectionReport["outcome"];
  counts: CollectionReport["total"];
  stored: { copies: number; distinct: number; missing: number; unexpected: number };
  problems: string[];
}

// Present when node runs with --expose-gc (npm run test:load does).
const gc = (globalThis as { gc?: () => void }).gc;

/** Heap in use after a full collection: what the process still holds, garbage aside. */
function liveHeap(): number | undefined {
  if (!gc) return undefined;
  gc();
  return process.memoryUsage().heapUsed;
}

const GEOIP = fileURLToPath(new URL("../fixtures/geoip/", import.meta.url));
const NAMESPACE = "load";
const STREAM = `logs-jumpcloud.events-${NAMESPACE}`;

/** Where the simulators listen. */
interface Urls {
  jumpcloud: string;
  es: string;
}

/** The environment of a `run --once` against the simulators: defaults, GeoIP on, a fresh checkpoint file. */
function environment(tenant: LoadTenant, hours: number, urls: Urls, dir: string) {
  return {
    JUMPCLOUD_API_URL: urls.jumpcloud,
    JUMPCLOUD_API_KEY: tenant.key,
    ELASTICSEARCH_URL: urls.es,
    CHECKPOINT_FILE: join(dir, "checkpoints.json"),
    DEAD_LETTER_DIR: join(dir, "dead-letters"),
    DATA_STREAM_NAMESPACE: NAMESPACE,
    // The first run starts before the tenant's first event, so it catches up the whole tenant.
    INITIAL_LOOKBACK: `${hours + 1}h`,
    GEOIP_CITY_DB: join(GEOIP, "GeoLite2-City-Test.mmdb"),
    GEOIP_ASN_DB: join(GEOIP, "GeoLite2-ASN-Test.mmdb"),
  };
}

function seamsFor(
  env: Record<string, string>,
  log: (line: string) => void,
  signals?: SignalSource,
): CliSeams {
  const io: CliIo = {
    write: async (chunk) => log(chunk.trimEnd()),
    log,
    readStdin: async () => "",
    terminal: undefined,
  };
  return { env, io, ...(signals && { signals }) };
}

function problemsOf(report: Omit<LoadReport, "problems">, maxRssMb: number | undefined): string[] {
  const n = report.events;
  const checks: [boolean, string][] = [
    [report.outcome === "ok", `the run ended "${report.outcome}", not "ok"`],
    [report.counts.fetched === n, `fetched ${report.counts.fetched} events, not ${n}`],
    [report.counts.indexed === n, `indexed ${report.counts.indexed} events, not ${n}`],
    [report.counts.duplicates === 0, `${report.counts.duplicates} duplicates on a first run`],
    [report.counts.deadLettered === 0, `${report.counts.deadLettered} dead letters`],
    [report.stored.distinct === n, `the emulator holds ${report.stored.distinct} distinct ids, not ${n}`],
    [
      report.stored.copies === report.stored.distinct,
      `${report.stored.copies - report.stored.distinct} ids stored twice`,
    ],
    [report.stored.missing === 0, `${report.stored.missing} events of the tenant not stored`],
    [
      report.stored.unexpected === 0,
      `${report.stored.unexpected} stored ids that no event of the tenant has`,
    ],
  ];
  if (maxRssMb !== undefined) {
    const peakMb = report.collector.maxRssBytes / 2 ** 20;
    checks.push([peakMb <= maxRssMb, `collector peak RSS ${peakMb.toFixed(0)} MB is over ${maxRssMb} MB`]);
  }
  return checks.filter(([ok]) => !ok).map(([, problem]) => problem);
}

/** The collector's run, measured: wall time, CPU, RSS sampled and high-water, live heap before and after. */
async function measuredRun(run: () => Promise<CollectionReport>) {
  const heapBefore = liveHeap();
  const sampler = new RssSampler();
  const rssBeforeBytes = process.memoryUsage.rss();
  const started = performance.now();
  const cpuBefore = cpuMs();
  try {
    const collection = await run();
    const wallMs = performance.now() - started;
    const cpuDuring = cpuMs() - cpuBefore;
    sampler.stop();
    const heapAfter = liveHeap();
    const collector: LoadReport["collector"] = {
      rssBeforeBytes,
      peakRssBytes: sampler.peakRssBytes,
      maxRssBytes: maxRssBytes(),
      peakHeapBytes: sampler.peakHeapBytes,
      retainedHeapBytes:
        heapBefore === undefined || heapAfter === undefined ? undefined : heapAfter - heapBefore,
      cpuMs: cpuDuring,
    };
    return { collection, wallMs, collector };
  } finally {
    sampler.stop();
  }
}

/** `run --once`'s composition (settings, factories, collector) against the simulators, in this process. */
async function collectOnce(tenant: LoadTenant, hours: number, urls: Urls, dir: string, options: LoadOptions) {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = { ...environment(tenant, hours, urls, dir), ...options.env };
  const seams = seamsFor(env, log, options.signals);
  const loaded = await commandSettings(seams, {}, ["jumpcloudCredentials", "cluster"]);
  // As `setup` leaves the cluster: the template, and the pipeline every _bulk names.
  const client = await createElasticsearchClient(loaded.settings, awsClients());
  await setupCluster(client, geoIpMode(loaded.settings, true));
  await client.close();
  const stop = stopOnSignals(seams);
  try {
    return await measuredRun(() =>
      collect(seams, loaded, {
        targets: [{}],
        outDir: join(dir, "out"),
        logger: cliLogger(seams, false),
        stop,
      }),
    );
  } finally {
    stop.dispose();
  }
}

/** The simulators' own figures (asked first, so the emulator's exclude its check), then that check. */
async function childFigures(jumpcloud: Child, es: Child, tenant: LoadTenant) {
  const simulator = await jumpcloud.ask({ type: "memory" }, "memory");
  const emulator = await es.ask({ type: "memory" }, "memory");
  const stored = await es.ask({ type: "verify", stream: STREAM, tenant }, "verified");
  return {
    simulator: {
      generateMs: Number(jumpcloud.ready.generatedMs),
      maxRssBytes: Number(simulator.maxRssBytes),
      cpuMs: Number(simulator.cpuMs),
      requests: Number(simulator.requests),
      pageRequests: Number(simulator.pageRequests),
      countRequests: Number(simulator.countRequests),
    },
    emulator: { maxRssBytes: Number(emulator.maxRssBytes), cpuMs: Number(emulator.cpuMs) },
    stored: {
      copies: Number(stored.copies),
      distinct: Number(stored.distinct),
      missing: Number(stored.missing),
      unexpected: Number(stored.unexpected),
    },
  };
}

/**
 * Collects a tenant of `events` events from the JumpCloud simulator into the Elasticsearch
 * emulator with the composition `run --once` uses, in this process, while both simulators run in
 * processes of their own: the RSS measured is the collector's alone.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const hours = options.hours ?? 24;
  const tenant = loadTenant(options.events, hours, Date.now());
  const dir = await mkdtemp(join(tmpdir(), "jumpcloud-elastic-load-"));
  const children: Child[] = [];
  try {
    const [jumpcloud, es] = await Promise.all([
      Child.start("jumpcloud-child.ts", { ...tenant, latencyMs: options.latencyMs }),
      Child.start("elasticsearch-child.ts", {}),
    ]);
    children.push(jumpcloud, es);
    const urls = { jumpcloud: String(jumpcloud.ready.url), es: String(es.ready.url) };
    const { collection, wallMs, collector } = await collectOnce(tenant, hours, urls, dir, options);
    const report: Omit<LoadReport, "problems"> = {
      events: options.events,
      hours,
      wallMs,
      eventsPerSecond: collection.total.indexed / (wallMs / 1000),
      collector,
      ...(await childFigures(jumpcloud, es, tenant)),
      outcome: collection.outcome,
      counts: collection.total,
    };
    return { ...report, problems: problemsOf(report, options.maxRssMb) };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const grouped = (n: number) => Math.round(n).toLocaleString("en-US").replaceAll(",", " ");

function collectorLines({ collector: c }: LoadReport): string[] {
  const rss = `${mb(c.rssBeforeBytes)} before, ${mb(c.peakRssBytes)} peak sampled, ${mb(c.maxRssBytes)} high-water (maxRSS)`;
  return [
    `  collector RSS    ${rss}; heap peak ${mb(c.peakHeapBytes)}; CPU ${seconds(c.cpuMs)}`,
    ...(c.retainedHeapBytes === undefined
      ? []
      : [
          `  collector heap   ${mb(c.retainedHeapBytes)} more reachable after the run than before (full GC each time)`,
        ]),
  ];
}

function childLines({ stored: s, emulator: e, simulator: j }: LoadReport): string[] {
  return [
    `  emulator         ${grouped(s.distinct)} distinct ids, ${grouped(s.copies)} stored copies, ${s.missing} missing, ${s.unexpected} unexpected (own process: ${mb(e.maxRssBytes)} RSS, CPU ${seconds(e.cpuMs)})`,
    `  simulator        tenant made in ${seconds(j.generateMs)}, ${j.requests} requests served (${j.pageRequests} pages, ${j.countRequests} counts; own process: ${mb(j.maxRssBytes)} RSS, CPU ${seconds(j.cpuMs)})`,
  ];
}

/** The report as a person reads it. */
export function formatReport(r: LoadReport): string {
  const c = r.counts;
  return [
    `load: ${grouped(r.events)} events over ${r.hours} h, collected and indexed locally (the run --once composition)`,
    `  wall time        ${seconds(r.wallMs)}, ${grouped(r.eventsPerSecond)} events/s`,
    ...collectorLines(r),
    `  run              ${r.outcome}: ${c.windows} windows, ${c.pages} pages, ${grouped(c.fetched)} fetched, ${grouped(c.indexed)} indexed, ${c.duplicates} duplicates, ${c.deadLettered} dead letters`,
    ...childLines(r),
    r.problems.length === 0 ? "  result           OK" : `  result           FAILED: ${r.problems.join("; ")}`,
  ].join("\n");
}
