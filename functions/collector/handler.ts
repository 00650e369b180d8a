import { randomUUID } from "node:crypto";
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import { readSecretString } from "../../lib/aws/secrets.ts";
import type { CheckpointStore } from "../../lib/collect/checkpoint.ts";
import { Collector, type CollectSummary } from "../../lib/collect/collector.ts";
import {
  type CollectorConfig,
  collectOptions,
  orgsToCollect,
  readCollectorConfig,
} from "../../lib/collect/config.ts";
import { type BatchDelivery, LambdaDelivery } from "../../lib/collect/delivery.ts";
import { DynamoDbCheckpointStore } from "../../lib/collect/dynamodb-checkpoint-store.ts";
import type { Environment } from "../../lib/config.ts";
import { parseIso8601 } from "../../lib/ecs/timestamp.ts";
import { ConfigurationError, InputError, MapperInvocationError } from "../../lib/errors.ts";
import type { ClientCredentials } from "../../lib/jumpcloud/auth.ts";
import type { EventSource } from "../../lib/jumpcloud/client.ts";
import { type JumpcloudConfig, readJumpcloudConfig } from "../../lib/jumpcloud/config.ts";
import { type CredentialSource, createClient } from "../../lib/jumpcloud/from-config.ts";
import { checkServices } from "../../lib/jumpcloud/regions.ts";
import type { Logger } from "../../lib/logger.ts";

/** `{"replay": {...}}` re-reads a window; `{"orgId": ...}` collects one org; anything else is the schedule. */
export interface CollectorRequest {
  replay?: { start: string; end: string; services?: string[]; orgId?: string };
  orgId?: string;
}

/** What an invocation answers: one summary per org collected here, or the orgs fanned out. */
export type CollectorResponse =
  | { mode: "collected"; summaries: CollectSummary[] }
  | { mode: "fanned-out"; orgs: string[] };

/** The part of Lambda's context the collector uses. */
export interface CollectorContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** What the handler needs. */
export interface CollectorDependencies {
  config: CollectorConfig;
  jumpcloud: JumpcloudConfig;
  orgs: (string | undefined)[];
  source: EventSource;
  store: CheckpointStore;
  delivery: BatchDelivery;
  logger: Logger;
  /** Starts an asynchronous invocation of this function for one org (fan-out). */
  invokeSelf(payload: CollectorRequest): Promise<void>;
  now(): number;
}

function parseTime(name: string, value: unknown): number {
  const millis = typeof value === "string" ? parseIso8601(value) : undefined;
  if (millis === undefined)
    throw new InputError(`replay.${name} must be an ISO 8601 time, not ${JSON.stringify(value)}`);
  return millis;
}

/**
 * The collector Lambda. With several orgs the schedule fans out, one asynchronous invocation per
 * org, so one slow or failing org never delays another; a single org, an `orgId` payload or a
 * replay collects inline until caught up or out of time.
 */
export function makeCollectorHandler(dependencies: () => Promise<CollectorDependencies>) {
  return async (
    request: CollectorRequest | undefined,
    context: CollectorContext,
  ): Promise<CollectorResponse> => {
    const deps = await dependencies();
    const payload = request ?? {};
    if (!payload.replay && payload.orgId === undefined && deps.orgs.length > 1) {
      const orgs = deps.orgs as string[];
      // Every org is invoked even if one invoke fails; the failures are reported together.
      const results = await Promise.allSettled(orgs.map((orgId) => deps.invokeSelf({ orgId })));
      const failed = orgs.filter((_, i) => results[i]?.status === "rejected");
      if (failed.length > 0)
        throw new MapperInvocationError(`could not start the collection of org(s) ${failed.join(", ")}`);
      deps.logger.info("fanned out", { orgs });
      return { mode: "fanned-out", orgs };
    }
    const replay = payload.replay;
    if (replay && replay.orgId === undefined && deps.orgs.length > 1) {
      throw new InputError("replay.orgId is required when JUMPCLOUD_ORG_IDS lists several orgs");
    }
    if (replay?.services !== undefined) {
      try {
        checkServices(Array.isArray(replay.services) ? replay.services : []);
      } catch (error) {
        throw new InputError(
          `replay.services must be a list of services: ${(error as ConfigurationError).problems.join("; ")}`,
        );
      }
    }
    const orgId = replay?.orgId ?? payload.orgId ?? deps.orgs[0];
    if (orgId !== undefined && !deps.orgs.includes(orgId)) {
      throw new InputError(`org ${orgId} is not in JUMPCLOUD_ORG_IDS`);
    }
    const services = replay?.services ?? deps.jumpcloud.services;
    const window = replay
      ? { start: parseTime("start", replay.start), end: parseTime("end", replay.end) }
      : undefined;
    if (window && window.start >= window.end) throw new InputError("replay.start must be before replay.end");
    const summary = await new Collector(
      {
        source: deps.source,
        store: deps.store,
        delivery: deps.delivery,
        logger: deps.logger,
        // Lambda retries an asynchronous event with the same request id: each run is its own owner.
        owner: `${context.awsRequestId}:${randomUUID().slice(0, 8)}`,
        now: deps.now,
        remainingMs: () => context.getRemainingTimeInMillis(),
      },
      collectOptions(deps.config, { orgId, services, replay: window }),
    ).run();
    deps.logger.info("collection run", { ...summary });
    return { mode: "collected", summaries: [summary] };
  };
}

