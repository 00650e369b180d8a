import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fixturePath } from "./helpers/fixtures.ts";

// The copied reference fixtures must stay byte-identical to their sources.
const sums = readFileSync(fixturePath("SHA256SUMS"), "utf8")
  .trim()
  .split("\n")
  .map((line) => line.split(/\s+/) as [string, string]);

describe("copied fixtures", () => {
  it.each(sums.map(([sum, file]) => [file, sum]))("%s is unchanged", (file, sum) => {
    expect(
      createHash("sha256")
        .update(readFileSync(fixturePath(file)))
        .digest("hex"),
    ).toBe(sum);
  });
});
