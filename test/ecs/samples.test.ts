import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { EcsMapper, type MappedEvent } from "../../lib/ecs/mapper.ts";
import { getPath } from "../../lib/ecs/paths.ts";
import { COLLECTED_AT, fixturePath, openTestGeoIp } from "../helpers/fixtures.ts";
import { loadSamples, SAMPLE_FILES } from "../helpers/samples.ts";

// Golden outputs for the real-world samples live in test/fixtures/golden/; after a deliberate
// mapping change, regenerate them with UPDATE_GOLDEN=1 and review the diff.
const UPDATE = process.env.UPDATE_GOLDEN === "1";

describe("real-world JumpCloud samples", () => {
  const samples = loadSamples();
  const mapped = new Map<string, MappedEvent>();

  beforeAll(async () => {
    const mapper = new EcsMapper({ geoIp: await openTestGeoIp(), preserveOriginalEvent: true });
    for (const s of samples) mapped.set(s.label, mapper.mapValue(s.event, COLLECTED_AT));
  });

  const result = (label: string) => mapped.get(label) as MappedEvent;

  it.each(SAMPLE_FILES)("%s maps to its golden documents", (file) => {
    const actual = samples
      .filter((s) => s.file === file)
      .map((s) => ({ label: s.label, _id: result(s.label).id, document: result(s.label).document }));
    const path = fixturePath(`golden/${file.replace(/\.json$/, ".expected.json")}`);
    if (UPDATE) writeFileSync(path, `${JSON.stringify(actual, null, 2)}\n`);
    expect(actual).toStrictEqual(JSON.parse(readFileSync(path, "utf8")));
  });

  it("maps every sample without a pipeline error, each with an _id and the event's own time", () => {
    for (const s of samples) {
      const r = result(s.label);
      expect(r.failed, s.label).toBe(false);
      expect(r.id, s.label).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(getPath(r.document, "error"), s.label).toBeUndefined();
    }
  });

  it.each([
    ["sekoia_intake_formats_fixtures.json#ssoauth_failure_1.json", "failure"],
    ["sekoia_intake_formats_fixtures.json#ssoauth_success.json", "success"],
    ["sekoia_intake_formats_fixtures.json#radius_auth_failure.json", "failure"],
    ["sumologic_docs_organization_create.json#0", "unknown"],
  ])("%s has event.outcome %s (sso_token_success without success, no success at all)", (label, outcome) => {
    expect(getPath(result(label).document, "event.outcome")).toBe(outcome);
  });

  it("truncates nanosecond SSO timestamps and keeps second-precision RADIUS ones", () => {
    expect(result("sekoia_intake_formats_fixtures.json#ssoauth_success.json").document["@timestamp"]).toBe(
      "2023-06-15T13:45:59.812Z",
    );
    expect(
      result("sekoia_intake_formats_fixtures.json#radius_auth_success.json").document["@timestamp"],
    ).toBe("2023-06-15T15:17:41.000Z");
  });

  it("keeps uppercase GUID ids as event.id", () => {
    expect(getPath(result("jumpcloud_api_doc_examples.json#1").document, "event.id")).toBe(
      "ED0ED2C3-0524-3263-BE5B-68C02B70986E",
    );
  });

  it("keeps mixed-type changes intact (flattened in Elasticsearch)", () => {
    const changes = getPath(
      result("sumologic_docs_organization_create.json#0").document,
      "jumpcloud.event.changes",
    );
    expect(Array.isArray(changes)).toBe(true);
    expect((changes as unknown[]).length).toBeGreaterThan(10);
  });
});
