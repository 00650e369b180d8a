import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { brokenRuleFile, COMMANDS, commandsToLoad, createProgram } from "../../cli/program.ts";
import { cli } from "../helpers/cli.ts";
import { fixturePath } from "../helpers/fixtures.ts";

// Each command module records that it was imported, then is itself.
const { imported, recorded } = vi.hoisted(() => {
  const imported = new Set<string>();
  const recorded = (name: string) => async (importOriginal: () => Promise<unknown>) => {
    imported.add(name);
    return importOriginal();
  };
  return { imported, recorded };
});
vi.mock("../../cli/start-command.ts", recorded("start"));
vi.mock("../../cli/map-command.ts", recorded("map"));
vi.mock("../../cli/fetch-command.ts", recorded("fetch"));
vi.mock("../../cli/setup-command.ts", recorded("setup"));
vi.mock("../../cli/doctor-command.ts", recorded("doctor"));
vi.mock("../../cli/run-command.ts", recorded("run"));
vi.mock("../../cli/replay-command.ts", recorded("replay, backfill"));
vi.mock("../../cli/status-command.ts", recorded("status"));
vi.mock("../../cli/unlock-command.ts", recorded("unlock"));
vi.mock("../../cli/invoke-replay-command.ts", recorded("invoke-replay"));
vi.mock("../../cli/redrive-command.ts", recorded("redrive"));

const seams = {
  env: {},
  io: { write: async () => {}, log: () => {}, readStdin: async () => "" },
  signals: { listen: () => () => {} },
};
const ALL = COMMANDS.map((c) => c.name);

// Tests run in order: the imports each one sees are those it caused.
describe("the CLI loads only the command it runs", () => {
  it("lists every command without importing any (help, version, a typo)", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ALL) expect(help.stdout).toContain(`  ${name} `);
    expect((await cli(["--version"])).code).toBe(0);
    const typo = await cli(["mpa"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean map?)");
    const json = await cli(["mpa", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { kind: "usage", exitCode: 2 } });
    expect([...imported]).toStrictEqual([]);
  });

  it("imports the map command's module alone to map an event", async () => {
    const event = JSON.parse(
      readFileSync(fixturePath("jumpcloud-samples/jumpcloud_api_doc_examples.json"), "utf8"),
    ).events[0];
    const result = await cli(["map", "--format", "docs"], { stdin: `${JSON.stringify(event)}\n` });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ data_stream: { dataset: "jumpcloud.events" } });
    expect([...imported]).toStrictEqual(["map"]);
  });

  it("imports the command `help` names, to show its own options", async () => {
    const help = await cli(["help", "doctor"]);
    expect(help.stdout).toContain("Usage: jumpcloud-elastic doctor [options]");
    expect([...imported]).toStrictEqual(["map", "doctor"]);
  });
});

describe("the command list", () => {
  it("shows each command as its own module describes it", async () => {
    const lazy = await createProgram(seams);
    const loaded = await createProgram(seams, { load: ALL });
    expect(lazy.helpInformation()).toBe(loaded.helpInformation());
    for (const command of loaded.commands) {
      const listed = lazy.commands.find((c) => c.name() === command.name());
      expect(listed?.description()).toBe(command.description());
      expect(listed?.usage()).toBe(command.usage());
    }
    expect(loaded.commands.filter((c) => c.options.length > 1).length).toBeGreaterThan(0);
  });

  it.each([
    [["map", "events.json"], ["map"]],
    [["--json", "status"], ["status"]],
    [["help", "doctor"], ["doctor"]],
    [["--", "run", "--once"], ["run"]],
    [["--help"], []],
    [["mpa"], []],
    [["help"], []],
    [["-", "map"], []],
  ])("%j loads %j", (args, names) => {
    expect(commandsToLoad(args)).toStrictEqual(names);
  });
});

describe("a rule file edited into invalid JSON", () => {
  it("is one line naming the file and the spot, not an unexpected error", () => {
    const error = Object.assign(
      new Error(
        "Transform failed with 1 error:\n/repo/rules/jumpcloud-ip-list-changed.json:2:0: ERROR: Expected string in JSON but found end of file",
      ),
      { name: "TransformError" },
    );
    expect(brokenRuleFile(error)).toBe(
      "rules/jumpcloud-ip-list-changed.json is not valid JSON at line 2, column 0: Expected string in JSON but found end of file (see rules/README.md)",
    );
    expect(brokenRuleFile(new Error("rules/x.json:1:1: ERROR: y"))).toBeUndefined();
  });
});
