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
    expect(first.stderr).toMatch(/and an attack in its last minutes/);
    expect(first.stdout).toMatch(/To see the detection rules fire: .* --attack --fresh --to-elasticsearch/);
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

    // As in a cluster, where the pipeline stamps event.ingested when the collection stores it (a
    // minute after the freeze, say): rules enabled before find all of it at their next run, be it
    // at once or a whole interval later (5 minutes; 10 for the spraying rule).
    const storedAt = frozenAt + 60_000;
    const ingested = docs.map((d) => ({
      ...d,
      event: { ...(d.event as object), ingested: new Date(storedAt).toISOString() },
    }));
    for (const [file, content] of Object.entries(RULE_FILES)) {
      const rule = content as Rule;
      const interval = Number(/^(\d+)m$/.exec(rule.interval)?.[1]) * 60_000;
      for (const runAt of [storedAt + 1_000, storedAt + interval - 1_000]) {
        const alerts = runRule(rule, ingested, { types, start: runAt, end: runAt });
        expect(
          alerts.length,
          `${file}, run ${(runAt - storedAt) / 1000} s after the collection`,
        ).toBeGreaterThan(0);
      }
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
