import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, publishStartFailure, SERVICES } from "../../lib/aws/metrics.ts";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import { type AwsClients, awsClients } from "../../lib/compose/aws.ts";
import { databaseStore, maxmindAccount, maxmindDownloads } from "../../lib/compose/geoip-update.ts";
import { type EditionResult, updateDatabases } from "../../lib/geoip/update.ts";
import type { Logger } from "../../lib/logger.ts";
import { type Environment, loadSettings } from "../../lib/settings/load.ts";

/**
 * One update of the GeoLite2 databases in GEOIP_UPDATE_TARGET from MaxMind, with the account in
 * MAXMIND_SECRET_ARN (read afresh: a run is weekly). Throws when any edition failed: the current
 * objects stay, and the function's error alarm fires.
 */
export async function updateGeoIp(
  env: Environment,
  logger: Logger,
  aws: AwsClients,
): Promise<EditionResult[]> {
  const { settings, warnings, sourceOf } = loadSettings(env);
  for (const warning of warnings) logger.warn(warning);
  const account = await maxmindAccount(settings, aws, sourceOf, { fresh: true });
  const store = databaseStore(settings, aws);
  const results = await updateDatabases(maxmindDownloads(settings, account, logger), store);
  for (const result of results)
    logger.info(`${result.edition} ${result.action}`, { ...result, where: store.where });
  return results;
}

const SERVICE = SERVICES.updater;
const powertools = new PowertoolsLogger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const logger = fromPowertools(powertools);

/** Lambda entry: the weekly schedule (or an operator's invoke) runs one update. */
export const handler = async (
  _event: unknown,
  context: Parameters<PowertoolsLogger["addContext"]>[0],
): Promise<{ results: EditionResult[] }> => {
  powertools.addContext(context);
  try {
    const results = await updateGeoIp(process.env, logger, awsClients());
    metrics.addMetric(
      "GeoIpDatabasesUpdated",
      MetricUnit.Count,
      results.filter((r) => r.action === "updated").length,
    );
    return { results };
  } catch (error) {
    logger.error("GeoIP databases not updated; the current ones are kept", { error });
    publishStartFailure(metrics, error);
    metrics.addMetric("GeoIpUpdateFailures", MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
};
