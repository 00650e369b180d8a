import { randomUUID } from "node:crypto";
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { METRICS_NAMESPACE, publishRun, publishStartFailure, SERVICES } from "../../lib/aws/metrics.ts";
import { fromPowertools } from "../../lib/aws/powertools-logger.ts";
import type { CheckpointStore } from "../../lib/collect/checkpoint.ts";
import { Collector, type CollectSummary } from "../../lib/collect/collector.ts";
import type { BatchDelivery } from "../../lib/collect/delivery.ts";
import { type AwsClients, awsClients } from "../../lib/compose/aws.ts";
import {
  collectOptions,
  createCheckpointStore,
  createLambdaDelivery,
  orgsToCollect,
} from "../../lib/compose/collect.ts";
import { createEventSource } from "../../lib/compose/jumpcloud.ts";
import { parseIso8601 } from "../../lib/ecs/timestamp.ts";
import { CollectionError, InputError, MapperInvocationError } from "../../lib/errors.ts";
import type { EventSource } from "../../lib/jumpcloud/client.ts";
import { KNOWN_SERVICES, serviceListProblem, unknownServices } from "../../lib/jumpcloud/regions.ts";
import type { Logger } from "../../lib/logger.ts";
import { type Environment, loadSettings } from "../../lib/settings/load.ts";
import type { Settings } from "../../lib/settings/schema.ts";

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
  settings: Settings;
  source: EventSource;
  store: CheckpointStore;
  delivery: BatchDelivery;
  logger: Logger;
  /** Starts an asynchronous invocation of this function for one org (fan-out). */
  invokeSelf(payload: CollectorRequest): Promise<void>;
  now(): number;
}

// Replays may name services this project does not know yet: the API's answer decides.
function checkReplayServices(services: unknown): void {
  const list = Array.isArray(services) && services.every((s) => typeof s === "string") ? services : undefined;
  const problem = list ? serviceListProblem(list) : "must be a list of service names";
  if (problem) throw new InputError(`replay.services ${problem}`);
  const unknown = unknownServices(list as string[]);
  // Refused before a checkpoint is made for it: JumpCloud would answer 400 after.
  if (unknown.length > 0)
    throw new InputError(
      `replay.services: ${unknown.join(", ")} is not a Directory Insights service (one of ${KNOWN_SERVICES.join(", ")})`,
    );
}

function parseTime(name: string, value: unknown): number {
  const millis = typeof value === "string" ? parseIso8601(value) : undefined;
  if (millis === undefined)
    throw new InputError(`replay.${name} must be an ISO 8601 time, not ${JSON.stringify(value)}`);
  return millis;
}

/** What one run collects: an org, its services, and for a replay the window. */
interface Target {
  orgId: string | undefined;
  services: string[] | undefined;
  window: { start: number; end: number } | undefined;
}

/**
 * What one invocation collects: the payload's org (or the only one); for a replay naming no org
 * while several are listed, each listed org in turn, so one payload serves every deployment.
 */
function resolveTargets(payload: CollectorRequest, orgs: (string | undefined)[]): Target[] {
  const replay = payload.replay;
  if (replay?.services !== undefined) checkReplayServices(replay.services);
  const named = replay ? replay.orgId : payload.orgId;
  if (named !== undefined && !orgs.includes(named)) {
    throw new InputError(`org ${named} is not in JUMPCLOUD_ORG_IDS`);
  }
  const window = replay
    ? { start: parseTime("start", replay.start), end: parseTime("end", replay.end) }
    : undefined;
  if (window && window.start >= window.end) throw new InputError("replay.start must be before replay.end");
  const future = window && (["start", "end"] as const).find((edge) => window[edge] > Date.now());
  if (future)
    throw new InputError(
      `replay.${future} (${new Date(window?.[future] ?? 0).toISOString()}) is in the future: a replay reads a past window; the schedule collects what is still arriving`,
    );
  const targetOrgs = named !== undefined ? [named] : replay ? orgs : [orgs[0]];
  return targetOrgs.map((orgId) => ({ orgId, services: replay?.services, window }));
}

/**
 * The collector Lambda. With several orgs the schedule fans out, one asynchronous invocation per
 * org, so one slow or failing org never delays another; a single org or an `orgId` payload
 * collects inline until caught up or out of time; a replay collects its org, or each listed org in
 * turn (one org failing does not stop the others; the invocation then fails naming them).
 */
