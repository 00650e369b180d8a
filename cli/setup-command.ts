import { Command, Option } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { createKibanaClient } from "../lib/compose/kibana.ts";
import { type ClusterGeoIp, clusterGeoIp, clusterGeoIpText } from "../lib/elasticsearch/ingest-pipeline.ts";
import { setupCluster } from "../lib/elasticsearch/setup.ts";
import { ConfigurationError, JumpcloudElasticError, UsageError } from "../lib/errors.ts";
import type { KibanaClient } from "../lib/kibana/client.ts";
import { checkKibana, type KibanaSetupResult, setupKibana } from "../lib/kibana/setup.ts";
import { type GeoIpMode, geoIpMode } from "../lib/settings/geoip-mode.ts";
import type { LoadedSettings } from "../lib/settings/load.ts";
import type { Requirement } from "../lib/settings/rules.ts";
import type { Settings } from "../lib/settings/schema.ts";
import { failedRulesError, integrationChoice, type KibanaFlags, kibanaSetupText } from "./kibana-setup.ts";
import { emit } from "./output.ts";
import { cliHttp } from "./proxy.ts";
import { type CliSeams, commandSettings, SETTING_GROUPS } from "./settings.ts";

const OUTCOMES = {
  installed: "installed the index template",
  updated: "updated the index template",
  unchanged: "the index template is up to date",
  "left-integration-alone":
    "Elastic's JumpCloud integration is installed: its template is left alone (documents name this project's pipeline, so the integration's does not run on them again)",
} as const;

const PIPELINE_OUTCOMES = {
  installed: "installed the ingest pipeline",
  updated: "updated the ingest pipeline",
  unchanged: "the ingest pipeline is up to date",
} as const;

const MODES: Record<GeoIpMode, string> = {
  cluster: "GEOIP=cluster: the cluster's geoip processor adds source/client geo and as",
  files:
    "GEOIP=files: the mapper adds geo and as from MaxMind files; the pipeline runs your @custom pipelines",
  off: "GEOIP=off: no geo; the pipeline runs your @custom pipelines",
};

type GeoIpReport = { state: ClusterGeoIp } | { unreadable: string };

