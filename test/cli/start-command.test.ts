import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { cli, cliProcess, ROOT } from "../helpers/cli.ts";

const SIMULATED = "logs-jumpcloud.events-simulated";
const fresh = () => mkdtempSync(join(tmpdir(), "newcomer-"));
const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "");

describe("start (npm start)", () => {
  it("on a fresh folder: collects the simulated tenant into ./out with a summary; again: nothing new", async () => {
    const cwd = fresh();
    const first = await cliProcess(["start"], { cwd });
    expect(first.stderr).not.toMatch(/error|warn/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^org\s+status\s+windows\s+fetched\s+indexed\s+duplicates\s+dead letters/m);
    const total = /^total\s+ok\s+(\d+)\s+(\d+)\s+(\d+)\s+0\s+0$/m.exec(first.stdout);
    expect(Number(total?.[2])).toBeGreaterThan(1_900);
    expect(total?.[3]).toBe(total?.[2]);
    expect(first.stdout).toMatch(
      /^elapsed \d+\.\d s; documents: out\/logs-jumpcloud\.events-simulated\.ndjson/m,
    );
    const docs = lines(join(cwd, "out", `${SIMULATED}.ndjson`));
    expect(docs).toHaveLength(Number(total?.[3]));
    expect(lines(join(cwd, "out", `${SIMULATED}.bulk.ndjson`))).toHaveLength(2 * docs.length);
    // GeoIP from MaxMind's test databases: some documents are enriched.
    expect(docs.some((l) => JSON.parse(l)._source.source?.geo?.country_iso_code)).toBe(true);

    // The tenant is frozen with the simulation's checkpoint: a second run finds nothing new.
    const second = await cli(["start", "--json"], { cwd });
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.total.indexed).toBe(0);
    expect(report.total.duplicates).toBe(report.total.fetched);
    expect(lines(join(cwd, "out", `${SIMULATED}.ndjson`))).toHaveLength(docs.length);
    expect(second.stderr).toMatch(/simulated JumpCloud tenant from \.jumpcloud-elastic\/simulated/);

    // Much later, the cursor is past the tenant's frozen end: the next window starts after it.
    const tenantFile = join(cwd, ".jumpcloud-elastic", "simulated", "tenant.json");
    const definition = JSON.parse(readFileSync(tenantFile, "utf8"));
    writeFileSync(
      tenantFile,
      JSON.stringify({ ...definition, frozenAt: definition.frozenAt - 2 * 3_600_000 }),
    );
    const later = await cli(["start", "--json"], { cwd });
    expect(later.stderr).not.toMatch(/error|FAILED/);
    expect(later.code).toBe(0);
    expect(JSON.parse(later.stdout).total.indexed).toBe(0);

    // --fresh: a new tenant, collected again from its start.
    const renewed = await cli(["start", "--fresh", "--json"], { cwd });
    const indexed = JSON.parse(renewed.stdout).total.indexed;
    expect(indexed).toBeGreaterThan(1_900);
    // The old tenant's documents are gone from the output, not mixed with the new one's.
    expect(lines(join(cwd, "out", `${SIMULATED}.ndjson`))).toHaveLength(indexed);
  });

  it("ignores a cluster in the environment unless told, and says so; --to-elasticsearch sends there", async () => {
    const cwd = fresh();
    const es = new ElasticsearchEmulator();
    const url = await es.start();
    try {
      const ignored = await cli(["start", "--json"], { cwd, env: { ELASTICSEARCH_URL: url } });
      expect(ignored.code).toBe(0);
      expect(ignored.stderr).toMatch(/ELASTICSEARCH_URL ignored: add --to-elasticsearch/);
      expect(es.documents(SIMULATED)).toHaveLength(0);

      // The files already hold the tenant: the cluster has a checkpoint of its own, and gets it all,
      // even when its first run comes long after the tenant was made (here, as if 30 minutes later).
      const tenantFile = join(cwd, ".jumpcloud-elastic", "simulated", "tenant.json");
      const tenant = JSON.parse(readFileSync(tenantFile, "utf8"));
      writeFileSync(tenantFile, JSON.stringify({ ...tenant, frozenAt: tenant.frozenAt - 30 * 60_000 }));
      const sent = await cli(["start", "--to-elasticsearch", "--json"], {
        cwd,
        env: { ELASTICSEARCH_URL: url },
      });
      expect(sent.stderr).not.toMatch(/error/);
      expect(sent.code).toBe(0);
      const { total, destination } = JSON.parse(sent.stdout);
      expect(destination).toBe(SIMULATED);
      expect(total.indexed).toBeGreaterThan(1_900);
      expect(es.documents(SIMULATED)).toHaveLength(total.indexed);
      expect(total.indexed).toBe(lines(join(cwd, "out", `${SIMULATED}.ndjson`)).length);
      expect(es.documents("logs-jumpcloud.events-default")).toHaveLength(0);
      expect(sent.stderr).toMatch(/index template: installed/);
      // Both simulated checkpoints, files and cluster, are shown by status --simulate.
      const status = JSON.parse((await cli(["status", "--simulate", "--json"], { cwd })).stdout);
      expect(status.stores.map((s: { store: string }) => s.store)).toStrictEqual([
        ".jumpcloud-elastic/simulated/checkpoints.json",
        ".jumpcloud-elastic/simulated/checkpoints-elasticsearch.json",
      ]);
      expect(status.stores.every((s: { checkpoints: unknown[] }) => s.checkpoints.length === 1)).toBe(true);
      expect((await cli(["unlock", "--simulate"], { cwd })).stdout).toMatch(
        /^no lease held in .*checkpoints\.json, .*checkpoints-elasticsearch\.json/,
      );
    } finally {
      await es.stop();
    }
  });
});

