import { Command } from "commander";
import type { CheckpointStore } from "../lib/collect/checkpoint.ts";
import { parseCheckpointKey } from "../lib/collect/collector.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { collectOptions, createCheckpointStore, orgsToCollect } from "../lib/compose/collect.ts";
import type { LoadedSettings, Overrides } from "../lib/settings/load.ts";
import type { Settings } from "../lib/settings/schema.ts";
import { collect, finish, humanReport, stopOnSignals } from "./collection-run.ts";
import type { LocalTarget } from "./local-collection.ts";
import { cliLogger, note } from "./output.ts";
import { simulation, warnOutIgnored } from "./run-command.ts";
import { type CliSeams, commandSettings, flagOverrides, settingOption } from "./settings.ts";
import { inThePast, parseTimeRange } from "./time-options.ts";

interface WindowFlags {
  from: string;
  to?: string;
  org?: string;
  services?: string;
  concurrency?: string;
  simulate?: boolean;
  out?: string;
  json?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

// Settings and the time range, checked together so every problem is told at once.
async function load(seams: CliSeams, flags: WindowFlags, overrides: Overrides, needTo: boolean) {
  const now = Date.now();
  let from = now;
  let to = now;
  const loaded = await commandSettings(
    seams,
    {
      ...flagOverrides(flags, ["jumpcloudOrgIds", "jumpcloudServices"]),
      ...(flags.concurrency !== undefined && {
        backfillConcurrency: { value: flags.concurrency, source: "--concurrency" },
      }),
      ...overrides,
    },
    ["jumpcloudCredentials"],
    async ({ settings }, problems) => {
      const end: [string, string | Date | undefined] = needTo
        ? ["--to", flags.to]
        : ["now − SOURCE_LAG", new Date(now - settings.sourceLag)];
      const before = problems.length;
      const range = parseTimeRange(["--from", flags.from], end, now, problems);
      if (problems.length === before)
        inThePast(
          needTo
            ? [
                ["--from", range.from],
                ["--to", range.to],
              ]
            : [["--from", range.from]],
          now,
          problems,
        );
      from = range.from?.getTime() ?? now;
      to = range.to?.getTime() ?? now;
    },
  );
  return { loaded, window: { start: from, end: to } };
}

/** Runs `targets` like `run --once` does: progress, Ctrl-C, every org's summary, exit status. */
async function collectTargets(
  seams: CliSeams,
  flags: WindowFlags,
  command: Command,
  loaded: LoadedSettings,
  targets: (settings: Settings) => Promise<LocalTarget[]>,
) {
  const stop = stopOnSignals(seams, flags.json);
  try {
    const logger = cliLogger(seams, flags.json);
    warnOutIgnored(command, loaded.settings, logger);
    const outDir = flags.out ?? (flags.simulate ? "out" : ".jumpcloud-elastic/out");
    const report = await collect(seams, loaded, {
      targets: await targets(loaded.settings),
      outDir,
      logger,
      stop,
    });
    await finish(seams, report, flags.json, () => humanReport(report));
  } finally {
    stop.dispose();
  }
}

/** With --simulate, the simulated tenant's overrides; the simulator stops when `work` ends. */
async function withSimulation(
  seams: CliSeams,
  flags: WindowFlags,
  command: string,
  work: (overrides: Overrides) => Promise<void>,
) {
  const simulated = flags.simulate
    ? await simulation(seams, { ...(flags.org !== undefined && { org: flags.org }) }, command)
    : undefined;
  try {
    await work(simulated?.overrides ?? {});
  } finally {
    await simulated?.tenant.simulator.stop();
  }
}

/** `replay`: re-reads a window on its own checkpoint (resumable with the same times); the cursor stays. */
export function replayCommand(seams: CliSeams): Command {
  return new Command("replay")
    .description("read a past window again (duplicates are skipped); the scheduled cursor never moves")
    .requiredOption("--from <time>", "window start: ISO 8601 (resumable), or a duration ago such as 2h")
    .requiredOption("--to <time>", "window end: ISO 8601, or a duration ago")
    .addOption(settingOption("jumpcloudServices"))
    .addOption(settingOption("jumpcloudOrgIds", "the org(s) to replay (default: every org collected)"))
    .option("--simulate", "replay the simulated tenant (see `start`)")
    .option("--out <dir>", "where documents go when no cluster is configured")
    .action((flags: WindowFlags, command: Command) =>
      withSimulation(seams, flags, "replay --simulate", async (overrides) => {
        const { loaded, window } = await load(seams, flags, overrides, true);
        note(
          seams,
          flags.json,
          `replaying ${iso(window.start)} → ${iso(window.end)} (give these times to resume it)`,
        );
        await collectTargets(seams, flags, command, loaded, async (settings) =>
          orgsToCollect(settings).map((orgId) => ({ orgId, replay: window })),
        );
      }),
    );
}

// An earlier backfill's replay from the same start: resumed when unfinished; when finished, the
// span before it is read, and the scheduled cursor has covered what came after.
async function earlierReplay(store: CheckpointStore, scheduledKey: string, from: number) {
  const base = scheduledKey.replace(/#scheduled$/, "#replay#");
  const found = (await store.list()).filter(
    (c) => c.key.startsWith(base) && parseCheckpointKey(c.key)?.replay?.start === from,
  );
  const open = found.find((c) => !c.done);
  if (open) return { window: parseCheckpointKey(open.key)?.replay, done: false };
  return found.length > 0 ? { window: undefined, done: true } : undefined;
}

/**
 * What a backfill from `from` reads for one org: with no cursor yet, the scheduled collection
 * starting at `from`; with a cursor after `from`, a replay up to the cursor, and the catch-up.
 */
async function backfillTargets(settings: Settings, store: CheckpointStore, from: number, now: number) {
  const targets: LocalTarget[] = [];
  for (const orgId of orgsToCollect(settings)) {
    const options = collectOptions(settings, { orgId });
    const cursor = (await store.get(options.key))?.cursor;
    if (cursor === undefined) {
      const tune = { windows: { ...options.windows, initialLookback: now - from }, carryCursorOver: false };
      targets.push({ orgId, tune });
      continue;
    }
    const earlier = cursor > from ? await earlierReplay(store, options.key, from) : undefined;
    if (cursor > from && !earlier?.done)
      targets.push({ orgId, replay: earlier?.window ?? { start: from, end: cursor } });
    targets.push({ orgId });
  }
  return targets;
}

/** `backfill`: everything from a time on, several windows at once, resumable (run it again). */
export function backfillCommand(seams: CliSeams): Command {
  return new Command("backfill")
    .description("collect everything from a past time on, several windows at once; run again to resume")
    .requiredOption(
      "--from <time>",
      "start: ISO 8601, or a duration ago such as 30d (JumpCloud keeps 15 to 90 days)",
    )
    .addOption(settingOption("backfillConcurrency"))
    .addOption(settingOption("jumpcloudOrgIds"))
    .option("--simulate", "backfill the simulated tenant (see `start`)")
    .option("--out <dir>", "where documents go when no cluster is configured")
    .action((flags: WindowFlags, command: Command) =>
      withSimulation(seams, flags, "backfill --simulate", async (overrides) => {
        const { loaded, window } = await load(seams, flags, overrides, false);
        const store = createCheckpointStore(loaded.settings, seams.aws ?? awsClients());
        // A relative --from moves with the clock: only the same instant resumes the span before the cursor.
        note(
          seams,
          flags.json,
          `backfilling from ${iso(window.start)} (to resume, run it again with --from ${iso(window.start)})`,
        );
        await collectTargets(seams, flags, command, loaded, (settings) =>
          backfillTargets(settings, store, window.start, Date.now()),
        );
      }),
    );
}
