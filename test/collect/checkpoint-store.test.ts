import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Checkpoint, CheckpointStore } from "../../lib/collect/checkpoint.ts";
import { checkpointKey, parseCheckpointKey } from "../../lib/collect/checkpoint-key.ts";
import { DynamoDbCheckpointStore, REPLAY_KEPT_SECONDS } from "../../lib/collect/dynamodb-checkpoint-store.ts";
import { FileCheckpointStore } from "../../lib/collect/file-checkpoint-store.ts";
import { ConfigurationError, LeaseLostError } from "../../lib/errors.ts";
import { startDynalite } from "../helpers/dynalite.ts";

const LEASE = 60_000;
const T0 = 1_800_000_000_000;

/** The same rules for every store: run against DynamoDB (dynalite) and the local file. */
function describeStore(
  name: string,
  open: () => Promise<{ store: CheckpointStore; stop: () => Promise<void> }>,
) {
  describe(name, () => {
    let store: CheckpointStore;
    let stop: () => Promise<void>;
    let n = 0;
    const key = () => `org-a#all#scheduled#${++n}`;

    beforeAll(async () => {
      ({ store, stop } = await open());
    });
    afterAll(() => stop());

    it("creates a checkpoint on first acquire, then saves cursor and progress", async () => {
      const k = key();
      const taken = await store.acquire(k, "run-1", LEASE, T0);
      expect(taken).toMatchObject({
        key: k,
        cursor: undefined,
        progress: [],
        highWater: undefined,
        leaseOwner: "run-1",
        version: 1,
      });
      const progress = [
        { start: 1, end: 2, searchAfter: '[1,"x"]', pages: 1 },
        { start: 2, end: 3, searchAfter: undefined, pages: 0, done: true },
      ];
      const saved = await store.save(taken as never, { progress, highWater: 3 });
      expect(saved.progress).toEqual(progress);
      expect((await store.get(k))?.progress).toEqual(progress);
      const done = await store.save(saved, { cursor: 3, progress: [] });
      const stored = await store.get(k);
      expect(stored).toMatchObject({ cursor: 3, highWater: 3, version: done.version });
      expect(stored?.progress).toStrictEqual([]);
    });

    it("lets only one of two racing runs take the lease", async () => {
      const k = key();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.acquire(k, `run-${i}`, LEASE, T0)),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect((await store.get(k))?.leaseOwner).toBe(winners[0]?.leaseOwner);
    });

    it("lets another run take an expired lease, after which the old owner can no longer write", async () => {
      const k = key();
      const first = await store.acquire(k, "old", LEASE, T0);
      expect(await store.acquire(k, "new", LEASE, T0 + LEASE - 1)).toBeUndefined();
      const second = await store.acquire(k, "new", LEASE, T0 + LEASE + 1);
      expect(second?.leaseOwner).toBe("new");
      await expect(store.save(first as never, { cursor: 5 })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.renew(first as never, LEASE, T0 + LEASE + 2)).rejects.toBeInstanceOf(LeaseLostError);
    });

    it("refuses a write from a stale version (a concurrent change)", async () => {
      const k = key();
      const taken = (await store.acquire(k, "run", LEASE, T0)) as never;
      await store.save(taken, { cursor: 10 });
      await expect(store.save(taken, { cursor: 20 })).rejects.toBeInstanceOf(LeaseLostError);
    });

    it("never moves the cursor backwards", async () => {
      const k = key();
      let cp = await store.save((await store.acquire(k, "run", LEASE, T0)) as never, { cursor: 100 });
      await expect(store.save(cp, { cursor: 99 })).rejects.toBeInstanceOf(LeaseLostError);
      cp = await store.save(cp, { cursor: 100 });
      expect(cp.cursor).toBe(100);
    });

    it("renews and releases; a released lease is free for anyone", async () => {
      const k = key();
      const taken = (await store.acquire(k, "run", LEASE, T0)) as never;
      const renewed = await store.renew(taken, LEASE, T0 + 50_000);
      expect(renewed.leaseExpiresAt).toBe(T0 + 50_000 + LEASE);
      await store.release(renewed);
      expect((await store.get(k))?.leaseOwner).toBeUndefined();
      expect(await store.acquire(k, "other", LEASE, T0 + 50_001)).toMatchObject({ leaseOwner: "other" });
      await store.release(renewed); // someone else's now: nothing happens
      expect((await store.get(k))?.leaseOwner).toBe("other");
    });

    it("breaks a lease only while the named owner still holds it", async () => {
      const k = key();
      const taken = (await store.acquire(k, "crashed", LEASE, T0)) as never;
      expect(await store.breakLease(k, "someone-else")).toBe(false);
      expect((await store.get(k))?.leaseOwner).toBe("crashed");
      expect(await store.breakLease(k, "crashed")).toBe(true);
      expect((await store.get(k))?.leaseOwner).toBeUndefined();
      // The broken run can no longer write, and the next run takes the lease at once.
      await expect(store.save(taken, { cursor: 1 })).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.acquire(k, "next", LEASE, T0 + 1)).toMatchObject({ leaseOwner: "next" });
      expect(await store.breakLease(`${k}-absent`, "crashed")).toBe(false);
    });

    it("forgets a checkpoint only when no run holds its lease", async () => {
      const k = key();
      const taken = (await store.acquire(k, "run", LEASE, T0)) as never;
      expect(await store.forget(k, T0 + 1)).toBe("held");
      expect(await store.get(k)).toBeDefined();
      // Expired is as good as released: that run is gone.
      expect(await store.forget(k, T0 + LEASE + 1)).toBe("removed");
      expect(await store.get(k)).toBeUndefined();
      expect((await store.list()).map((c) => c.key)).not.toContain(k);
      expect(await store.forget(k, T0)).toBe("gone");
      // The forgotten run's next save fails: it cannot bring the checkpoint back behind a user's back.
      await expect(store.save(taken, { cursor: 1 })).rejects.toBeInstanceOf(LeaseLostError);
    });

    it("lists every checkpoint, sorted by key", async () => {
      const [b, a] = [`${key()}-b`, `${key()}-a`];
      await store.acquire(b, "run", LEASE, T0);
      await store.acquire(a, "run", LEASE, T0);
      const keys = (await store.list()).map((c) => c.key);
      expect(keys).toStrictEqual([...keys].sort((x, y) => x.localeCompare(y)));
      expect(keys).toContain(a);
      expect(keys).toContain(b);
      expect((await store.list()).find((c) => c.key === a)).toStrictEqual(await store.get(a));
    });

    it("indexes an org's scheduled checkpoints: each first run learns the others, and list() shows only checkpoints", async () => {
      const org = `org-${++n}`;
      const [sso, all, other] = [
        checkpointKey(org, ["sso"]),
        checkpointKey(org, ["all"]),
        checkpointKey(`${org}x`, ["all"]),
      ];
      // The collector registers a key right after taking its lease: the checkpoint exists by then.
      await store.acquire(sso, "run", LEASE, T0);
      expect(await store.registerScheduled(org, sso)).toStrictEqual([]);
      await store.acquire(other, "run", LEASE, T0);
      expect(await store.registerScheduled(`${org}x`, other)).toStrictEqual([]);
      await store.acquire(all, "run", LEASE, T0);
      expect(await store.registerScheduled(org, all)).toStrictEqual([sso]);
      // Idempotent: registering again adds nothing.
      expect(await store.registerScheduled(org, sso)).toStrictEqual([all]);
      const keys = (await store.list()).map((c) => c.key);
      expect(keys.filter((k) => k.startsWith(org))).toStrictEqual([all, sso, other].sort());
      expect(keys.every((k) => parseCheckpointKey(k) !== undefined || k.includes("#scheduled#"))).toBe(true);
    });

    it("keeps run statistics and the replay done flag", async () => {
      const k = key();
      const taken = (await store.acquire(k, "run", LEASE, T0)) as never;
      const stats = {
        at: "2026-01-01T00:00:00.000Z",
        windows: 1,
        pages: 2,
        fetched: 3,
        counts: {
          received: 3,
          indexed: 2,
          duplicates: 1,
          deadLettered: 0,
          pipelineErrors: 1,
          withoutGeo: 0,
          withoutPipeline: 0,
        },
      };
      await store.save(taken, { stats, done: true, registered: true });
      expect(await store.get(k)).toMatchObject({ stats, done: true, registered: true });
      expect((await store.get(k))?.stats).toStrictEqual(stats);
    });
  });
}

