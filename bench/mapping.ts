// Mapping throughput against the floor of any JSON-in/JSON-out work: JSON.parse + JSON.stringify of
// the same corpus, measured in the same run. Usage:
// node --expose-gc --import tsx bench/mapping.ts [--quick] [--events N] [--rounds R]
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { AsnResponse, CityResponse } from "maxmind";
import { MaxmindGeoIpLookup, openGeoIpReader } from "../lib/ecs/geo.ts";
import { EcsMapper, type MapperOptions } from "../lib/ecs/mapper.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";
import {
  type BenchOptions,
  type BenchRow,
  type BenchSection,
  grouped,
  isMain,
  median,
  printSection,
} from "./section.ts";

const CITY = fileURLToPath(new URL("../test/fixtures/geoip/GeoLite2-City-Test.mmdb", import.meta.url));
const ASN = fileURLToPath(new URL("../test/fixtures/geoip/GeoLite2-ASN-Test.mmdb", import.meta.url));
const START = Date.parse("2026-01-01T00:00:00Z");
const TARGET_RATIO = 2;

/** Corpus size and repetitions; `measure` picks them from `quick`. */
export interface MappingBenchSize {
  events: number;
  rounds: number;
}

interface Variant {
  /** Prefix of its keys in the results (none for the headline variant). */
  key: string;
  label: string;
  mapper: EcsMapper;
}

interface Timing {
  ms: number;
  baselineMs: number;
}

/** Events/s of mapping to `_bulk` lines with GeoIP on, and its ratio to JSON.parse + JSON.stringify. */
export async function measure(options: BenchOptions = {}): Promise<BenchSection> {
  return measureMapping(
    options.quick ? { events: 20_000, rounds: 3 } : { events: 100_000, rounds: 7 },
    options,
  );
}

/** `measure` with an explicit corpus size and number of rounds. */
export async function measureMapping(
  size: MappingBenchSize,
  options: BenchOptions = {},
): Promise<BenchSection> {
  const log = options.log ?? (() => {});
  const texts = generateTenantEvents({
    seed: 1,
    start: START,
    end: START + 86_400_000,
    count: size.events,
  }).map((generated) => JSON.stringify(generated.event));
  const bytes = texts.reduce((sum, text) => sum + text.length, 0);
  const variants = await makeVariants();
  const timings = new Map<Variant, Timing>();
  // Each variant gets its own rounds, the headline one first: a process maps with one
  // configuration, and running the others in between would bill their type feedback to it.
  for (const variant of variants) {
    log(`mapping: ${variant.label}, ${size.rounds} rounds of ${size.events} events`);
    timings.set(variant, timeVariant(texts, variant.mapper, size.rounds));
  }
  return section(size, bytes, variants, timings);
}

async function makeVariants(): Promise<Variant[]> {
  const geoIp = await MaxmindGeoIpLookup.open({ city: CITY, asn: ASN });
  // The same databases with a one-address cache: the cost of a tenant whose addresses never repeat.
  const uncached = new MaxmindGeoIpLookup(
    await openGeoIpReader<CityResponse>(CITY, "City"),
    await openGeoIpReader<AsnResponse>(ASN, "ASN"),
    1,
  );
  const variant = (key: string, label: string, options: MapperOptions): Variant => ({
    key,
    label,
    mapper: new EcsMapper(options),
  });
  return [
    variant("", "map, GeoIP on, defaults", { geoIp }),
    variant("uncached", "map, GeoIP on, address cache of 1", { geoIp: uncached }),
    variant("preserve", "map, GeoIP on, both preserve_* on", {
      geoIp,
      preserveOriginalEvent: true,
      preserveDuplicateCustomFields: true,
    }),
  ];
}

// Each measurement starts from a collected heap, so one run's garbage is not billed to the next.
const collectGarbage = exposedGc();

function exposedGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function time(work: () => number): number {
  collectGarbage();
  const t0 = performance.now();
  const sink = work();
  const elapsed = performance.now() - t0;
  if (sink < 0) console.log(sink); // keeps the work observable
  return elapsed;
}

/** Medians of the variant and of the baseline, measured in alternating rounds after one warm-up. */
function timeVariant(texts: readonly string[], mapper: EcsMapper, rounds: number): Timing {
  const baseline = () => {
    let n = 0;
    for (const text of texts) n += JSON.stringify(JSON.parse(text)).length;
    return n;
  };
  const collectedAt = new Date();
  const mapping = () => {
    let n = 0;
    for (const text of texts) n += toBulkLines(mapper.dataStream, mapper.mapText(text, collectedAt)).length;
    return n;
  };
  baseline();
  mapping();
  const base: number[] = [];
  const mapped: number[] = [];
  for (let i = 0; i < rounds; i++) {
    base.push(time(baseline));
    mapped.push(time(mapping));
  }
  return { ms: median(mapped), baselineMs: median(base) };
}

function section(
  size: MappingBenchSize,
  bytes: number,
  variants: readonly Variant[],
  timings: ReadonlyMap<Variant, Timing>,
): BenchSection {
  const perSecond = (ms: number) => Math.round(size.events / (ms / 1000));
  const results: Record<string, number> = { events: size.events, rounds: size.rounds, corpusBytes: bytes };
  const rows: BenchRow[] = [];
  for (const variant of variants) {
    const timing = timings.get(variant) as Timing;
    const ratio = timing.ms / timing.baselineMs;
    const name = (key: string) =>
      variant.key ? `${variant.key}${key[0]?.toUpperCase()}${key.slice(1)}` : key;
    Object.assign(results, {
      [name("eventsPerSecond")]: perSecond(timing.ms),
      [name("ratio")]: Number(ratio.toFixed(3)),
      [name("mapMs")]: Number(timing.ms.toFixed(1)),
      [name("baselineMs")]: Number(timing.baselineMs.toFixed(1)),
      [name("baselineEventsPerSecond")]: perSecond(timing.baselineMs),
    });
    const target = variant.key === "" ? ` (target ≤ ${TARGET_RATIO.toFixed(1)}×)` : "";
    rows.push({
      measure: variant.label,
      value: `${grouped(perSecond(timing.ms))} events/s`,
      against: `${ratio.toFixed(2)}× JSON.parse + JSON.stringify of the same events${target}, ${grouped(perSecond(timing.baselineMs))} events/s`,
    });
  }
  return {
    title: `Mapping: ${grouped(size.events)} generated events (${(bytes / 1e6).toFixed(1)} MB) to _bulk lines, median of ${size.rounds} rounds`,
    rows,
    results,
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { quick: { type: "boolean" }, events: { type: "string" }, rounds: { type: "string" } },
  });
  const quick = values.quick ?? false;
  const size = {
    events: Number(values.events ?? (quick ? 20_000 : 100_000)),
    rounds: Number(values.rounds ?? (quick ? 3 : 7)),
  };
  const section = await measureMapping(size, { quick, log: (line) => console.error(line) });
  printSection(section);
  console.log(JSON.stringify(section.results, null, 2));
}
