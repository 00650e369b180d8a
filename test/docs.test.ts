import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.ts";

const FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)];

// GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");

function anchors(file: string): Set<string> {
  const text = readFileSync(join(ROOT, file), "utf8");
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] as string)));
}

describe("the documentation", () => {
  it.each(FILES)("%s: every relative link leads to a file (and heading) in the repository", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^https?:/.test(target as string)) continue;
      const [path, anchor] = (target as string).split("#");
      const resolved = path === "" ? file : join(dirname(file), path as string);
      expect(resolved, `${file} → ${target}`).not.toMatch(/^\.\./);
      expect(existsSync(join(ROOT, resolved)), `${file} → ${target}`).toBe(true);
      if (anchor) expect(anchors(resolved), `${file} → ${target}`).toContain(anchor);
    }
    expect(text).not.toContain("../shared");
  });

  it("starts the README with the two commands a newcomer types", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const [, block] = /```sh\n([\s\S]*?)```/.exec(readme) ?? [];
    expect(
      block
        ?.split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("#")[0]?.trim()),
    ).toStrictEqual(["npm ci && npm start", "npm ci && npm test"]);
  });
});
