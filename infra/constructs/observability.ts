import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRICS_NAMESPACE, SERVICES } from "../../lib/aws/metrics.ts";
import { formatDuration } from "../../lib/duration.ts";

/** Days of lag at which events are about to leave JumpCloud (it keeps 15 days at least). */
export const RETENTION_WARNING_DAYS = 10;

/** Readonly props: what to watch, and where alarms go. */
export interface ObservabilityProps {
  readonly collector: IFunction;
  readonly mapper: IFunction;
  readonly scheduleDeadLetters: IQueue;
  readonly failedRuns: IQueue;
  readonly intervalMs: number;
  /** Alarm when the scheduled cursor is further behind than this. */
  readonly lagAlarmMs: number;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  /** The MaxMind updater, when the stack has one. */
  readonly geoIpUpdater?: IFunction;
}

/** Alarms on everything that means events are not flowing, all to one SNS topic. */
export class Observability extends Construct {
  readonly topic: ITopic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn
      ? Topic.fromTopicArn(this, "Topic", props.alarmTopicArn)
      : new Topic(this, "Topic", { displayName: "jumpcloud-elastic alarms", enforceSSL: true });
    if (props.alarmEmail && this.topic instanceof Topic)
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const period = Duration.millis(Math.max(props.intervalMs, 60_000));
    const sum = { period, statistic: "Sum" };
    this.alarm("CollectorErrors", props.collector.metricErrors(sum), "a collection run failed (see its log)");
    this.alarm(
      "MapperErrors",
      props.mapper.metricErrors(sum),
      "a batch could not be stored (see the mapper log)",
    );
    this.alarm(
      "CollectorThrottles",
      props.collector.metricThrottles(sum),
      "collector invocations were throttled",
    );
    this.alarm("MapperThrottles", props.mapper.metricThrottles(sum), "mapper invocations were throttled");
    this.customAlarms(props, period);
    this.alarm(
      "ScheduleDeadLetters",
      props.scheduleDeadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
      "the scheduler could not invoke the collector",
    );
    this.alarm(
      "FailedRuns",
      props.failedRuns.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
      "asynchronous collector runs failed",
    );
  }

  // What the functions publish as EMF (lib/aws/metrics.ts): lag, dead letters, configuration.
  private customAlarms(props: ObservabilityProps, period: Duration): void {
    const metric = (name: string, service: string, statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service },
        period,
        statistic,
      });
    const lag = metric(METRIC.lag, SERVICES.collector, "Maximum");
    // No lag at all means no run reported: as bad as a large one.
    this.alarm("CollectionLag", lag, `collection lags more than ${formatDuration(props.lagAlarmMs)}`, {
      threshold: Math.round(props.lagAlarmMs / 1000),
      evaluationPeriods: 3,
      missing: TreatMissingData.BREACHING,
    });
    this.alarm(
      "LagNearRetention",
      lag,
      `collection lags more than ${RETENTION_WARNING_DAYS} days: JumpCloud keeps 15 to 90 days, events are about to be lost for good`,
      { threshold: RETENTION_WARNING_DAYS * 86_400 },
    );
    this.alarm(
      "DeadLetters",
      metric(METRIC.deadLettered, SERVICES.mapper, "Sum"),
      "documents were dead-lettered",
    );
    for (const role of ["collector", "mapper"] as const) {
      this.alarm(
        `${role === "collector" ? "Collector" : "Mapper"}Configuration`,
        metric(METRIC.configurationErrors, SERVICES[role], "Sum"),
        `the ${role} cannot start: its settings or a secret (e.g. not filled yet) need fixing, see its log`,
      );
    }
    // A week between runs: one failed update is worth a look (the databases in S3 stay as they were).
    if (props.geoIpUpdater)
      this.alarm(
        "GeoIpUpdaterErrors",
        props.geoIpUpdater.metricErrors({ period: Duration.days(1), statistic: "Sum" }),
        "the MaxMind GeoIP update failed (the current databases are kept; see its log: licence key, download, checksum)",
      );
  }

  private alarm(
    id: string,
    metric: IMetric,
    what: string,
    options: { threshold?: number; evaluationPeriods?: number; missing?: TreatMissingData } = {},
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold ?? 1,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: `jumpcloud-elastic: ${what}. See "Alarms" in the README.`,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
