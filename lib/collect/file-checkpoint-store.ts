import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { CheckpointLockError, ConfigurationError, LeaseLostError } from "../errors.ts";
import { sleep } from "../retry.ts";
import {
  type Checkpoint,
  type CheckpointStore,
  type CheckpointUpdate,
  storedProgress,
} from "./checkpoint.ts";
import { parseCheckpointKey } from "./checkpoint-key.ts";

type Stored = Record<string, Checkpoint>;

/**
 * Checkpoints and leases in one local JSON file (the CLI's), with the same conditional rules as
 * the DynamoDB store. A lock file serialises writers; writes replace the file atomically.
 */
/**
 * The file's checkpoints, or one line saying what to do when it is not ours any more (edited by
 * hand, truncated by a full disk): a run never starts over silently from a file it cannot read.
 */
function parseStored(text: string, path: string): Stored {
  const fix = `restore it from a copy, or move it aside to start over (the next run then reads INITIAL_LOOKBACK back)`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(
      [`checkpoint file ${path} is not valid JSON (${(error as Error).message}): ${fix}`],
      {
        cause: error,
      },
    );
  }
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isRecord(parsed) || !Object.entries(parsed).every(([k, c]) => isRecord(c) && c.key === k))
    throw new ConfigurationError([`checkpoint file ${path} does not hold checkpoints: ${fix}`]);
  return parsed as Stored;
}

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
        progress: storedProgress(existing?.progress),
        highWater: existing?.highWater,
        recheckedTo: existing?.recheckedTo,
        done: existing?.done ?? false,
        registered: existing?.registered ?? false,
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
        ...(update.progress !== undefined && { progress: update.progress }),
        ...(update.highWater !== undefined && { highWater: update.highWater }),
        ...(update.recheckedTo !== undefined && { recheckedTo: update.recheckedTo }),
        ...(update.done !== undefined && { done: update.done }),
        ...(update.registered !== undefined && { registered: update.registered }),
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

  // The file is read whole anyway: it is its own index of an org's scheduled checkpoints.
  async registerScheduled(orgId: string | undefined, key: string): Promise<string[]> {
    return Object.keys(await this.read())
      .sort()
      .filter((k) => {
        const parts = parseCheckpointKey(k);
        return k !== key && parts !== undefined && !parts.replay && parts.orgId === orgId;
      });
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

  forget(key: string, now: number): Promise<"removed" | "held" | "gone"> {
    return this.transaction((all) => {
      const current = all[key];
      if (!current) return "gone";
      if (current.leaseOwner !== undefined && (current.leaseExpiresAt ?? 0) >= now) return "held";
      delete all[key];
      return "removed";
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
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new ConfigurationError(
        [`checkpoint file ${this.path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`],
        { cause: error },
      );
    }
    const all = parseStored(text, this.path);
    for (const c of Object.values(all)) c.progress = storedProgress(c.progress);
    return all;
  }

  private async transaction<T>(work: (all: Stored) => T): Promise<T> {
    const lock = `${this.path}.lock`;
    // A fresh checkout has no folder yet; everything after this assumes one.
    this.folder ??= mkdir(dirname(this.path), { recursive: true }).then(() => undefined);
    await this.folder;
    await takeLock(lock);
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

// A transaction holds the lock for milliseconds: one older than this was left by a killed process.
const STALE_LOCK_MS = 30_000;

/** The lock's holder, written into it: `<host>:<pid>`. */
const holder = () => `${hostname()}:${process.pid}`;

// The lock's text when its holder is a process of this host that no longer runs (signal 0 only tests).
async function deadHolder(lock: string): Promise<string | undefined> {
  const text = await readFile(lock, "utf8").catch(() => "");
  const match = /^(.+):(\d+)$/.exec(text.trim());
  if (!match || match[1] !== hostname() || Number(match[2]) === process.pid) return undefined;
  try {
    process.kill(Number(match[2]), 0);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" ? text : undefined;
  }
}

/**
 * Takes the lock file: at once when free, or when its holder is a dead process of this host, or
 * once it is older than any transaction could be (a lock from another host, or an older version).
 */
async function takeLock(lock: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await writeFile(lock, holder(), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const age =
      Date.now() -
      (await stat(lock).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      ));
    const dead = age > STALE_LOCK_MS ? undefined : await deadHolder(lock);
    // Removed only if still the dead holder's: another process may have just taken it over.
    if (
      age > STALE_LOCK_MS ||
      (dead !== undefined && (await readFile(lock, "utf8").catch(() => "")) === dead)
    )
      await rm(lock, { force: true });
    else if (Date.now() - started > STALE_LOCK_MS + 5_000) {
      throw new CheckpointLockError(
        `the checkpoint file is locked (${lock}) by a process still running; if none is, delete that file`,
      );
    } else await sleep(10);
  }
}
