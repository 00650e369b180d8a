import { describe, expect, it } from "vitest";
import { formatReport, runLoad } from "./run-load.ts";

describe("load test (smoke: 5 000 events; the full run is npm run test:load)", () => {
  it("collects and indexes the whole tenant exactly once, and reports time and peak RSS", async () => {
    const lines: string[] = [];
    const report = await runLoad({ events: 5_000, hours: 2, log: (line) => lines.push(line), signals: none });

    expect(report.problems).toStrictEqual([]);
    expect(report.counts).toMatchObject({ fetched: 5_000, indexed: 5_000, duplicates: 0, deadLettered: 0 });
    expect(report.stored).toStrictEqual({ copies: 5_000, distinct: 5_000, missing: 0, unexpected: 0 });
    expect(report.collector.maxRssBytes).toBeGreaterThanOrEqual(report.collector.peakRssBytes);
    expect(report.collector.peakRssBytes).toBeGreaterThan(0);
    const text = formatReport(report);
    expect(text).toMatch(/wall time +[\d.]+ s, [\d ]+ events\/s/);
    expect(text).toMatch(/collector RSS .* peak sampled, \d+ MB high-water/);
    expect(text).toMatch(/result +OK$/);
  });
});

// No signal reaches a test run: Ctrl-C belongs to the test runner.
const none = { listen: () => () => {} };
