import { Command } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { ConfigurationError, JumpcloudElasticError } from "../lib/errors.ts";
import type { LoadedSettings } from "../lib/settings/load.ts";
import type { Settings } from "../lib/settings/schema.ts";
import { emit } from "./output.ts";
import { type CliSeams, commandSettings, SETTING_GROUPS } from "./settings.ts";

const OUTCOMES = {
  installed: "installed the index template",
  updated: "updated the index template",
  unchanged: "the index template is up to date",
  "left-integration-alone":
    "Elastic's JumpCloud integration is installed: its template is left alone (documents are sent with pipeline=_none)",
} as const;

function clusterSource(settings: Settings, sourceOf: LoadedSettings["sourceOf"]): string {
  if (settings.elasticsearchUrl !== undefined)
    return `${sourceOf("elasticsearchUrl")}, ${new URL(settings.elasticsearchUrl).host}`;
  if (settings.elasticsearchCloudId !== undefined) return sourceOf("elasticsearchCloudId");
  return `the url in ${sourceOf("elasticsearchSecretArn")}`;
}

/** `setup`: installs the index template for logs-jumpcloud.events-* (idempotent). */
export function setupCommand(seams: CliSeams): Command {
  return new Command("setup")
    .description("install the index template for logs-jumpcloud.events-* (safe to run again)")
    .action(async (flags: { json?: boolean }) => {
      const { settings, sourceOf } = await commandSettings(seams, {}, ["cluster"], undefined, {
        names: SETTING_GROUPS.elasticsearch,
        by: "setup",
      });
      const client = await createElasticsearchClient(settings, seams.aws ?? awsClients());
      const result = await setupIndexTemplate(client).catch((error: unknown) => {
        // Which cluster, as the user named it: "request timed out" alone says nothing to fix.
        if (error instanceof JumpcloudElasticError && !(error instanceof ConfigurationError))
          error.message = `${error.message} (the cluster of ${clusterSource(settings, sourceOf)})`;
        throw error;
      });
      await emit(
        seams,
        flags.json,
        result,
        () =>
          `${OUTCOMES[result.action]}: ${result.template}${result.withEcsMappings ? " (composed with ecs@mappings)" : ""}`,
      );
    });
}
