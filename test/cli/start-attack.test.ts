import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RULE_FILES } from "../../rules/index.ts";
import { cli } from "../helpers/cli.ts";
import { type Rule, runRule, templateFieldTypes } from "../helpers/detection/index.ts";

const HOUR = 3_600_000;
const documents = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l)._source as Record<string, unknown>);

// The whole path a user takes: the simulator serves the attack, the collector pages through it,
// the mapper (with MaxMind's test databases) writes it; every rule of the pack then alerts on the
// documents written, run as Kibana runs it over the attack's last hours, and in a single run
// shortly after the collection (the README's "See them fire").
describe("npm start -- --attack", () => {
  it("collects an attacked tenant in which every detection rule finds something; again: nothing new", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "attack-"));
    const first = await cli(["start", "--attack"], { cwd });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/and an attack in its last two hours/);
    expect(first.stdout).toMatch(/To see the detection rules fire: add --to-elasticsearch/);
    const docs = documents(join(cwd, "out", "logs-jumpcloud.events-simulated.ndjson"));
    const { frozenAt } = JSON.parse(
      readFileSync(join(cwd, ".jumpcloud-elastic", "simulated", "tenant.json"), "utf8"),
    ) as { frozenAt: number; attack: boolean };
    const types = templateFieldTypes();
    const silent = Object.entries(RULE_FILES)
      .filter(
        ([, rule]) =>
          runRule(rule as Rule, docs, { types, start: frozenAt - 2 * HOUR, end: frozenAt }).length === 0,
      )
      .map(([file]) => file);
    expect(silent).toEqual([]);

    // As in a cluster, where the pipeline stamps event.ingested at collection: rules enabled
    // before the attack is collected find all of it at their next run, at most one interval later.
    const ingested = docs.map((d) => ({
      ...d,
      event: { ...(d.event as object), ingested: new Date(frozenAt + 5_000).toISOString() },
    }));
    for (const runAt of [frozenAt + 10_000, frozenAt + 5 * 60_000]) {
      const missed = Object.entries(RULE_FILES)
        .filter(
          ([, rule]) => runRule(rule as Rule, ingested, { types, start: runAt, end: runAt }).length === 0,
        )
        .map(([file]) => file);
      expect(missed, `a run ${(runAt - frozenAt) / 1000} s after the collection`).toEqual([]);
    }

    const second = await cli(["start", "--attack", "--json"], { cwd });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).total.indexed).toBe(0);
  });

  it("after a plain npm start, --attack makes a new tenant and its documents alone (no mix of the two)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "attack-after-"));
    const plain = await cli(["start", "--json"], { cwd });
    const attacked = await cli(["start", "--attack", "--json"], { cwd });
    expect(attacked.stderr).toMatch(/tenant created: .* and an attack/);
    const written = documents(join(cwd, "out", "logs-jumpcloud.events-simulated.ndjson"));
    expect(written).toHaveLength(JSON.parse(attacked.stdout).total.indexed);
    expect(written.length).toBeGreaterThan(JSON.parse(plain.stdout).total.indexed);
  });
});
