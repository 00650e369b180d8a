import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration, readDuration } from "../lib/duration.ts";

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

  it("reads a variable with a fallback and names a bad one", () => {
    const problems: string[] = [];
    expect(readDuration({}, "OVERLAP", 60_000, problems)).toBe(60_000);
    expect(readDuration({ OVERLAP: "2m" }, "OVERLAP", 60_000, problems)).toBe(120_000);
    expect(readDuration({ OVERLAP: "soon" }, "OVERLAP", 60_000, problems)).toBe(60_000);
    expect(problems).toStrictEqual(['OVERLAP must be a duration such as 30s, 5m, 2h or 15d, not "soon"']);
  });
});
