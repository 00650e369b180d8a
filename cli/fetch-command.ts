import { Command } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createEventSource } from "../lib/compose/jumpcloud.ts";
import { jsonText } from "../lib/json-text.ts";
import type { Overrides } from "../lib/settings/load.ts";
import { refuseIgnoredFlags } from "./flag-checks.ts";
import { cliLogger, note } from "./output.ts";
import { cliHttp } from "./proxy.ts";
import { type CliSeams, commandSettings, flagOverrides, SETTING_GROUPS, settingOption } from "./settings.ts";
import { simulatedOverrides, startSimulatedTenant } from "./simulated.ts";
import { parseTimeRange } from "./time-options.ts";

interface FetchFlags {
  start: string;
  end?: string;
  services?: string;
  org?: string;
  limit?: string;
  simulate?: boolean;
  json?: boolean;
}

const FETCH_FLAGS = ["jumpcloudServices", "jumpcloudOrgIds", "pageLimit"] as const;

// Times and settings are checked together, so every problem is told at once.
async function fetchPlan(flags: FetchFlags, seams: CliSeams, overrides: Overrides) {
  const now = Date.now();
  let start = new Date(now);
  let end = start;
  const loaded = await commandSettings(
    seams,
    overrides,
    ["jumpcloudCredentials"],
    async (_, problems) => {
      const range = parseTimeRange(
        ["--start", flags.start],
        ["--end", flags.end ?? new Date(now)],
        now,
        problems,
      );
      start = range.from as Date;
      end = range.to as Date;
    },
    { names: SETTING_GROUPS.jumpcloud, by: "fetch" },
  );
  return { settings: loaded.settings, start, end };
}

/** `fetch`: raw events of one window from the Directory Insights API, one JSON per line. */
export function fetchCommand(seams: CliSeams): Command {
  return new Command("fetch")
    .description("fetch raw events of one window from Directory Insights (NDJSON on stdout)")
    .option("--start <time>", "window start: ISO 8601, or a duration ago such as 2h", "1h")
    .option("--end <time>", "window end: ISO 8601, or a duration ago (default: now)")
    .addOption(settingOption("jumpcloudServices"))
    .addOption(settingOption("jumpcloudOrgIds", "x-org-id for MSP keys (the first listed when omitted)"))
    .addOption(settingOption("pageLimit"))
    .option("--simulate", "use the embedded JumpCloud simulator (a generated tenant) instead of the real API")
    .action(async (flags: FetchFlags, command: Command) => {
      refuseIgnoredFlags(command, [
        {
          flag: "--org",
          applies: flags.simulate !== true,
          why: "does not apply with --simulate: the simulated tenant is one org, the key's own",
        },
      ]);
      const simulated = flags.simulate ? await startSimulatedTenant() : undefined;
      try {
        const overrides: Overrides = {
          ...flagOverrides(flags, FETCH_FLAGS),
          ...(simulated && simulatedOverrides(simulated.apiUrl)),
        };
        const { settings, start, end } = await fetchPlan(flags, seams, overrides);
        const logger = cliLogger(seams, flags.json);
        const client = await createEventSource(settings, {
          aws: seams.aws ?? awsClients(),
          logger,
          http: await cliHttp(settings),
        });
        const query = { services: settings.jumpcloudServices, start, end, limit: settings.pageLimit };
        let events = 0;
        let pages = 0;
        for await (const page of client.pages(query)) {
          pages++;
          events += page.events.length;
          await seams.io.write(page.events.map((e) => `${jsonText(e)}\n`).join(""));
        }
        note(
          seams,
          flags.json,
          `fetched ${events} event(s) in ${pages} page(s), ${query.start.toISOString()} to ${query.end.toISOString()}` +
            `${simulated ? " (simulated tenant)" : ""}`,
        );
      } finally {
        await simulated?.simulator.stop();
      }
    });
}
