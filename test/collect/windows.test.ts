import { describe, expect, it } from "vitest";
import {
  advance,
  backlogWindows,
  DEFAULT_WINDOW_SETTINGS,
  nextWindow,
  slice,
} from "../../lib/collect/windows.ts";

const M = 60_000;
const settings = { sourceLag: M, overlap: 5 * M, maxWindow: 60 * M, initialLookback: 24 * 60 * M };
const NOW = Date.parse("2026-01-01T12:00:00Z");

describe("window planning", () => {
  it("starts the first run at now − initialLookback, capped by maxWindow", () => {
    expect(nextWindow(undefined, NOW, settings)).toStrictEqual({
      start: NOW - 24 * 60 * M,
      end: NOW - 23 * 60 * M,
    });
  });

  it("starts later runs at cursor − overlap and ends at now − sourceLag", () => {
    expect(nextWindow(NOW - 10 * M, NOW, settings)).toStrictEqual({ start: NOW - 15 * M, end: NOW - M });
  });

  it.each([
    ["cursor at now", NOW],
    ["cursor in the future", NOW + 60 * M],
    ["cursor just inside the lag", NOW - M + 5 * M],
  ])("never plans a window whose start is not before its end (%s)", (_name, cursor) => {
    const window = nextWindow(cursor, NOW, { ...settings, overlap: 0 });
    expect(window).toBeUndefined();
  });

  it("plans the whole backlog in maxWindow steps, only the first overlapping the cursor", () => {
    const windows = backlogWindows(NOW - 3 * 60 * M, NOW, settings);
    expect(windows[0]).toStrictEqual({ start: NOW - 185 * M, end: NOW - 125 * M });
    expect(windows.at(-1)?.end).toBe(NOW - M);
    for (let i = 1; i < windows.length; i++) expect(windows[i]?.start).toBe(windows[i - 1]?.end);
    for (const w of windows) expect(w.end - w.start).toBeLessThanOrEqual(60 * M);
  });

  it("slices a window into consecutive steps, the last one narrower, and an empty window into none", () => {
    expect(slice({ start: 0, end: 25 }, 10)).toStrictEqual([
      { start: 0, end: 10 },
      { start: 10, end: 20 },
      { start: 20, end: 25 },
    ]);
    expect(slice({ start: 0, end: 20 }, 10)).toHaveLength(2);
    expect(slice({ start: 5, end: 5 }, 10)).toStrictEqual([]);
    expect(slice({ start: 6, end: 5 }, 10)).toStrictEqual([]);
    expect(() => slice({ start: 0, end: 5 }, 0)).toThrow(RangeError);
  });

  it("never moves the cursor backwards", () => {
    expect(advance(undefined, { start: 0, end: 10 })).toBe(10);
    expect(advance(20, { start: 0, end: 10 })).toBe(20);
    expect(advance(5, { start: 0, end: 10 })).toBe(10);
  });

  it("has the documented defaults", () => {
    expect(DEFAULT_WINDOW_SETTINGS).toStrictEqual({
      sourceLag: M,
      overlap: 5 * M,
      maxWindow: 60 * M,
      initialLookback: 24 * 60 * M,
    });
  });
});