/** The JumpCloud secret: a bare API key, or JSON with `api_key`, or `client_id` + `client_secret`. */
export function parseJumpcloudSecret(text: string): { apiKey: string } | ClientCredentials {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return { apiKey: trimmed };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    // The parser's message would quote the secret.
    throw new ConfigurationError(["the JumpCloud secret is neither a bare API key nor valid JSON"]);
  }
  const apiKey = parsed.api_key ?? parsed.apiKey;
  if (typeof apiKey === "string") return { apiKey };
  const clientId = parsed.client_id ?? parsed.clientId;
  const clientSecret = parsed.client_secret ?? parsed.clientSecret;
  if (typeof clientId === "string" && typeof clientSecret === "string") return { clientId, clientSecret };
  throw new ConfigurationError(['the JumpCloud secret needs "api_key", or "client_id" and "client_secret"']);
}

/** A secret read at most every `ttlMs`, and read afresh when asked (after a 401). */
export function cachedSecret(read: () => Promise<string>, now: () => number, ttlMs = 300_000) {
  let cached: { value: string; at: number } | undefined;
  return async (fresh = false): Promise<string> => {
    if (fresh || !cached || now() - cached.at > ttlMs) cached = { value: await read(), at: now() };
    return cached.value;
  };
}

/** Real dependencies from the environment: DynamoDB, Secrets Manager, the mapper Lambda. */
export async function buildCollectorDependencies(
  env: Environment,
  logger: Logger,
): Promise<CollectorDependencies> {
  const problems: string[] = [];
  const jumpcloud = readJumpcloudConfig(env, problems);
  const config = readCollectorConfig(env, problems);
  if (!config.checkpointTable) problems.push("CHECKPOINT_TABLE is required");
  if (!config.mapperFunctionName) problems.push("MAPPER_FUNCTION_NAME is required");
  if (!config.jumpcloudSecretArn && jumpcloud.credentials.kind === "none")
    problems.push("JUMPCLOUD_SECRET_ARN is required");
  if (!env.AWS_LAMBDA_FUNCTION_NAME)
    problems.push("AWS_LAMBDA_FUNCTION_NAME is not set (is this running in Lambda?)");
  if (problems.length > 0) throw new ConfigurationError(problems);

  const secrets = new SecretsManagerClient({});
  const arn = config.jumpcloudSecretArn;
  let source: CredentialSource | undefined;
  if (arn) {
    const secret = cachedSecret(() => readSecretString(secrets, arn), Date.now);
    const first = parseJumpcloudSecret(await secret());
    // Each read after the first is a refresh (a 401): it bypasses the cache, for rotation.
    let reads = 0;
    const read = async () => parseJumpcloudSecret(await secret(reads++ > 0));
    source =
      "apiKey" in first
        ? { kind: "apiKey", read: async () => ((await read()) as { apiKey: string }).apiKey }
        : { kind: "oauth", read: async () => (await read()) as ClientCredentials };
  }
  const lambda = new LambdaClient({});
  const self = env.AWS_LAMBDA_FUNCTION_NAME as string;
  return {
    config,
    jumpcloud,
    orgs: orgsToCollect(env),
    source: createClient(jumpcloud, { logger, ...(source && { source }) }),
    store: new DynamoDbCheckpointStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({}), {
        marshallOptions: { removeUndefinedValues: true },
      }),
      config.checkpointTable as string,
    ),
    delivery: new LambdaDelivery(lambda, config.mapperFunctionName as string),
    logger,
    invokeSelf: async (payload) => {
      await lambda.send(
        new InvokeCommand({
          FunctionName: self,
          InvocationType: "Event",
          Payload: Buffer.from(JSON.stringify(payload)),
        }),
      );
    },
    now: Date.now,
  };
}

const logger = fromPowertools(new PowertoolsLogger({ serviceName: "jumpcloud-elastic-collector" }));
let cached: Promise<CollectorDependencies> | undefined;

/** Lambda entry: dependencies built once per cold start. */
export const handler = (request: CollectorRequest | undefined, context: CollectorContext) =>
  makeCollectorHandler(() => {
    cached ??= buildCollectorDependencies(process.env, logger).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  })(request, context);