describe("run --simulate", () => {
  it("never touches a real checkpoint, and refuses a real cluster unless told", async () => {
    const cwd = fresh();
    mkdirSync(join(cwd, "real"));
    const real = join(cwd, "real", "checkpoints.json");
    const held = `${JSON.stringify({ "default#all#scheduled": { key: "default#all#scheduled", cursor: 1, version: 9 } })}\n`;
    writeFileSync(real, held);
    const env = { CHECKPOINT_FILE: real, JUMPCLOUD_API_KEY: "a-real-key" };

    const { code, stdout } = await cli(["run", "--once", "--simulate", "--json"], { cwd, env });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).total.indexed).toBeGreaterThan(1_900);
    expect(readFileSync(real, "utf8")).toBe(held);
    expect(existsSync(join(cwd, ".jumpcloud-elastic", "simulated", "checkpoints.json"))).toBe(true);
    expect(existsSync(join(cwd, "out", `${SIMULATED}.ndjson`))).toBe(true);
    expect(existsSync(join(cwd, ".jumpcloud-elastic", "out"))).toBe(false);

    const again = await cli(["run", "--once", "--simulate", "--json"], { cwd, env });
    expect(JSON.parse(again.stdout).total.indexed).toBe(0);

    const refused = await cli(["run", "--once", "--simulate"], {
      cwd,
      env: { ...env, ELASTICSEARCH_URL: "https://real-cluster.example.com", ELASTICSEARCH_API_KEY: "k" },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^error: run --simulate will not send simulated events to the cluster in ELASTICSEARCH_URL: unset it .* or add --to-elasticsearch/m,
    );
  });
});

describe("--version and help", () => {
  it("runs as an installed bin (npx jumpcloud-elastic)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(ROOT, "bin", "jumpcloud-elastic.js"),
      "--version",
    ]);
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(stdout).toBe(`${version}\n`);
  });

  it("prints the version, and a short hint after a wrong flag", async () => {
    const version = await cli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const wrong = await cli(["run", "--onse"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /unknown option '--onse'\n\(Did you mean --once\?\)\n\(add --help for usage\)\n$/,
    );
  });
});
