import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import { localCopy } from "../../lib/aws/s3-files.ts";
import { readSecretString } from "../../lib/aws/secrets.ts";
import { type Environment, readMappingConfig } from "../../lib/config.ts";
import { createMapper, openGeoIp } from "../../lib/ecs/from-config.ts";
import { createElasticsearchClient, resolveCredentials } from "../../lib/elasticsearch/client.ts";
import { hasCluster, readElasticsearchConfig } from "../../lib/elasticsearch/config.ts";
import { S3DeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { ElasticsearchDocumentSink } from "../../lib/elasticsearch/sink.ts";
import { ConfigurationError, ElasticsearchRequestError, InputError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { type BatchContext, type IndexEventsDeps, indexEvents } from "../../lib/pipeline/index-events.ts";

/** What the collector sends: a page (or part of one) of raw events. */
export interface MapperRequest {
  events: unknown[];
  context?: BatchContext;
}

/** The mapper's answer; the counts add up to `received`. */
export interface MapperResponse {
  received: number;
  indexed: number;
  duplicates: number;
  deadLettered: number;
}

/** What the handler needs. */
export interface MapperDependencies extends IndexEventsDeps {
  logger: Logger;
}

/**
 * The mapper Lambda: maps and indexes one batch. Fails the invocation (so the collector does not
 * advance) only when it cannot vouch for every event. `onAuthFailure` runs when Elasticsearch
 * refuses the credentials, so the next invocation reads the secret again.
 */
export function makeMapperHandler(
  dependencies: () => Promise<MapperDependencies>,
  onAuthFailure: () => void = () => {},
) {
  return async (request: MapperRequest): Promise<MapperResponse> => {
    if (!request || !Array.isArray(request.events)) {
      throw new InputError('the mapper expects {"events": [...], "context": {...}}');
    }
    const deps = await dependencies();
    try {
      const result = await indexEvents(request.events, deps, request.context ?? {});
      deps.logger.info("batch stored", {
        ...result,
        orgId: request.context?.orgId,
        window: request.context?.window,
      });
      const { received, indexed, duplicates, deadLettered } = result;
      return { received, indexed, duplicates, deadLettered };
    } catch (error) {
      if (error instanceof ElasticsearchRequestError && (error.status === 401 || error.status === 403))
        onAuthFailure();
      deps.logger.error("batch not stored", { error: String(error), received: request.events.length });
      throw error;
    }
  };
}

/** AWS clients the mapper uses (real ones in Lambda, doubles in tests). */
export interface MapperAwsClients {
  s3: S3Client;
  secrets: SecretsManagerClient;
}

/**
 * Real dependencies from the environment: Elasticsearch credentials from Secrets Manager, GeoIP
 * databases from a path (a Lambda layer) or `s3://` (copied to /tmp once), dead letters in S3.
 */
export async function buildMapperDependencies(
  env: Environment,
  logger: Logger,
  aws: MapperAwsClients = { s3: new S3Client({}), secrets: new SecretsManagerClient({}) },
  tmpDir = "/tmp/geoip",
): Promise<MapperDependencies> {
  const problems: string[] = [];
  const mapping = readMappingConfig(env, problems);
  const es = readElasticsearchConfig(env, problems);
  if (!hasCluster(es)) problems.push("ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID is required");
  if (!es.deadLetterBucket)
    problems.push("DEAD_LETTER_BUCKET is required (refused documents must outlive /tmp)");
  if (problems.length > 0) throw new ConfigurationError(problems);

  const local = {
    ...mapping,
    geoIpCityDb: mapping.geoIpCityDb && (await localCopy(aws.s3, mapping.geoIpCityDb, tmpDir)),
    geoIpAsnDb: mapping.geoIpAsnDb && (await localCopy(aws.s3, mapping.geoIpAsnDb, tmpDir)),
  };
  const geoIp = await openGeoIp(local, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const mapper = createMapper(mapping, geoIp);

  const credentials = await resolveCredentials(es.auth, (arn) => readSecretString(aws.secrets, arn));
  const client = await createElasticsearchClient(es, credentials);
  return {
    mapper,
    sink: new ElasticsearchDocumentSink(client, {
      dataStream: mapper.dataStream,
      maxBatchBytes: es.maxBatchBytes,
      logger,
    }),
    deadLetters: new S3DeadLetterSink(aws.s3, es.deadLetterBucket as string, es.deadLetterPrefix),
    logger,
  };
}

const logger = fromPowertools(new PowertoolsLogger({ serviceName: "jumpcloud-elastic-mapper" }));
let cached: Promise<MapperDependencies> | undefined;

/** Lambda entry: dependencies are built once per cold start (and again after refused credentials). */
export const handler = makeMapperHandler(
  () => {
    cached ??= buildMapperDependencies(process.env, logger).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  },
  () => {
    cached = undefined;
  },
);
