import type { Client } from "@elastic/elasticsearch";
import type { AsnResponse, CityResponse, Reader } from "maxmind";
import { localCopy, missingObject } from "../aws/s3-files.ts";
import { MaxmindGeoIpLookup, openGeoIpReader } from "../ecs/geo.ts";
import { EcsMapper } from "../ecs/mapper.ts";
import { type DeadLetterSink, FileDeadLetterSink, S3DeadLetterSink } from "../elasticsearch/dead-letters.ts";
import { FileDocumentSink } from "../elasticsearch/file-sink.ts";
import { ClusterGeoIpWatch, pipelineName } from "../elasticsearch/ingest-pipeline.ts";
import { type DocumentSink, ElasticsearchDocumentSink } from "../elasticsearch/sink.ts";
import { ConfigurationError, GeoIpDatabaseError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { IndexEventsDeps } from "../pipeline/index-events.ts";
import { type GeoIpMode, geoIpMode } from "../settings/geoip-mode.ts";
import type { SettingName, Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";

/** Names a setting for the user: the flag they used, or the variable (see LoadedSettings). */
export type SourceOf = (name: SettingName) => string;

type GeoIpDeps = { aws: AwsClients; sourceOf: SourceOf; tmpDir?: string; logger?: Logger };

async function openDatabase<T extends CityResponse | AsnResponse>(
  name: "geoIpCityDb" | "geoIpAsnDb",
  kind: "City" | "ASN",
  settings: Settings,
  deps: GeoIpDeps,
): Promise<Reader<T> | undefined> {
  const value = settings[name];
  if (value === undefined) return undefined;
  try {
    const path = value.startsWith("s3://")
      ? await localCopy(deps.aws.s3(), value, deps.tmpDir ?? "/tmp/geoip")
      : value;
    return await openGeoIpReader<T>(path, kind);
  } catch (error) {
    const updater = settings.geoIpUpdater;
    const missing = missingObject((error as { cause?: unknown }).cause);
    if (updater !== undefined && value.startsWith("s3://") && missing) {
      // Before the updater's first run (its secret filled after the deploy): no geo yet, not a stop.
      deps.logger?.warn(
        `${value} is not there yet: the GeoIP updater ${updater} has not run; fill its MaxMind secret, then \`aws lambda invoke --function-name ${updater} out.json\`. Documents are stored without geo until then.`,
      );
      return undefined;
    }
    if (error instanceof ConfigurationError)
      throw new ConfigurationError([`${deps.sourceOf(name)}: ${error.problems.join("; ")}`], {
        cause: error,
      });
    if (error instanceof GeoIpDatabaseError)
      throw new ConfigurationError([`${deps.sourceOf(name)}: ${error.message}`], { cause: error });
    throw error;
  }
}

/**
 * Opens the GeoIP databases the settings name (none → no enrichment), copying `s3://` ones to
 * `tmpDir` first; every unusable database is reported at once, named by its setting.
 */
export async function openGeoIp(
  settings: Settings,
  deps: GeoIpDeps,
): Promise<MaxmindGeoIpLookup | undefined> {
  if (settings.geoIpCityDb === undefined && settings.geoIpAsnDb === undefined) return undefined;
  const [city, asn] = await Promise.allSettled([
    openDatabase<CityResponse>("geoIpCityDb", "City", settings, deps),
    openDatabase<AsnResponse>("geoIpAsnDb", "ASN", settings, deps),
  ]);
  const problems = [city, asn].flatMap((r) => {
    if (r.status === "fulfilled") return [];
    if (r.reason instanceof ConfigurationError) return r.reason.problems;
    throw r.reason;
  });
  if (problems.length > 0) throw new ConfigurationError(problems);
  return new MaxmindGeoIpLookup(
    (city as PromiseFulfilledResult<Reader<CityResponse> | undefined>).value,
    (asn as PromiseFulfilledResult<Reader<AsnResponse> | undefined>).value,
  );
}

/** The ECS mapper for the settings, GeoIP databases opened in `files` mode (the default without a cluster). */
export async function createMapper(
  settings: Settings,
  deps: GeoIpDeps,
  mode: GeoIpMode = geoIpMode(settings, false, deps.sourceOf),
): Promise<EcsMapper> {
  return new EcsMapper({
    namespace: settings.namespace,
    tags: settings.tags,
    preserveOriginalEvent: settings.preserveOriginalEvent,
    preserveDuplicateCustomFields: settings.preserveDuplicateCustomFields,
    geoIp: mode === "files" ? await openGeoIp(settings, deps) : undefined,
  });
}

/** Where refused documents go: S3 when DEAD_LETTER_BUCKET is set, else DEAD_LETTER_DIR. */
export function createDeadLetterSink(settings: Settings, aws: AwsClients): DeadLetterSink {
  return settings.deadLetterBucket !== undefined
    ? new S3DeadLetterSink(aws.s3(), settings.deadLetterBucket, settings.deadLetterPrefix)
    : new FileDeadLetterSink(settings.deadLetterDir);
}

/**
 * Where documents go: NDJSON files under `outDir`, or the cluster through this project's ingest
 * pipeline for the GeoIP mode (in `cluster` mode watching the cluster's databases).
 */
export function createDocumentSink(
  settings: Settings,
  dataStream: string,
  target: { client: Client; logger: Logger } | { outDir: string },
  mode: GeoIpMode = geoIpMode(settings, !("outDir" in target)),
): DocumentSink {
  if ("outDir" in target) return new FileDocumentSink(target.outDir, dataStream);
  const { client, logger } = target;
  return new ElasticsearchDocumentSink(client, {
    dataStream,
    maxBatchBytes: Math.floor(settings.elasticsearchBulkMaxMb * 1_000_000),
    lookUpExisting: settings.lookUpExisting,
    logger,
    pipeline: pipelineName(mode),
    ...(mode === "cluster" && {
      clusterGeoIp: new ClusterGeoIpWatch(client, {
        onUnknown: (error) =>
          logger.warn(
            "the cluster's GeoIP databases cannot be read (_ingest/geoip/stats needs the monitor privilege): documents stored before its download finishes are not counted",
            { error },
          ),
      }),
    }),
  });
}

/** The mapping pipeline: mapper → sink → dead letters, as the mapper Lambda and local runs use it (GEOIP resolved once). */
export async function createPipeline(
  settings: Settings,
  deps: {
    aws: AwsClients;
    sourceOf: SourceOf;
    target: { client: Client; logger: Logger } | { outDir: string };
    tmpDir?: string;
  },
): Promise<IndexEventsDeps & { mapper: EcsMapper }> {
  const mode = geoIpMode(settings, !("outDir" in deps.target), deps.sourceOf);
  const logger = "logger" in deps.target ? deps.target.logger : undefined;
  const mapper = await createMapper(settings, { ...deps, ...(logger && { logger }) }, mode);
  return {
    mapper,
    sink: createDocumentSink(settings, mapper.dataStream, deps.target, mode),
    deadLetters: createDeadLetterSink(settings, deps.aws),
  };
}
