import type { TimeWindow } from "./windows.ts";

/** The checkpoint key: one per org and service set for the schedule, one per replay window. */
export function checkpointKey(
  orgId: string | undefined,
  services: readonly string[],
  replay?: TimeWindow,
): string {
  const base = `${orgId ?? "default"}#${[...services].sort().join(",")}`;
  return replay
    ? `${base}#replay#${new Date(replay.start).toISOString()}#${new Date(replay.end).toISOString()}`
    : `${base}#scheduled`;
}

/** What a checkpoint key stands for, read back (for `status`, `unlock` and `backfill`). */
export interface KeyParts {
  orgId: string | undefined;
  services: string[];
  replay?: TimeWindow;
}

/** The inverse of checkpointKey; undefined for a key it did not write. */
export function parseCheckpointKey(key: string): KeyParts | undefined {
  const [org, services, kind, start, end, ...rest] = key.split("#");
  if (org === undefined || services === undefined || rest.length > 0) return undefined;
  const parts = { orgId: org === "default" ? undefined : org, services: services.split(",") };
  if (kind === "scheduled" && start === undefined) return parts;
  const window = { start: Date.parse(start ?? ""), end: Date.parse(end ?? "") };
  if (kind !== "replay" || Number.isNaN(window.start) || Number.isNaN(window.end)) return undefined;
  return { ...parts, replay: window };
}
