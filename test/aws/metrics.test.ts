import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  METRIC,
  METRICS_NAMESPACE,
  publishBatch,
  publishRun,
  publishStartFailure,
} from "../../lib/aws/metrics.ts";
import type { CollectSummary } from "../../lib/collect/collector.ts";
import { ConfigurationError } from "../../lib/errors.ts";

/** The EMF lines Powertools writes to stdout. */
function emitted(publish: (metrics: Metrics) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  publish(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "test" }));
  vi.restoreAllMocks();
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

const summary: CollectSummary = {
  key: "default#all#scheduled",
  orgId: undefined,
  status: "caught-up",
  windows: 2,
  pages: 3,
  fetched: 10,
  counts: {
    received: 10,
    indexed: 7,
    duplicates: 2,
    deadLettered: 1,
    pipelineErrors: 1,
    withoutGeo: 0,
    withoutPipeline: 0,
  },
  lateEvents: 3,
  cursorBefore: undefined,
  cursorAfter: "2026-01-01T00:00:00.000Z",
  lagMs: 90_400,
  workRemaining: false,
};

describe("metrics (CloudWatch EMF)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("publishes a run's counts, windows, API retries and lag in seconds", () => {
    const [line] = emitted((m) => publishRun(m, summary, 4));
    expect(line).toMatchObject({
      [METRIC.apiRetries]: 4,
      [METRIC.fetched]: 10,
      [METRIC.lateEvents]: 3,
      [METRIC.indexed]: 7,
      [METRIC.duplicates]: 2,
      [METRIC.deadLettered]: 1,
      [METRIC.pipelineErrors]: 1,
      [METRIC.windows]: 2,
      [METRIC.lag]: 90,
    });
  });

  it("publishes no lag for a replay (its cursor is not the schedule's), and nothing for a locked run", () => {
    const [replay] = emitted((m) => publishRun(m, { ...summary, key: "default#all#replay#a#b" }));
    expect(replay).not.toHaveProperty(METRIC.lag);
    expect(emitted((m) => publishRun(m, { ...summary, status: "locked" }))).toStrictEqual([]);
  });

  it("publishes a batch's counts", () => {
    expect(emitted((m) => publishBatch(m, summary.counts))[0]).toMatchObject({ [METRIC.deadLettered]: 1 });
  });

  it("counts an unfilled secret apart from other configuration errors", () => {
    const unfilled = new ConfigurationError([
      "secret not filled yet: aws secretsmanager put-secret-value ...",
    ]);
    expect(emitted((m) => publishStartFailure(m, unfilled))[0]).toMatchObject({
      [METRIC.configurationErrors]: 1,
      [METRIC.secretNotFilled]: 1,
    });
    expect(emitted((m) => publishStartFailure(m, new ConfigurationError(["x"])))[0]).not.toHaveProperty(
      METRIC.secretNotFilled,
    );
    expect(emitted((m) => publishStartFailure(m, new Error("bug")))).toStrictEqual([]);
  });
});
