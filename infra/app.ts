import { Annotations, App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConfigurationError } from "../lib/errors.ts";
import { deploymentWarnings, loadDeployConfig } from "./config.ts";
import { JumpcloudElasticStack } from "./stack.ts";

/** The CDK app: the stack from checked context, with cdk-nag's AWS Solutions checks. */
export function buildApp(app: App = new App()): { app: App; stack: JumpcloudElasticStack } {
  const { config, timing } = loadDeployConfig(app.node);
  const stack = new JumpcloudElasticStack(app, app.node.tryGetContext("stackName") ?? "JumpcloudElastic", {
    config,
    timing,
    description: "jumpcloud-elastic: JumpCloud Directory Insights events into Elasticsearch as ECS documents",
  });
  for (const warning of deploymentWarnings(config))
    Annotations.of(stack).addWarningV2("jumpcloud-elastic:context", warning);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

// `cdk synth` runs this file; tests import buildApp.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  try {
    buildApp().app.synth();
  } catch (error) {
    // Bad context is the user's to fix: every problem, one per line, no stack.
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(
      `invalid context (cdk.json or -c):\n${error.problems.map((p) => `  - ${p}\n`).join("")}`,
    );
    process.exitCode = 1;
  }
}
