import { describe, expect, it } from "vitest";
import { addCounts, checkCounts, NO_COUNTS } from "../lib/counts.ts";
import { MapperInvocationError } from "../lib/errors.ts";

const counts = {
  received: 5,
  indexed: 3,
  duplicates: 1,
  deadLettered: 1,
  pipelineErrors: 2,
  withoutGeo: 0,
  withoutPipeline: 0,
};

describe("counts", () => {
  it("add up field by field, from nothing", () => {
    expect(addCounts(NO_COUNTS, counts)).toStrictEqual(counts);
    expect(addCounts(counts, counts)).toStrictEqual({
      received: 10,
      indexed: 6,
      duplicates: 2,
      deadLettered: 2,
      pipelineErrors: 4,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
  });

  it("are accepted when every event is accounted for, keeping only the counts", () => {
    expect(checkCounts({ ...counts, extra: "x" }, 5)).toStrictEqual(counts);
  });

  it.each([
    ["not an object", null],
    ["a missing field", { received: 5, indexed: 3, duplicates: 1, deadLettered: 1 }],
    ["a negative field", { ...counts, duplicates: -1, indexed: 5 }],
    ["a fraction", { ...counts, indexed: 2.5, duplicates: 1.5 }],
    ["a string", { ...counts, received: "5" }],
    ["a received count other than sent", { ...counts, received: 4 }],
    ["parts that do not add up", { ...counts, deadLettered: 0 }],
    ["more pipeline errors than indexed", { ...counts, pipelineErrors: 4 }],
  ])("are refused with %s", (_name, value) => {
    expect(() => checkCounts(value, 5)).toThrow(MapperInvocationError);
  });
});
