import { Command } from "commander";
import type { CollectSummary } from "../lib/collect/collector.ts";
import { orgsToCollect } from "../lib/compose/collect.ts";
import { addCounts, NO_COUNTS } from "../lib/counts.ts";
import { JumpcloudElasticError, UsageError } from "../lib/errors.ts";
import { jsonLogger } from "../lib/logger.ts";
import { collectOrgs, localCollection } from "./local-collection.ts";
import { type CliSeams, commandSettings } from "./settings.ts";
import { isolatedSimulationOverrides, SIMULATED_DIR, startSimulatedTenant } from "./simulated.ts";

interface RunFlags {
  once?: boolean;
  simulate?: boolean;
  out?: string;
}

/** The run's JSON summary: each org, and the totals. */
function report(summaries: CollectSummary[]) {
  const counts = summaries.reduce((sum, s) => addCounts(sum, s.counts), NO_COUNTS);
  const fetched = summaries.reduce((sum, s) => sum + s.fetched, 0);
  return { orgs: summaries, total: { fetched, ...counts } };
}

/** `run --once`: the collector, locally: every org caught up, then a summary. */
export function runCommand(seams: CliSeams): Command {
  return new Command("run")
    .description(
      "collect until caught up (checkpoint in CHECKPOINT_FILE), into Elasticsearch or NDJSON files",
    )
    .option(
      "--once",
      "collect until caught up, then exit (the only mode: schedule it with cron, or deploy the Lambda)",
    )
    .option(
      "--simulate",
      `collect from the embedded JumpCloud simulator; its checkpoint, output and dead letters live apart, under ${SIMULATED_DIR}, and it never writes to a cluster`,
    )
    .option(
      "--out <dir>",
      "where documents go when no cluster is configured (default: .jumpcloud-elastic/out)",
    )
    .action(async (flags: RunFlags) => {
      if (!flags.once) throw new UsageError("run needs --once (schedule it, or deploy the collector Lambda)");
      const simulated = flags.simulate ? await startSimulatedTenant() : undefined;
      try {
        const overrides = simulated ? isolatedSimulationOverrides(simulated.apiUrl) : {};
        const loaded = await commandSettings(seams, overrides, ["jumpcloudCredentials"]);
        const logger = jsonLogger((line) => seams.io.log(line.trimEnd()));
        const outDir = flags.out ?? (simulated ? `${SIMULATED_DIR}/out` : ".jumpcloud-elastic/out");
        const collection = await localCollection(loaded, seams, { outDir, logger });
        if (!collection.toCluster)
          seams.io.log(`no ELASTICSEARCH_URL: documents go to ${collection.destination}`);
        const orgs = orgsToCollect(loaded.settings);
        const results = await collectOrgs(collection, orgs, loaded.settings.orgConcurrency);
        const failures = results.filter((r): r is Error => r instanceof Error);
        if (failures.length > 0) {
          throw new JumpcloudElasticError(
            `${failures.length} of ${orgs.length} org(s) failed, their checkpoints unmoved: ${failures.map((f) => f.message).join("; ")}`,
            { cause: failures[0] },
          );
        }
        const summaries = results as CollectSummary[];
        for (const s of summaries.filter((s) => s.status === "locked")) {
          seams.io.log(
            `${s.key}: another run holds the lease (it expires by itself after LEASE_DURATION if that run died)`,
          );
        }
        await seams.io.write(`${JSON.stringify(report(summaries))}\n`);
      } finally {
        await simulated?.simulator.stop();
      }
    });
}
