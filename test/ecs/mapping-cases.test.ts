import { beforeAll, describe, expect, it } from "vitest";
import type { GeoIpLookup } from "../../lib/ecs/geo.ts";
import { EcsMapper, type MapperOptions } from "../../lib/ecs/mapper.ts";
import { getPath } from "../../lib/ecs/paths.ts";
import { COLLECTED_AT, openTestGeoIp, readJsonFixture } from "../helpers/fixtures.ts";

interface MappingCase {
  name: string;
  event?: unknown;
  text?: string;
  options?: Omit<MapperOptions, "geoIp"> & { geoIp?: boolean };
  expect?: Record<string, unknown>;
  absent?: string[];
  failed?: boolean;
  errors?: string[];
  id?: string;
}

const cases = readJsonFixture<MappingCase[]>("mapping/cases.json");

describe("mapping rules (test/fixtures/mapping/cases.json)", () => {
  let geoIp: GeoIpLookup;
  beforeAll(async () => {
    geoIp = await openTestGeoIp();
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { geoIp: withGeoIp, ...options } = c.options ?? {};
    const mapper = new EcsMapper({ ...options, ...(withGeoIp && { geoIp }) });

    const mapped =
      c.text !== undefined ? mapper.mapText(c.text, COLLECTED_AT) : mapper.mapValue(c.event, COLLECTED_AT);

    expect(mapped.failed).toBe(c.failed ?? false);
    expect(mapped.document["@timestamp"]).toEqual(expect.any(String));
    for (const [path, value] of Object.entries(c.expect ?? {})) {
      expect(getPath(mapped.document, path), path).toStrictEqual(value);
    }
    for (const path of c.absent ?? []) expect(getPath(mapped.document, path), path).toBeUndefined();
    if (c.errors) expect(getPath(mapped.document, "error.message")).toStrictEqual(c.errors);
    if (c.id !== undefined) expect(mapped.id).toBe(c.id);
    if (mapped.failed) {
      expect(getPath(mapped.document, "event.kind")).toBe("pipeline_error");
      expect(getPath(mapped.document, "event.original")).toEqual(expect.any(String));
      expect(mapped.document.tags).toContain("preserve_original_event");
    }
  });

  it("never mutates the event it is given", () => {
    const event = {
      id: "a",
      timestamp: "2024-05-01T10:00:00Z",
      provider: null,
      client_ip: "10.0.0.1",
      "@version": "1",
    };
    const copy = structuredClone(event);
    new EcsMapper().mapValue(event, COLLECTED_AT);
    expect(event).toStrictEqual(copy);
  });
});
