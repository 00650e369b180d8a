import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { withRulesTable } from "../../lib/kibana/rule-docs.ts";
import { rulePack } from "../../lib/kibana/rule-pack.ts";

describe("the README's detection rule table", () => {
  it("is the one the rule pack generates (run `npm run docs:rules` after changing a rule)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(withRulesTable(readme, rulePack())).toBe(readme);
  });

  it("lists every rule of the pack, at least 15, each with its type, severity and ATT&CK technique", () => {
    const pack = rulePack();
    expect(pack.length).toBeGreaterThanOrEqual(15);
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const rule of pack) {
      const row = readme.split("\n").find((line) => line.startsWith(`| ${rule.name} `));
      expect(row, rule.name).toMatch(
        /\| (query \(KQL\)|threshold|new terms|EQL sequence) +\| (low|medium|high|critical) \(\d+\)/,
      );
      expect(row).toContain(rule.threat[0]?.technique?.[0]?.id);
    }
  });
});
