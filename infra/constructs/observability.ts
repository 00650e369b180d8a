import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Readonly props: what to watch, and where alarms go. */
export interface ObservabilityProps {
  readonly collector: IFunction;
  readonly mapper: IFunction;
  readonly scheduleDeadLetters: IQueue;
  readonly failedRuns: IQueue;
  readonly intervalMs: number;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
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

  private alarm(id: string, metric: IMetric, what: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `jumpcloud-elastic: ${what}. See "Alarms" in the README.`,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
