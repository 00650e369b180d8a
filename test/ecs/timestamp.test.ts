import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatTimestamp, normalizeTimestamp, parseIso8601 } from "../../lib/ecs/timestamp.ts";

describe("parseIso8601 (the date processor's ISO8601 format)", () => {
  it.each([
    ["2023-01-14T08:16:06.495Z", "2023-01-14T08:16:06.495Z"],
    ["2025-06-18T01:40:48.953462371Z", "2025-06-18T01:40:48.953Z"],
    ["2023-06-15T14:21:10.34334445Z", "2023-06-15T14:21:10.343Z"],
    ["2019-12-12T20:15:15Z", "2019-12-12T20:15:15.000Z"],
    ["2019-12-12T20:15:15.1Z", "2019-12-12T20:15:15.100Z"],
    ["2019-12-12T20:15:15,25Z", "2019-12-12T20:15:15.250Z"],
    ["2019-12-12T20:15Z", "2019-12-12T20:15:00.000Z"],
    ["2019-12-12T20:15:15", "2019-12-12T20:15:15.000Z"],
    ["2019-12-12", "2019-12-12T00:00:00.000Z"],
    ["2019-12-12T23:30:00-02:00", "2019-12-13T01:30:00.000Z"],
    ["2019-12-12T01:30:00+0530", "2019-12-11T20:00:00.000Z"],
    ["2019-12-12T01:30:00+05", "2019-12-11T20:30:00.000Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
  ])("%s → %s", (input, output) => {
    const millis = parseIso8601(input);
    expect(millis).toBeDefined();
    expect(formatTimestamp(millis as number)).toBe(output);
  });

  it.each([
    "",
    "yesterday",
    "1700000000",
    "2023-13-01T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2023-01-01T24:00:00Z",
    "2023-01-01T10:60:00Z",
    "2023-01-01 10:00:00Z",
    "2023-01-01T10:00:00.1234567890Z",
    "2023-01-01T10:00:00+19:00",
    " 2023-01-01T10:00:00Z",
  ])("rejects %j", (input) => {
    expect(parseIso8601(input)).toBeUndefined();
  });
});

describe("normalizeTimestamp", () => {
  it("agrees with parse + format on every shape JumpCloud sends (fast path included)", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        (date, digits, fraction) => {
          const base = date.toISOString().slice(0, 19);
          const text =
            digits === 0 ? `${base}Z` : `${base}.${String(fraction).padStart(9, "0").slice(0, digits)}Z`;
          const millis = parseIso8601(text);
          expect(millis).toBeDefined();
          expect(normalizeTimestamp(text)).toBe(formatTimestamp(millis as number));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    "2023-02-29T10:00:00.000Z",
    "2023-02-29T10:00:00Z",
    "2023-01-01T10:00:0xZ",
    "2023-01-01T24:00:00.000Z",
    "2023-01-01T10:60:00.000Z",
    "2023-01-01T10:00:60.000Z",
    "2023-00-10T10:00:00.000Z",
    "2023-01-0xT10:00:00.000Z",
    "2023-01-01T10:00:00.00aZ",
  ])("rejects %s on the fast path too", (text) => {
    expect(normalizeTimestamp(text)).toBeUndefined();
  });
});
