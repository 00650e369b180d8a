import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import { localCopy } from "../../lib/aws/s3-files.ts";
import { type Environment, readMappingConfig } from "../../lib/config.ts";
import { createMapper, openGeoIp } from "../../lib/ecs/from-config.ts";
import {
  createElasticsearchClient,
  type ElasticsearchCredentials,
  parseElasticsearchSecret,
} from "../../lib/elasticsearch/client.ts";
import { readElasticsearchConfig } from "../../lib/elasticsearch/config.ts";
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
 * advance) only when it cannot vouch for every event.
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
      // Refused credentials: read the secret again on the next invocation (rotation).
      if (error instanceof ElasticsearchRequestError && (error.status === 401 || error.status === 403))
        onAuthFailure();
      deps.logger.error("batch not stored", { error: String(error), received: request.events.length });
      throw error;
    }
  };
}

async function readSecret(client: SecretsManagerClient, arn: string): Promise<string> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (secret.SecretString === undefined)
    throw new ConfigurationError([`the secret ${arn} has no string value`]);
  return secret.SecretString;
}

/** Real dependencies from the environment: Secrets Manager, S3, Elasticsearch, GeoIP from a path or S3. */
export async function buildMapperDependencies(env: Environment, logger: Logger): Promise<MapperDependencies> {
  const problems: string[] = [];
  const mapping = readMappingConfig(env, problems);
  const es = readElasticsearchConfig(env, problems);
  if (!es.node && !es.cloudId) problems.push("ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID is required");
  if (!es.deadLetterBucket)
    problems.push("DEAD_LETTER_BUCKET is required (refused documents must outlive /tmp)");
  if (problems.length > 0) throw new ConfigurationError(problems);

  const s3 = new S3Client({});
  const geo = {
    ...mapping,
    geoIpCityDb: mapping.geoIpCityDb && (await localCopy(s3, mapping.geoIpCityDb, "/tmp/geoip")),
    geoIpAsnDb: mapping.geoIpAsnDb && (await localCopy(s3, mapping.geoIpAsnDb, "/tmp/geoip")),
  };
  const geoIp = await openGeoIp(geo, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const mapper = createMapper(mapping, geoIp);

  let credentials: ElasticsearchCredentials;
  if (es.auth.kind === "secret") {
    credentials = parseElasticsearchSecret(await readSecret(new SecretsManagerClient({}), es.auth.secretArn));
  } else if (es.auth.kind === "apiKey") credentials = { apiKey: es.auth.apiKey };
  else if (es.auth.kind === "basic") credentials = { username: es.auth.username, password: es.auth.password };
  const client = await createElasticsearchClient(es, credentials);
  return {
    mapper,
    sink: new ElasticsearchDocumentSink(client, {
      dataStream: mapper.dataStream,
      maxBatchBytes: es.maxBatchBytes,
      logger,
    }),
    deadLetters: new S3DeadLetterSink(s3, es.deadLetterBucket as string, es.deadLetterPrefix),
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
