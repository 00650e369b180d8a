import type { Counts } from "../counts.ts";

/** Progress inside a window: where to resume after the last acknowledged page. */
export interface WindowProgress {
  start: number;
  end: number;
  /** `X-Search_after` text after the last acknowledged page. */
  searchAfter: string | undefined;
  pages: number;
  /** Read to its end, but an earlier window is not yet: the cursor cannot pass it. */
  done?: boolean;
}

/**
 * Reads a stored `progress` attribute: a list of windows, or the single window earlier versions
 * stored (so an upgrade resumes where the last run stopped).
 */
export function storedProgress(value: unknown): WindowProgress[] {
  if (Array.isArray(value)) return value as WindowProgress[];
  return value && typeof value === "object" ? [value as WindowProgress] : [];
}

/** Counts of the last run, kept for operators. */
export interface RunStats {
  at: string;
  windows: number;
  pages: number;
  fetched: number;
  counts: Counts;
}

/** One checkpoint: per (org, services) for the schedule, or per replay window. */
export interface Checkpoint {
  key: string;
  /** Everything before this instant (epoch ms) is acknowledged; undefined before the first window. */
  cursor: number | undefined;
  /**
   * Windows started and not yet passed by the cursor, in time order: each with its position (a
   * catch-up run reads several at once, and each saves its own progress page by page).
   */
  progress: WindowProgress[];
  /**
   * End of the latest window ever started (epoch ms): an event before it may have been sent
   * already, so it is looked up before it is indexed again.
   */
  highWater: number | undefined;
  /** Everything before this instant was read a second time, for events that arrived late (see recheckAfter). */
  recheckedTo: number | undefined;
  /** Set on replay checkpoints once the whole replay window is done. */
  done: boolean;
  /** A scheduled checkpoint recorded in its org's index (see CheckpointStore.registerScheduled). */
  registered: boolean;
  version: number;
  leaseOwner: string | undefined;
  leaseExpiresAt: number | undefined;
  stats: RunStats | undefined;
}

/** What a save changes; each field left out stays as it is. */
export interface CheckpointUpdate {
  cursor?: number;
  /** Replaces the list; `[]` clears it. */
  progress?: WindowProgress[];
  highWater?: number;
  recheckedTo?: number;
  done?: boolean;
  registered?: boolean;
  stats?: RunStats;
}

/**
 * Port: where checkpoints and leases live. Every write is conditional: only the lease owner can
 * move a checkpoint, and a write based on a stale version fails.
 */
export interface CheckpointStore {
  /** Takes the lease when free or expired; `undefined` when another run holds it. */
  acquire(key: string, owner: string, leaseMs: number, now: number): Promise<Checkpoint | undefined>;
  /** Extends the lease; throws LeaseLostError when `owner` no longer holds it. */
  renew(checkpoint: Checkpoint, leaseMs: number, now: number): Promise<Checkpoint>;
  /** Saves progress; throws LeaseLostError when the lease or the version moved. */
  save(checkpoint: Checkpoint, update: CheckpointUpdate): Promise<Checkpoint>;
  /** Gives the lease back (a no-op when it is already someone else's). */
  release(checkpoint: Checkpoint): Promise<void>;
  /** Reads a checkpoint without taking anything. */
  get(key: string): Promise<Checkpoint | undefined>;
  /** Every checkpoint, sorted by key (for `status` and `unlock`; an operator's scan, never a run's). */
  list(): Promise<Checkpoint[]>;
  /**
   * Records `key` in the index of `orgId`'s scheduled checkpoints and answers the other keys it
   * holds: how a new checkpoint finds the org's previous service list with key reads, no scan.
   */
  registerScheduled(orgId: string | undefined, key: string): Promise<string[]>;
  /**
   * Clears the lease of `key` if `owner` still holds it (an operator's unlock: the owner is known
   * dead or its lease expired); answers whether it was cleared. Only this ever removes another's lease.
   */
  breakLease(key: string, owner: string): Promise<boolean>;
  /**
   * Removes `key` (an operator's `forget`) unless a run holds its lease at `now`: `held` then,
   * `gone` when there was nothing to remove.
   */
  forget(key: string, now: number): Promise<"removed" | "held" | "gone">;
}
