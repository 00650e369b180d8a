import { describe, expect, it } from "vitest";
import type { Checkpoint, CheckpointUpdate } from "../../lib/collect/checkpoint.ts";
import { pageDone, splitInto, started, unfinished, windowDone } from "../../lib/collect/progress.ts";

const empty: Checkpoint = {
  key: "k",
  cursor: 100,
  progress: [],
  highWater: undefined,
  recheckedTo: undefined,
  done: false,
  registered: true,
  version: 1,
  leaseOwner: "me",
  leaseExpiresAt: undefined,
  stats: undefined,
};
const apply = (c: Checkpoint, u: CheckpointUpdate): Checkpoint => ({ ...c, ...u });
const w = (start: number, end: number) => ({ start, end });

describe("catch-up progress in the checkpoint", () => {
  it("records started windows in time order, once each, and raises the high-water mark", () => {
    let c = apply(empty, started(empty, [w(200, 300)]));
    c = apply(c, started(c, [w(100, 200)]));
    c = apply(c, started(c, [w(100, 200)]));
    expect(c.progress.map((p) => p.start)).toStrictEqual([100, 200]);
    expect(c.highWater).toBe(300);
  });

  it("moves the cursor only over finished windows no unfinished one precedes", () => {
    let c = apply(empty, started(empty, [w(100, 200), w(200, 300), w(300, 400)]));
    c = apply(c, windowDone(c, w(200, 300)));
    expect(c.cursor).toBe(100);
    c = apply(c, windowDone(c, w(300, 400)));
    expect(c.cursor).toBe(100);
    expect(unfinished(c)).toStrictEqual([{ start: 100, end: 200, searchAfter: undefined, pages: 0 }]);
    c = apply(c, windowDone(c, w(100, 200)));
    expect(c.cursor).toBe(400);
    expect(c.progress).toStrictEqual([]);
  });

  it("keeps each window's own position, and a split window's parts in its place", () => {
    let c = apply(empty, started(empty, [w(100, 200), w(200, 300)]));
    c = apply(c, splitInto(c, w(100, 200), [w(100, 150), w(150, 200)]));
    c = apply(c, pageDone(c, w(150, 200), "[1]", 3));
    c = apply(c, pageDone(c, w(200, 300), "[2]", 1));
    expect(c.progress.map((p) => [p.start, p.end, p.searchAfter, p.pages])).toStrictEqual([
      [100, 150, undefined, 0],
      [150, 200, "[1]", 3],
      [200, 300, "[2]", 1],
    ]);
    c = apply(c, windowDone(c, w(150, 200)));
    // The first part is not done: nothing passes it.
    expect(c.cursor).toBe(100);
  });
});
