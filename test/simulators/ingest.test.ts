import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MaxmindGeoIpLookup } from "../../lib/ecs/geo.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { fixturePath } from "../helpers/fixtures.ts";

// The integration's geoip steps (elastic/integrations, packages/jumpcloud, events' default.yml),
// then the @custom calls Fleet appends; what cluster GeoIP mode will install (issue 22).
const GEOIP_STEPS = [
  {
    geoip: {
      field: "source.ip",
      target_field: "source.geo",
      ignore_missing: true,
      if: "ctx.source?.geo == null && ctx.source?.ip != null",
    },
  },
  {
    geoip: {
      database_file: "GeoLite2-ASN.mmdb",
      field: "source.ip",
      target_field: "source.as",
      properties: ["asn", "organization_name"],
      ignore_missing: true,
      if: "ctx.source?.ip != null",
    },
  },
  { rename: { field: "source.as.asn", target_field: "source.as.number", ignore_missing: true } },
  {
    rename: {
      field: "source.as.organization_name",
      target_field: "source.as.organization.name",
      ignore_missing: true,
    },
  },
  { pipeline: { name: "logs-jumpcloud.events@custom", ignore_missing_pipeline: true } },
];
const ON_FAILURE = [
  { set: { field: "event.kind", value: "pipeline_error" } },
  { append: { field: "error.message", value: "{{{ _ingest.on_failure_message }}}" } },
];

const FILES = {
  "GeoLite2-City.mmdb": fixturePath("geoip/GeoLite2-City-Test.mmdb"),
  "GeoLite2-ASN.mmdb": fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
};
const LONDON = "81.2.69.144";
const ASN_ADDRESS = "1.128.0.0";

async function call(url: string, method: string, path: string, body?: unknown, ndjson = false) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": ndjson ? "application/x-ndjson" : "application/json" },
    ...(body !== undefined && { body: ndjson ? String(body) : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A stored document, as far as these tests read it. */
interface Stored {
  source: { geo?: unknown; as?: Record<string, unknown> & { asn?: unknown } };
  labels?: unknown;
  tags?: unknown;
}

const bulkOf = (docs: object[]) =>
  `${docs.map((d, i) => `{"create":{"_index":"logs-jumpcloud.events-default","_id":"d${i}"}}\n${JSON.stringify(d)}`).join("\n")}\n`;

describe("the Elasticsearch emulator's ingest pipelines", () => {
  const es = new ElasticsearchEmulator({ geoip: { files: FILES } });
  let url = "";
  beforeAll(async () => {
    url = await es.start();
  });
  afterAll(() => es.stop());

  it("stores a pipeline, runs it from _bulk's pipeline parameter, the @custom call included", async () => {
    expect(
      (await call(url, "PUT", "/_ingest/pipeline/ours", { processors: GEOIP_STEPS, on_failure: ON_FAILURE }))
        .status,
    ).toBe(200);
    expect((await call(url, "GET", "/_ingest/pipeline/ours")).body.ours).toMatchObject({
      processors: GEOIP_STEPS,
    });
    // Absent, the @custom pipeline is skipped; present, it runs.
    const first = await call(
      url,
      "POST",
      "/_bulk?pipeline=ours",
      bulkOf([{ "@timestamp": "2026-01-01T00:00:00Z", source: { ip: LONDON } }]),
      true,
    );
    expect(first.body.errors).toBe(false);
    await call(url, "PUT", "/_ingest/pipeline/logs-jumpcloud.events@custom", {
      processors: [{ set: { field: "labels.team", value: "soc" } }],
    });
    await call(
      url,
      "POST",
      "/_bulk?pipeline=ours",
      bulkOf([{}, { "@timestamp": "2026-01-01T00:00:00Z", source: { ip: ASN_ADDRESS } }]),
      true,
    );
    const [london, asn] = es
      .documents("logs-jumpcloud.events-default")
      .map((d) => d._source as unknown as Stored);
    expect(london?.labels).toBeUndefined();
    expect(asn?.labels).toStrictEqual({ team: "soc" });
    expect(asn?.source.as).toMatchObject({ number: 1221, organization: { name: expect.any(String) } });
    expect(asn?.source.as?.asn).toBeUndefined();
  });

  it("writes what the mapper's files mode writes for the same address", async () => {
    const lookup = await MaxmindGeoIpLookup.open({
      city: FILES["GeoLite2-City.mmdb"],
      asn: FILES["GeoLite2-ASN.mmdb"],
    });
    const stored = es.documents("logs-jumpcloud.events-default").map((d) => d._source as unknown as Stored);
    expect(stored[0]?.source.geo).toStrictEqual(lookup.city(LONDON));
    expect(stored[1]?.source.as).toStrictEqual(lookup.asn(ASN_ADDRESS));
  });

  it("refuses what it cannot run, and reports a missing pipeline per item", async () => {
    const bad = await call(url, "PUT", "/_ingest/pipeline/bad", {
      processors: [{ set: { field: "a", value: 1, if: "ctx.a.length() > 2" } }],
    });
    expect(bad.status).toBe(400);
    const missing = await call(
      url,
      "POST",
      "/_bulk?pipeline=nope",
      bulkOf([{ "@timestamp": "2026-01-01T00:00:00Z" }]),
      true,
    );
    expect(missing.body.items).toMatchObject([
      { create: { status: 400, error: { reason: "pipeline with id [nope] does not exist" } } },
    ]);
  });
});

describe("a cluster that has not downloaded its GeoIP databases yet", () => {
  it("tags documents _geoip_database_unavailable_<file> and stores them; stats say so until the download", async () => {
    const es = new ElasticsearchEmulator({ geoip: { files: FILES, pending: true } });
    const url = await es.start();
    try {
      await call(url, "PUT", "/_ingest/pipeline/ours", { processors: GEOIP_STEPS, on_failure: ON_FAILURE });
      expect(
        ((await call(url, "GET", "/_ingest/geoip/stats")).body.stats as Record<string, number>)
          .databases_count,
      ).toBe(0);
      await call(
        url,
        "POST",
        "/_bulk?pipeline=ours",
        bulkOf([{ "@timestamp": "2026-01-01T00:00:00Z", source: { ip: LONDON } }]),
        true,
      );
      const [doc] = es.documents("logs-jumpcloud.events-default").map((d) => d._source as unknown as Stored);
      expect(doc?.tags).toStrictEqual([
        "_geoip_database_unavailable_GeoLite2-City.mmdb",
        "_geoip_database_unavailable_GeoLite2-ASN.mmdb",
      ]);
      expect(doc?.source.geo).toBeUndefined();
      es.ingest.downloaded();
      expect(
        ((await call(url, "GET", "/_ingest/geoip/stats")).body.stats as Record<string, number>)
          .databases_count,
      ).toBe(2);
    } finally {
      await es.stop();
    }
  });
});
