import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { Collector, type CollectSummary } from "../lib/collect/collector.ts";
import { collectOptions, loadCollectorConfig } from "../lib/collect/config.ts";
import { InProcessDelivery } from "../lib/collect/delivery.ts";
import { FileCheckpointStore } from "../lib/collect/file-checkpoint-store.ts";
import { loadMappingConfig } from "../lib/config.ts";
import { createMapper, openGeoIp } from "../lib/ecs/from-config.ts";
import { createElasticsearchClient } from "../lib/elasticsearch/client.ts";
import { loadElasticsearchConfig } from "../lib/elasticsearch/config.ts";
import { FileDeadLetterSink } from "../lib/elasticsearch/dead-letters.ts";
import { ElasticsearchDocumentSink } from "../lib/elasticsearch/sink.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { loadJumpcloudConfig } from "../lib/jumpcloud/config.ts";
import { createClient } from "../lib/jumpcloud/from-config.ts";
import { silentLogger } from "../lib/logger.ts";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import type { Output } from "./io.ts";
import { SIMULATED_KEY, startSimulatedTenant } from "./simulated.ts";

const GEOIP = new URL("../test/fixtures/geoip/", import.meta.url).pathname;

function line(name: string, s: CollectSummary): string {
  return (
    `${name}: ${s.status}, ${s.windows} window(s), ${s.pages} page(s), ${s.fetched} fetched, ${s.indexed} indexed, ` +
    `${s.duplicates} duplicates, ${s.deadLettered} dead-lettered; cursor ${s.cursorBefore ?? "(none)"} -> ${s.cursorAfter}`
  );
}

/**
 * `demo`: the main job with no account: the collector (checkpoint and lease in a scratch file)
 * reads a simulated JumpCloud tenant with the real API client and stores it with the real mapping
 * and Elasticsearch code into an in-process emulation; then runs again, and replays a window.
 */
export function demoCommand(out: Output): Command {
  return new Command("demo")
    .description("collect a simulated JumpCloud tenant into an emulated Elasticsearch, no account needed")
    .action(async () => {
      const { simulator, apiUrl } = await startSimulatedTenant();
      const es = new ElasticsearchEmulator();
      try {
        const scratch = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-demo-"));
        const mapping = loadMappingConfig({
          GEOIP_CITY_DB: `${GEOIP}GeoLite2-City-Test.mmdb`,
          GEOIP_ASN_DB: `${GEOIP}GeoLite2-ASN-Test.mmdb`,
        });
        const problems: string[] = [];
        const mapper = createMapper(mapping, await openGeoIp(mapping, problems));
        if (problems.length > 0) throw new ConfigurationError(problems);
        const esClient = await createElasticsearchClient(
          loadElasticsearchConfig({ ELASTICSEARCH_URL: await es.start() }),
          undefined,
        );
        const setup = await setupIndexTemplate(esClient);
        const settings = loadCollectorConfig({});
        const collector = (replay?: { start: number; end: number }) =>
          new Collector(
            {
              source: createClient(
                loadJumpcloudConfig({ JUMPCLOUD_API_URL: apiUrl, JUMPCLOUD_API_KEY: SIMULATED_KEY }),
              ),
              store: new FileCheckpointStore(join(scratch, "checkpoints.json")),
              delivery: new InProcessDelivery({
                mapper,
                sink: new ElasticsearchDocumentSink(esClient, { dataStream: mapper.dataStream }),
                deadLetters: new FileDeadLetterSink(join(scratch, "dead-letters")),
              }),
              logger: silentLogger,
              owner: "demo",
              now: Date.now,
              remainingMs: () => Number.POSITIVE_INFINITY,
            },
            { ...collectOptions(settings, { services: ["all"], replay }), pageLimit: 500 },
          ).run();

        const first = await collector();
        const second = await collector();
        const now = Date.now();
        const replayed = await collector({ start: now - 3 * 3_600_000, end: now - 3_600_000 });
        const stored = es.documents(mapper.dataStream);
        const sample = stored.find(
          (d) => (d._source.event as { action?: string }).action === "sso_auth" && d._source.client,
        );

        await out.write(
          [
            `JumpCloud (simulated): ${apiUrl}; Elasticsearch (emulated): ${es.url}, template ${setup.action}`,
            line("first run ", first),
            line("second run", second),
            line("replay 3h-1h ago", replayed),
            `${stored.length} documents in ${mapper.dataStream}: every event once, whatever ran again.`,
            "One stored document:",
            JSON.stringify(sample?._source, null, 2),
            "",
          ].join("\n"),
        );
      } finally {
        await simulator.stop();
        await es.stop();
      }
    });
}
