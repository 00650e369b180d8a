import { Command } from "commander";
import type { Environment } from "../lib/config.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { readJumpcloudConfig } from "../lib/jumpcloud/config.ts";
import { createClient } from "../lib/jumpcloud/from-config.ts";
import { jsonLogger } from "../lib/logger.ts";
import type { Output } from "./io.ts";
import { SIMULATED_KEY, startSimulatedTenant } from "./simulated.ts";
import { parseTimeOption } from "./time-options.ts";

interface FetchFlags {
  start: string;
  end?: string;
  services?: string;
  org?: string;
  limit: string;
  simulate?: boolean;
}

/** `fetch`: raw events of one window from the Directory Insights API, one JSON per line. */
export function fetchCommand(env: Environment, out: Output): Command {
  return new Command("fetch")
    .description("fetch raw events of one window from Directory Insights (NDJSON on stdout)")
    .option("--start <time>", "window start: ISO 8601, or a duration ago such as 2h", "1h")
    .option("--end <time>", "window end: ISO 8601, or a duration ago (default: now)")
    .option("--services <list>", "comma-separated services [env JUMPCLOUD_SERVICES, default: all]")
    .option("--org <id>", "x-org-id for MSP keys [env JUMPCLOUD_ORG_IDS, first one]")
    .option("--limit <n>", "events per page, 1 to 10000", "1000")
    .option("--simulate", "use the embedded JumpCloud simulator (a generated tenant) instead of the real API")
    .action(async (flags: FetchFlags) => {
      const now = Date.now();
      const simulated = flags.simulate ? await startSimulatedTenant() : undefined;
      try {
        const problems: string[] = [];
        const config = readJumpcloudConfig(
          {
            ...env,
            ...(simulated && { JUMPCLOUD_API_URL: simulated.apiUrl, JUMPCLOUD_API_KEY: SIMULATED_KEY }),
            ...(flags.services !== undefined && { JUMPCLOUD_SERVICES: flags.services }),
            ...(flags.org !== undefined && { JUMPCLOUD_ORG_IDS: flags.org }),
          },
          problems,
        );
        if (problems.length > 0) throw new ConfigurationError(problems);
        const client = createClient(config, { logger: jsonLogger((line) => out.log(line.trimEnd())) });
        const query = {
          services: config.services,
          start: parseTimeOption("--start", flags.start, now),
          end: flags.end === undefined ? new Date(now) : parseTimeOption("--end", flags.end, now),
          limit: Number(flags.limit),
        };
        let events = 0;
        let pages = 0;
        for await (const page of client.pages(query)) {
          pages++;
          events += page.events.length;
          await out.write(page.events.map((e) => `${JSON.stringify(e)}\n`).join(""));
        }
        out.log(
          `fetched ${events} event(s) in ${pages} page(s), ${query.start.toISOString()} to ${query.end.toISOString()}` +
            `${simulated ? " (simulated tenant)" : ""}`,
        );
      } finally {
        await simulated?.simulator.stop();
      }
    });
}
