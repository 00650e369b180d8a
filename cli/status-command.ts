import { existsSync } from "node:fs";
import { Command } from "commander";
import type { Checkpoint, CheckpointStore } from "../lib/collect/checkpoint.ts";
import { parseCheckpointKey } from "../lib/collect/collector.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { createCheckpointStore } from "../lib/compose/collect.ts";
import { hasCluster } from "../lib/compose/elasticsearch.ts";
import { describeDatabase, MaxmindGeoIpLookup } from "../lib/ecs/geo.ts";
import { pipelineName } from "../lib/elasticsearch/ingest-pipeline.ts";
import { JumpcloudElasticError } from "../lib/errors.ts";
import { geoIpMode } from "../lib/settings/geoip-mode.ts";
import { type Overrides, parseSettings } from "../lib/settings/load.ts";
import { emit, lagText, table } from "./output.ts";
import { type CliSeams, commandSettings, SETTING_GROUPS } from "./settings.ts";
import { SIMULATED_CHECKPOINT_FILES, SIMULATED_DIR } from "./simulated.ts";
import { whyClearable } from "./unlock-command.ts";

/** One checkpoint store and what it holds (of the org asked for). */
export interface CheckpointSource {
  store: CheckpointStore;
  /** The file, or the DynamoDB table. */
  where: string;
  /** The local file store: only this machine uses it. */
  local: boolean;
  checkpoints: Checkpoint[];
}

async function source(
  seams: CliSeams,
  overrides: Overrides,
  org: string | undefined,
  command: string,
): Promise<CheckpointSource> {
  const loaded = await commandSettings(seams, overrides, [], undefined, {
    names: SETTING_GROUPS.checkpoints,
    by: command,
  });
  const { settings } = loaded;
  const store = createCheckpointStore(settings, seams.aws ?? awsClients());
  const table = settings.checkpointTable;
  const checkpoints = (await store.list()).filter(
    (c) => org === undefined || parseCheckpointKey(c.key)?.orgId === org,
  );
  return {
    store,
    where: table ? `DynamoDB table ${table}` : settings.checkpointFile,
    local: !table,
    checkpoints,
  };
}

/**
 * The GeoIP mode runs with these settings use, and for local files each database's build date and
 * age. Read apart from the checkpoints: a wrong GeoIP setting is shown here, never a failed status.
 */
export async function geoIpStatus(env: CliSeams["env"]) {
  const { settings, sourceOf, problems } = parseSettings(env, {
    uses: {
      names: [
        ...SETTING_GROUPS.geoip,
        "elasticsearchUrl",
        "elasticsearchCloudId",
        "elasticsearchSecretArn",
        "checkpointTable",
      ],
      by: "status",
    },
  });
  if (problems.length > 0) return { problem: problems.join("; ") };
  let mode: ReturnType<typeof geoIpMode>;
  try {
    mode = geoIpMode(settings, hasCluster(settings), sourceOf);
  } catch (error) {
    if (error instanceof JumpcloudElasticError) return { problem: error.message };
    throw error;
  }
  // The deployed mapper has its own GEOIP (the stack's context): this is the shell's.
  const base = {
    mode,
    ...(hasCluster(settings) && { pipeline: pipelineName(mode) }),
    ...(settings.checkpointTable !== undefined && { of: "this shell's settings, not the deployed mapper's" }),
  };
  if (mode !== "files") return base;
  const inS3 = [settings.geoIpCityDb, settings.geoIpAsnDb].filter(
    (p): p is string => !!p?.startsWith("s3://"),
  );
  const local = (path: string | undefined) => (path?.startsWith("s3://") ? undefined : path);
  const city = local(settings.geoIpCityDb);
  const asn = local(settings.geoIpAsnDb);
  try {
    const lookup = await MaxmindGeoIpLookup.open({ ...(city && { city }), ...(asn && { asn }) });
    return {
      ...base,
      databases: lookup.databases().map((d) => ({
        ...describeDatabase(d),
        path: d.kind === "City" ? city : asn,
        builtAt: d.builtAt.toISOString(),
      })),
      ...(inS3.length > 0 && { inS3 }),
    };
  } catch (error) {
    if (error instanceof JumpcloudElasticError) return { ...base, problem: error.message };
    throw error;
  }
}

function geoIpText(geo: Awaited<ReturnType<typeof geoIpStatus>>): string {
  if (!("mode" in geo)) return `GeoIP: ${geo.problem}`;
  const files = ("databases" in geo ? (geo.databases ?? []) : []).map(
    (d) => `${d.text}${d.stale ? " — stale: update it (`geoip update`)" : ""}`,
  );
  const s3 = ("inS3" in geo ? (geo.inS3 ?? []) : []).map((url) => `${url} (\`doctor\` reads its age)`);
  const problem = "problem" in geo && geo.problem ? [geo.problem] : [];
  const head = `GeoIP: ${geo.mode}${"pipeline" in geo ? ` (pipeline ${geo.pipeline})` : ""}${"of" in geo ? `, from ${geo.of}` : ""}`;
  return `${head}${[...files, ...s3, ...problem].map((line) => `; ${line}`).join("")}`;
}

