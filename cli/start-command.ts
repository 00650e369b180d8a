import { Command } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { setupCluster } from "../lib/elasticsearch/setup.ts";
import { geoIpMode } from "../lib/settings/geoip-mode.ts";
import { type CollectionReport, collect, finish, humanReport, stopOnSignals } from "./collection-run.ts";
import { refuseIgnoredFlags } from "./flag-checks.ts";
import { cliLogger } from "./output.ts";
import { simulation } from "./run-command.ts";
import { type CliSeams, commandSettings } from "./settings.ts";
import { clusterVariablesSet, SIMULATED_DIR, type TenantDefinition } from "./simulated.ts";

// MaxMind's test databases: the simulated tenant's addresses are drawn from the ranges they cover.
const GEOIP = new URL("../test/fixtures/geoip/", import.meta.url).pathname;

interface StartFlags {
  toElasticsearch?: boolean;
  fresh?: boolean;
  attack?: boolean;
  out: string;
  json?: boolean;
}

function intro(tenant: { created: boolean; definition: TenantDefinition }): string {
  const frozen = new Date(tenant.definition.frozenAt).toISOString();
  const attack = tenant.definition.attack
    ? ", and an attack in its last minutes (after 13 days of its victims' usual logins)"
    : "";
  return tenant.created
    ? `simulated JumpCloud tenant created: ${tenant.definition.count} events over the day before ${frozen}${attack} (frozen; --fresh makes a new one)`
    : `simulated JumpCloud tenant from ${SIMULATED_DIR} (frozen at ${frozen}${attack}; --fresh makes a new one)`;
}

function closing(report: CollectionReport, flags: StartFlags): string {
  const next =
    report.outcome === "ok"
      ? "run it again: only the overlap is re-read, and nothing new is found"
      : "run it again: it goes on from where this run stopped";
  const attack = !flags.attack
    ? ""
    : flags.toElasticsearch
      ? " The attack is in the cluster: rules enabled before it alert at their next run (Security › Alerts); if they were not, enable them (`npm run cli -- setup --kibana --enable-rules`) and play it again with --attack --fresh."
      : " To see the detection rules fire: `npm run cli -- setup --kibana --enable-rules`, then `npm start -- --attack --fresh --to-elasticsearch` (README, Detection).";
  return `${humanReport(report)}${next}.${attack} Next: "Run it against your tenant" in the README.\n`;
}

/**
 * `start` (`npm start`): the main job on its embedded default: the collector reads a simulated,
 * frozen tenant through the real API client, the mapper enriches with MaxMind's test GeoIP
 * databases, and documents go to NDJSON files (or, when asked, a cluster's `simulated` namespace).
 */
export function startCommand(seams: CliSeams): Command {
  return new Command("start")
    .description(
      "collect a simulated JumpCloud tenant into ./out (no account needed); run again: nothing new",
    )
    .option("--out <dir>", "where the NDJSON files go", "out")
    .option("--to-elasticsearch", "send to the cluster in ELASTICSEARCH_URL instead, namespace `simulated`")
    .option("--fresh", "a new simulated tenant, forgetting the old one's checkpoint")
    .option(
      "--attack",
      "play an attack on the simulated tenant too (a new tenant if the kept one has none): every detection rule has something to find",
    )
    .action(async (flags: StartFlags, command: Command) => {
      refuseIgnoredFlags(command, [
        {
          flag: "--out",
          applies: flags.toElasticsearch !== true,
          why: "names the folder of the NDJSON files: with --to-elasticsearch the documents go to the cluster",
        },
      ]);
      const ignored = flags.toElasticsearch ? [] : clusterVariablesSet(seams.env);
      // Nothing simulated ever goes to a cluster unless asked: npm start just says so and goes on.
      const env = Object.fromEntries(Object.entries(seams.env).filter(([k]) => !ignored.includes(k)));
      const logger = cliLogger(seams, flags.json);
      if (ignored.length > 0)
        logger.info(
          `${ignored.join(", ")} ignored: add --to-elasticsearch to send the simulated events there`,
        );
      const { tenant, overrides } = await simulation(
        { ...seams, env },
        { ...flags, outDir: flags.out },
        "start",
      );
      const stop = stopOnSignals(seams, flags.json);
      try {
        logger.info(intro(tenant));
        const loaded = await commandSettings(
          { ...seams, env },
          {
            ...overrides,
            geoIpCityDb: { value: `${GEOIP}GeoLite2-City-Test.mmdb`, source: "start" },
            geoIpAsnDb: { value: `${GEOIP}GeoLite2-ASN-Test.mmdb`, source: "start" },
          },
          flags.toElasticsearch ? ["cluster"] : [],
        );
        if (flags.toElasticsearch) {
          const { template, pipeline } = await setupCluster(
            await createElasticsearchClient(loaded.settings, seams.aws ?? awsClients()),
            geoIpMode(loaded.settings, true, loaded.sourceOf),
          );
          logger.info(`index template: ${template.action}`, { template: template.template });
          logger.info(`ingest pipeline: ${pipeline.action}`, { pipeline: pipeline.pipeline });
        }
        const report = await collect(seams, loaded, { targets: [{}], outDir: flags.out, logger, stop });
        await finish(seams, report, flags.json, () => closing(report, flags));
      } finally {
        stop.dispose();
        await tenant.simulator.stop();
      }
    });
}
