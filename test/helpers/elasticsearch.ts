import type { Client } from "@elastic/elasticsearch";
import { awsClients } from "../../lib/compose/aws.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { ElasticsearchDocumentSink, type IndexItem } from "../../lib/elasticsearch/sink.ts";
import type { RetryPolicy } from "../../lib/retry.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { COLLECTED_AT } from "./fixtures.ts";

/** Fast retries for tests: many attempts, tiny waits. */
export const FAST_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1,
  maxDelayMs: 5,
  maxElapsedMs: 10_000,
};

/** The real client against a URL, with a short request timeout. */
export function testClient(url: string, env: Record<string, string> = {}): Promise<Client> {
  const settingsEnv = { ELASTICSEARCH_URL: url, ELASTICSEARCH_REQUEST_TIMEOUT: "400ms", ...env };
  return createElasticsearchClient(loadSettings(settingsEnv).settings, awsClients());
}

/** A sink with test retry settings. */
export function testSink(
  client: Client,
  options: { maxBatchBytes?: number; retry?: RetryPolicy; concurrency?: number } = {},
) {
  return new ElasticsearchDocumentSink(client, {
    dataStream: "logs-jumpcloud.events-default",
    retry: options.retry ?? FAST_RETRY,
    maxBatchBytes: options.maxBatchBytes,
    concurrency: options.concurrency,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
  });
}

/** Raw generated events (deterministic). */
export function rawEvents(count: number, seed = 3): Record<string, unknown>[] {
  const start = Date.parse("2026-02-01T00:00:00Z");
  return generateTenantEvents({ seed, start, end: start + 3_600_000, count }).map((g) => g.event);
}

/** Mapped items for the sink. */
export function itemsFor(raw: readonly unknown[]): IndexItem[] {
  const mapper = new EcsMapper();
  return raw.map((r) => {
    const mapped = mapper.mapValue(r, COLLECTED_AT);
    return { id: mapped.id, document: mapped.document, raw: r, pipelineError: mapped.failed };
  });
}
