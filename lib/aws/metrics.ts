import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { CollectSummary } from "../collect/collector.ts";
import type { Counts } from "../counts.ts";
import { ConfigurationError } from "../errors.ts";

/** The CloudWatch namespace of every metric (the stack's alarms read the same names). */
export const METRICS_NAMESPACE = "JumpcloudElastic";

/** The `service` dimension (and log service name) of each function. */
export const SERVICES = {
  collector: "jumpcloud-elastic-collector",
  mapper: "jumpcloud-elastic-mapper",
  updater: "jumpcloud-elastic-geoip-updater",
} as const;

/** Metric names, shared with the alarms in infra/. */
export const METRIC = {
  fetched: "EventsFetched",
  indexed: "EventsIndexed",
  duplicates: "Duplicates",
  deadLettered: "DeadLettered",
  pipelineErrors: "PipelineErrors",
  withoutGeo: "StoredWithoutGeo",
  withoutPipeline: "StoredWithoutPipeline",
  windows: "Windows",
  lateEvents: "LateEvents",
  lag: "CollectionLagSeconds",
  apiRetries: "ApiRetries",
  configurationErrors: "ConfigurationErrors",
  secretNotFilled: "SecretNotFilled",
} as const;

function addCountMetrics(metrics: Metrics, counts: Counts): void {
  metrics.addMetric(METRIC.indexed, MetricUnit.Count, counts.indexed);
  metrics.addMetric(METRIC.duplicates, MetricUnit.Count, counts.duplicates);
  metrics.addMetric(METRIC.deadLettered, MetricUnit.Count, counts.deadLettered);
  metrics.addMetric(METRIC.pipelineErrors, MetricUnit.Count, counts.pipelineErrors);
  metrics.addMetric(METRIC.withoutGeo, MetricUnit.Count, counts.withoutGeo);
  metrics.addMetric(METRIC.withoutPipeline, MetricUnit.Count, counts.withoutPipeline);
}

/** One collection run as EMF metrics (a log line; no CloudWatch API call), with the API retries it made. */
export function publishRun(metrics: Metrics, summary: CollectSummary, apiRetries = 0): void {
  if (summary.status === "locked") return;
  metrics.addMetric(METRIC.apiRetries, MetricUnit.Count, apiRetries);
  metrics.addMetric(METRIC.fetched, MetricUnit.Count, summary.fetched);
  metrics.addMetric(METRIC.windows, MetricUnit.Count, summary.windows);
  metrics.addMetric(METRIC.lateEvents, MetricUnit.Count, summary.lateEvents);
  addCountMetrics(metrics, summary.counts);
  // Replays do not move the scheduled cursor: only the schedule's lag means anything.
  if (summary.lagMs !== undefined && !summary.key.includes("#replay#"))
    metrics.addMetric(METRIC.lag, MetricUnit.Seconds, Math.round(summary.lagMs / 1000));
  metrics.publishStoredMetrics();
}

/** One mapped batch as EMF metrics. */
export function publishBatch(metrics: Metrics, counts: Counts): void {
  addCountMetrics(metrics, counts);
  metrics.publishStoredMetrics();
}

/** A function that cannot start: counted, and an unfilled secret counted apart (it has its own alarm). */
export function publishStartFailure(metrics: Metrics, error: unknown): void {
  if (!(error instanceof ConfigurationError)) return;
  metrics.addMetric(METRIC.configurationErrors, MetricUnit.Count, 1);
  if (error.problems.some((p) => p.startsWith("secret not filled yet")))
    metrics.addMetric(METRIC.secretNotFilled, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
