// One mapper invocation's work in a fresh process: a page of raw events mapped and indexed into the
// Elasticsearch emulator with the composition the mapper Lambda uses (createPipeline), GeoIP on.
// Prints one JSON line: wall and CPU time of the page, and the process's peak RSS.
// Usage: node --import tsx bench/page-child.ts <elasticsearch url> <events>
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { createPipeline } from "../lib/compose/pipeline.ts";
import { setupCluster } from "../lib/elasticsearch/setup.ts";
import { silentLogger } from "../lib/logger.ts";
import { indexEvents } from "../lib/pipeline/index-events.ts";
import { loadSettings } from "../lib/settings/load.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";

const [url = "", countText = "10000"] = process.argv.slice(2);
const count = Number(countText);
const geoip = fileURLToPath(new URL("../test/fixtures/geoip/", import.meta.url));
const { settings, sourceOf } = loadSettings({
  ELASTICSEARCH_URL: url,
  ELASTICSEARCH_API_KEY: "bench",
  DATA_STREAM_NAMESPACE: "bench",
  DEAD_LETTER_DIR: fileURLToPath(new URL("./.cache/dead-letters/", import.meta.url)),
  GEOIP_CITY_DB: `${geoip}GeoLite2-City-Test.mmdb`,
  GEOIP_ASN_DB: `${geoip}GeoLite2-ASN-Test.mmdb`,
});
const aws = awsClients();
const client = await createElasticsearchClient(settings, aws);
// The cluster as `setup` leaves it: the pipeline each _bulk names is there (files mode: no geoip step).
await setupCluster(client, "files");
const deps = await createPipeline(settings, {
  aws,
  sourceOf,
  target: { client, logger: silentLogger },
});
const start = Date.parse("2026-01-01T00:00:00Z");
// As the collector hands them over: parsed objects of one page.
const page = generateTenantEvents({ seed: 3, start, end: start + 3_600_000, count }).map((g) =>
  JSON.parse(JSON.stringify(g.event)),
);
const rssBefore = process.memoryUsage.rss();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const counts = await indexEvents(page, deps, {});
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBeforeBytes: rssBefore,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    indexed: counts.indexed,
  })}\n`,
);
await client.close();
