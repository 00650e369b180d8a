// Mapping throughput against the floor of any JSON-in/JSON-out work: JSON.parse + JSON.stringify
// of the same corpus, measured in the same run. Usage: npm run bench [-- --events N --rounds R]
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { AsnResponse, CityResponse } from "maxmind";
import { MaxmindGeoIpLookup, openGeoIpReader } from "../lib/ecs/geo.ts";
import { EcsMapper } from "../lib/ecs/mapper.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";

const { values } = parseArgs({
  options: { events: { type: "string", default: "100000" }, rounds: { type: "string", default: "7" } },
});
const count = Number(values.events);
const rounds = Number(values.rounds);

const start = Date.parse("2026-01-01T00:00:00Z");
const texts = generateTenantEvents({ seed: 1, start, end: start + 86_400_000, count }).map((g) =>
  JSON.stringify(g.event),
);
const bytes = texts.reduce((sum, t) => sum + t.length, 0);

const geoIp = await MaxmindGeoIpLookup.open({
  city: "test/fixtures/geoip/GeoLite2-City-Test.mmdb",
  asn: "test/fixtures/geoip/GeoLite2-ASN-Test.mmdb",
});
// The same databases without the per-address cache: the cost of a tenant whose addresses never repeat.
const uncached = new MaxmindGeoIpLookup(
  await openGeoIpReader<CityResponse>("test/fixtures/geoip/GeoLite2-City-Test.mmdb", "City"),
  await openGeoIpReader<AsnResponse>("test/fixtures/geoip/GeoLite2-ASN-Test.mmdb", "ASN"),
  1,
);
const collectedAt = new Date();

// Each measurement starts from a collected heap, so one variant's garbage is not billed to the next.
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function time(work: () => number): number {
  gc();
  const t0 = performance.now();
  const sink = work();
  const elapsed = performance.now() - t0;
  if (sink < 0) console.log(sink); // keeps the work observable
  return elapsed;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const baseline = () => {
  let n = 0;
  for (const t of texts) n += JSON.stringify(JSON.parse(t)).length;
  return n;
};

function mapping(mapper: EcsMapper) {
  return () => {
    let n = 0;
    for (const t of texts) n += toBulkLines(mapper.dataStream, mapper.mapText(t, collectedAt)).length;
    return n;
  };
}

const variants: [string, () => number][] = [
  ["map (GeoIP on, defaults)", mapping(new EcsMapper({ geoIp }))],
  ["map (GeoIP on without cache, defaults)", mapping(new EcsMapper({ geoIp: uncached }))],
  [
    "map (GeoIP on, both preserve_* on)",
    mapping(new EcsMapper({ geoIp, preserveOriginalEvent: true, preserveDuplicateCustomFields: true })),
  ],
];

console.log(`corpus: ${count} events, ${(bytes / 1e6).toFixed(1)} MB, 8 services; ${rounds} rounds, median`);
baseline();
for (const [, run] of variants) run(); // warm-up
const base: number[] = [];
const results = variants.map(() => [] as number[]);
for (let i = 0; i < rounds; i++) {
  base.push(time(baseline));
  for (const [v, [, run]] of variants.entries()) results[v]?.push(time(run));
}
const baseMs = median(base);
console.log(
  `baseline JSON.parse + JSON.stringify: ${baseMs.toFixed(0)} ms (${Math.round(count / (baseMs / 1000))} events/s)`,
);
variants.forEach(([name], v) => {
  const ms = median(results[v] ?? []);
  console.log(
    `${name}: ${ms.toFixed(0)} ms, ${Math.round(count / (ms / 1000))} events/s, ratio ${(ms / baseMs).toFixed(2)}`,
  );
});