describeStore("DynamoDbCheckpointStore on dynalite", async () => {
  const db = await startDynalite();
  return { store: new DynamoDbCheckpointStore(db.client, db.table), stop: db.stop };
});

describeStore("FileCheckpointStore", async () => ({
  store: new FileCheckpointStore(join(mkdtempSync(join(tmpdir(), "cp-")), "checkpoints.json")),
  stop: async () => {},
}));

describe("DynamoDbCheckpointStore: finished replays expire", () => {
  it("gives a finished replay's item an expiry for the table's TTL, and a scheduled one none", async () => {
    const db = await startDynalite();
    try {
      const store = new DynamoDbCheckpointStore(db.client, db.table);
      const replay = (await store.acquire("o#all#replay#a#b", "run-1", LEASE, T0)) as Checkpoint;
      await store.save(replay, { done: true });
      const scheduled = (await store.acquire("o#all#scheduled", "run-1", LEASE, T0)) as Checkpoint;
      await store.save(scheduled, { cursor: 5 });
      const item = async (pk: string) =>
        (await db.client.send(new GetCommand({ TableName: db.table, Key: { pk } }))).Item ?? {};
      const expected = Math.floor(Date.now() / 1000) + REPLAY_KEPT_SECONDS;
      expect(Math.abs(Number((await item("o#all#replay#a#b")).expiresAt) - expected)).toBeLessThan(60);
      expect((await item("o#all#scheduled")).expiresAt).toBeUndefined();
    } finally {
      await db.stop();
    }
  });
});

