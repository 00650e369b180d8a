import type { CollectSummary } from "../lib/collect/collector.ts";
import { addCounts, type Counts, NO_COUNTS } from "../lib/counts.ts";
import { ConfigurationError, InterruptedError, JumpcloudElasticError, LockedError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { LoadedSettings } from "../lib/settings/load.ts";
import { collectOrgs, type FailedOrg, type LocalTarget, localCollection } from "./local-collection.ts";
import { emit, lagText, note, table } from "./output.ts";
import { runProgress } from "./progress.ts";
import type { CliSeams } from "./settings.ts";
import { type Interruption, interruption, processSignals, type StopSignal } from "./signals.ts";
import { releaseDeadLocalLeases } from "./unlock-command.ts";

/** What a collection command did, org by org, and where the documents went. */
export interface CollectionReport {
  outcome: "ok" | "failed" | "locked" | "interrupted";
  orgs: (CollectSummary | FailedOrg)[];
  total: Counts & { fetched: number; windows: number; pages: number; lateEvents: number };
  elapsedMs: number;
  destination: string;
  /** The `_bulk` form of the output, for local runs. */
  bulkFile?: string;
  /** The signal that stopped the run early. */
  interruptedBy?: StopSignal;
}

const isFailed = (s: CollectSummary | FailedOrg): s is FailedOrg => s.status === "failed";

function outcomeOf(orgs: readonly (CollectSummary | FailedOrg)[]): CollectionReport["outcome"] {
  if (orgs.some(isFailed)) return "failed";
  if (orgs.some((s) => s.status === "interrupted")) return "interrupted";
  if (orgs.some((s) => s.status === "locked")) return "locked";
  return "ok";
}

/** Collects `targets` with progress and Ctrl-C handling; answers every org's summary, failed ones too. */
export async function collect(
  seams: CliSeams,
  loaded: LoadedSettings,
  options: {
    targets: readonly LocalTarget[];
    outDir: string;
    logger: Logger;
    stop: Interruption;
  },
): Promise<CollectionReport> {
  const started = Date.now();
  const { stop } = options;
  const progress = runProgress({ terminal: seams.io.terminal, logger: options.logger });
  try {
    const collection = await localCollection(loaded, seams, {
      outDir: options.outDir,
      logger: options.logger,
      stop: stop.signal,
      progress,
    });
    // The file store is this machine's: a lease whose process is gone here is safe to take back.
    if (loaded.settings.checkpointTable === undefined) {
      for (const c of await releaseDeadLocalLeases(collection.store)) {
        options.logger.warn("cleared a lease left by a run that no longer runs", {
          key: c.key,
          owner: c.leaseOwner,
        });
      }
    }
    const orgs = await collectOrgs(collection, options.targets, loaded.settings.orgConcurrency);
    const summaries = orgs.filter((s): s is CollectSummary => !isFailed(s));
    const sum = <K extends "fetched" | "windows" | "pages" | "lateEvents">(k: K) =>
      summaries.reduce((n, s) => n + s[k], 0);
    const signal = stop.received();
    return {
      outcome: signal ? "interrupted" : outcomeOf(orgs),
      ...(signal && { interruptedBy: signal }),
      orgs,
      total: {
        ...summaries.reduce((c, s) => addCounts(c, s.counts), NO_COUNTS),
        fetched: sum("fetched"),
        windows: sum("windows"),
        pages: sum("pages"),
        lateEvents: sum("lateEvents"),
      },
      elapsedMs: Date.now() - started,
      destination: collection.destination,
      ...(!collection.toCluster && { bulkFile: collection.destination.replace(/\.ndjson$/, ".bulk.ndjson") }),
    };
  } finally {
    progress.stop();
  }
}

/** Ctrl-C and SIGTERM for the length of a command: the first stops it cleanly, a second at once. */
export function stopOnSignals(seams: CliSeams, json?: boolean): Interruption {
  return interruption(seams.signals ?? processSignals, (signal) =>
    note(
      seams,
      json,
      `${signal}: stopping; the page in flight is dropped and read again next run, progress is saved (Ctrl-C again quits at once)`,
    ),
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function row(s: CollectSummary | FailedOrg): string[] {
  const org = `${s.orgId ?? "(key's org)"}${"key" in s && s.key.includes("#replay#") ? " (replay)" : ""}`;
  if (isFailed(s)) return [org, "FAILED", "", "", "", "", "", "", s.error];
  const c = s.counts;
  return [
    org,
    s.status,
    String(s.windows),
    String(s.fetched),
    String(c.indexed),
    String(c.duplicates),
    String(c.deadLettered),
    lagText(s.lagMs),
    s.cursorAfter ?? "—",
  ];
}

/** The summary table a person reads at the end of a run. */
export function humanReport(report: CollectionReport): string {
  const t = report.total;
  const lines = [
    table(
      [
        "org",
        "status",
        "windows",
        "fetched",
        "indexed",
        "duplicates",
        "dead letters",
        "lag",
        "cursor / error",
      ],
      [
        ...report.orgs.map(row),
        [
          "total",
          report.outcome,
          String(t.windows),
          String(t.fetched),
          String(t.indexed),
          String(t.duplicates),
          String(t.deadLettered),
        ],
      ],
    ),
    `elapsed ${seconds(report.elapsedMs)}; documents: ${report.destination}${report.bulkFile ? ` (and in _bulk form: ${report.bulkFile})` : ""}`,
  ];
  if (t.lateEvents > 0)
    lines.push(
      `${t.lateEvents} event(s) arrived later than OVERLAP: the trailing re-read (RECHECK_AFTER) stored them.`,
    );
  if (t.withoutPipeline > 0)
    lines.push(
      `${t.withoutPipeline} document(s) stored without this project's ingest pipeline (it is missing): run \`setup\` with manage_pipeline.`,
    );
  if (t.withoutGeo > 0)
    lines.push(
      `${t.withoutGeo} document(s) with an address stored without geo: the cluster had not downloaded its GeoIP databases yet (tag _geoip_database_unavailable_<file>), or the pipeline was missing.`,
    );
  if (t.fetched > 0 && t.indexed === 0 && report.outcome === "ok")
    lines.push("nothing new: every event read was already stored.");
  if (t.fetched === 0 && report.outcome === "ok") lines.push("nothing new: no events since the last run.");
  return `${lines.join("\n")}\n`;
}

/**
 * Prints the report, then ends the command with its exit status: 1 when an org failed (the others'
 * summaries are printed first), 3 when a lease was held, 130/143 when interrupted.
 */
export async function finish(
  seams: CliSeams,
  report: CollectionReport,
  json: boolean | undefined,
  human: () => string = () => humanReport(report),
): Promise<void> {
  await emit(seams, json, report, human);
  const failed = report.orgs.filter(isFailed);
  // The same setup problem for every org is one line to fix, not an org's failure.
  if (failed.length > 0 && failed.every((f) => f.kind === "configuration"))
    throw new ConfigurationError([...new Set(failed.map((f) => f.error))]);
  if (failed.length > 0) {
    throw new JumpcloudElasticError(
      `${failed.length} of ${report.orgs.length} org(s) failed, their checkpoints unmoved: ${failed
        .map((f) => `${f.orgId ?? "the key's org"}: ${f.error}`)
        .join("; ")}`,
    );
  }
  if (report.interruptedBy) throw new InterruptedError(report.interruptedBy);
  const locked = report.orgs.filter((s) => s.status === "locked");
  if (locked.length > 0) {
    throw new LockedError(
      `another run holds the lease of ${locked.map((s) => s.orgId ?? "the key's org").join(", ")}; ` +
        "see `status`, and `unlock` if that run is gone (a lease also expires by itself after LEASE_DURATION)",
    );
  }
}
