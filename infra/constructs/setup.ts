import { CustomResource, Stack, Validations } from "aws-cdk-lib";
import type { CfnFunction, IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Provider } from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { ingestPipeline } from "../../lib/elasticsearch/ingest-pipeline.ts";
import { indexTemplate } from "../../lib/elasticsearch/template.ts";
import { rulePackHash } from "../../lib/kibana/rule-pack.ts";
import type { GeoIpMode } from "../../lib/settings/geoip-mode.ts";

/** Readonly props: the mapper (which runs the setup), the log retention and the GeoIP mode. */
export interface IndexTemplateSetupProps {
  readonly mapper: IFunction;
  readonly logRetentionDays: number;
  /** Decides which ingest pipeline the mapper installs. */
  readonly geoIp: GeoIpMode;
  /** With a Kibana, the dashboard and the detection rules are installed too. */
  readonly kibana?: { url: string; space: string; enableRules: boolean };
}

/**
 * Installs the index template and the ingest pipeline at deploy, through the mapper (which has the
 * cluster's secret and network), and with a Kibana the dashboard and the detection rules. Re-run
 * when any changes; never fails the deploy (see handleSetup).
 */
export class IndexTemplateSetup extends Construct {
  constructor(scope: Construct, id: string, props: IndexTemplateSetupProps) {
    super(scope, id);
    const provider = new Provider(this, "Provider", {
      onEventHandler: props.mapper,
      logGroup: new LogGroup(this, "ProviderLogs", { retention: props.logRetentionDays as RetentionDays }),
    });
    new CustomResource(this, "IndexTemplate", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::JumpcloudElasticIndexTemplate",
      // A new template or pipeline content is a new hash: CloudFormation updates the resource and setup runs.
      properties: {
        templateHash: (indexTemplate({ withEcsMappings: false })._meta as { hash: string }).hash,
        pipelineHash: ingestPipeline(props.geoIp)._meta.hash,
        // A changed rule (or Kibana, or the choice to enable) runs the setup again.
        ...(props.kibana && {
          kibana: `${props.kibana.url} ${props.kibana.space}`,
          rulesHash: rulePackHash(),
          EnableRules: String(props.kibana.enableRules),
        }),
      },
    });
    this.acknowledge(provider, props.mapper);
  }

  // The Provider framework's own function and role are CDK's, not ours to shape.
  private acknowledge(provider: Provider, mapper: IFunction): void {
    const mapperId = Stack.of(this).resolve((mapper.node.defaultChild as CfnFunction).logicalId);
    Validations.of(provider).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason:
        "CDK's custom-resource Provider framework builds its function's role with the basic execution policy; it runs only during deploys.",
    });
    Validations.of(provider).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${mapperId}.Arn>:*]`,
      reason:
        "The Provider framework may invoke the mapper and its versions (the ':*' qualifier CDK's grantInvoke adds), nothing else.",
    });
  }
}
