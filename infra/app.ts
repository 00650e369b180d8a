import { Annotations, App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConfigurationError } from "../lib/errors.ts";
import { deploymentWarnings, loadDeployConfig } from "./config.ts";
import {
  applyDeploymentFile,
  type DeploymentFile,
  overrideWarnings,
  readDeploymentFile,
  stackNameProblems,
} from "./deployment-file.ts";
import { JumpcloudElasticStack } from "./stack.ts";

const DEFAULT_STACK_NAME = "JumpcloudElastic";

/**
 * The CDK app: the stack from the deployment file's settings, overridden by context (`-c`), all
 * checked at once; with cdk-nag's AWS Solutions checks.
 */
export function buildApp(
  app: App = new App(),
  deployment?: DeploymentFile,
): { app: App; stack: JumpcloudElasticStack } {
  const applied = applyDeploymentFile(app.node, deployment);
  const naming = stackNameProblems(app.node, deployment, DEFAULT_STACK_NAME);
  let loaded: ReturnType<typeof loadDeployConfig> | undefined;
  try {
    loaded = loadDeployConfig(app.node);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError([...error.problems, ...naming]);
  }
  if (naming.length > 0) throw new ConfigurationError(naming);
  const { config, timing } = loaded;
  const stack = new JumpcloudElasticStack(app, app.node.tryGetContext("stackName") ?? DEFAULT_STACK_NAME, {
    config,
    timing,
    description: "jumpcloud-elastic: JumpCloud Directory Insights events into Elasticsearch as ECS documents",
  });
  for (const warning of [...deploymentWarnings(config), ...overrideWarnings(deployment, applied)])
    Annotations.of(stack).addWarningV2("jumpcloud-elastic:context", warning);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

// `cdk synth` runs this file; tests import buildApp.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  try {
    const app = new App();
    buildApp(app, readDeploymentFile(app.node)).app.synth();
  } catch (error) {
    // Bad settings are the user's to fix: every problem, one per line, no stack.
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(
      `invalid deployment settings (deployment file, cdk.json or -c):\n${error.problems.map((p) => `  - ${p}\n`).join("")}`,
    );
    process.exitCode = 1;
  }
}