// Reading the state is informative: a key without `monitor` still installs everything.
async function readClusterGeoIp(client: Parameters<typeof clusterGeoIp>[0]): Promise<GeoIpReport> {
  try {
    return { state: await clusterGeoIp(client) };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    return {
      unreadable:
        status === 403
          ? "the cluster's GeoIP state cannot be read: _ingest/geoip/stats needs the monitor cluster privilege"
          : `the cluster's GeoIP state cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function clusterSource(settings: Settings, sourceOf: LoadedSettings["sourceOf"]): string {
  if (settings.elasticsearchUrl !== undefined)
    return `${sourceOf("elasticsearchUrl")}, ${new URL(settings.elasticsearchUrl).host}`;
  if (settings.elasticsearchCloudId !== undefined) return sourceOf("elasticsearchCloudId");
  return `the url in ${sourceOf("elasticsearchSecretArn")}`;
}

// Kibana is checked (reachable, credentials, version, space) before the cluster is changed.
async function kibanaClient(seams: CliSeams, settings: Settings, flags: KibanaFlags) {
  if (!flags.kibana) return undefined;
  const client = await createKibanaClient(settings, seams.aws ?? awsClients(), await cliHttp(settings));
  return { client, version: await checkKibana(client) };
}

async function kibanaPart(
  kibana: { client: KibanaClient; version: string } | undefined,
  flags: KibanaFlags,
): Promise<KibanaSetupResult | undefined> {
  if (kibana === undefined) return undefined;
  return setupKibana(kibana.client, {
    checkedVersion: kibana.version,
    integration: integrationChoice(flags),
    ...(flags.enableRules && { enableRules: "all" as const }),
  });
}

function kibanaOptions(command: Command): Command {
  return command
    .option("--kibana", "also install the JumpCloud dashboard (Fleet) and the detection rules in KIBANA_URL")
    .option("--enable-rules", "with --kibana: enable the detection rules (new ones are installed disabled)")
    .addOption(
      new Option(
        "--integration-version <version>",
        "with --kibana: the jumpcloud integration version Fleet installs (the one the documents match by default)",
      ).conflicts(["upgradeIntegration", "integration"]),
    )
    .addOption(
      new Option(
        "--upgrade-integration",
        "with --kibana: install the package registry's latest jumpcloud version",
      ).conflicts("integration"),
    )
    .option("--no-integration", "with --kibana: leave Fleet alone, install the detection rules only");
}

function checkKibanaFlags(flags: KibanaFlags, command: Command): void {
  const given = ["enableRules", "integrationVersion", "upgradeIntegration"].filter(
    (k) => command.getOptionValueSource(k) === "cli",
  );
  if (command.getOptionValueSource("integration") === "cli") given.push("integration");
  const version = flags.integrationVersion;
  if (version !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
    throw new UsageError(`--integration-version must be a package version such as 1.22.0, not "${version}"`);
  if (!flags.kibana && given.length > 0)
    throw new UsageError(
      `${given.map((k) => (k === "integration" ? "--no-integration" : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)).join(", ")} only with --kibana`,
    );
}

/** `setup`: installs the index template and the ingest pipeline; with `--kibana`, the dashboard and rules (idempotent). */
export function setupCommand(seams: CliSeams): Command {
  return kibanaOptions(
    new Command("setup").description(
      "install the index template for logs-jumpcloud.events-* and this project's ingest pipeline; --kibana: the dashboard and detection rules too (safe to run again)",
    ),
  ).action(async (flags: { json?: boolean } & KibanaFlags, command: Command) => {
    checkKibanaFlags(flags, command);
    const require: Requirement[] = flags.kibana ? ["cluster", "kibana"] : ["cluster"];
    const { settings, sourceOf } = await commandSettings(seams, {}, require, undefined, {
      names: [
        ...SETTING_GROUPS.elasticsearch,
        ...SETTING_GROUPS.geoip,
        ...(flags.kibana ? SETTING_GROUPS.kibana : []),
      ],
      by: "setup",
    });
    const mode = geoIpMode(settings, true, sourceOf);
    const kibanaAt = await kibanaClient(seams, settings, flags);
    const client = await createElasticsearchClient(settings, seams.aws ?? awsClients());
    const { template, pipeline } = await setupCluster(client, mode).catch((error: unknown) => {
      // Which cluster, as the user named it: "request timed out" alone says nothing to fix.
      if (error instanceof JumpcloudElasticError && !(error instanceof ConfigurationError))
        error.message = `${error.message} (the cluster of ${clusterSource(settings, sourceOf)})`;
      throw error;
    });
    const geo = mode === "cluster" ? await readClusterGeoIp(client) : undefined;
    const kibana = await kibanaPart(kibanaAt, flags);
    const result = {
      ...template,
      pipeline: pipeline.pipeline,
      pipelineAction: pipeline.action,
      geoIp: mode,
      ...(geo && { clusterGeoIp: "state" in geo ? geo.state : { unreadable: geo.unreadable } }),
      ...(kibana && { kibana }),
    };
    await emit(seams, flags.json, result, () =>
      [
        `${OUTCOMES[template.action]}: ${template.template}${template.withEcsMappings ? " (composed with ecs@mappings)" : ""}`,
        `${PIPELINE_OUTCOMES[pipeline.action]}: ${pipeline.pipeline} (${MODES[mode]})`,
        ...(geo ? ["state" in geo ? clusterGeoIpText(geo.state) : geo.unreadable] : []),
        ...(kibana ? [kibanaSetupText(kibana, flags.enableRules === true)] : []),
      ].join("\n"),
    );
    const failed = kibana && failedRulesError(kibana);
    if (failed) throw failed;
  });
}
