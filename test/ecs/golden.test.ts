import { beforeAll, describe, expect, it } from "vitest";
import { DELIBERATE_DIFFERENCES } from "../../lib/ecs/differences.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { COLLECTED_AT, openTestGeoIp, readJsonFixture } from "../helpers/fixtures.ts";

const input = readJsonFixture<{ events: { message: string }[] }>("elastic-jumpcloud/test-events.json").events;
const expected = readJsonFixture<{ expected: JsonObject[] }>(
  "elastic-jumpcloud/test-events.json-expected.json",
).expected;

// Each deliberate difference that shows on these fixtures, applied to Elastic's expected document.
// Keys name entries of DELIBERATE_DIFFERENCES; anything else that differs fails the test.
const DIFFERENCES_SEEN_IN_FIXTURES: Record<string, (doc: JsonObject) => void> = {
  "data_stream.*, event.dataset": (doc) => {
    doc.data_stream = { type: "logs", dataset: "jumpcloud.events", namespace: "default" };
    (doc.event as JsonObject).dataset = "jumpcloud.events";
  },
  tags: (doc) => {
    doc.tags = [...(doc.tags as string[]), "forwarded"];
  },
  "related.ip": (doc) => {
    const client = doc.client as JsonObject | undefined;
    if (!client?.ip) return;
    const related = (doc.related ?? {}) as JsonObject;
    related.ip = [...((related.ip as string[] | undefined) ?? []), client.ip];
    doc.related = related;
  },
};

describe("golden: Elastic's pipeline test events", () => {
  let mapper: EcsMapper;

  beforeAll(async () => {
    mapper = new EcsMapper({
      preserveOriginalEvent: true,
      preserveDuplicateCustomFields: true,
      geoIp: await openTestGeoIp(),
    });
  });

  it("has as many expected documents as input events", () => {
    expect(input).toHaveLength(3);
    expect(expected).toHaveLength(3);
  });

  it.each([0, 1, 2])("event %i maps to Elastic's expected document, field for field", (i) => {
    const mapped = mapper.mapText((input[i] as { message: string }).message, COLLECTED_AT);
    const want = structuredClone(expected[i] as JsonObject);
    for (const apply of Object.values(DIFFERENCES_SEEN_IN_FIXTURES)) apply(want);

    expect(mapped.failed).toBe(false);
    expect(mapped.document).toEqual(want);
    expect(JSON.parse(JSON.stringify(mapped.document))).toStrictEqual(want);
  });

  it("gives the first event Elastic's _id", () => {
    const mapped = mapper.mapText((input[0] as { message: string }).message, COLLECTED_AT);
    expect(mapped.id).toBe("+n2ZBv39b9wASQ0vnepOMg==");
  });

  it("lists only differences that are declared in lib/ecs/differences.ts", () => {
    const declared = DELIBERATE_DIFFERENCES.map((d) => d.field);
    for (const name of Object.keys(DIFFERENCES_SEEN_IN_FIXTURES)) expect(declared).toContain(name);
  });
});

describe("README", () => {
  it("lists every deliberate difference", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(
      readme.indexOf("### Deliberate differences"),
      readme.indexOf("Known limits"),
    );
    const rows = section.split("\n").filter((l) => /^\| [^-|]/.test(l) && !l.startsWith("| field"));
    expect(rows).toHaveLength(DELIBERATE_DIFFERENCES.length);
    // Each row names its difference as lib/ecs/differences.ts does (backticks aside).
    for (const difference of DELIBERATE_DIFFERENCES) {
      expect(rows.some((row) => row.replaceAll("`", "").includes(difference.field.replaceAll("`", "")))).toBe(
        true,
      );
    }
  });
});
