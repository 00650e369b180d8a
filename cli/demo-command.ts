import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { loadMappingConfig } from "../lib/config.ts";
import { createMapper, openGeoIp } from "../lib/ecs/from-config.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { loadJumpcloudConfig } from "../lib/jumpcloud/config.ts";
import { createClient } from "../lib/jumpcloud/from-config.ts";
import type { Output } from "./io.ts";
import { SIMULATED_KEY, startSimulatedTenant } from "./simulated.ts";

const GEOIP = fileURLToPath(new URL("../test/fixtures/geoip/", import.meta.url));

/** `demo`: the pipeline end to end on an embedded tenant: simulated API → client → mapper → `_bulk` file. */
export function demoCommand(out: Output): Command {
  return new Command("demo")
    .description("collect a simulated JumpCloud tenant and map it to ECS, no account needed")
    .option("--out <file>", "where to write the _bulk NDJSON", ".jumpcloud-elastic/demo/bulk.ndjson")
    .action(async (flags: { out: string }) => {
      const { simulator, apiUrl } = await startSimulatedTenant();
      try {
        const client = createClient(
          loadJumpcloudConfig({ JUMPCLOUD_API_URL: apiUrl, JUMPCLOUD_API_KEY: SIMULATED_KEY }),
        );
        const config = loadMappingConfig({
          GEOIP_CITY_DB: `${GEOIP}GeoLite2-City-Test.mmdb`,
          GEOIP_ASN_DB: `${GEOIP}GeoLite2-ASN-Test.mmdb`,
        });
        const problems: string[] = [];
        const mapper = createMapper(config, await openGeoIp(config, problems));
        if (problems.length > 0) throw new ConfigurationError(problems);
        const end = new Date();
        const start = new Date(end.getTime() - 86_400_000);
        const lines: string[] = [];
        const counts = { pages: 0, events: 0, pipelineErrors: 0, geo: 0 };
        let sample: unknown;
        for await (const page of client.pages({ services: ["all"], start, end, limit: 500 })) {
          counts.pages++;
          for (const event of page.events) {
            const mapped = mapper.mapValue(event);
            counts.events++;
            if (mapped.failed) counts.pipelineErrors++;
            const doc = mapped.document as { client?: { geo?: unknown }; event?: { action?: string } };
            if (doc.client?.geo) counts.geo++;
            if (!sample && doc.client?.geo && doc.event?.action === "sso_auth") sample = mapped.document;
            lines.push(toBulkLines(mapper.dataStream, mapped));
          }
        }
        const path = resolve(flags.out);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, lines.join(""));
        await out.write(
          [
            `Collected a simulated tenant from ${apiUrl} (${start.toISOString()} to ${end.toISOString()}).`,
            `${counts.events} events in ${counts.pages} pages; ${counts.pipelineErrors} pipeline errors; ${counts.geo} with client GeoIP.`,
            `_bulk NDJSON for ${mapper.dataStream}: ${path}`,
            "One document:",
            JSON.stringify(sample, null, 2),
            "",
          ].join("\n"),
        );
      } finally {
        await simulator.stop();
      }
    });
}
