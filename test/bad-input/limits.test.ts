import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_NESTING_DEPTH, NestingTooDeepError, withoutEmpty } from "../../lib/ecs/clean.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { appendUnique, getPath } from "../../lib/ecs/paths.ts";
import { InputError } from "../../lib/errors.ts";
import { readEvents } from "../../lib/input/read-events.ts";
import { COLLECTED_AT } from "../helpers/fixtures.ts";
import { JSON_NESTING_LIMIT, nestingDepth } from "./elasticsearch-rules.ts";

// `depth` containers in all, the outermost being the event itself.
function eventOfDepth(depth: number, container: "object" | "array"): Record<string, unknown> {
  let value: unknown = "leaf";
  for (let i = 1; i < depth; i++) value = container === "object" ? { a: value } : [value];
  return { id: "deep", timestamp: "2026-01-01T00:00:00Z", x: value };
}

describe("the mapper's nesting limit", () => {
  it.each(["object", "array"] as const)(
    "maps %s events up to the limit, and fails the next level",
    (container) => {
      expect(() => withoutEmpty(eventOfDepth(MAX_NESTING_DEPTH, container))).not.toThrow();
      expect(() => withoutEmpty(eventOfDepth(MAX_NESTING_DEPTH + 1, container))).toThrow(NestingTooDeepError);
      const mapper = new EcsMapper();
      expect(mapper.mapValue(eventOfDepth(MAX_NESTING_DEPTH, container), COLLECTED_AT).failed).toBe(false);
      const failed = mapper.mapValue(eventOfDepth(MAX_NESTING_DEPTH + 1, container), COLLECTED_AT);
      expect(failed.failed).toBe(true);
      expect(getPath(failed.document, "error.message")).toContain(
        `event nested deeper than ${MAX_NESTING_DEPTH} levels`,
      );
    },
  );

  it("keeps a document within what Elasticsearch parses: the event two levels down", () => {
    const { document } = new EcsMapper().mapValue(eventOfDepth(MAX_NESTING_DEPTH, "array"), COLLECTED_AT);
    expect(nestingDepth(document)).toBe(JSON_NESTING_LIMIT);
  });

  it("gives a too-deep event the same `_id` and event.original as text or as a parsed value", () => {
    const event = eventOfDepth(20_000, "object");
    const text = `{"id":"deep","timestamp":"2026-01-01T00:00:00Z","x":${'{"a":'.repeat(19_999)}"leaf"${"}".repeat(19_999)}}`;
    const mapper = new EcsMapper({ preserveOriginalEvent: true });
    const fromValue = mapper.mapValue(event, COLLECTED_AT);
    const fromText = mapper.mapText(text, COLLECTED_AT);
    expect(fromValue.id).toBe(fromText.id);
    expect(getPath(fromValue.document, "event.original")).toBe(text);
  });
});

describe("appendUnique", () => {
  // The Set it uses for long lists must keep includes()'s answers: SameValueZero, first wins.
  it("keeps the first of equal values, in order, for short and long lists alike", () => {
    const values = fc.array(
      fc.oneof(fc.constantFrom(0, -0, Number.NaN, "0", null), fc.integer({ min: 0, max: 30 })),
    );
    fc.assert(
      fc.property(values, values, (existing, added) => {
        const root = { list: [...existing] };
        appendUnique(root, "list", added);
        const expected = [...existing];
        for (const v of added) if (!expected.includes(v)) expected.push(v);
        expect(root.list).toStrictEqual(expected);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe("readEvents and byte order marks, lone values", () => {
  it("drops a BOM that starts the input or a line, keeps one inside a value", () => {
    const input = '\uFEFF{"id":"a"}\n\uFEFF{"id":"b","m":"\uFEFFx"}\n';
    expect(readEvents(input)).toStrictEqual([{ text: '{"id":"a"}' }, { text: '{"id":"b","m":"\uFEFFx"}' }]);
  });

  it.each(["1", "null", '"text"', "true", "\uFEFF7\n"])(
    "refuses a lone JSON value that is no event: %j",
    (input) => {
      expect(() => readEvents(input)).toThrow(InputError);
    },
  );

  it("reads a lone JSON object as one event", () => {
    expect(readEvents('\uFEFF{"id":"a"}')).toStrictEqual([{ text: '{"id":"a"}' }]);
  });
});
