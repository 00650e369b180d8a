import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_ID } from "../../lib/kibana/fleet.ts";
import { rulePack } from "../../lib/kibana/rule-pack.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { KibanaEmulator } from "../../simulators/kibana/server.ts";
import { cliProcess, cli as inProcess } from "../helpers/cli.ts";

const ES_KEY = "es-key";
const KIBANA_KEY = "kibana-key";

describe("cli setup --kibana", () => {
  const es = new ElasticsearchEmulator({ authorizations: [`ApiKey ${ES_KEY}`] });
  const kibana = new KibanaEmulator({
    version: "8.19.5",
    spaces: ["soc"],
    credentials: {
      [ES_KEY]: { fleet: true, rules: true },
      [KIBANA_KEY]: { fleet: false, rules: true },
    },
  });
  let env: Record<string, string> = {};
  const pack = rulePack();

  beforeAll(async () => {
    env = {
      ELASTICSEARCH_URL: await es.start(),
      ELASTICSEARCH_API_KEY: ES_KEY,
      KIBANA_URL: await kibana.start(0),
    };
  });
  afterAll(async () => {
    await Promise.all([es.stop(), kibana.stop()]);
  });

  it("installs the dashboard and every rule with the Elasticsearch key, then finds nothing to do", async () => {
    const first = await inProcess(["setup", "--kibana"], { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Kibana 8.19.5 at ${env.KIBANA_URL} (space default)`);
    expect(first.stdout).toContain("integration: installed jumpcloud 1.22.0 through Fleet (assets only");
    expect(first.stdout).toContain(`dashboard: ${env.KIBANA_URL}/app/dashboards#/view/${DASHBOARD_ID}`);
    expect(first.stdout).toContain(
      `detection rules: ${pack.length} installed, 0 updated, 0 unchanged, 0 failed`,
    );
    expect(first.stdout).toMatch(/RESULT\s+SEVERITY\s+TYPE\s+ENABLED\s+RULE/);
    for (const rule of pack) expect(first.stdout).toContain(rule.name);

    const second = await inProcess(["setup", "--kibana", "--json"], { env });
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { kibana: { counts: unknown; integration: unknown } };
    expect(result.kibana.counts).toEqual({ installed: 0, updated: 0, unchanged: pack.length, failed: 0 });
    expect(result.kibana.integration).toMatchObject({ action: "unchanged", version: "1.22.0" });
    expect(kibana.installCount).toBe(1);
  });

  it("KIBANA_API_KEY and KIBANA_SPACE: Fleet's refusal is one line, the rules go in, exit 0", async () => {
    const { code, stdout } = await inProcess(["setup", "--kibana", "--enable-rules"], {
      env: { ...env, KIBANA_API_KEY: KIBANA_KEY, KIBANA_SPACE: "soc" },
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^integration not installed: Fleet refused .*403.*Fleet and Integrations "all" privileges$/m,
    );
    expect(stdout).toContain(`detection rules: ${pack.length} installed`);
    expect(kibana.rules("soc").every((r) => r.enabled)).toBe(true);
  });

  it.each([
    [["setup", "--enable-rules"], {}, 2, /^error: --enable-rules only with --kibana$/m],
    [
      ["setup", "--kibana", "--integration-version", "banana"],
      {},
      2,
      /^error: --integration-version must be a package version such as 1\.22\.0, not "banana"$/m,
    ],
    [["setup", "--kibana", "--no-integration", "--upgrade-integration"], {}, 2, /cannot be used with/],
    [["setup", "--kibana"], { KIBANA_URL: "" }, 2, /^error: set KIBANA_URL/m],
    [
      ["setup", "--kibana"],
      { KIBANA_URL: "http://kibana.example.com" },
      2,
      /^error: KIBANA_URL must use https/m,
    ],
    [
      ["setup", "--kibana"],
      { KIBANA_SPACE: "Nope Space" },
      2,
      /^error: KIBANA_SPACE must be a Kibana space id/m,
    ],
    [
      ["setup", "--kibana"],
      { KIBANA_SPACE: "nope" },
      1,
      /^error: Kibana has no space "nope": check KIBANA_SPACE/m,
    ],
    [
      ["setup", "--kibana"],
      { KIBANA_API_KEY: "wrong" },
      1,
      /^error: Kibana refused GET \/api\/status \(401: .*\): Kibana did not accept KIBANA_API_KEY/m,
    ],
  ])("%j with %j: exit %i, one line saying what to fix", async (args, extra, exit, message) => {
    const { code, stderr } = await inProcess(args, { env: { ...env, ...extra } });
    expect(stderr).toMatch(message);
    expect(code).toBe(exit);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain("wrong");
  });

  it("a Kibana the rules cannot run on is refused before the cluster is changed", async () => {
    const old = new KibanaEmulator({
      version: "8.5.3",
      credentials: { [ES_KEY]: { fleet: true, rules: true } },
    });
    const cluster = new ElasticsearchEmulator({ authorizations: [`ApiKey ${ES_KEY}`] });
    try {
      const { code, stderr } = await inProcess(["setup", "--kibana"], {
        env: { ...env, ELASTICSEARCH_URL: await cluster.start(), KIBANA_URL: await old.start(0) },
      });
      expect(stderr).toMatch(
        /^error: Kibana 8\.5\.3 is too old for the detection rules: they need 8\.6\.0 or later/m,
      );
      expect(code).toBe(1);
      expect(cluster.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD")).toEqual([]);
    } finally {
      await Promise.all([old.stop(), cluster.stop()]);
    }
  });

  it("an unreachable Kibana: one line naming it, exit 1", async () => {
    const { code, stderr } = await inProcess(["setup", "--kibana"], {
      env: { ...env, KIBANA_URL: "http://127.0.0.1:9" },
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: .*127\.0\.0\.1:9/m);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("runs as a process of its own", async () => {
    const { code, stdout } = await cliProcess(["setup", "--kibana", "--no-integration"], { env });
    expect(code).toBe(0);
    expect(stdout).toContain("integration: skipped (--no-integration)");
    expect(stdout).toContain(`0 installed, 0 updated, ${pack.length} unchanged, 0 failed`);
  });
});
