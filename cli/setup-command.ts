import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Command } from "commander";
import { readSecretString } from "../lib/aws/secrets.ts";
import type { Environment } from "../lib/config.ts";
import { createElasticsearchClient, resolveCredentials } from "../lib/elasticsearch/client.ts";
import { hasCluster, loadElasticsearchConfig } from "../lib/elasticsearch/config.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { ConfigurationError } from "../lib/errors.ts";
import type { Output } from "./io.ts";

const OUTCOMES = {
  installed: "installed the index template",
  updated: "updated the index template",
  unchanged: "the index template is up to date",
  "left-integration-alone":
    "Elastic's JumpCloud integration is installed: its template is left alone (documents are sent with pipeline=_none)",
} as const;

/** `setup`: installs the index template for logs-jumpcloud.events-* (idempotent). */
export function setupCommand(env: Environment, out: Output): Command {
  return new Command("setup")
    .description("install the index template for logs-jumpcloud.events-* (safe to run again)")
    .action(async () => {
      const config = loadElasticsearchConfig(env);
      if (!hasCluster(config))
        throw new ConfigurationError(["set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID"]);
      const credentials = await resolveCredentials(config.auth, (arn) =>
        readSecretString(new SecretsManagerClient({}), arn),
      );
      const client = await createElasticsearchClient(config, credentials);
      const result = await setupIndexTemplate(client);
      await out.write(
        `${OUTCOMES[result.action]}: ${result.template}${result.withEcsMappings ? " (composed with ecs@mappings)" : ""}\n`,
      );
    });
}
