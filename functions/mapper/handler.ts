import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Client } from "@elastic/elasticsearch";
import { S3ClaimChecks } from "../../lib/aws/claim-checks.ts";
import { METRICS_NAMESPACE, publishBatch, publishStartFailure, SERVICES } from "../../lib/aws/metrics.ts";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import type { ClaimRef } from "../../lib/collect/delivery.ts";
import { type AwsClients, awsClients } from "../../lib/compose/aws.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { createPipeline } from "../../lib/compose/pipeline.ts";
import type { Counts } from "../../lib/counts.ts";
import { ensureCluster, setupCluster } from "../../lib/elasticsearch/setup.ts";
import { ElasticsearchRequestError, InputError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { type BatchContext, type IndexEventsDeps, indexEvents } from "../../lib/pipeline/index-events.ts";
import { type GeoIpMode, geoIpMode } from "../../lib/settings/geoip-mode.ts";
import { type Environment, loadSettings } from "../../lib/settings/load.ts";

/**
 * What the collector sends: a page (or part of one) of raw events, or, for a batch over Lambda's
 * payload limit, where in S3 it waits (a claim check).
 */
export type MapperRequest = ({ events: unknown[] } | { eventsRef: ClaimRef }) & { context?: BatchContext };

/** The mapper's answer: the counts of the batch, which add up to `received`. */
export type MapperResponse = Counts;

/** What CloudFormation sends the mapper through the stack's setup custom resource. */
export interface SetupRequest {
  RequestType: "Create" | "Update" | "Delete";
  ResourceProperties?: Record<string, unknown>;
}

/** The custom resource's answer: never a failure, so a deploy never fails on the cluster. */
export interface SetupResponse {
  PhysicalResourceId: string;
  Data: { Action: string; Reason: string };
}

/** True for a CloudFormation custom-resource event. */
export function isSetupRequest(request: unknown): request is SetupRequest {
  return typeof request === "object" && request !== null && "RequestType" in request;
}

/**
 * Installs the index template and the ingest pipeline at deploy. An unfilled secret or an
 * unreachable cluster skips them with the reason recorded (the mapper installs them on first
 * use); Delete leaves them.
 */
export async function handleSetup(
  request: SetupRequest,
  cluster: () => Promise<{ client: Client; mode: GeoIpMode }>,
  logger: Logger,
): Promise<SetupResponse> {
  const answer = (Action: string, Reason: string) => ({
    PhysicalResourceId: "jumpcloud-elastic-index-template",
    Data: { Action, Reason },
  });
  if (request.RequestType === "Delete")
    return answer("left", "the template and the pipeline stay with the data they map");
  try {
    const { client, mode } = await cluster();
    const { template, pipeline } = await setupCluster(client, mode);
    return answer(
      `${template.action}/${pipeline.action}`,
      `template ${template.template}, pipeline ${pipeline.pipeline}`,
    );
  } catch (error) {
    logger.warn("index template or pipeline not installed at deploy; the mapper installs them on first use", {
      error,
    });
    return answer("skipped", error instanceof Error ? error.message : String(error));
  }
}

/** What the handler needs. */
export interface MapperDependencies extends IndexEventsDeps {
  logger: Logger;
  /** Reads (then deletes) batches the collector left in S3. */
  claimChecks?: Pick<S3ClaimChecks, "get" | "delete">;
}

// Answering a second before Lambda's own timeout leaves time to report the failure.
const ANSWER_MARGIN_MS = 1_000;

/** The earlier of the collector's deadline and this invocation's own end. */
export function withDeadline(
  context: BatchContext,
  remainingMs: number | undefined,
  now = Date.now(),
): BatchContext {
  const own = remainingMs === undefined ? Number.POSITIVE_INFINITY : now + remainingMs - ANSWER_MARGIN_MS;
  const asked = context.deadline === undefined ? Number.NaN : Date.parse(context.deadline);
  const deadline = Math.min(own, Number.isNaN(asked) ? Number.POSITIVE_INFINITY : asked);
  return Number.isFinite(deadline) ? { ...context, deadline: new Date(deadline).toISOString() } : context;
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
  return async (
    request: MapperRequest,
    lambda?: { getRemainingTimeInMillis(): number },
  ): Promise<MapperResponse> => {
    const deps = await dependencies();
    let events: unknown[] = [];
    try {
      events = await requestEvents(request, deps);
      const context = withDeadline(request.context ?? {}, lambda?.getRemainingTimeInMillis());
      const counts = await indexEvents(events, deps, context);
      if ("eventsRef" in request) await forget(request.eventsRef, deps);
      deps.logger.info("batch stored", {
        ...counts,
        orgId: request.context?.orgId,
        window: request.context?.window,
      });
      return counts;
    } catch (error) {
      if (error instanceof ElasticsearchRequestError && (error.status === 401 || error.status === 403))
        onAuthFailure();
      deps.logger.error("batch not stored", { error, received: events.length });
      throw error;
    }
  };
}

const EXPECTED =
  'the mapper expects {"events": [...], "context": {...}} or {"eventsRef": {"bucket", "key"}, ...}';

// The batch itself, or the one the collector left in S3 (read here, deleted once stored).
async function requestEvents(
  request: MapperRequest | undefined,
  deps: MapperDependencies,
): Promise<unknown[]> {
  if (request && "events" in request && Array.isArray(request.events)) return request.events;
  const ref = request && "eventsRef" in request ? request.eventsRef : undefined;
  if (typeof ref?.bucket !== "string" || typeof ref.key !== "string") throw new InputError(EXPECTED);
  if (!deps.claimChecks) throw new InputError("this mapper has no S3 access for a claim check");
  const text = await deps.claimChecks.get(ref).catch((error: unknown) => {
    const name = (error as { name?: string }).name;
    // Deleted once stored: a retry of an invocation that succeeded finds it gone (the page is read
    // again). Without s3:ListBucket (the stack grants none) S3 answers a missing key 403, not 404.
    if (name === "NoSuchKey")
      throw new InputError(
        `s3://${ref.bucket}/${ref.key} is gone: already stored by an earlier invocation, or expired`,
      );
    if (name === "AccessDenied")
      throw new InputError(
        `s3://${ref.bucket}/${ref.key} cannot be read: gone (already stored by an earlier invocation, or expired), or the mapper's role may not read it (s3:GetObject on ${ref.bucket}/collector/claims/*)`,
        { cause: error },
      );
    throw error;
  });
  const events: unknown = JSON.parse(text);
  if (!Array.isArray(events))
    throw new InputError(`s3://${ref.bucket}/${ref.key} does not hold a JSON array`);
  return events;
}

// A claim check left behind costs only storage (the lifecycle rule removes it): never a failure.
async function forget(ref: ClaimRef, deps: MapperDependencies): Promise<void> {
  await deps.claimChecks?.delete(ref).catch((error: unknown) => {
    deps.logger.warn("a stored batch was not deleted; the bucket's lifecycle rule will", {
      error,
      key: ref.key,
    });
  });
}

/**
 * Real dependencies from the environment, through the factories: Elasticsearch credentials from
 * Secrets Manager (read afresh with `fresh`, after a refusal), GeoIP databases from a path or
 * `s3://` (copied to `tmpDir` once), dead letters in S3.
 */
export async function buildMapperDependencies(
  env: Environment,
  logger: Logger,
  aws: AwsClients = awsClients(),
  options: { tmpDir?: string; fresh?: boolean } = {},
): Promise<MapperDependencies> {
  const { settings, warnings, sourceOf } = loadSettings(env, { require: ["cluster", "deadLetterBucket"] });
  for (const warning of warnings) logger.warn(warning);
  const client = await createElasticsearchClient(settings, aws, { fresh: options.fresh === true });
  await ensureCluster(client, geoIpMode(settings, true, sourceOf), logger);
  const pipeline = await createPipeline(settings, {
    aws,
    sourceOf,
    target: { client, logger },
    ...(options.tmpDir !== undefined && { tmpDir: options.tmpDir }),
  });
  return { ...pipeline, logger, claimChecks: new S3ClaimChecks(aws.s3(), settings.deadLetterBucket ?? "") };
}

/** How long built dependencies serve before the next invocation builds them again. */
export const DEPENDENCIES_MAX_AGE_MS = 15 * 60_000;

/**
 * Dependencies built once per cold start; again with fresh secrets after a failed build (a secret
 * not filled yet, filled since) or after Elasticsearch refused the credentials (rotation); and
 * again once older than `maxAgeMs` (a changed GeoIP object in S3 is then downloaded).
 */
export function cachedDependencies(
  build: (fresh: boolean) => Promise<MapperDependencies>,
  options: { maxAgeMs?: number; now?: () => number } = {},
) {
  const maxAgeMs = options.maxAgeMs ?? DEPENDENCIES_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  let cached: { deps: Promise<MapperDependencies>; at: number } | undefined;
  let fresh = false;
  return {
    get(): Promise<MapperDependencies> {
      if (cached === undefined || now() - cached.at > maxAgeMs) {
        const deps = build(fresh).catch((error: unknown) => {
          // The secret cache (5 minutes) would otherwise keep serving the value that failed.
          cached = undefined;
          fresh = true;
          throw error;
        });
        cached = { deps, at: now() };
      }
      fresh = false;
      return cached.deps;
    },
    invalidate(): void {
      cached = undefined;
      fresh = true;
    },
  };
}

const SERVICE = SERVICES.mapper;
const powertools = new PowertoolsLogger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const logger = fromPowertools(powertools);
const aws = awsClients();
const dependencies = cachedDependencies((fresh) =>
  buildMapperDependencies(process.env, logger, aws, { fresh }).catch((error: unknown) => {
    logger.error("cannot start the mapper", { error });
    publishStartFailure(metrics, error);
    throw error;
  }),
);
const inner = makeMapperHandler(dependencies.get, dependencies.invalidate);

/**
 * Lambda entry: every log line carries the Lambda context; each batch's counts go out as EMF
 * metrics; the stack's setup custom resource comes here too.
 */
export const handler = async (
  request: MapperRequest | SetupRequest,
  context: Parameters<PowertoolsLogger["addContext"]>[0],
): Promise<MapperResponse | SetupResponse> => {
  powertools.addContext(context);
  if (isSetupRequest(request)) {
    return handleSetup(
      request,
      async () => {
        const { settings, sourceOf } = loadSettings(process.env, { require: ["cluster"] });
        // A deploy is rare and may follow a put-secret-value: never the cached value.
        const client = await createElasticsearchClient(settings, aws, { fresh: true });
        return { client, mode: geoIpMode(settings, true, sourceOf) };
      },
      logger,
    );
  }
  const counts = await inner(request, context as { getRemainingTimeInMillis(): number });
  publishBatch(metrics, counts);
  return counts;
};