/** The checkpoints a status or unlock looks at: the configured store, or the simulation's files. */
export async function checkpointsOf(
  seams: CliSeams,
  flags: { org?: string; simulate?: boolean },
  command: string,
): Promise<CheckpointSource[]> {
  if (!flags.simulate) return [await source(seams, {}, flags.org, command)];
  const files = SIMULATED_CHECKPOINT_FILES.filter((file) => existsSync(file));
  return Promise.all(
    (files.length > 0 ? files : SIMULATED_CHECKPOINT_FILES.slice(0, 1)).map((file) =>
      source(
        seams,
        {
          checkpointTable: { value: undefined, source: "--simulate" },
          checkpointFile: { value: file, source: "--simulate" },
        },
        flags.org,
        command,
      ),
    ),
  );
}

/** A checkpoint's lease, as an operator reads it. */
export function leaseState(c: Checkpoint, now: number): "free" | "held" | "expired" {
  if (c.leaseOwner === undefined) return "free";
  return (c.leaseExpiresAt ?? 0) >= now ? "held" : "expired";
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** One checkpoint as `status --json` shows it. */
function describe(c: Checkpoint, now: number, local: boolean) {
  const parts = parseCheckpointKey(c.key);
  return {
    key: c.key,
    kind: parts?.replay ? "replay" : "scheduled",
    orgId: parts?.orgId,
    services: parts?.services,
    ...(parts?.replay && {
      replay: { start: iso(parts.replay.start), end: iso(parts.replay.end) },
      done: c.done,
    }),
    cursor: iso(c.cursor),
    // The trailing re-read (RECHECK_AFTER) has read everything before this a second time.
    recheckedTo: iso(c.recheckedTo),
    lagMs: c.cursor === undefined || parts?.replay ? undefined : now - c.cursor,
    inWindows: c.progress.map((p) => ({
      start: iso(p.start),
      end: iso(p.end),
      pagesDone: p.pages,
      ...(p.done && { done: true }),
    })),
    lease: {
      state: leaseState(c, now),
      owner: c.leaseOwner,
      expiresAt: iso(c.leaseExpiresAt),
      ...(local && leaseState(c, now) === "held" && whyClearable(c, now, true) && { ownerGone: true }),
    },
    lastRun: c.stats,
  };
}

// One line per window started and not yet passed by the cursor (a catch-up reads several at once).
function windowsText(windows: ReturnType<typeof describe>["inWindows"]): string {
  if (windows.length === 0) return "—";
  return windows
    .map((w) => (w.done ? `done ${w.start} → ${w.end}` : `${w.pagesDone} page(s) into ${w.start} → ${w.end}`))
    .join("\n");
}

function humanStatus(where: string, rows: ReturnType<typeof describe>[], org: string | undefined): string {
  if (rows.length === 0 && org !== undefined) return `no checkpoint of org ${org} in ${where}\n`;
  if (rows.length === 0) return `no checkpoints in ${where}: nothing has been collected yet\n`;
  const cells = rows.map((r) => [
    `${r.orgId ?? "(key's org)"} ${r.services?.join(",") ?? ""}`,
    r.kind === "replay"
      ? `replay ${r.replay?.start} → ${r.replay?.end}${r.done ? " (done)" : ""}`
      : "scheduled",
    r.cursor ?? "—",
    lagText(r.lagMs),
    windowsText(r.inWindows),
    r.lease.state === "free"
      ? "free"
      : `${r.lease.state}: ${r.lease.owner} until ${r.lease.expiresAt}${r.lease.ownerGone ? " (its process is gone: the next run or `unlock` clears it)" : ""}`,
    r.lastRun
      ? `${r.lastRun.at}: ${r.lastRun.fetched} fetched, ${r.lastRun.counts.indexed} indexed, ${r.lastRun.counts.duplicates} dup, ${r.lastRun.counts.deadLettered} dead${r.lastRun.counts.withoutGeo ? `, ${r.lastRun.counts.withoutGeo} without geo` : ""}`
      : "—",
  ]);
  const keys = rows.map((r) => `  ${r.key}`).join("\n");
  return `${where}\n${table(["org / services", "kind", "cursor", "lag", "in window", "lease", "last run"], cells)}\nkeys (for \`forget\`):\n${keys}\n`;
}

/** `status`: every checkpoint's cursor, lag, progress, lease and last run. */
export function statusCommand(seams: CliSeams): Command {
  return new Command("status")
    .description(
      "show each checkpoint: cursor, lag, progress in its window, lease, last run (file or DynamoDB)",
    )
    .option("--org <id>", "only this org's checkpoints")
    .option("--simulate", `the simulation's checkpoints (${SIMULATED_DIR})`)
    .action(async (flags: { org?: string; simulate?: boolean; json?: boolean }) => {
      const sources = await checkpointsOf(seams, flags, "status");
      const now = Date.now();
      const stores = sources.map(({ where, local, checkpoints }) => ({
        store: where,
        checkpoints: checkpoints.map((c) => describe(c, now, local)),
      }));
      const geoIp = await geoIpStatus(seams.env);
      // One store, as almost always: the document stays flat.
      const value = stores.length === 1 ? { ...stores[0], geoIp } : { stores, geoIp };
      await emit(
        seams,
        flags.json,
        value,
        () =>
          `${stores.map((s) => humanStatus(s.store, s.checkpoints, flags.org)).join("\n")}${geoIpText(geoIp)}\n`,
      );
    });
}
