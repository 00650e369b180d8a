import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonText, nestingDepth } from "../lib/json-text.ts";

const deep = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { a: value } : [value, null];
  return value;
};

describe("jsonText", () => {
  it("writes exactly what JSON.stringify writes, whatever the value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonText(value)).toBe(JSON.stringify(value));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("writes a value nested too deep for JSON.stringify, and JSON.parse reads it back", () => {
    const value = deep(10_000, { text: "x\u0000\ud800", n: 1.5, no: undefined });
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const text = jsonText(value);
    expect(nestingDepth(JSON.parse(text))).toBe(10_001);
    // The innermost part written as JSON.stringify writes it (escapes, undefined left out).
    expect(text).toContain(`{"a":${JSON.stringify({ text: "x\u0000\ud800", n: 1.5 })}}`);
  });

  it("still throws for what JSON cannot hold at all (a cycle)", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => jsonText(cycle)).toThrow(TypeError);
  });
});

describe("nestingDepth", () => {
  it.each([
    [1, 0],
    [{}, 1],
    [{ a: [1] }, 2],
    [[[], [[{}]]], 4],
  ])("%j is %i deep", (value, depth) => {
    expect(nestingDepth(value)).toBe(depth);
  });
});
