import { Command } from "commander";
import type { Checkpoint } from "../lib/collect/checkpoint.ts";
import { parseCheckpointKey } from "../lib/collect/checkpoint-key.ts";
import { LockedError, UsageError } from "../lib/errors.ts";
import { emit } from "./output.ts";
import type { CliSeams } from "./settings.ts";
import { SIMULATED_DIR } from "./simulated.ts";
import { type CheckpointSource, checkpointsOf } from "./status-command.ts";
import { whyClearable } from "./unlock-command.ts";

interface ForgetResult {
  key: string;
  action: "forgotten" | "held" | "gone" | "would forget";
  cursor?: string;
  effect: string;
}

// What removing it means, so the confirmation is an informed one.
function consequence(key: string): string {
  const parts = parseCheckpointKey(key);
  if (parts?.replay) return "that replay is abandoned; run it again to start it over";
  return "if this org and service list are collected again, they start INITIAL_LOOKBACK back (what is already stored is skipped as duplicates)";
}

function find(sources: readonly CheckpointSource[], key: string) {
  for (const source of sources) {
    const checkpoint = source.checkpoints.find((c) => c.key === key);
    if (checkpoint) return { source, checkpoint };
  }
  return undefined;
}

async function forgetOne(source: CheckpointSource, c: Checkpoint, now: number): Promise<ForgetResult> {
  const base = {
    key: c.key,
    effect: consequence(c.key),
    ...(c.cursor !== undefined && { cursor: new Date(c.cursor).toISOString() }),
  };
  // A lease left by a local run that is gone is no reason to refuse (as `unlock` clears it).
  if (c.leaseOwner !== undefined && whyClearable(c, now, source.local))
    await source.store.breakLease(c.key, c.leaseOwner);
  const action = await source.store.forget(c.key, now);
  return { ...base, action: action === "removed" ? "forgotten" : action };
}

function human(results: readonly ForgetResult[], where: string): string {
  return results
    .map((r) => {
      const at = r.cursor ? ` (cursor ${r.cursor})` : "";
      if (r.action === "held")
        return `held: ${r.key}${at}: a run holds its lease; stop it or \`unlock\` first`;
      if (r.action === "gone") return `gone: ${r.key}: removed meanwhile`;
      return `${r.action}: ${r.key}${at} in ${where}: ${r.effect}`;
    })
    .join("\n");
}

/** `forget`: removes checkpoints a user no longer wants (a mistyped service list, an abandoned replay). */
export function forgetCommand(seams: CliSeams): Command {
  return new Command("forget")
    .description("remove checkpoints you no longer want (keys as `status` lists them); needs --yes")
    .arguments("<key...>")
    .option("--yes", "remove them (without it: say what would be removed, and remove nothing)")
    .option("--simulate", `the simulation's checkpoints (${SIMULATED_DIR})`)
    .action(async (keys: string[], flags: { yes?: boolean; simulate?: boolean; json?: boolean }) => {
      const sources = await checkpointsOf(seams, flags, "forget");
      const where = sources.map((s) => s.where).join(", ");
      const found = keys.map((key) => ({ key, at: find(sources, key) }));
      const missing = found.filter((f) => f.at === undefined).map((f) => f.key);
      if (missing.length > 0)
        throw new UsageError(
          `no checkpoint ${missing.join(", ")} in ${where}: \`status\` lists the keys there are`,
        );
      const now = Date.now();
      const results: ForgetResult[] = [];
      for (const { at } of found) {
        const { source, checkpoint } = at as NonNullable<typeof at>;
        results.push(
          flags.yes
            ? await forgetOne(source, checkpoint, now)
            : {
                key: checkpoint.key,
                action: "would forget",
                effect: consequence(checkpoint.key),
                ...(checkpoint.cursor !== undefined && { cursor: new Date(checkpoint.cursor).toISOString() }),
              },
        );
      }
      await emit(seams, flags.json, { store: where, checkpoints: results }, () => human(results, where));
      if (!flags.yes)
        throw new UsageError(`nothing removed: add --yes to forget ${results.length} checkpoint(s)`);
      const held = results.filter((r) => r.action === "held").length;
      if (held > 0) throw new LockedError(`${held} checkpoint(s) kept: a run holds their lease`);
    });
}
