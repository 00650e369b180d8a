import { describe, expect, it } from "vitest";
import { type ChaosResult, describeScenario, generateScenario, runScenario } from "./chaos.ts";

// A fixed set of seeds in CI; `npm run test:chaos -- --seeds 500` runs as many as asked.
const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

describe("chaos: random fault mixes and cut-offs, every invariant after each", () => {
  it("makes the same scenario from the same seed", () => {
    expect(describeScenario(generateScenario(7))).toBe(describeScenario(generateScenario(7)));
    expect(describeScenario(generateScenario(7))).not.toBe(describeScenario(generateScenario(8)));
  });

  const served: ChaosResult["served"][] = [];

  it.each(SEEDS)("seed %i", async (seed) => {
    const result = await runScenario(generateScenario(seed));
    served.push(result.served);
    expect(
      result.violations,
      `${describeScenario(result.scenario)}\n${result.tail.join("\n")}`,
    ).toStrictEqual([]);
  });

  // Chaos that never hits anything proves nothing: the CI seeds must fail, cut and kill runs.
  it("the seeds above served faults, and failed, cut off and killed runs", () => {
    const total = (key: keyof ChaosResult["served"]) => served.reduce((n, s) => n + s[key], 0);
    expect(served).toHaveLength(SEEDS.length);
    expect(total("jumpcloudFaults")).toBeGreaterThan(10);
    expect(total("mapperFaults")).toBeGreaterThan(2);
    expect(total("failedRuns")).toBeGreaterThan(5);
    expect(total("cutOff")).toBeGreaterThan(5);
    expect(total("killed")).toBeGreaterThan(0);
  });
});
