import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { orgsToCollect } from "../lib/compose/collect.ts";
import { hasCluster } from "../lib/compose/elasticsearch.ts";
import { parseDuration } from "../lib/duration.ts";
import { UsageError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Overrides } from "../lib/settings/load.ts";
import type { SettingName, Settings } from "../lib/settings/schema.ts";
import { type CollectionReport, collect, finish, humanReport, stopOnSignals } from "./collection-run.ts";
import { refuseIgnoredFlags, typedFlags } from "./flag-checks.ts";
import { cliLogger } from "./output.ts";
import { type CliSeams, commandSettings, flagOverrides, settingOption } from "./settings.ts";
import type { Interruption } from "./signals.ts";
import {
  clusterVariablesSet,
  isolatedSimulationOverrides,
  persistedTenant,
  SIMULATED_DIR,
  SIMULATED_STREAM,
  type SimulatedTenant,
} from "./simulated.ts";

interface RunFlags {
  once?: boolean;
  follow?: boolean;
  every: string;
  simulate?: boolean;
  toElasticsearch?: boolean;
  fresh?: boolean;
  out?: string;
  json?: boolean;
}

const RUN_FLAGS: readonly SettingName[] = ["jumpcloudOrgIds", "jumpcloudServices"];

/** The simulated tenant a `--simulate` run reads, refusing a cluster it was not told to write to. */
export async function simulation(
  seams: CliSeams,
  flags: { toElasticsearch?: boolean; fresh?: boolean; outDir?: string; org?: string; attack?: boolean },
  command: string,
): Promise<{ tenant: SimulatedTenant; overrides: Overrides }> {
  // The simulated tenant is one org, the key's own: an --org would be ignored without a word.
  if (flags.org !== undefined)
    throw new UsageError(
      `${command} reads one simulated org (the key's own): drop --org, or run without --simulate against a real MSP key`,
    );
  const set = clusterVariablesSet(seams.env);
  if (set.length > 0 && !flags.toElasticsearch) {
    throw new UsageError(
      `${command} will not send simulated events to the cluster in ${set.join(", ")}: unset it (documents ` +
        `then go to NDJSON files), or add --to-elasticsearch to send them to logs-jumpcloud.events-simulated`,
    );
  }
  const tenant = await persistedTenant(SIMULATED_DIR, flags.fresh, flags.attack);
  if ((flags.fresh || tenant.created) && flags.outDir !== undefined) {
    // A new tenant (asked for, or for --attack): the old one's documents would sit beside its own.
    for (const suffix of [".ndjson", ".bulk.ndjson"])
      await rm(join(flags.outDir, `${SIMULATED_STREAM}${suffix}`), { force: true });
  }
  return {
    tenant,
    overrides: isolatedSimulationOverrides(tenant.apiUrl, {
      toCluster: flags.toElasticsearch ?? false,
      tenant: tenant.definition,
    }),
  };
}

// Sleeps `ms`, or less when the run is interrupted.
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

function oneLine(report: CollectionReport): string {
  const t = report.total;
  const failed = report.orgs.filter((s) => s.status === "failed").length;
  return (
    `${new Date().toISOString()} ${report.outcome}: ${t.fetched} fetched, ${t.indexed} indexed, ` +
    `${t.duplicates} duplicates, ${t.deadLettered} dead letters${t.withoutGeo ? `, ${t.withoutGeo} without geo` : ""}${failed ? `, ${failed} org(s) failed` : ""}`
  );
}

/** `run --follow`: a round every `every` ms until interrupted; failures are reported, and it goes on. */
async function follow(
  seams: CliSeams,
  every: number,
  round: () => Promise<CollectionReport>,
  stop: Interruption,
  json: boolean | undefined,
): Promise<void> {
  const logger = cliLogger(seams, json);
  for (;;) {
    const report = await round();
    // One result per round, on stdout as every result is.
    await seams.io.write(`${json ? JSON.stringify(report) : oneLine(report)}\n`);
    for (const s of report.orgs) {
      if (s.status === "failed")
        logger.error(`org ${s.orgId ?? "(key's org)"} failed; retried next round`, { error: s.error });
    }
    // Each round's summary is printed as it ends; an interruption ends the loop with 130/143.
    stop.throwIfInterrupted();
    await pause(every, stop.signal);
    stop.throwIfInterrupted();
  }
}

