import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Command } from "commander";
import { readSecretString } from "../lib/aws/secrets.ts";
import { Collector, type CollectSummary } from "../lib/collect/collector.ts";
import { collectOptions, orgsToCollect, readCollectorConfig } from "../lib/collect/config.ts";
import { InProcessDelivery } from "../lib/collect/delivery.ts";
import { FileCheckpointStore } from "../lib/collect/file-checkpoint-store.ts";
import { type Environment, readMappingConfig } from "../lib/config.ts";
import { createMapper, openGeoIp } from "../lib/ecs/from-config.ts";
import { createElasticsearchClient, resolveCredentials } from "../lib/elasticsearch/client.ts";
import { hasCluster, readElasticsearchConfig } from "../lib/elasticsearch/config.ts";
import { FileDeadLetterSink } from "../lib/elasticsearch/dead-letters.ts";
import { FileDocumentSink } from "../lib/elasticsearch/file-sink.ts";
import { type DocumentSink, ElasticsearchDocumentSink } from "../lib/elasticsearch/sink.ts";
import { ConfigurationError, JumpcloudElasticError } from "../lib/errors.ts";
import { readJumpcloudConfig } from "../lib/jumpcloud/config.ts";
import { createClient } from "../lib/jumpcloud/from-config.ts";
import { jsonLogger } from "../lib/logger.ts";
import type { Output } from "./io.ts";
import { SIMULATED_KEY, startSimulatedTenant } from "./simulated.ts";

interface RunFlags {
  once?: boolean;
  simulate?: boolean;
  out: string;
}

/** `run --once`: the collector, locally: every org caught up, then a summary. */
export function runCommand(env: Environment, out: Output): Command {
  return new Command("run")
    .description(
      "collect until caught up (checkpoint in CHECKPOINT_FILE), into Elasticsearch or NDJSON files",
    )
    .option(
      "--once",
      "collect until caught up, then exit (the only mode: schedule it with cron, or deploy the Lambda)",
    )
    .option("--simulate", "collect from the embedded JumpCloud simulator instead of the real API")
    .option("--out <dir>", "where documents go when no cluster is configured", ".jumpcloud-elastic/out")
    .action(async (flags: RunFlags) => {
      if (!flags.once)
        throw new ConfigurationError(["run needs --once (schedule it, or deploy the collector Lambda)"]);
      const simulated = flags.simulate ? await startSimulatedTenant() : undefined;
      try {
        const effective: Environment = {
          ...env,
          ...(simulated && {
            JUMPCLOUD_API_URL: simulated.apiUrl,
            JUMPCLOUD_API_KEY: SIMULATED_KEY,
            JUMPCLOUD_ORG_IDS: "",
          }),
        };
        const summaries = await collectAll(effective, flags.out, out);
        const total = summaries.reduce(
          (sum, s) => ({
            fetched: sum.fetched + s.fetched,
            indexed: sum.indexed + s.indexed,
            duplicates: sum.duplicates + s.duplicates,
            deadLettered: sum.deadLettered + s.deadLettered,
          }),
          { fetched: 0, indexed: 0, duplicates: 0, deadLettered: 0 },
        );
        await out.write(`${JSON.stringify({ orgs: summaries, total })}\n`);
      } finally {
        await simulated?.simulator.stop();
      }
    });
}

async function collectAll(env: Environment, outDir: string, out: Output): Promise<CollectSummary[]> {
  const problems: string[] = [];
  const jumpcloud = readJumpcloudConfig(env, problems);
  const collector = readCollectorConfig(env, problems);
  const mapping = readMappingConfig(env, problems);
  const es = readElasticsearchConfig(env, problems);
  const geoIp = await openGeoIp(mapping, problems);
  if (jumpcloud.credentials.kind === "none") {
    problems.push(
      "JumpCloud credentials are missing: set JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET",
    );
  }
  if (problems.length > 0) throw new ConfigurationError(problems);

  const logger = jsonLogger((line) => out.log(line.trimEnd()));
  const mapper = createMapper(mapping, geoIp);
  let sink: DocumentSink;
  if (hasCluster(es)) {
    const credentials = await resolveCredentials(es.auth, (arn) =>
      readSecretString(new SecretsManagerClient({}), arn),
    );
    const client = await createElasticsearchClient(es, credentials);
    sink = new ElasticsearchDocumentSink(client, {
      dataStream: mapper.dataStream,
      maxBatchBytes: es.maxBatchBytes,
      logger,
    });
  } else {
    sink = new FileDocumentSink(outDir, mapper.dataStream);
    out.log(`no ELASTICSEARCH_URL: documents go to ${join(outDir, `${mapper.dataStream}.ndjson`)}`);
  }
  const delivery = new InProcessDelivery({
    mapper,
    sink,
    deadLetters: new FileDeadLetterSink(es.deadLetterDir),
  });
  const store = new FileCheckpointStore(collector.checkpointFile);
  const source = createClient(jumpcloud, { logger });
  const owner = `cli-${process.pid}-${randomUUID().slice(0, 8)}`;

  // Orgs run side by side, a few at a time; one failing org does not stop the others.
  const orgs = orgsToCollect(env);
  const results: (CollectSummary | Error)[] = new Array(orgs.length);
  let next = 0;
  const worker = async () => {
    while (next < orgs.length) {
      const index = next++;
      const orgId = orgs[index];
      try {
        results[index] = await new Collector(
          {
            source,
            store,
            delivery,
            logger,
            owner,
            now: Date.now,
            remainingMs: () => Number.POSITIVE_INFINITY,
          },
          collectOptions(collector, { orgId, services: jumpcloud.services }),
        ).run();
      } catch (error) {
        results[index] = error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(collector.orgConcurrency, orgs.length) }, worker));
  const failures = results.filter((r): r is Error => r instanceof Error);
  if (failures.length > 0) {
    const detail = failures.map((f) => f.message).join("; ");
    throw new JumpcloudElasticError(
      `${failures.length} of ${orgs.length} org(s) failed, their checkpoints unmoved: ${detail}`,
      {
        cause: failures[0],
      },
    );
  }
  for (const summary of results as CollectSummary[]) {
    if (summary.status === "locked") {
      out.log(
        `${summary.key}: another run holds the lease (it expires by itself after LEASE_DURATION if that run died)`,
      );
    }
  }
  return results as CollectSummary[];
}
