import { describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { getPath, isObject, type JsonObject, setPath } from "../../lib/ecs/paths.ts";
import { COPIES_AFTER_VERSION, COPIES_BEFORE_VERSION } from "../../lib/ecs/rules.ts";
import { COLLECTED_AT } from "../helpers/fixtures.ts";

// The mapper writes the copies out as code (named reads are faster); the tables stay the rule.
const COPIES = [...COPIES_BEFORE_VERSION, ...COPIES_AFTER_VERSION];
const TIMESTAMP = "2026-01-01T00:00:00.000Z";

function eventWith(values: ReadonlyArray<readonly [path: string, value: unknown]>): JsonObject {
  const event: JsonObject = { timestamp: TIMESTAMP };
  for (const [path, value] of values) setPath(event, path, value);
  return event;
}

/** `doc` cut down to the paths `shape` has, in the order `doc` has them. */
function project(doc: JsonObject, shape: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(doc)) {
    if (!(key in shape)) continue;
    const [value, want] = [doc[key], shape[key]];
    out[key] = isObject(value) && isObject(want) ? project(value, want) : value;
  }
  return out;
}

describe("copies: the mapper follows rules.ts", () => {
  const mapper = new EcsMapper();

  it.each(COPIES)("copies %s to %s", (from, to) => {
    const { document } = mapper.mapValue(eventWith([[from, `value of ${from}`]]), COLLECTED_AT);
    expect(getPath(document, to)).toBe(`value of ${from}`);
  });

  it.each(COPIES.flatMap(([from, to]) => [null, ""].map((empty) => [from, to, empty] as const)))(
    "copies nothing from %s to %s for %j",
    (from, to, empty) => {
      const { document } = mapper.mapValue(eventWith([[from, empty]]), COLLECTED_AT);
      expect(getPath(document, to)).toBeUndefined();
    },
  );

  it("writes every copy in table order, into the same objects", () => {
    const event = eventWith(COPIES.map(([from], i) => [from, `v${i}`] as const));
    const expected: JsonObject = {};
    for (const [from, to] of COPIES) setPath(expected, to, getPath(event, from));
    const { document } = mapper.mapValue(event, COLLECTED_AT);
    expect(JSON.stringify(project(document, expected))).toBe(JSON.stringify(expected));
  });

  it("reads no key that JSON objects inherit (plain property reads are then exact)", () => {
    const keys = COPIES.flatMap(([from, to]) => [...from.split("."), ...to.split(".")]);
    expect(keys.filter((key) => key in Object.prototype)).toEqual([]);
  });
});
