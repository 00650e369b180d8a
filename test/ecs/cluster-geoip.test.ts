import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { createPipeline } from "../../lib/compose/pipeline.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { pipelineName } from "../../lib/elasticsearch/ingest-pipeline.ts";
import { setupCluster } from "../../lib/elasticsearch/setup.ts";
import { silentLogger } from "../../lib/logger.ts";
import { indexEvents } from "../../lib/pipeline/index-events.ts";
import { geoIpMode } from "../../lib/settings/geoip-mode.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { fakeAws } from "../helpers/aws.ts";
import { COLLECTED_AT, fixturePath, openTestGeoIp, readJsonFixture } from "../helpers/fixtures.ts";
import { loadSamples } from "../helpers/samples.ts";

// Parity of the two GeoIP modes: the same raw events give the same stored documents whether the
// mapper enriches them from the test databases (GEOIP=files) or the cluster's ingest pipeline
// does (GEOIP=cluster; the emulator's geoip processor on the same test databases).
const STREAM = "logs-jumpcloud.events-default";
const CLUSTER_DATABASES = {
  "GeoLite2-City.mmdb": fixturePath("geoip/GeoLite2-City-Test.mmdb"),
  "GeoLite2-ASN.mmdb": fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
};

const elasticEvents = readJsonFixture<{ events: { message: string }[] }>(
  "elastic-jumpcloud/test-events.json",
).events.map((e) => JSON.parse(e.message) as unknown);
const events: unknown[] = [...elasticEvents, ...loadSamples().map((s) => s.event)];

async function storeThroughCluster(
  es: ElasticsearchEmulator,
  env: Record<string, string>,
  options: { setup?: boolean } = {},
) {
  const { settings, sourceOf } = loadSettings({
    ELASTICSEARCH_URL: es.url,
    PRESERVE_ORIGINAL_EVENT: "true",
    DEAD_LETTER_DIR: mkdtempSync(join(tmpdir(), "geoip-dl-")),
    ...env,
  });
  const client = await createElasticsearchClient(settings, fakeAws({}));
  if (options.setup !== false) await setupCluster(client, geoIpMode(settings, true));
  const deps = await createPipeline(settings, {
    aws: fakeAws({}),
    sourceOf,
    target: { client, logger: silentLogger },
  });
  const counts = await indexEvents(events, { ...deps, now: () => COLLECTED_AT });
  const ingested: string[] = [];
  const stored = new Map(
    es.documents(STREAM).map((d) => [d._id, setIngestedAside(d._source as JsonObject, ingested)]),
  );
  return { counts, stored, ingested };
}

// The pipeline adds when each document reached the cluster (as Fleet's final pipeline does): a
// time of this run, not of the event, set aside so the rest compares field for field.
function setIngestedAside(document: JsonObject, ingested: string[]): JsonObject {
  const copy = structuredClone(document);
  const event = copy.event as JsonObject;
  if (typeof event.ingested === "string") ingested.push(event.ingested);
  delete event.ingested;
  return copy;
}

describe("GEOIP=cluster stores what GEOIP=files stores", () => {
  const expected = new Map<string, JsonObject>();
  beforeAll(async () => {
    const mapper = new EcsMapper({ geoIp: await openTestGeoIp(), preserveOriginalEvent: true });
    for (const event of events) {
      const mapped = mapper.mapValue(event, COLLECTED_AT);
      if (!expected.has(mapped.id)) expected.set(mapped.id, mapped.document);
    }
  });

  const emulators: ElasticsearchEmulator[] = [];
  const emulator = async (options: ConstructorParameters<typeof ElasticsearchEmulator>[0] = {}) => {
    const es = new ElasticsearchEmulator({ geoip: { files: CLUSTER_DATABASES }, ...options });
    emulators.push(es);
    await es.start();
    return es;
  };
  afterAll(async () => {
    for (const es of emulators) await es.stop();
  });

  it("every golden event, field for field, geo and as from the cluster's pipeline", async () => {
    const es = await emulator();
    const before = Date.now();
    const { counts, stored, ingested } = await storeThroughCluster(es, {});
    expect(counts.withoutGeo).toBe(0);
    expect(counts.withoutPipeline).toBe(0);
    expect(stored.size).toBe(expected.size);
    // Every document says when it reached the cluster (event.ingested, which rules look back on).
    expect(ingested).toHaveLength(expected.size);
    for (const at of ingested) expect(Date.parse(at)).toBeGreaterThanOrEqual(before - 1_000);
    for (const [id, document] of expected) expect(stored.get(id), id).toStrictEqual(document);
    // The comparison means something: the cluster added geo (the mapper sent none).
    const geoOf = (d: JsonObject) =>
      (["source", "client"] as const).filter((f) => (d[f] as JsonObject | undefined)?.geo !== undefined);
    expect([...stored.values()].flatMap(geoOf).length).toBeGreaterThan(0);
    expect(es.requests.filter((r) => r.path === "/_bulk").map((r) => r.query.pipeline)).toContain(
      pipelineName("cluster"),
    );
  });

  it("GEOIP=files through the cluster gives the same documents (the pipeline then adds no geo)", async () => {
    const es = await emulator();
    const { stored } = await storeThroughCluster(es, {
      GEOIP_CITY_DB: fixturePath("geoip/GeoLite2-City-Test.mmdb"),
      GEOIP_ASN_DB: fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
    });
    for (const [id, document] of expected) expect(stored.get(id), id).toStrictEqual(document);
    expect(es.ingest.get(pipelineName("files"))?.processors.some((p) => "geoip" in p)).toBe(false);
  });

  it("GEOIP=off: no geo anywhere", async () => {
    const es = await emulator();
    const { stored } = await storeThroughCluster(es, { GEOIP: "off" });
    for (const document of stored.values()) {
      for (const field of ["source", "client"] as const) {
        expect((document[field] as JsonObject | undefined)?.geo).toBeUndefined();
        expect((document[field] as JsonObject | undefined)?.as).toBeUndefined();
      }
    }
  });

  it("before the cluster's download: stored, tagged as the cluster tags them, counted as without geo", async () => {
    const es = await emulator({ geoip: { files: CLUSTER_DATABASES, pending: true } });
    const { counts, stored } = await storeThroughCluster(es, {});
    const addressed = [...stored.values()].filter(
      (d) => (d.source as JsonObject | undefined)?.ip || (d.client as JsonObject | undefined)?.ip,
    );
    expect(addressed.length).toBeGreaterThan(0);
    expect(counts.withoutGeo).toBe(addressed.length);
    for (const d of addressed) expect(d.tags).toContain("_geoip_database_unavailable_GeoLite2-City.mmdb");
  });

  it("a missing pipeline (deleted, never installed) costs the geo, never the documents", async () => {
    const es = await emulator();
    const { counts, stored } = await storeThroughCluster(es, {}, { setup: false });
    expect(counts.deadLettered).toBe(0);
    expect(counts.indexed).toBe(expected.size);
    expect(counts.withoutPipeline).toBe(expected.size);
    expect(stored.size).toBe(expected.size);
    const bulks = es.requests.filter((r) => r.path === "/_bulk").map((r) => r.query.pipeline);
    expect(bulks).toStrictEqual([pipelineName("cluster"), "_none"]);
  });
});
