import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { DeployConfig, Timing } from "./config.ts";
import { DeadLetters } from "./constructs/dead-letters.ts";
import { Functions } from "./constructs/functions.ts";
import { Observability } from "./constructs/observability.ts";
import { CollectionSchedule, GeoIpUpdateSchedule } from "./constructs/schedule.ts";
import { Secrets } from "./constructs/secrets.ts";
import { IndexTemplateSetup } from "./constructs/setup.ts";
import { State } from "./constructs/state.ts";

/** Readonly props of the stack: the checked context and the timing it implies. */
export interface JumpcloudElasticStackProps extends StackProps {
  readonly config: DeployConfig;
  readonly timing: Timing;
}

/** Everything jumpcloud-elastic runs on, environment-agnostic: one construct per concern. */
export class JumpcloudElasticStack extends Stack {
  readonly functions: Functions;
  private readonly kibanaEnableRules: boolean;

  constructor(scope: Construct, id: string, props: JumpcloudElasticStackProps) {
    super(scope, id, props);
    const { config, timing } = props;
    this.kibanaEnableRules = config.kibanaEnableRules;
    const state = new State(this, "State");
    const secrets = new Secrets(this, "Secrets", config);
    const deadLetters = new DeadLetters(this, "DeadLetters");
    this.functions = new Functions(this, "Functions", {
      config,
      timing,
      table: state.table,
      jumpcloudSecret: secrets.jumpcloud,
      elasticsearchSecret: secrets.elasticsearch,
      deadLetters: deadLetters.bucket,
      maxmindSecret: secrets.maxmind,
      kibanaSecret: secrets.kibana,
    });
    const updater = this.functions.geoIpUpdater;
    if (updater) new GeoIpUpdateSchedule(this, "GeoIpUpdateSchedule", { updater });
    const schedule = new CollectionSchedule(this, "Schedule", {
      collector: this.functions.collector,
      intervalMs: timing.intervalMs,
    });
    new Observability(this, "Observability", {
      collector: this.functions.collector,
      mapper: this.functions.mapper,
      scheduleDeadLetters: schedule.scheduleDeadLetters,
      failedRuns: schedule.failedRuns,
      intervalMs: timing.intervalMs,
      lagAlarmMs: config.lagAlarm,
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
      ...(config.alarmTopicArn !== undefined && { alarmTopicArn: config.alarmTopicArn }),
      ...(updater && { geoIpUpdater: updater }),
    });
    new IndexTemplateSetup(this, "Setup", {
      mapper: this.functions.mapper,
      logRetentionDays: config.logRetentionDays,
      geoIp: config.geoIp,
      ...(config.kibanaUrl !== undefined && {
        kibana: {
          url: config.kibanaUrl,
          space: config.kibanaSpace ?? "default",
          enableRules: config.kibanaEnableRules,
        },
      }),
    });
    this.outputs(state, secrets, deadLetters);
  }

  private outputs(state: State, secrets: Secrets, deadLetters: DeadLetters): void {
    const { collector, mapper } = this.functions;
    new CfnOutput(this, "CollectorFunction", { value: collector.functionName });
    new CfnOutput(this, "MapperFunction", { value: mapper.functionName });
    new CfnOutput(this, "CheckpointTable", { value: state.table.tableName });
    new CfnOutput(this, "JumpcloudSecretArn", { value: secrets.jumpcloud.secretArn });
    new CfnOutput(this, "ElasticsearchSecretArn", { value: secrets.elasticsearch.secretArn });
    new CfnOutput(this, "DeadLetterBucket", { value: deadLetters.bucket.bucketName });
    if (this.functions.geoIpUpdater && secrets.maxmind) {
      new CfnOutput(this, "GeoIpUpdaterFunction", { value: this.functions.geoIpUpdater.functionName });
      new CfnOutput(this, "MaxmindSecretArn", { value: secrets.maxmind.secretArn });
    }
    if (secrets.kibana) {
      new CfnOutput(this, "KibanaSecretArn", { value: secrets.kibana.secretArn });
      // The deploy's setup runs before the secrets are filled: this runs it again, as CloudFormation would.
      const payload = {
        RequestType: "Update",
        ResourceProperties: { EnableRules: String(this.kibanaEnableRules) },
      };
      new CfnOutput(this, "SetupCommand", {
        value: `aws lambda invoke --function-name ${mapper.functionName} --cli-binary-format raw-in-base64-out --cli-read-timeout 0 --payload '${JSON.stringify(payload)}' setup.json && cat setup.json`,
      });
    }
    // Without --cli-read-timeout 0 the AWS CLI gives up on a long run and invokes it again.
    new CfnOutput(this, "ReplayCommand", {
      value: `aws lambda invoke --function-name ${collector.functionName} --cli-binary-format raw-in-base64-out --cli-read-timeout 0 --payload '{"replay":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}}' replay.json`,
    });
  }
}
