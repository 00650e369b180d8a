import type { Checkpoint, CheckpointStore, CheckpointUpdate } from "./checkpoint.ts";

/** Whose lease on which checkpoint, for how long. */
export interface LeaseSettings {
  store: CheckpointStore;
  key: string;
  /** Lease owner id of this run (e.g. the Lambda request id). */
  owner: string;
  leaseMs: number;
  now: () => number;
}

/**
 * One run's lease on a checkpoint: renewed on a timer at a third of its duration, and the only
 * way to write the checkpoint, one write at a time (writes are conditional on the version).
 */
export class Lease {
  private writes: Promise<unknown> = Promise.resolve();
  private readonly renewer: NodeJS.Timeout;

  private constructor(
    private readonly settings: LeaseSettings,
    private current: Checkpoint,
  ) {
    // Catching up can go a while between saves: the lease is kept alive on a timer too.
    this.renewer = setInterval(
      () => {
        this.save({}).catch(() => undefined);
      },
      Math.max(1_000, settings.leaseMs / 3),
    );
  }

  /** Takes the lease at `at`; `undefined` when another run holds it. */
  static async acquire(settings: LeaseSettings, at = settings.now()): Promise<Lease | undefined> {
    const { store, key, owner, leaseMs } = settings;
    const taken = await store.acquire(key, owner, leaseMs, at);
    return taken && new Lease(settings, taken);
  }

  /** The checkpoint as last written. */
  get checkpoint(): Checkpoint {
    return this.current;
  }

  /**
   * Saves after the writes before it, renewing the lease first when half of it is used. A function
   * update is computed from the checkpoint as it is then (concurrent windows each change their part).
   */
  save(update: CheckpointUpdate | ((current: Checkpoint) => CheckpointUpdate)): Promise<Checkpoint> {
    const { store, leaseMs, now } = this.settings;
    const write = this.writes.then(async () => {
      const at = now();
      let cp = this.current;
      if ((cp.leaseExpiresAt ?? 0) - at < leaseMs / 2) cp = await store.renew(cp, leaseMs, at);
      this.current = await store.save(cp, typeof update === "function" ? update(cp) : update);
      return this.current;
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Stops renewing, saves `last()` after every write before it, and gives the lease back; never throws. */
  async release(last: () => CheckpointUpdate): Promise<void> {
    clearInterval(this.renewer);
    await this.writes;
    await this.save(last()).catch(() => undefined);
    await this.settings.store.release(this.current).catch(() => undefined);
  }
}
