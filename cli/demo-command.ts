import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import type { CollectSummary } from "../lib/collect/collector.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { silentLogger } from "../lib/logger.ts";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import { localCollection } from "./local-collection.ts";
import { type CliSeams, commandSettings } from "./settings.ts";
import { simulatedOverrides, startSimulatedTenant } from "./simulated.ts";

const GEOIP = new URL("../test/fixtures/geoip/", import.meta.url).pathname;

function line(name: string, s: CollectSummary): string {
  const { indexed, duplicates, deadLettered } = s.counts;
  return (
    `${name}: ${s.status}, ${s.windows} window(s), ${s.pages} page(s), ${s.fetched} fetched, ${indexed} indexed, ` +
    `${duplicates} duplicates, ${deadLettered} dead-lettered; cursor ${s.cursorBefore ?? "(none)"} -> ${s.cursorAfter}`
  );
}

/** The demo's settings: none from the environment, so it can never touch a real checkpoint or cluster. */
function demoSettings(seams: CliSeams, apiUrl: string, esUrl: string, scratch: string) {
  return commandSettings(
    { ...seams, env: {} },
    {
      ...simulatedOverrides(apiUrl),
      elasticsearchUrl: { value: esUrl, source: "demo" },
      geoIpCityDb: { value: `${GEOIP}GeoLite2-City-Test.mmdb`, source: "demo" },
      geoIpAsnDb: { value: `${GEOIP}GeoLite2-ASN-Test.mmdb`, source: "demo" },
      checkpointFile: { value: join(scratch, "checkpoints.json"), source: "demo" },
      deadLetterDir: { value: join(scratch, "dead-letters"), source: "demo" },
      pageLimit: { value: 500, source: "demo" },
    },
  );
}

/**
 * `demo`: the main job with no account: the collector (checkpoint and lease in a scratch file)
 * reads a simulated JumpCloud tenant with the real API client and stores it with the real mapping
 * and Elasticsearch code into an in-process emulation; then runs again, and replays a window.
 */
export function demoCommand(seams: CliSeams): Command {
  return new Command("demo")
    .description("collect a simulated JumpCloud tenant into an emulated Elasticsearch, no account needed")
    .action(async () => {
      const { simulator, apiUrl } = await startSimulatedTenant();
      const es = new ElasticsearchEmulator();
      try {
        const scratch = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-demo-"));
        const loaded = await demoSettings(seams, apiUrl, await es.start(), scratch);
        const setup = await setupIndexTemplate(
          await createElasticsearchClient(loaded.settings, awsClients()),
        );
        const collection = await localCollection(loaded, seams, {
          outDir: scratch,
          logger: silentLogger,
          owner: "demo",
        });
        const first = await collection.run({});
        const second = await collection.run({});
        const now = Date.now();
        const replayed = await collection.run({
          replay: { start: now - 3 * 3_600_000, end: now - 3_600_000 },
        });
        const stored = es.documents(collection.dataStream);
        const sample = stored.find(
          (d) => (d._source.event as { action?: string }).action === "sso_auth" && d._source.client,
        );
        await seams.io.write(
          [
            `JumpCloud (simulated): ${apiUrl}; Elasticsearch (emulated): ${es.url}, template ${setup.action}`,
            line("first run ", first),
            line("second run", second),
            line("replay 3h-1h ago", replayed),
            `${stored.length} documents in ${collection.dataStream}: every event once, whatever ran again.`,
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
