import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { loadMappingConfig } from "../lib/config.ts";
import { createMapper, openGeoIp } from "../lib/ecs/from-config.ts";
import { createElasticsearchClient } from "../lib/elasticsearch/client.ts";
import { loadElasticsearchConfig } from "../lib/elasticsearch/config.ts";
import { FileDeadLetterSink } from "../lib/elasticsearch/dead-letters.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { ElasticsearchDocumentSink } from "../lib/elasticsearch/sink.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { loadJumpcloudConfig } from "../lib/jumpcloud/config.ts";
import { createClient } from "../lib/jumpcloud/from-config.ts";
import { indexEvents } from "../lib/pipeline/index-events.ts";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import type { Output } from "./io.ts";
import { SIMULATED_KEY, startSimulatedTenant } from "./simulated.ts";

const GEOIP = fileURLToPath(new URL("../test/fixtures/geoip/", import.meta.url));

/**
 * `demo`: the pipeline end to end with no account: a simulated JumpCloud tenant, the real API
 * client, the mapper, and the real Elasticsearch client and sink against an in-process emulation.
 */
export function demoCommand(out: Output): Command {
  return new Command("demo")
    .description("collect a simulated JumpCloud tenant into an emulated Elasticsearch, no account needed")
    .option("--out <file>", "where to write the _bulk NDJSON as well", ".jumpcloud-elastic/demo/bulk.ndjson")
    .action(async (flags: { out: string }) => {
      const { simulator, apiUrl } = await startSimulatedTenant();
      const es = new ElasticsearchEmulator();
      try {
        const source = createClient(
          loadJumpcloudConfig({ JUMPCLOUD_API_URL: apiUrl, JUMPCLOUD_API_KEY: SIMULATED_KEY }),
        );
        const config = loadMappingConfig({
          GEOIP_CITY_DB: `${GEOIP}GeoLite2-City-Test.mmdb`,
          GEOIP_ASN_DB: `${GEOIP}GeoLite2-ASN-Test.mmdb`,
        });
        const problems: string[] = [];
        const mapper = createMapper(config, await openGeoIp(config, problems));
        if (problems.length > 0) throw new ConfigurationError(problems);
        const esClient = await createElasticsearchClient(
          loadElasticsearchConfig({ ELASTICSEARCH_URL: await es.start() }),
          undefined,
        );
        const setup = await setupIndexTemplate(esClient);
        const path = resolve(flags.out);
        const deps = {
          mapper,
          sink: new ElasticsearchDocumentSink(esClient, { dataStream: mapper.dataStream }),
          deadLetters: new FileDeadLetterSink(join(dirname(path), "dead-letters")),
        };

        const end = new Date();
        const start = new Date(end.getTime() - 86_400_000);
        const totals = {
          pages: 0,
          received: 0,
          indexed: 0,
          duplicates: 0,
          deadLettered: 0,
          pipelineErrors: 0,
        };
        const pages: Record<string, unknown>[][] = [];
        for await (const page of source.pages({ services: ["all"], start, end, limit: 500 })) {
          pages.push(page.events);
          const result = await indexEvents(page.events, deps);
          totals.pages++;
          for (const key of [
            "received",
            "indexed",
            "duplicates",
            "deadLettered",
            "pipelineErrors",
          ] as const) {
            totals[key] += result[key];
          }
        }
        // The same events again, as an overlap or a retry would bring them: nothing is stored twice.
        let again = 0;
        for (const events of pages) again += (await indexEvents(events, deps)).duplicates;

        const collectedAt = new Date();
        const bulk = pages
          .flat()
          .map((e) => toBulkLines(mapper.dataStream, mapper.mapValue(e, collectedAt), e));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, bulk.join(""));
        const stored = es.documents(mapper.dataStream);
        const sample = stored.find(
          (d) => (d._source.event as { action?: string }).action === "sso_auth" && d._source.client,
        );

        await out.write(
          [
            `JumpCloud (simulated): ${apiUrl}, ${start.toISOString()} to ${end.toISOString()}`,
            `Elasticsearch (emulated): ${es.url}, template ${setup.action}`,
            `${totals.received} events in ${totals.pages} pages: ${totals.indexed} indexed, ${totals.duplicates} duplicates, ` +
              `${totals.deadLettered} dead-lettered (${totals.pipelineErrors} pipeline errors).`,
            `Sent again: ${again} duplicates, still ${stored.length} documents in ${mapper.dataStream}.`,
            `_bulk NDJSON also written to ${path}`,
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