/** `--out` names where NDJSON files go: with a cluster configured, the documents go there instead. */
export function warnOutIgnored(command: Command, settings: Settings, logger: Logger): void {
  if (typedFlags(command).has("--out") && hasCluster(settings))
    logger.warn(
      "--out ignored: the documents go to the cluster (ELASTICSEARCH_URL / ELASTICSEARCH_CLOUD_ID / ELASTICSEARCH_SECRET_ARN), not to files",
    );
}

/** `run --once` / `run --follow`: the collector, locally, every org, with a summary. */
export function runCommand(seams: CliSeams): Command {
  return new Command("run")
    .description(
      "collect until caught up (--once) or on an interval (--follow), into Elasticsearch or NDJSON files",
    )
    .option("--once", "collect until caught up, then exit (schedule it with cron, or deploy the Lambda)")
    .option("--follow", "collect, wait --every, collect again, until Ctrl-C")
    .option("--every <duration>", "pause between --follow rounds", "5m")
    .addOption(settingOption("jumpcloudOrgIds"))
    .addOption(settingOption("jumpcloudServices"))
    .option(
      "--simulate",
      `collect from the embedded JumpCloud simulator; its tenant, checkpoint and dead letters live apart, under ${SIMULATED_DIR}`,
    )
    .option("--to-elasticsearch", "with --simulate: send to the configured cluster, namespace `simulated`")
    .option("--fresh", "with --simulate: a new simulated tenant, forgetting the old one's checkpoint")
    .option(
      "--out <dir>",
      "where documents go when no cluster is configured (default: .jumpcloud-elastic/out)",
    )
    .action(async (flags: RunFlags, command: Command) => {
      if (flags.once === flags.follow) throw new UsageError("run needs exactly one of --once and --follow");
      refuseIgnoredFlags(command, [
        {
          flag: "--every",
          applies: flags.follow === true,
          why: "paces --follow rounds: it does nothing with --once",
        },
        {
          flag: "--to-elasticsearch",
          applies: flags.simulate === true,
          why: "applies with --simulate only (a real run sends to ELASTICSEARCH_URL when set)",
        },
        {
          flag: "--fresh",
          applies: flags.simulate === true,
          why: "applies with --simulate only (`forget` removes a real checkpoint)",
        },
      ]);
      const every = parseDuration(flags.every);
      if (every === undefined || every < 1_000)
        throw new UsageError(`--every must be a duration of 1s or more (30s, 5m, 1h), not "${flags.every}"`);
      const outDir = flags.out ?? (flags.simulate ? "out" : ".jumpcloud-elastic/out");
      const simulated = flags.simulate
        ? await simulation(seams, { ...flags, outDir }, "run --simulate")
        : undefined;
      const stop = stopOnSignals(seams, flags.json);
      try {
        const loaded = await commandSettings(
          seams,
          { ...flagOverrides(flags, RUN_FLAGS), ...simulated?.overrides },
          ["jumpcloudCredentials", ...(flags.toElasticsearch ? (["cluster"] as const) : [])],
        );
        const logger = cliLogger(seams, flags.json);
        warnOutIgnored(command, loaded.settings, logger);
        const targets = orgsToCollect(loaded.settings).map((orgId) => ({ orgId }));
        const round = () => collect(seams, loaded, { targets, outDir, logger, stop });
        if (flags.follow) return await follow(seams, every, round, stop, flags.json);
        const report = await round();
        await finish(seams, report, flags.json, () => humanReport(report));
      } finally {
        stop.dispose();
        await simulated?.tenant.simulator.stop();
      }
    });
}
