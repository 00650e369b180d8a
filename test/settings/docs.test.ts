import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { flagUsers } from "../../cli/flag-users.ts";
import type { FlagUsers } from "../../lib/settings/docs.ts";
import { settingsTable, withSettingsTable } from "../../lib/settings/docs.ts";
import { SETTINGS } from "../../lib/settings/schema.ts";
import { ROOT } from "../helpers/cli.ts";

describe("the README's configuration table", () => {
  const readme = readFileSync(`${ROOT}/README.md`, "utf8");
  let users: FlagUsers = new Map();
  beforeAll(async () => {
    users = await flagUsers();
  });

  it("is the one the schema and the commands generate (run `npm run docs:settings` after changing either)", () => {
    expect(withSettingsTable(readme, users)).toBe(readme);
  });

  it("lists with each flag exactly the commands that take it", () => {
    const table = settingsTable(users);
    expect(table).toMatch(/^\| `DATA_STREAM_NAMESPACE` +\| `--namespace` \(map\) +\|/m);
    for (const spec of Object.values(SETTINGS).filter((s) => s.flag))
      expect(users.get(spec.flag as string), spec.env).not.toHaveLength(0);
    // A flag named only by the schema, taken by no command, cannot be documented.
    expect(() => settingsTable(new Map())).toThrow(/no command takes/);
  });

  it("has one row per setting", () => {
    const table = settingsTable(users);
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
