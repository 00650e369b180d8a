import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { LeaseLostError } from "../errors.ts";
import { sleep } from "../retry.ts";
import type { Checkpoint, CheckpointStore, CheckpointUpdate } from "./checkpoint.ts";

type Stored = Record<string, Checkpoint>;

/**
 * Checkpoints and leases in one local JSON file (the CLI's), with the same conditional rules as
 * the DynamoDB store. A lock file serialises writers; writes replace the file atomically.
 */
export class FileCheckpointStore implements CheckpointStore {
  private folder: Promise<void> | undefined;

  constructor(private readonly path: string) {}

  async acquire(key: string, owner: string, leaseMs: number, now: number): Promise<Checkpoint | undefined> {
    return this.transaction((all) => {
      const existing = all[key];
      if (existing?.leaseOwner && existing.leaseOwner !== owner && (existing.leaseExpiresAt ?? 0) >= now)
        return undefined;
      const next: Checkpoint = {
        key,
        cursor: existing?.cursor,
        progress: existing?.progress,
        done: existing?.done ?? false,
        stats: existing?.stats,
        version: (existing?.version ?? 0) + 1,
        leaseOwner: owner,
        leaseExpiresAt: now + leaseMs,
      };
      all[key] = next;
      return next;
    });
  }

  renew(checkpoint: Checkpoint, leaseMs: number, now: number): Promise<Checkpoint> {
    return this.change(checkpoint, (current) => ({ ...current, leaseExpiresAt: now + leaseMs }));
  }

  save(checkpoint: Checkpoint, update: CheckpointUpdate): Promise<Checkpoint> {
    return this.change(checkpoint, (current) => {
      if (update.cursor !== undefined && current.cursor !== undefined && update.cursor < current.cursor) {
        throw new LeaseLostError(`checkpoint ${checkpoint.key}: the cursor cannot move backwards`);
      }
      return {
        ...current,
        ...(update.cursor !== undefined && { cursor: update.cursor }),
        ...(update.progress !== undefined && { progress: update.progress ?? undefined }),
        ...(update.done !== undefined && { done: update.done }),
        ...(update.stats !== undefined && { stats: update.stats }),
      };
    });
  }

  async release(checkpoint: Checkpoint): Promise<void> {
    if (checkpoint.leaseOwner !== undefined) await this.breakLease(checkpoint.key, checkpoint.leaseOwner);
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    return (await this.read())[key];
  }

  async list(): Promise<Checkpoint[]> {
    return Object.values(await this.read()).sort((a, b) => a.key.localeCompare(b.key));
  }

  breakLease(key: string, owner: string): Promise<boolean> {
    return this.transaction((all) => {
      const current = all[key];
      if (!current || current.leaseOwner !== owner) return false;
      all[key] = {
        ...current,
        leaseOwner: undefined,
        leaseExpiresAt: undefined,
        version: current.version + 1,
      };
      return true;
    });
  }

  private change(checkpoint: Checkpoint, apply: (current: Checkpoint) => Checkpoint): Promise<Checkpoint> {
    return this.transaction((all) => {
      const current = all[checkpoint.key];
      if (
        !current ||
        current.leaseOwner !== checkpoint.leaseOwner ||
        current.version !== checkpoint.version
      ) {
        throw new LeaseLostError(
          `checkpoint ${checkpoint.key}: the lease or the version moved (another run, or an expired lease)`,
        );
      }
      const next = { ...apply(current), version: current.version + 1 };
      all[checkpoint.key] = next;
      return next;
    });
  }

  private async read(): Promise<Stored> {
    try {
      return JSON.parse(await readFile(this.path, "utf8")) as Stored;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  private async transaction<T>(work: (all: Stored) => T): Promise<T> {
    const lock = `${this.path}.lock`;
    // A fresh checkout has no folder yet; everything after this assumes one.
    this.folder ??= mkdir(dirname(this.path), { recursive: true }).then(() => undefined);
    await this.folder;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lock, "wx");
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 500) throw error;
        // A lock left by a killed process is old: take it over.
        const age =
          Date.now() -
          (await stat(lock).then(
            (s) => s.mtimeMs,
            () => Date.now(),
          ));
        if (age > 30_000) await rm(lock, { force: true });
        else await sleep(10);
      }
    }
    try {
      const all = await this.read();
      const result = work(all);
      const temp = `${this.path}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify(all, null, 2)}\n`);
      await rename(temp, this.path);
      return result;
    } finally {
      await rm(lock, { force: true });
    }
  }
}
