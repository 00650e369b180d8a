import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Client } from "@elastic/elasticsearch";
import { S3ClaimChecks } from "../../lib/aws/claim-checks.ts";
import { METRICS_NAMESPACE, publishBatch, publishStartFailure, SERVICES } from "../../lib/aws/metrics.ts";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import type { ClaimRef } from "../../lib/collect/delivery.ts";
import { type AwsClients, awsClients } from "../../lib/compose/aws.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { createKibanaClient } from "../../lib/compose/kibana.ts";
import { createPipeline } from "../../lib/compose/pipeline.ts";
import type { Counts } from "../../lib/counts.ts";
import { ensureCluster, setupCluster } from "../../lib/elasticsearch/setup.ts";
import { ElasticsearchRequestError, InputError } from "../../lib/errors.ts";
import type { KibanaClient } from "../../lib/kibana/client.ts";
import { setupKibana } from "../../lib/kibana/setup.ts";
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

/** The custom resource's answer: never a failure, so a deploy never fails on the cluster or Kibana. */
export interface SetupResponse {
  PhysicalResourceId: string;
  Data: { Action: string; Reason: string; KibanaAction?: string; KibanaReason?: string };
}

/** True for a CloudFormation custom-resource event. */
export function isSetupRequest(request: unknown): request is SetupRequest {
  return typeof request === "object" && request !== null && "RequestType" in request;
}

// CloudFormation keeps at most 4 KB of a custom resource's answer: reasons are cut well below.
const clip = (text: string) => (text.length > 900 ? `${text.slice(0, 900)}…` : text);

async function clusterSetup(
  cluster: () => Promise<{ client: Client; mode: GeoIpMode }>,
  logger: Logger,
): Promise<{ Action: string; Reason: string }> {
  try {
    const { client, mode } = await cluster();
    const { template, pipeline } = await setupCluster(client, mode);
    return {
      Action: `${template.action}/${pipeline.action}`,
      Reason: `template ${template.template}, pipeline ${pipeline.pipeline}`,
    };
  } catch (error) {
    logger.warn("index template or pipeline not installed at deploy; the mapper installs them on first use", {
      error,
    });
    return { Action: "skipped", Reason: clip(error instanceof Error ? error.message : String(error)) };
  }
}

/** The dashboard and the detection rules, when the stack names a Kibana; a failure is a reason, not a failed deploy. */
async function kibanaSetup(
  request: SetupRequest,
  kibana: () => Promise<KibanaClient | undefined>,
  logger: Logger,
): Promise<{ KibanaAction?: string; KibanaReason?: string }> {
  try {
    const client = await kibana();
    if (client === undefined) return {};
    // A deploy runs again at each change of the pack: it enables new rules only, never one disabled since.
    const enable = request.ResourceProperties?.EnableRules === "true";
    const result = await setupKibana(client, enable ? { enableRules: "new" } : {});
    logger.info("Kibana", { version: result.kibana.version });
    const { installed, updated, unchanged, failed } = result.counts;
    const integration =
      result.integration?.action === "unavailable"
        ? `integration not installed: ${result.integration.reason}`
        : `integration ${result.integration?.action} ${result.integration?.version}`;
    const failures = [
      ...(result.rulesError !== undefined ? [`rules not installed: ${result.rulesError}`] : []),
      ...result.rules.filter((r) => r.action === "failed").map((r) => `${r.name}: ${r.error}`),
    ];
    logger.info("Kibana set up", { integration, counts: result.counts, failures });
    return {
      KibanaAction: `rules ${installed} installed, ${updated} updated, ${unchanged} unchanged, ${failed} failed`,
      KibanaReason: clip([integration, ...failures].join("; ")),
    };
  } catch (error) {
    logger.warn("dashboard and detection rules not installed at deploy: run `setup --kibana`", { error });
    return {
      KibanaAction: "skipped",
      KibanaReason: clip(error instanceof Error ? error.message : String(error)),
    };
  }
}

// The deploy waits for this answer: an answer past the function's timeout would fail the deploy.
// What Kibana was asked goes on there (a Fleet install finishes server-side); `setup --kibana` tells.
async function withinTime<T extends object>(work: Promise<T>, remainingMs: () => number) {
  const left = remainingMs() - 3_000;
  if (!Number.isFinite(left)) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ KibanaAction: string; KibanaReason: string }>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          KibanaAction: "unfinished",
          KibanaReason:
            "Kibana took longer than the setup function may run: run `setup --kibana` to finish and see the result",
        }),
      Math.max(0, left),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Installs the index template and the ingest pipeline at deploy, then (with a Kibana) the
 * dashboard and the detection rules. An unfilled secret or an unreachable service skips its part
 * with the reason recorded (the mapper installs the cluster's on first use); Delete leaves all.
 */
export async function handleSetup(
  request: SetupRequest,
  cluster: () => Promise<{ client: Client; mode: GeoIpMode }>,
  logger: Logger,
  kibana: () => Promise<KibanaClient | undefined> = async () => undefined,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<SetupResponse> {
  const PhysicalResourceId = "jumpcloud-elastic-index-template";
  if (request.RequestType === "Delete")
    return {
      PhysicalResourceId,
      Data: {
        Action: "left",
        Reason: "the template, pipeline, dashboard and rules stay with the data they serve",
      },
    };
  const Data = {
    ...(await clusterSetup(cluster, logger)),
    ...(await withinTime(kibanaSetup(request, kibana, logger), remainingMs)),
  };
  return { PhysicalResourceId, Data };
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

// At deploy, Kibana gets what is left of the function's minute: short attempts, few retries.
const KIBANA_AT_DEPLOY = {
  timeoutMs: 20_000,
  retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 3_000, maxElapsedMs: 30_000 },
};

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
      async () => {
        const { settings } = loadSettings(process.env, {});
        if (settings.kibanaUrl === undefined) return undefined;
        return createKibanaClient(settings, aws, { fresh: true, logger, http: KIBANA_AT_DEPLOY });
      },
      () => (context as { getRemainingTimeInMillis?: () => number }).getRemainingTimeInMillis?.() ?? 60_000,
    );
  }
  const counts = await inner(request, context as { getRemainingTimeInMillis(): number });
  publishBatch(metrics, counts);
  return counts;
};
