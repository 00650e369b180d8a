import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../lib/duration.ts";

describe("durations", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["15d", 1_296_000_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    [" 10s ", 10_000],
  ])("parses %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it.each(["", "10", "ten s", "5 m", "-5m", "1w", "1.5h"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
