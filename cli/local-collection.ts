import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import pLimit from "p-limit";
import type { CheckpointStore } from "../lib/collect/checkpoint.ts";
import { type CollectOptions, Collector, type CollectSummary } from "../lib/collect/collector.ts";
import { type BatchDelivery, InProcessDelivery } from "../lib/collect/delivery.ts";
import type { TimeWindow } from "../lib/collect/windows.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { collectOptions, createCheckpointStore } from "../lib/compose/collect.ts";
import { createElasticsearchClient, hasCluster } from "../lib/compose/elasticsearch.ts";
import { createEventSource } from "../lib/compose/jumpcloud.ts";
import { createPipeline } from "../lib/compose/pipeline.ts";
import { ConfigurationError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { LoadedSettings } from "../lib/settings/load.ts";
import type { RunProgress } from "./progress.ts";
import { cliHttp } from "./proxy.ts";
import type { CliSeams } from "./settings.ts";

/** What one local collection run reads: an org's schedule, or a replay window. */
export interface LocalTarget {
  orgId?: string | undefined;
  services?: readonly string[] | undefined;
  replay?: TimeWindow | undefined;
  /** Adjusts this target's options (a backfill's start and concurrency). */
  tune?: Partial<CollectOptions>;
}

/** A lease owner that says where it runs: `cli:<host>:<pid>:<random>` (see `unlock`). */
export function cliOwner(): string {
  return `cli:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** The host and process of a CLI lease owner; undefined for a Lambda's (a request id). */
export function parseCliOwner(owner: string): { host: string; pid: number } | undefined {
  const match = /^cli:(.+):(\d+):[0-9a-f]+$/.exec(owner);
  return match ? { host: match[1] as string, pid: Number(match[2]) } : undefined;
}

// Each acknowledged page also feeds the progress display.
function withProgress(
  delivery: BatchDelivery,
  label: string,
  progress: RunProgress | undefined,
): BatchDelivery {
  if (!progress) return delivery;
  return {
    deliver: async (events, context, signal) => {
      const counts = await delivery.deliver(events, context, signal);
      if (context.window) progress.page({ label, counts, window: context.window });
      return counts;
    },
  };
}

/** The collector's parts for a local run, built once by the factories. */
export interface LocalCollection {
  /** Collects `target`. */
  run(target: LocalTarget): Promise<CollectSummary>;
  /** The data stream documents go to. */
  dataStream: string;
  /** Where documents go: the cluster's data stream, or the NDJSON file. */
  destination: string;
  toCluster: boolean;
  store: CheckpointStore;
}

/**
 * Builds the same collector, mapping and indexing the Lambdas run, in one process: documents
 * into the cluster when one is configured, else NDJSON files under `outDir`.
 */
export async function localCollection(
  loaded: LoadedSettings,
  seams: CliSeams,
  options: {
    outDir: string;
    logger: Logger;
    owner?: string;
    stop?: AbortSignal;
    progress?: RunProgress;
  },
): Promise<LocalCollection> {
  const { settings, sourceOf } = loaded;
  const aws = seams.aws ?? awsClients();
  const target: { client: Client; logger: Logger } | { outDir: string } = hasCluster(settings)
    ? { client: await createElasticsearchClient(settings, aws), logger: options.logger }
    : { outDir: options.outDir };
  const pipeline = await createPipeline(settings, { aws, sourceOf, target });
  const http = await cliHttp(settings);
  const source = await createEventSource(settings, { aws, logger: options.logger, http });
  const store = createCheckpointStore(settings, aws);
  const delivery = new InProcessDelivery(pipeline);
  const owner = options.owner ?? cliOwner();
  const dataStream = pipeline.mapper.dataStream;
  return {
    dataStream,
    destination: "outDir" in target ? join(target.outDir, `${dataStream}.ndjson`) : dataStream,
    toCluster: !("outDir" in target),
    store,
    run: (run) =>
      new Collector(
        {
          source,
          store,
          delivery: withProgress(delivery, run.orgId ?? "(key's org)", options.progress),
          logger: options.logger,
          owner,
          now: Date.now,
          remainingMs: () => Infinity,
          ...(options.stop && { stop: options.stop }),
        },
        { ...collectOptions(settings, run), ...run.tune },
      ).run(),
  };
}

/** An org whose collection failed: its checkpoint stays behind every unacknowledged event. */
export interface FailedOrg {
  orgId: string | undefined;
  status: "failed";
  error: string;
  /** Failed on the setup (region, credentials, a file to fix), not on this org: exit 2. */
  kind?: "configuration";
}

/** Every org collected, `concurrency` at a time; one failing org never stops the others. */
export async function collectOrgs(
  collection: LocalCollection,
  targets: readonly LocalTarget[],
  concurrency: number,
): Promise<(CollectSummary | FailedOrg)[]> {
  const limit = pLimit(concurrency);
  return Promise.all(
    targets.map((target) =>
      limit(() =>
        collection.run(target).catch(
          (error: unknown): FailedOrg => ({
            orgId: target.orgId,
            status: "failed",
            error: error instanceof Error ? error.message : String(error),
            ...(error instanceof ConfigurationError && { kind: "configuration" as const }),
          }),
        ),
      ),
    ),
  );
}
