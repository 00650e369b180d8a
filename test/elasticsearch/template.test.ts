import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import fieldTypes from "../../lib/elasticsearch/field-types.json" with { type: "json" };
import {
  INTEGRATION_TEMPLATE_NAME,
  indexTemplate,
  setupIndexTemplate,
  TEMPLATE_NAME,
} from "../../lib/elasticsearch/template.ts";
import { generateFieldTypes } from "../../scripts/generate-field-types.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { declaredFields, leaves } from "../helpers/declared-fields.ts";
import { testClient } from "../helpers/elasticsearch.ts";
import { COLLECTED_AT, openTestGeoIp, readJsonFixture } from "../helpers/fixtures.ts";
import { loadSamples } from "../helpers/samples.ts";

type Mapping = { type?: string; properties?: Record<string, Mapping>; fields?: Record<string, Mapping> };

/** The mapping of a dotted field in the template, if any. */
function mappingOf(properties: Record<string, Mapping>, field: string): Mapping | undefined {
  let node: Mapping = { properties };
  for (const key of field.split(".")) {
    const next = node.properties?.[key];
    if (!next) return undefined;
    node = next;
  }
  return node;
}

describe("index template", () => {
  const template = indexTemplate({ withEcsMappings: true }) as {
    template: { mappings: { properties: Record<string, Mapping>; dynamic_templates: unknown[] } };
  };
  const properties = template.template.mappings.properties;
  const declared = declaredFields();

  it("is generated from the reference fixtures (scripts/generate-field-types.ts)", () => {
    expect(fieldTypes).toStrictEqual(generateFieldTypes(fileURLToPath(new URL("../..", import.meta.url))));
  });

  it("maps every field of real documents with the type the integration or ECS declares", async () => {
    const geoIp = await openTestGeoIp();
    const mapper = new EcsMapper({ geoIp, preserveOriginalEvent: true, preserveDuplicateCustomFields: true });
    const documents: JsonObject[] = [
      ...readJsonFixture<{ events: { message: string }[] }>("elastic-jumpcloud/test-events.json").events.map(
        (e) => mapper.mapText(e.message, COLLECTED_AT).document,
      ),
      ...loadSamples().map((s) => mapper.mapValue(s.event, COLLECTED_AT).document),
      mapper.mapText("not json", COLLECTED_AT).document,
      mapper.mapValue({ id: "x", useragent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0" }, COLLECTED_AT)
        .document,
    ];
    const problems = new Set<string>();
    let checked = 0;
    for (const doc of documents) {
      for (const [field] of leaves(doc, declared)) {
        const want = declared.get(field);
        if (want === undefined) {
          // Undeclared custom fields are strings here: the dynamic template maps them as keyword.
          if (!field.startsWith("jumpcloud.event.")) problems.add(`${field} is neither declared nor custom`);
          continue;
        }
        checked++;
        const got = mappingOf(properties, field)?.type;
        if (got !== want) problems.add(`${field}: template ${got}, declared ${want}`);
      }
    }
    expect([...problems]).toStrictEqual([]);
    expect(checked).toBeGreaterThan(500);
  });

  it("maps changes as flattened, event.original unindexed, and keywords with ignore_above", () => {
    expect(mappingOf(properties, "jumpcloud.event.changes")).toStrictEqual({ type: "flattened" });
    expect(mappingOf(properties, "event.original")).toStrictEqual({
      type: "keyword",
      index: false,
      doc_values: false,
    });
    expect(mappingOf(properties, "user.name")).toStrictEqual({
      type: "keyword",
      ignore_above: 1024,
      fields: { text: { type: "match_only_text" } },
    });
    expect(mappingOf(properties, "client.geo.location")).toStrictEqual({ type: "geo_point" });
  });

  it("indexes keywords up to 4 096 characters exactly where the integration's package does, 1 024 elsewhere", () => {
    const keywords = Object.entries(fieldTypes.fields)
      .filter(([, spec]) => spec.type === "keyword" && !("index" in spec))
      .map(([field]) => [field, (mappingOf(properties, field) as { ignore_above?: number }).ignore_above]);
    const long = keywords.filter(([, limit]) => limit !== 1024);
    expect(Object.fromEntries(long)).toStrictEqual({
      "jumpcloud.event.command.payload": 4096,
      "jumpcloud.event.profile_list.signer_certificates": 4096,
    });
    expect(keywords.length).toBeGreaterThan(100);
  });
});

describe("setup", () => {
  const es = new ElasticsearchEmulator();
  let url: string;
  beforeAll(async () => {
    url = await es.start();
  });
  afterAll(() => es.stop());

  it("installs the template once and then leaves it unchanged (idempotent)", async () => {
    const client = await testClient(url);
    await expect(setupIndexTemplate(client)).resolves.toStrictEqual({
      action: "installed",
      template: TEMPLATE_NAME,
      withEcsMappings: false,
    });
    await expect(setupIndexTemplate(client)).resolves.toMatchObject({ action: "unchanged" });
    const puts = es.requests.filter((r) => r.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(es.indexTemplates.get(TEMPLATE_NAME)).toMatchObject({
      index_patterns: ["logs-jumpcloud.events-*"],
      data_stream: {},
      _meta: { managed_by: "jumpcloud-elastic", hash: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
  });

  it("composes with logs@settings (ILM) and ecs@mappings when the cluster has them, updating the template", async () => {
    es.componentTemplates.set("ecs@mappings", { template: { mappings: {} } });
    es.componentTemplates.set("logs@settings", {
      template: { settings: { index: { lifecycle: { name: "logs" } } } },
    });
    const result = await setupIndexTemplate(await testClient(url));
    expect(result).toMatchObject({ action: "updated", withEcsMappings: true });
    expect(es.indexTemplates.get(TEMPLATE_NAME)).toMatchObject({
      composed_of: ["logs@settings", "ecs@mappings"],
    });
    await expect(setupIndexTemplate(await testClient(url))).resolves.toMatchObject({ action: "unchanged" });
  });

  it("updates a template whose content changed (the hash names the content)", async () => {
    const stored = es.indexTemplates.get(TEMPLATE_NAME) as { _meta: { hash: string } };
    stored._meta.hash = "0000000000000000";
    await expect(setupIndexTemplate(await testClient(url))).resolves.toMatchObject({ action: "updated" });
  });

  it("leaves Elastic's integration alone when Fleet installed it", async () => {
    const fleet = new ElasticsearchEmulator({
      indexTemplates: {
        [INTEGRATION_TEMPLATE_NAME]: { _meta: { package: { name: "jumpcloud" }, managed_by: "fleet" } },
      },
    });
    const fleetUrl = await fleet.start();
    try {
      const result = await setupIndexTemplate(await testClient(fleetUrl));
      expect(result.action).toBe("left-integration-alone");
      expect(fleet.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
    } finally {
      await fleet.stop();
    }
  });
});
