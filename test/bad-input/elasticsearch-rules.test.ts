import { describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { COLLECTED_AT, openTestGeoIp } from "../helpers/fixtures.ts";
import { loadSamples } from "../helpers/samples.ts";
import { refusal } from "./elasticsearch-rules.ts";

// The corpus's dead letters are only as good as these rules: they must store what a cluster
// stores, and refuse what it refuses.
describe("the emulated mapping rules", () => {
  it("store every real sample document, with GeoIP and both preserve options", async () => {
    const mapper = new EcsMapper({
      geoIp: await openTestGeoIp(),
      preserveOriginalEvent: true,
      preserveDuplicateCustomFields: true,
    });
    for (const sample of loadSamples()) {
      const { document } = mapper.mapValue(sample.event, COLLECTED_AT);
      expect(refusal(document), sample.label).toBeUndefined();
    }
  });

  const base = { "@timestamp": "2026-01-01T00:00:00.000Z" };
  it.each([
    [{ jumpcloud: { event: { success: "false", error_code: "12", geoip: { latitude: "1.5" } } } }, undefined],
    [{ jumpcloud: { event: { error_code: "twelve" } } }, /\[jumpcloud\.event\.error_code\] of type \[long\]/],
    [{ related: { ip: ["1.2.3.4", "x"] } }, /\[related\.ip\] of type \[ip\]/],
    [{ source: { geo: { location: { lat: 1, lon: 2 } } } }, undefined],
    [{ jumpcloud: { event: { "a.b": 1, a: { b: 2, c: "x" } } } }, undefined],
    [
      { jumpcloud: { event: { x: [1, { y: 2 }] } } },
      /Existing mapping for \[jumpcloud\.event\.x\] must be of type object but found \[long\]/,
    ],
    [{ jumpcloud: { event: { x: [{ y: 2 }, 1] } } }, /object mapping for \[jumpcloud\.event\.x\]/],
    [{ jumpcloud: { event: { x: [5, "a"] } } }, /\[jumpcloud\.event\.x\] of type \[long\]/],
    [{ jumpcloud: { event: { x: ["a", 5] } } }, undefined],
    [{ jumpcloud: { event: { "a.": 1 } } }, undefined],
    [{ jumpcloud: { event: { ".a": 1 } } }, /object field cannot contain only whitespace/],
    [{ jumpcloud: { event: { changes: [{ field: "x", to: null }, null] } } }, undefined],
  ])("%j: %s", (doc, refused) => {
    const reason = refusal({ ...base, ...doc });
    if (refused === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(refused);
  });
});
