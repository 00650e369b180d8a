import type { Client } from "@elastic/elasticsearch";
import type { Logger } from "../logger.ts";
import type { GeoIpMode } from "../settings/geoip-mode.ts";
import { type PipelineSetupResult, setupIngestPipeline } from "./ingest-pipeline.ts";
import { type SetupResult, setupIndexTemplate } from "./template.ts";

/** What setting the cluster up did: the index template, then the ingest pipeline of the mode. */
export interface ClusterSetupResult {
  template: SetupResult;
  pipeline: PipelineSetupResult;
}

/** Installs (or updates, only when changed) the index template and the ingest pipeline. */
export async function setupCluster(client: Client, mode: GeoIpMode): Promise<ClusterSetupResult> {
  const template = await setupIndexTemplate(client);
  const pipeline = await setupIngestPipeline(client, mode);
  return { template, pipeline };
}

/**
 * The same at a Lambda's first contact with the cluster, once per cold start: each part that
 * fails is a warning naming the privilege, never a failure (the batch says for itself whether the
 * cluster can be written, and goes without a missing pipeline).
 */
export async function ensureCluster(client: Client, mode: GeoIpMode, logger: Logger): Promise<void> {
  try {
    const result = await setupIndexTemplate(client);
    if (result.action !== "unchanged") logger.info("index template", { ...result });
  } catch (error) {
    logger.warn("index template not installed; run `setup` with manage_index_templates", { error });
  }
  try {
    const result = await setupIngestPipeline(client, mode);
    if (result.action !== "unchanged") logger.info("ingest pipeline", { ...result });
  } catch (error) {
    logger.warn("ingest pipeline not installed; run `setup` with manage_pipeline", { error });
  }
}
