import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { getPath } from "../../lib/ecs/paths.ts";
import { COLLECTED_AT } from "../helpers/fixtures.ts";

const mappers = [
  new EcsMapper(),
  new EcsMapper({ preserveOriginalEvent: true, preserveDuplicateCustomFields: true, namespace: "x" }),
];

// Events shaped like JumpCloud's, with every field free to hold anything.
const eventLike = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    timestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
      fc.jsonValue(),
    ),
    "@version": fc.jsonValue(),
    version: fc.jsonValue(),
    client_ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.array(fc.ipV4()), fc.jsonValue()),
    src_ip: fc.oneof(fc.ipV4(), fc.jsonValue()),
    event_type: fc.oneof(fc.constantFrom("sso_auth", "user_unlocked", "x"), fc.jsonValue()),
    success: fc.jsonValue(),
    sso_token_success: fc.jsonValue(),
    useragent: fc.oneof(fc.string(), fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
    user_agent: fc.oneof(fc.string(), fc.jsonValue()),
    system: fc.jsonValue(),
    initiated_by: fc.jsonValue(),
    changes: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

function checkDocument(mapper: EcsMapper, run: () => ReturnType<EcsMapper["mapText"]>): void {
  const mapped = run();
  const { document } = mapped;
  expect(typeof document["@timestamp"]).toBe("string");
  expect(Number.isNaN(Date.parse(document["@timestamp"] as string))).toBe(false);
  expect(getPath(document, "data_stream.namespace")).toBe(mapper.dataStream.split("-").pop());
  expect(() => JSON.stringify(document)).not.toThrow();
  const errors = getPath(document, "error.message");
  if (errors !== undefined) {
    expect(Array.isArray(errors)).toBe(true);
    for (const message of errors as unknown[]) expect(typeof message).toBe("string");
  }
  if (mapped.failed) {
    expect(getPath(document, "event.kind")).toBe("pipeline_error");
    expect(typeof getPath(document, "event.original")).toBe("string");
    expect(document.tags).toContain("preserve_original_event");
    expect((errors as unknown[]).length).toBeGreaterThan(0);
  }
  // A raw user-agent string never stays where the integration maps an object.
  expect(typeof getPath(document, "jumpcloud.event.useragent")).not.toBe("string");
}

describe("property: any input yields a document, never an exception", () => {
  it("arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...mappers), (value, mapper) => {
        checkDocument(mapper, () => mapper.mapValue(value, COLLECTED_AT));
        checkDocument(mapper, () => mapper.mapText(JSON.stringify(value) ?? "", COLLECTED_AT));
      }),
      { numRuns: 400 },
    );
  });

  it("arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.constantFrom(...mappers), (text, mapper) => {
        checkDocument(mapper, () => mapper.mapText(text, COLLECTED_AT));
      }),
      { numRuns: 400 },
    );
  });

  it("JumpCloud-shaped events with hostile values", () => {
    fc.assert(
      fc.property(eventLike, fc.constantFrom(...mappers), (event, mapper) => {
        checkDocument(mapper, () => mapper.mapValue(event, COLLECTED_AT));
      }),
      { numRuns: 1000 },
    );
  });

  it("mapping is deterministic for a fixed collection time", () => {
    fc.assert(
      fc.property(eventLike, (event) => {
        const [mapper] = mappers as [EcsMapper];
        expect(mapper.mapValue(event, COLLECTED_AT)).toStrictEqual(mapper.mapValue(event, COLLECTED_AT));
      }),
      { numRuns: 200 },
    );
  });
});
