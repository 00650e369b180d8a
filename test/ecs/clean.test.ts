import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withoutEmpty, withoutEmptyInPlace } from "../../lib/ecs/clean.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";

const member = fc.oneof(fc.constantFrom("", null), fc.jsonValue());

describe("withoutEmptyInPlace", () => {
  it("leaves what withoutEmpty returns, holes aside, and says whether there are holes", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), member), (object) => {
        const text = JSON.stringify(object);
        const copied = withoutEmpty(JSON.parse(text));
        const inPlace = JSON.parse(text) as JsonObject;
        const cleaning = withoutEmptyInPlace(inPlace);
        if (copied === undefined) {
          expect(cleaning).toBe("empty");
          return;
        }
        // JSON text drops `undefined`, as the mapper's rebuild does.
        expect(JSON.stringify(inPlace)).toBe(JSON.stringify(copied));
        expect(cleaning).toBe(Object.values(inPlace).includes(undefined) ? "holes" : "whole");
      }),
    );
  });

  it("cleans a member named __proto__ as its own property", () => {
    const object = JSON.parse('{"__proto__":"","a":{"__proto__":null,"b":1}}') as JsonObject;
    expect(withoutEmptyInPlace(object)).toBe("holes");
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(JSON.stringify(object)).toBe('{"a":{"b":1}}');
  });
});
