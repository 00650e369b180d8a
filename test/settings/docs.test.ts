import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settingsTable, withSettingsTable } from "../../lib/settings/docs.ts";
import { SETTINGS } from "../../lib/settings/schema.ts";
import { ROOT } from "../helpers/cli.ts";

describe("the README's configuration table", () => {
  const readme = readFileSync(`${ROOT}/README.md`, "utf8");

  it("is the one the schema generates (run `npm run docs:settings` after changing a setting)", () => {
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it("has one row per setting", () => {
    const table = settingsTable();
    for (const spec of Object.values(SETTINGS))
      expect(table).toMatch(new RegExp(`^\\| \`${spec.env}\` +\\|`, "m"));
    expect(table.split("\n")).toHaveLength(Object.keys(SETTINGS).length + 2);
  });

  it("names no variable the schema does not know", () => {
    const known = new Set(Object.values(SETTINGS).map((s) => s.env));
    const mentioned = new Set(readme.match(/`[A-Z][A-Z0-9]*_[A-Z0-9_]+`/g)?.map((m) => m.slice(1, -1)));
    const strangers = [...mentioned].filter((name) => !known.has(name) && !name.startsWith("AWS_"));
    // Wildcards name groups of known settings; the live suites' own switches are documented with them.
    expect(strangers.filter((n) => !n.endsWith("_") && !["UPDATE_GOLDEN"].includes(n))).toStrictEqual([]);
  });
});

describe("the README's list of known services", () => {
  it("is the one the code knows", async () => {
    const { KNOWN_SERVICES } = await import("../../lib/jumpcloud/regions.ts");
    const readme = readFileSync(`${ROOT}/README.md`, "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`Known here: ${KNOWN_SERVICES.map((s) => `\`${s}\``).join(", ")}.`);
  });
});
