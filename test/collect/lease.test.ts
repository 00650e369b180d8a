import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Deadline } from "../../lib/collect/deadline.ts";
import { FileCheckpointStore } from "../../lib/collect/file-checkpoint-store.ts";
import { Lease } from "../../lib/collect/lease.ts";

const LEASE = 60_000;

function settings(owner: string, clock: { now: number }) {
  const store = new FileCheckpointStore(join(mkdtempSync(join(tmpdir(), "lease-")), "cp.json"));
  return { store, key: "k", owner, leaseMs: LEASE, now: () => clock.now };
}

describe("Lease", () => {
  it("serialises writes, renews only once half the lease is used, and releases after a last save", async () => {
    const clock = { now: 1_000_000 };
    const s = settings("run", clock);
    const lease = (await Lease.acquire(s)) as Lease;
    expect(await Lease.acquire({ ...s, owner: "other" })).toBeUndefined();
    // Conditional on the version: these would conflict unless written one after the other.
    await Promise.all([lease.save({ cursor: 1 }), lease.save({ cursor: 2 }), lease.save({ cursor: 3 })]);
    expect(lease.checkpoint).toMatchObject({ cursor: 3, leaseExpiresAt: 1_000_000 + LEASE });
    clock.now += LEASE / 2 + 1;
    await lease.save({});
    expect(lease.checkpoint.leaseExpiresAt).toBe(clock.now + LEASE);
    await lease.release(() => ({ done: true }));
    const released = await s.store.get("k");
    expect(released).toMatchObject({ cursor: 3, done: true });
    expect(released?.leaseOwner).toBeUndefined();
  });
});

describe("Deadline", () => {
  it("tells out-of-time from failures, and aborts half the margin before the end", async () => {
    let remaining = 10_000;
    const roomy = new Deadline(() => remaining, 1_000);
    expect(roomy.timeLeft()).toBe(true);
    expect(() => roomy.ensureTimeLeft("here")).not.toThrow();
    remaining = 1_000;
    let thrown: unknown;
    try {
      roomy.ensureTimeLeft("here");
    } catch (error) {
      thrown = error;
    }
    expect(roomy.isOutOfTime(thrown)).toBe(true);
    expect(roomy.isOutOfTime(new Error("boom"))).toBe(false);
    expect(roomy.signal.aborted).toBe(false);
    roomy.stop();

    const short = new Deadline(() => 500, 1_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(short.signal.aborted).toBe(true);
    expect(short.isOutOfTime(new Error("aborted request"))).toBe(true);
    short.stop();
  });
});
