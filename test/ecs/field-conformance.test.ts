import { beforeAll, describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { declaredFields, fitsType, leaves } from "../helpers/declared-fields.ts";
import { COLLECTED_AT, openTestGeoIp, readJsonFixture } from "../helpers/fixtures.ts";
import { loadSamples } from "../helpers/samples.ts";

const types = declaredFields();
const knownUndeclared = new Set(
  Object.keys(readJsonFixture<{ fields: Record<string, string> }>("mapping/undeclared-fields.json").fields),
);

// `anyCustom`: jumpcloud.event.* is not checked (synthetic test events put anything there on purpose).
function problems(doc: JsonObject, anyCustom = false): string[] {
  const found: string[] = [];
  for (const [path, value] of leaves(doc, types)) {
    const type = types.get(path);
    if (anyCustom && path.startsWith("jumpcloud.event.")) continue;
    if (type === undefined) {
      if (!knownUndeclared.has(path)) found.push(`${path} is not declared (value ${JSON.stringify(value)})`);
    } else if (!fitsType(type, value)) {
      found.push(`${path} is ${type} but holds ${JSON.stringify(value)}`);
    }
  }
  return found;
}

describe("field conformance: every field is declared and fits its type", () => {
  const documents: [string, JsonObject][] = [];

  beforeAll(async () => {
    const geoIp = await openTestGeoIp();
    const mappers = [
      new EcsMapper({ geoIp }),
      new EcsMapper({ geoIp, preserveOriginalEvent: true, preserveDuplicateCustomFields: true }),
    ];
    const fixture = readJsonFixture<{ events: { message: string }[] }>(
      "elastic-jumpcloud/test-events.json",
    ).events;
    for (const [m, mapper] of mappers.entries()) {
      for (const [i, e] of fixture.entries()) {
        documents.push([`fixture#${i}/${m}`, mapper.mapText(e.message, COLLECTED_AT).document]);
      }
      for (const s of loadSamples())
        documents.push([`${s.label}/${m}`, mapper.mapValue(s.event, COLLECTED_AT).document]);
    }
  });

  it("maps a meaningful corpus", () => {
    expect(documents.length).toBeGreaterThan(30);
  });

  it("has no undeclared field and no value of the wrong type", () => {
    const all = documents.flatMap(([label, doc]) => problems(doc).map((p) => `${label}: ${p}`));
    expect(all).toEqual([]);
  });

  it("holds for every mapping case, pipeline errors and collection-time fallbacks included", async () => {
    const geoIp = await openTestGeoIp();
    const cases =
      readJsonFixture<{ name: string; event?: unknown; text?: string; options?: { geoIp?: boolean } }[]>(
        "mapping/cases.json",
      );
    const found: string[] = [];
    let failed = 0;
    for (const c of cases) {
      const { geoIp: withGeoIp, ...options } = c.options ?? {};
      const mapper = new EcsMapper({ ...options, ...(withGeoIp && { geoIp }) });
      const mapped =
        c.text !== undefined ? mapper.mapText(c.text, COLLECTED_AT) : mapper.mapValue(c.event, COLLECTED_AT);
      if (mapped.failed) failed++;
      found.push(...problems(mapped.document, true).map((p) => `${c.name}: ${p}`));
    }
    expect(failed).toBeGreaterThan(5);
    expect(found).toEqual([]);
  });

  it("lists as undeclared only jumpcloud.event.* fields", () => {
    for (const field of knownUndeclared) {
      expect(field.startsWith("jumpcloud.event.")).toBe(true);
      expect(types.has(field)).toBe(false);
    }
  });

  it("flags a document that breaks the rules (the check itself works)", () => {
    const bad = {
      client: { ip: "nope" },
      event: { duration: "slow" },
      made_up: { field: "x" },
      "@timestamp": "x",
    };
    expect(problems(bad)).toHaveLength(4);
  });
});
