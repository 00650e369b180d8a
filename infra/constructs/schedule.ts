import { Duration, Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { type CfnFunction, EventInvokeConfig, type IFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Readonly props: the collector and how often it runs. */
export interface CollectionScheduleProps {
  readonly collector: IFunction;
  readonly intervalMs: number;
}

function deadLetterQueue(scope: Construct, id: string, what: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason: `This queue is itself the dead-letter queue of ${what}; an alarm watches its depth.`,
  });
  return queue;
}

/**
 * EventBridge Scheduler runs the collector every interval, asynchronously: the schedule retries
 * and dead-letters what it could not deliver, and the collector's event-invoke config sends
 * every failed run (scheduled, or a per-org fan-out) to an on-failure queue, so none is dropped.
 */
export class CollectionSchedule extends Construct {
  readonly scheduleDeadLetters: Queue;
  readonly failedRuns: Queue;

  constructor(scope: Construct, id: string, props: CollectionScheduleProps) {
    super(scope, id);
    const interval = Duration.millis(props.intervalMs);
    this.scheduleDeadLetters = deadLetterQueue(this, "ScheduleDeadLetters", "the collection schedule");
    this.failedRuns = deadLetterQueue(this, "FailedRuns", "the collector's asynchronous invocations");
    new Schedule(this, "Schedule", {
      description: "jumpcloud-elastic: collect JumpCloud Directory Insights events",
      schedule: ScheduleExpression.rate(interval),
      target: new LambdaInvoke(props.collector, {
        deadLetterQueue: this.scheduleDeadLetters,
        retryAttempts: 2,
        maxEventAge: interval,
      }),
    });
    const functionId = Stack.of(this).resolve((props.collector.node.defaultChild as CfnFunction).logicalId);
    // The target's role is made by the scheduler target; it grants the function and its versions.
    Validations.of(Stack.of(this)).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        "The scheduler's role may invoke the collector and its versions (the ':*' is the version qualifier CDK's grantInvoke adds), nothing else.",
    });
    // A run that failed is not retried by Lambda: the next scheduled run resumes from the checkpoint.
    // Same scope and id as configureAsyncInvoke's (an update keeps the resource), but the queue is
    // granted only sqs:SendMessage, what Lambda calls with the function's role (SqsDestination
    // would add GetQueueAttributes and GetQueueUrl, which nothing calls).
    const failedRuns = this.failedRuns;
    new EventInvokeConfig(props.collector, "EventInvokeConfig", {
      function: props.collector,
      retryAttempts: 0,
      maxEventAge: interval,
      onFailure: { bind: () => ({ destination: failedRuns.queueArn }) },
    });
    props.collector.addToRolePolicy(
      new PolicyStatement({ actions: ["sqs:SendMessage"], resources: [failedRuns.queueArn] }),
    );
  }
}

/** Readonly props: the updater the weekly schedule runs. */
export interface GeoIpUpdateScheduleProps {
  readonly updater: IFunction;
}

/**
 * Runs the MaxMind updater weekly (GeoLite2 is published twice a week). A missed run is retried
 * by the scheduler, then dead-lettered; the next week's run catches up either way.
 */
export class GeoIpUpdateSchedule extends Construct {
  constructor(scope: Construct, id: string, props: GeoIpUpdateScheduleProps) {
    super(scope, id);
    const deadLetters = deadLetterQueue(this, "DeadLetters", "the GeoIP update schedule");
    new Schedule(this, "Schedule", {
      description: "jumpcloud-elastic: update the GeoLite2 databases from MaxMind",
      schedule: ScheduleExpression.rate(Duration.days(7)),
      target: new LambdaInvoke(props.updater, { deadLetterQueue: deadLetters, retryAttempts: 2 }),
    });
    const functionId = Stack.of(this).resolve((props.updater.node.defaultChild as CfnFunction).logicalId);
    Validations.of(Stack.of(this)).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        "The scheduler's role may invoke the GeoIP updater and its versions (the ':*' qualifier CDK's grantInvoke adds), nothing else.",
    });
  }
}
