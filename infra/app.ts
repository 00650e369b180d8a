import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadDeployConfig } from "./config.ts";
import { JumpcloudElasticStack } from "./stack.ts";

/** The CDK app: the stack from checked context, with cdk-nag's AWS Solutions checks. */
export function buildApp(app: App = new App()): { app: App; stack: JumpcloudElasticStack } {
  const { config, timing } = loadDeployConfig(app.node);
  const stack = new JumpcloudElasticStack(app, app.node.tryGetContext("stackName") ?? "JumpcloudElastic", {
    config,
    timing,
    description: "jumpcloud-elastic: JumpCloud Directory Insights events into Elasticsearch as ECS documents",
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

// `cdk synth` runs this file; tests import buildApp.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  buildApp().app.synth();
}
