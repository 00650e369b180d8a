import { Command } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { setupIndexTemplate } from "../lib/elasticsearch/template.ts";
import { emit } from "./output.ts";
import { type CliSeams, commandSettings, SETTING_GROUPS } from "./settings.ts";

const OUTCOMES = {
  installed: "installed the index template",
  updated: "updated the index template",
  unchanged: "the index template is up to date",
  "left-integration-alone":
    "Elastic's JumpCloud integration is installed: its template is left alone (documents are sent with pipeline=_none)",
} as const;

/** `setup`: installs the index template for logs-jumpcloud.events-* (idempotent). */
export function setupCommand(seams: CliSeams): Command {
  return new Command("setup")
    .description("install the index template for logs-jumpcloud.events-* (safe to run again)")
    .action(async (flags: { json?: boolean }) => {
      const { settings } = await commandSettings(seams, {}, ["cluster"], undefined, {
        names: SETTING_GROUPS.elasticsearch,
        by: "setup",
      });
      const client = await createElasticsearchClient(settings, seams.aws ?? awsClients());
      const result = await setupIndexTemplate(client);
      await emit(
        seams,
        flags.json,
        result,
        () =>
          `${OUTCOMES[result.action]}: ${result.template}${result.withEcsMappings ? " (composed with ecs@mappings)" : ""}`,
      );
    });
}
