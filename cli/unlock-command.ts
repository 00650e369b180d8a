import { hostname } from "node:os";
import { Command } from "commander";
import type { Checkpoint, CheckpointStore } from "../lib/collect/checkpoint.ts";
import { LockedError } from "../lib/errors.ts";
import { parseCliOwner } from "./local-collection.ts";
import { emit } from "./output.ts";
import type { CliSeams } from "./settings.ts";
import { processRuns } from "./signals.ts";
import { SIMULATED_DIR } from "./simulated.ts";
import { type CheckpointSource, checkpointsOf, leaseState } from "./status-command.ts";

/**
 * Why a lease may be cleared without --force, or undefined when its run may still be working. A
 * dead owner process counts only for the local file store: this machine is the only one using it.
 */
export function whyClearable(
  c: Checkpoint,
  now: number,
  local: boolean,
  host = hostname(),
): string | undefined {
  if (leaseState(c, now) === "expired") return "its lease had expired";
  if (!local) return undefined;
  const owner = parseCliOwner(c.leaseOwner ?? "");
  if (owner && owner.host === host && owner.pid !== process.pid && !processRuns(owner.pid))
    return `its owner, process ${owner.pid} on this host, no longer runs`;
  return undefined;
}

/**
 * Clears leases left on this host by CLI runs whose process is gone (a second Ctrl-C, a kill):
 * a local run need not wait for their expiry. Answers what was cleared.
 */
export async function releaseDeadLocalLeases(
  store: CheckpointStore,
  now = Date.now(),
): Promise<Checkpoint[]> {
  const cleared: Checkpoint[] = [];
  for (const c of await store.list()) {
    if (c.leaseOwner === undefined || leaseState(c, now) !== "held" || !whyClearable(c, now, true)) continue;
    if (await store.breakLease(c.key, c.leaseOwner)) cleared.push(c);
  }
  return cleared;
}

/** Clears the leases of one store that may be cleared (all of them with `force`). */
async function unlockIn(source: CheckpointSource, now: number, force: boolean): Promise<UnlockResult[]> {
  const results: UnlockResult[] = [];
  for (const c of source.checkpoints.filter((c) => c.leaseOwner !== undefined)) {
    const why = whyClearable(c, now, source.local) ?? (force ? "--force" : undefined);
    if (why === undefined) {
      const reason = `held by ${c.leaseOwner} until ${new Date(c.leaseExpiresAt ?? 0).toISOString()}: that run may still be working; wait for the expiry, or stop it, or pass --force`;
      results.push({ key: c.key, owner: c.leaseOwner, action: "refused", reason });
      continue;
    }
    // Conditional on the same owner: a run that took the lease meanwhile keeps it.
    const cleared = await source.store.breakLease(c.key, c.leaseOwner as string);
    results.push({
      key: c.key,
      owner: c.leaseOwner,
      action: cleared ? "cleared" : "gone",
      reason: cleared ? why : "the lease changed hands meanwhile: left alone",
    });
  }
  return results;
}

interface UnlockResult {
  key: string;
  owner: string | undefined;
  action: "cleared" | "refused" | "gone";
  reason: string;
}

/**
 * `unlock`: clears leases whose run is known gone (expired, or a dead process on this host);
 * any other lease only with --force, since its run may still be moving the checkpoint.
 */
export function unlockCommand(seams: CliSeams): Command {
  return new Command("unlock")
    .description("clear a lease left by a run that died (expired, or its process gone); others need --force")
    .option("--org <id>", "only this org's checkpoints")
    .option("--force", "also clear leases of runs that may still work (another host, a Lambda)")
    .option("--simulate", `the simulation's checkpoints (${SIMULATED_DIR})`)
    .action(async (flags: { org?: string; force?: boolean; simulate?: boolean; json?: boolean }) => {
      const sources = await checkpointsOf(seams, flags, "unlock");
      const now = Date.now();
      const results: UnlockResult[] = [];
      for (const source of sources) results.push(...(await unlockIn(source, now, flags.force ?? false)));
      const where = sources.map((s) => s.where).join(", ");
      await emit(seams, flags.json, { store: where, leases: results }, () =>
        results.length === 0
          ? `no lease held in ${where}\n`
          : `${results.map((r) => `${r.action}: ${r.key} (${r.reason})`).join("\n")}\n`,
      );
      const refused = results.filter((r) => r.action === "refused").length;
      if (refused > 0)
        throw new LockedError(
          `${refused} lease(s) left in place: their runs may still be working (wait for the expiry, or pass --force)`,
        );
    });
}
