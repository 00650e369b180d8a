// One mapper invocation: a 10 000-event page mapped and indexed (GeoIP on) into the Elasticsearch
// emulator, each run in a fresh process (bench/page-child.ts): wall, CPU and peak RSS.
// Usage: node --import tsx bench/page.ts [--quick]
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import { type BenchOptions, type BenchSection, grouped, isMain, median, printSection } from "./section.ts";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./page-child.ts", import.meta.url));
export const PAGE_EVENTS = 10_000;

/** What one page cost, median of the runs. */
export type PageCost = {
  events: number;
  runs: number;
  wallMs: number;
  cpuMs: number;
  maxRssBytes: number;
  rssBeforeBytes: number;
};

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function onePage(url: string, events: number) {
  const { stdout } = await run(process.execPath, ["--import", "tsx", CHILD, url, String(events)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split("\n").pop() as string) as Omit<PageCost, "events" | "runs">;
}

/** Part of `npm run bench`: the mapper's work on one page. */
export async function measure(options: BenchOptions = {}): Promise<BenchSection & { results: PageCost }> {
  const runs = options.quick ? 1 : 3;
  const es = new ElasticsearchEmulator({ retainSources: false } as never);
  const url = await es.start();
  try {
    options.log?.(`page: ${runs} fresh process(es) mapping and indexing ${PAGE_EVENTS} events…`);
    const all = [];
    for (let i = 0; i < runs; i++) {
      es.streams.clear();
      all.push(await onePage(url, PAGE_EVENTS));
    }
    const cost: PageCost = {
      events: PAGE_EVENTS,
      runs,
      wallMs: median(all.map((r) => r.wallMs)),
      cpuMs: median(all.map((r) => r.cpuMs)),
      maxRssBytes: median(all.map((r) => r.maxRssBytes)),
      rssBeforeBytes: median(all.map((r) => r.rssBeforeBytes)),
    };
    return {
      title: `Mapper invocation (one page of ${grouped(PAGE_EVENTS)} events, fresh process, GeoIP on)`,
      rows: [
        {
          measure: `map and index ${grouped(PAGE_EVENTS)} events into the emulator`,
          value: `${cost.wallMs.toFixed(0)} ms`,
          against: `CPU ${cost.cpuMs.toFixed(0)} ms; median of ${runs}`,
        },
        {
          measure: "  peak RSS",
          value: mb(cost.maxRssBytes),
          against: `${mb(cost.rssBeforeBytes)} before the page (modules, GeoIP, page in memory)`,
        },
      ],
      results: cost,
    };
  } finally {
    await es.stop();
  }
}

if (isMain(import.meta.url))
  printSection(await measure({ quick: process.argv.includes("--quick"), log: console.error }));