describe("FileCheckpointStore on a file it cannot read", () => {
  it.each([
    ["{broken", /is not valid JSON .*: restore it from a copy, or move it aside/],
    ['["not", "checkpoints"]', /does not hold checkpoints: restore it from a copy/],
  ])("says what to do with %j, never starting over from it", async (text, message) => {
    const path = join(mkdtempSync(join(tmpdir(), "cp-")), "checkpoints.json");
    writeFileSync(path, text);
    const store = new FileCheckpointStore(path);
    for (const attempt of [store.list(), store.acquire("k", "run", LEASE, T0)]) {
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    }
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

describe("FileCheckpointStore on a fresh checkout", () => {
  it("takes over at once a lock file left by a killed process of this host", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "lock-")), "cp.json");
    writeFileSync(`${path}.lock`, `${hostname()}:2147483646`);
    const started = Date.now();
    const store = new FileCheckpointStore(path);
    expect(await store.acquire("k", "run", 60_000, Date.now())).toMatchObject({ leaseOwner: "run" });
    // Not after the 30 s a lock of unknown origin is waited for.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("creates the checkpoint file's folder", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "cp-")), "not", "there", "checkpoints.json");
    const store = new FileCheckpointStore(path);
    expect(await store.acquire("k", "run-1", LEASE, T0)).toMatchObject({ key: "k", leaseOwner: "run-1" });
  });
});

describe("DynamoDbCheckpointStore: what the user must fix, in one line", () => {
  // A real client (the paginator checks its class) whose every call fails as the SDK would.
  const failing = (error: Error) =>
    Object.assign(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })), {
      send: () => Promise.reject(error),
    });
  const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name });
  it.each([
    [
      "no region",
      new Error("Region is missing"),
      "get",
      /no AWS region for the checkpoint table cp: set AWS_REGION/,
    ],
    [
      "no credentials",
      sdkError("CredentialsProviderError", "Could not load credentials from any providers"),
      "acquire",
      /no AWS credentials for the checkpoint table cp: set AWS_PROFILE/,
    ],
    [
      "no right to scan (status on the deployed table)",
      sdkError("AccessDeniedException", "User: x is not authorized to perform: dynamodb:Scan"),
      "list",
      /access denied on the checkpoint table cp: the AWS identity needs dynamodb:Scan on it/,
    ],
    [
      "no such table",
      sdkError("ResourceNotFoundException", "Requested resource not found"),
      "get",
      /does not exist in this region: check CHECKPOINT_TABLE/,
    ],
    [
      "refused credentials",
      sdkError("ExpiredTokenException", "expired"),
      "acquire",
      /credentials were refused \(ExpiredTokenException\)/,
    ],
  ] as const)("%s", async (_, error, method, message) => {
    const store = new DynamoDbCheckpointStore(failing(error), "cp");
    const call =
      method === "list"
        ? store.list()
        : method === "get"
          ? store.get("k")
          : store.acquire("k", "run", LEASE, T0);
    const thrown = await call.catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).message).toMatch(message);
    expect((thrown as ConfigurationError).message).not.toContain("\n");
  });

  it("leaves other failures as they are (retried or reported by the caller)", async () => {
    const store = new DynamoDbCheckpointStore(
      failing(sdkError("ProvisionedThroughputExceededException", "slow down")),
      "cp",
    );
    await expect(store.get("k")).rejects.toMatchObject({ name: "ProvisionedThroughputExceededException" });
  });
});