export function makeCollectorHandler(dependencies: () => Promise<CollectorDependencies>) {
  return async (
    request: CollectorRequest | undefined,
    context: CollectorContext,
  ): Promise<CollectorResponse> => {
    const deps = await dependencies();
    const payload = request ?? {};
    const listed = [...deps.settings.jumpcloudOrgIds];
    if (!payload.replay && payload.orgId === undefined && listed.length > 1) {
      const orgs = listed;
      // Every org is invoked even if one invoke fails; the failures are reported together.
      const results = await Promise.allSettled(orgs.map((orgId) => deps.invokeSelf({ orgId })));
      const failed = orgs.filter((_, i) => results[i]?.status === "rejected");
      if (failed.length > 0)
        throw new MapperInvocationError(`could not start the collection of org(s) ${failed.join(", ")}`);
      deps.logger.info("fanned out", { orgs });
      return { mode: "fanned-out", orgs };
    }
    const targets = resolveTargets(payload, orgsToCollect(deps.settings));
    const summaries: CollectSummary[] = [];
    const failures: { orgId: string | undefined; error: unknown }[] = [];
    for (const target of targets) {
      try {
        summaries.push(await collectTarget(deps, target, context));
      } catch (error) {
        if (targets.length === 1) throw error;
        failures.push({ orgId: target.orgId, error });
      }
    }
    const [first] = failures;
    if (first) {
      const orgs = failures.map((f) => f.orgId).join(", ");
      const reason = first.error instanceof Error ? first.error.message : String(first.error);
      throw new CollectionError(
        `the replay failed for org(s) ${orgs} (${summaries.length} other org(s) ran; invoke again to resume): ${reason}`,
        { cause: first.error },
      );
    }
    return { mode: "collected", summaries };
  };
}

/** One run of the collector on one target, logged; a failure is logged with its checkpoint key. */
async function collectTarget(
  deps: CollectorDependencies,
  { orgId, services, window }: Target,
  context: CollectorContext,
): Promise<CollectSummary> {
  const options = collectOptions(deps.settings, { orgId, services, replay: window });
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
    options,
  )
    .run()
    .catch((error: unknown) => {
      deps.logger.error("collection failed; the checkpoint stays behind every unacknowledged event", {
        error,
        key: options.key,
      });
      throw error;
    });
  deps.logger.info("collection run", { ...summary });
  return summary;
}

/** Real dependencies from the environment, through the factories: DynamoDB, Secrets Manager, the mapper Lambda. */
export async function buildCollectorDependencies(
  env: Environment,
  logger: Logger,
  aws: AwsClients = awsClients(),
  onApiRetry?: () => void,
): Promise<CollectorDependencies> {
  const { settings, warnings } = loadSettings(env, {
    require: ["jumpcloudCredentials", "checkpointTable", "mapperFunctionName", "lambdaFunctionName"],
  });
  for (const warning of warnings) logger.warn(warning);
  const self = settings.lambdaFunctionName as string;
  return {
    settings,
    source: await createEventSource(settings, {
      aws,
      logger,
      ...(onApiRetry && { http: { onRetry: onApiRetry } }),
    }),
    store: createCheckpointStore(settings, aws),
    delivery: createLambdaDelivery(settings, aws),
    logger,
    invokeSelf: async (payload) => {
      await aws.lambda().send(
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

const SERVICE = SERVICES.collector;
const powertools = new PowertoolsLogger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const logger = fromPowertools(powertools);
let cached: Promise<CollectorDependencies> | undefined;
// Retries of this invocation's API calls (one invocation at a time per Lambda instance).
let apiRetries = 0;
const inner = makeCollectorHandler(() => {
  cached ??= buildCollectorDependencies(process.env, logger, awsClients(), () => {
    apiRetries++;
  }).catch((error: unknown) => {
    cached = undefined;
    logger.error("cannot start the collector", { error });
    publishStartFailure(metrics, error);
    throw error;
  });
  return cached;
});

/**
 * Lambda entry: dependencies built once per cold start; every log line carries the Lambda
 * context; each run's counts and lag go out as EMF metrics (the stack's alarms read them).
 */
export const handler = async (request: CollectorRequest | undefined, context: CollectorContext) => {
  powertools.addContext(context as Parameters<PowertoolsLogger["addContext"]>[0]);
  apiRetries = 0;
  const response = await inner(request, context);
  if (response.mode === "collected") {
    for (const summary of response.summaries) publishRun(metrics, summary, apiRetries);
  }
  return response;
};
