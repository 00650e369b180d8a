import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import pLimit from "p-limit";
import { Collector, type CollectSummary } from "../lib/collect/collector.ts";
import { InProcessDelivery } from "../lib/collect/delivery.ts";
import type { TimeWindow } from "../lib/collect/windows.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { collectOptions, createCheckpointStore } from "../lib/compose/collect.ts";
import { createElasticsearchClient, hasCluster } from "../lib/compose/elasticsearch.ts";
import { createEventSource } from "../lib/compose/jumpcloud.ts";
import { createPipeline } from "../lib/compose/pipeline.ts";
import type { Logger } from "../lib/logger.ts";
import type { LoadedSettings } from "../lib/settings/load.ts";
import type { CliSeams } from "./settings.ts";

/** The collector's parts for a local run, built once by the factories. */
export interface LocalCollection {
  run(target: { orgId?: string | undefined; replay?: TimeWindow }): Promise<CollectSummary>;
  /** The data stream documents go to. */
  dataStream: string;
  /** Where documents go: the cluster's data stream, or the NDJSON file. */
  destination: string;
  toCluster: boolean;
}

/**
 * Builds the same collector, mapping and indexing the Lambdas run, in one process: documents
 * into the cluster when one is configured, else NDJSON files under `outDir`.
 */
export async function localCollection(
  loaded: LoadedSettings,
  seams: CliSeams,
  options: { outDir: string; logger: Logger; owner?: string },
): Promise<LocalCollection> {
  const { settings, sourceOf } = loaded;
  const aws = seams.aws ?? awsClients();
  const target: { client: Client; logger: Logger } | { outDir: string } = hasCluster(settings)
    ? { client: await createElasticsearchClient(settings, aws), logger: options.logger }
    : { outDir: options.outDir };
  const pipeline = await createPipeline(settings, { aws, sourceOf, target });
  const source = await createEventSource(settings, { aws, logger: options.logger });
  const store = createCheckpointStore(settings, aws);
  const delivery = new InProcessDelivery(pipeline);
  const owner = options.owner ?? `cli-${process.pid}-${randomUUID().slice(0, 8)}`;
  const dataStream = pipeline.mapper.dataStream;
  return {
    dataStream,
    destination: "outDir" in target ? join(target.outDir, `${dataStream}.ndjson`) : dataStream,
    toCluster: !("outDir" in target),
    run: (run) =>
      new Collector(
        {
          source,
          store,
          delivery,
          logger: options.logger,
          owner,
          now: Date.now,
          remainingMs: () => Infinity,
        },
        collectOptions(settings, run),
      ).run(),
  };
}

/** Every org collected, `concurrency` at a time; one failing org never stops the others. */
export async function collectOrgs(
  collection: LocalCollection,
  orgs: readonly (string | undefined)[],
  concurrency: number,
): Promise<(CollectSummary | Error)[]> {
  const limit = pLimit(concurrency);
  return Promise.all(
    orgs.map((orgId) =>
      limit(() =>
        collection
          .run({ orgId })
          .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
      ),
    ),
  );
}
