import { describe, expect, it } from "vitest";
import { fakeAws, fakeSecrets } from "../helpers/aws.ts";
import { cliProcess, cli as inProcess } from "../helpers/cli.ts";

const cli = (args: string[], env: Record<string, string> = {}) => inProcess(args, { env });

describe("cli fetch", () => {
  it("pages a simulated tenant to NDJSON, filtered by service (as a process of its own)", async () => {
    const { code, stdout, stderr } = await cliProcess([
      "fetch",
      "--simulate",
      "--start",
      "6h",
      "--services",
      "sso,radius",
      "--limit",
      "40",
    ]);
    expect(code).toBe(0);
    const events = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThan(100);
    expect(new Set(events.map((e) => e.service))).toStrictEqual(new Set(["sso", "radius"]));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const pages = Number(/in (\d+) page/.exec(stderr)?.[1]);
    expect(pages).toBe(Math.floor(events.length / 40) + 1);
  });

  it.each([
    [["fetch"], {}, /^error: JumpCloud credentials are missing/],
    [
      ["fetch"],
      { JUMPCLOUD_API_KEY: "k", JUMPCLOUD_API_URL: "http://api.example.com" },
      /^error: JUMPCLOUD_API_URL must use https/,
    ],
    [["fetch", "--simulate", "--start", "yesterday"], {}, /^error: --start must be an ISO 8601 time/],
    [
      ["fetch", "--simulate", "--start", "1h", "--end", "2h"],
      {},
      /^error: --start \(.*\) must be before --end/,
    ],
    [
      ["fetch", "--simulate", "--limit", "20000"],
      {},
      /^error: --limit must be a whole number from 1 to 10000, not "20000"$/m,
    ],
    [
      ["fetch", "--simulate", "--limit", "abc"],
      {},
      /^error: --limit must be a whole number from 1 to 10000, not "abc"$/m,
    ],
    [
      ["fetch", "--services", "all,sso"],
      { JUMPCLOUD_API_KEY: "k" },
      /^error: --services cannot combine `all`/,
    ],
    [
      ["fetch"],
      { JUMPCLOUD_API_KEY: "k", JUMPCLOUD_SERVICES: "all,sso" },
      /^error: JUMPCLOUD_SERVICES cannot combine/,
    ],
    [
      ["fetch", "--start", "soon"],
      { PAGE_LIMIT: "0", JUMPCLOUD_TIMEOUT: "x" },
      /invalid configuration:\n {2}- JUMPCLOUD_TIMEOUT[\s\S]*- PAGE_LIMIT[\s\S]*credentials are missing[\s\S]*- --start/,
    ],
  ])("fails clearly, with exit status 2: %j", async (args, env, message) => {
    const { code, stderr, stdout } = await cli(args, env as Record<string, string>);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a service Directory Insights does not have, before any request", async () => {
    const { code, stderr } = await cli(["fetch", "--simulate", "--services", "bogus"]);
    expect(stderr).toMatch(/^error: --services: bogus is not a Directory Insights service/m);
    expect(code).toBe(2);
  });
});

describe("cli setup", () => {
  it("installs the template once, then reports it up to date, and fails clearly on refused credentials", async () => {
    const { ElasticsearchEmulator } = await import("../../simulators/elasticsearch/server.ts");
    const es = new ElasticsearchEmulator({ authorizations: ["ApiKey k1"] });
    const url = await es.start();
    try {
      const first = await cliProcess(["setup"], {
        env: { ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: "k1" },
      });
      expect(first.stdout).toMatch(/^installed the index template: jumpcloud-elastic-logs-jumpcloud\.events/);
      const second = await cli(["setup"], { ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: "k1" });
      expect(second.stdout).toMatch(/up to date/);
      const json = await inProcess(["setup", "--json"], {
        env: { ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: "k1" },
      });
      expect(JSON.parse(json.stdout)).toMatchObject({
        action: "unchanged",
        template: "jumpcloud-elastic-logs-jumpcloud.events",
      });
      const refused = await cli(["setup"], { ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: "nope" });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: setting up the index template failed: status 401/);
      expect(refused.stderr).not.toContain("nope");
    } finally {
      await es.stop();
    }
  });

  it.each([
    [
      {},
      /^error: set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID \(or ELASTICSEARCH_SECRET_ARN with a url in the secret\)$/m,
    ],
    [{ ELASTICSEARCH_CLOUD_ID: "garbage" }, /^error: ELASTICSEARCH_CLOUD_ID must be a Cloud ID/m],
    [
      { ELASTICSEARCH_URL: "https://es.example.com", ELASTICSEARCH_SECRET_ARN: "es" },
      /^error: ELASTICSEARCH_SECRET_ARN must be a Secrets Manager secret ARN/m,
    ],
    [
      { ELASTICSEARCH_URL: "https://es.example.com", ELASTICSEARCH_CA_CERT: "/nope/ca.pem" },
      /^error: ELASTICSEARCH_CA_CERT: cannot read \/nope\/ca\.pem \(ENOENT\)$/m,
    ],
  ])("fails clearly on configuration, exit 2: %j", async (env, message) => {
    const { code, stderr } = await cli(["setup"], env);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
  it("names what to fix when a secret cannot be read (no AWS credentials here), exit 2", async () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es-AbCdEf";
    const { code, stderr } = await inProcess(["setup"], {
      env: { ELASTICSEARCH_URL: "https://es.example.com", ELASTICSEARCH_SECRET_ARN: arn },
      aws: fakeAws({ secrets: fakeSecrets([{ errorName: "CredentialsProviderError" }]).client }),
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `error: cannot read the secret ${arn}: no AWS credentials (set AWS_PROFILE, or run where a role provides them)\n`,
    );
  });
});
