import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError, KibanaRequestError } from "../../lib/errors.ts";
import { defaultHttpSettings } from "../../lib/jumpcloud/http.ts";
import { KibanaClient } from "../../lib/kibana/client.ts";
import { DASHBOARD_ID, INTEGRATION_VERSION } from "../../lib/kibana/fleet.ts";
import { type DetectionRule, parseRulePack, rulePack } from "../../lib/kibana/rule-pack.ts";
import { setupKibana } from "../../lib/kibana/setup.ts";
import { silentLogger } from "../../lib/logger.ts";
import { KibanaEmulator, type KibanaEmulatorOptions } from "../../simulators/kibana/server.ts";

const KEY = "emulator-key";
const NO_RETRY = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 1_000 };

// Two rules of the pack's shape, small enough to change in a test.
const RULES: DetectionRule[] = [
  {
    rule_id: "0b0c7a43-9f4e-4c1a-8a55-3f8f2f1e0a01",
    version: 1,
    name: "Test rule A",
    description: "A query rule.",
    type: "query",
    language: "kuery",
    query: 'event.action: "admin_totp_disable"',
    index: ["logs-jumpcloud.events-*"],
    severity: "high",
    risk_score: 73,
    from: "now-15m",
    interval: "5m",
    false_positives: ["An administrator resetting their own factor."],
    note: "## Triage and analysis\n\nLook at `user.name`.",
    threat: [
      {
        framework: "MITRE ATT&CK",
        tactic: {
          id: "TA0005",
          name: "Defense Evasion",
          reference: "https://attack.mitre.org/tactics/TA0005/",
        },
        technique: [
          {
            id: "T1556",
            name: "Modify Authentication Process",
            reference: "https://attack.mitre.org/techniques/T1556/",
          },
        ],
      },
    ],
    tags: ["jumpcloud-elastic"],
  },
  {
    rule_id: "0b0c7a43-9f4e-4c1a-8a55-3f8f2f1e0a02",
    version: 1,
    name: "Test rule B",
    description: "A threshold rule.",
    type: "threshold",
    language: "kuery",
    query: 'event.action: "user_login_attempt" and event.outcome: "failure"',
    threshold: { field: ["user.name"], value: 10 },
    index: ["logs-jumpcloud.events-*"],
    severity: "medium",
    risk_score: 47,
    from: "now-15m",
    interval: "5m",
    false_positives: ["A script with an old password."],
    note: "## Triage and analysis\n\nLook at `source.ip`.",
    threat: [
      {
        framework: "MITRE ATT&CK",
        tactic: {
          id: "TA0006",
          name: "Credential Access",
          reference: "https://attack.mitre.org/tactics/TA0006/",
        },
        technique: [
          { id: "T1110", name: "Brute Force", reference: "https://attack.mitre.org/techniques/T1110/" },
        ],
      },
    ],
  },
];

describe("setup --kibana, against the Kibana emulator", () => {
  let kibana: KibanaEmulator;
  let url: string;

  async function start(options: KibanaEmulatorOptions = {}) {
    kibana = new KibanaEmulator({ version: "8.19.5", ...options });
    url = await kibana.start(0);
  }
  const client = (space?: string, key = KEY) =>
    new KibanaClient({
      url,
      space,
      authorization: `ApiKey ${key}`,
      credentialSource: "KIBANA_API_KEY",
      http: defaultHttpSettings({ retry: NO_RETRY, logger: silentLogger }),
    });

  beforeEach(async () => start());
  afterEach(async () => kibana.stop());

  it("installs the integration's assets and every rule, disabled; a second run changes nothing", async () => {
    const first = await setupKibana(client(), { rules: RULES });
    expect(first.kibana.version).toBe("8.19.5");
    expect(first.integration).toMatchObject({
      action: "installed",
      version: INTEGRATION_VERSION,
      dashboard: { present: true, url: `${url}/app/dashboards#/view/${DASHBOARD_ID}` },
    });
    expect(first.counts).toEqual({ installed: 2, updated: 0, unchanged: 0, failed: 0 });
    expect(kibana.rules().map((r) => r.enabled)).toEqual([false, false]);
    const revisions = kibana.rules().map((r) => r.revision);

    const second = await setupKibana(client(), { rules: RULES });
    expect(second.integration).toMatchObject({ action: "unchanged", version: INTEGRATION_VERSION });
    expect(second.counts).toEqual({ installed: 0, updated: 0, unchanged: 2, failed: 0 });
    expect(kibana.installCount).toBe(1);
    expect(kibana.rules().map((r) => r.revision)).toEqual(revisions);
    // Every change carried kbn-xsrf (the emulator refuses it otherwise) and the key.
    const changes = kibana.requests.filter((r) => r.method !== "GET");
    expect(changes.length).toBeGreaterThan(0);
    for (const r of kibana.requests) expect(r.headers.authorization).toBe(`ApiKey ${KEY}`);
  });

  it("the whole pack installs, and Kibana keeps it as sent: a rerun finds every rule unchanged", async () => {
    const pack = rulePack();
    const first = await setupKibana(client(), { rules: pack, integration: false });
    expect(first.rules.filter((r) => r.action === "failed")).toEqual([]);
    expect(first.counts.installed).toBe(pack.length);
    const second = await setupKibana(client(), { rules: pack, integration: false });
    expect(second.counts).toEqual({ installed: 0, updated: 0, unchanged: pack.length, failed: 0 });
  });

  it("updates a changed rule, keeping what the user set in Kibana (enabled, exceptions)", async () => {
    await setupKibana(client(), { rules: RULES, enableRules: "all" });
    expect(kibana.rules().every((r) => r.enabled)).toBe(true);
    const changed = RULES.map((r, i) =>
      i === 0 ? { ...r, version: 2, query: 'event.action: "totp_delete_enrollment"' } : r,
    );
    const result = await setupKibana(client(), { rules: changed });
    expect(result.rules.map((r) => r.action)).toEqual(["updated", "unchanged"]);
    const stored = kibana.rules().find((r) => r.rule_id === RULES[0]?.rule_id);
    expect(stored).toMatchObject({
      version: 2,
      enabled: true,
      query: 'event.action: "totp_delete_enrollment"',
    });
  });

  it("--enable-rules (all) enables rules installed disabled; a deploy (new) leaves a rule someone disabled alone", async () => {
    await setupKibana(client(), { rules: RULES });
    const result = await setupKibana(client(), { rules: RULES, enableRules: "all" });
    expect(result.rules.map((r) => [r.action, r.enabled])).toEqual([
      ["updated", true],
      ["updated", true],
    ]);
    // Someone disables rule B in Kibana; the pack changes rule B; a deploy enabling new rules runs.
    const stored = kibana.rules().find((r) => r.rule_id === RULES[1]?.rule_id) as { enabled: boolean };
    stored.enabled = false;
    const changed = RULES.map((r, i) =>
      i === 1 ? { ...r, version: 2, description: "A threshold rule, v2." } : r,
    );
    const deploy = await setupKibana(client(), { rules: changed, enableRules: "new" });
    expect(deploy.rules.map((r) => [r.action, r.enabled])).toEqual([
      ["unchanged", true],
      ["updated", false],
    ]);
  });

  it("a key that may not read rules (403): the rules part says so, the dashboard still goes in", async () => {
    await kibana.stop();
    await start({ credentials: { [KEY]: { fleet: true, rules: false } } });
    const result = await setupKibana(client(), { rules: RULES });
    expect(result.rules).toEqual([]);
    expect(result.rulesError).toMatch(
      /^Kibana refused .*\(403: .*\): KIBANA_API_KEY lacks a Kibana privilege/,
    );
    expect(result.rulesError).not.toContain("filter=");
    expect(result.integration).toMatchObject({ action: "installed" });
  });

  it("refuses a Kibana older than the rules need, before changing anything", async () => {
    await kibana.stop();
    await start({ version: "8.5.3" });
    await expect(setupKibana(client(), { rules: RULES })).rejects.toThrow(
      /^Kibana 8\.5\.3 is too old for the detection rules: they need 8\.6\.0 or later/,
    );
    expect(kibana.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("reports each rule Kibana refuses, with its message, and installs the others", async () => {
    const broken = { ...RULES[1], threshold: { field: ["user.name"], value: 0 } } as DetectionRule;
    const result = await setupKibana(client(), {
      rules: [RULES[0] as DetectionRule, broken],
      integration: false,
    });
    expect(result.rules.map((r) => r.action)).toEqual(["installed", "failed"]);
    expect(result.rules[1]?.error).toMatch(/^400: .*threshold/);
  });

  it("Fleet refused (403): one reason naming Fleet, and the rules still go in", async () => {
    await kibana.stop();
    await start({ credentials: { [KEY]: { fleet: false, rules: true } } });
    const result = await setupKibana(client(), { rules: RULES });
    expect(result.integration).toMatchObject({ action: "unavailable" });
    expect(result.integration?.action === "unavailable" && result.integration.reason).toMatch(
      /^Fleet refused .*403.*Fleet and Integrations "all"/,
    );
    expect(result.counts.installed).toBe(2);
  });

  it("Fleet without its package registry: says so, and the rules still go in", async () => {
    await kibana.stop();
    await start({ registry: false });
    const result = await setupKibana(client(), { rules: RULES });
    expect(result.integration?.action === "unavailable" && result.integration.reason).toMatch(/registry/);
    expect(result.counts.installed).toBe(2);
  });

  it("upgrades to the registry's latest only when asked, and never downgrades", async () => {
    const latest = await setupKibana(client(), { rules: RULES, integration: { latest: true } });
    expect(latest.integration).toMatchObject({ action: "installed", version: "1.23.0" });
    const pinned = await setupKibana(client(), { rules: RULES });
    expect(pinned.integration).toMatchObject({ action: "newer-left-alone", version: "1.23.0" });
    expect(kibana.installedPackage()).toEqual({ name: "jumpcloud", version: "1.23.0" });
  });

  it("with a space, every call goes under /s/<space> and the dashboard URL says so", async () => {
    await kibana.stop();
    await start({ spaces: ["security"] });
    const result = await setupKibana(client("security"), { rules: RULES });
    // Every call under the space but the check that the space exists (a Kibana-wide API).
    const outside = kibana.requests.filter((r) => r.space !== "security").map((r) => r.path);
    expect(outside).toEqual(["/api/spaces/space/security"]);
    expect(result.integration).toMatchObject({
      dashboard: { url: `${url}/s/security/app/dashboards#/view/${DASHBOARD_ID}`, present: true },
    });
    expect(kibana.rules("security")).toHaveLength(2);
    expect(kibana.rules()).toHaveLength(0);
  });

  it("a space that does not exist, or a wrong key: one error saying what to fix", async () => {
    await expect(setupKibana(client("nope"), { rules: RULES })).rejects.toThrow(
      /^Kibana has no space "nope": check KIBANA_SPACE/,
    );
    expect(kibana.rules("nope")).toHaveLength(0);
    const refused = setupKibana(client(undefined, "wrong"), { rules: RULES });
    await expect(refused).rejects.toBeInstanceOf(KibanaRequestError);
    await expect(refused).rejects.toThrow(/401.*did not accept KIBANA_API_KEY/);
  });
});

describe("the rule pack's format, as setup reads it", () => {
  it("an edited rule that breaks it: one ConfigurationError line per problem, naming the file and key", () => {
    const good = rulePack()[0] as DetectionRule;
    const files = { "good.json": good, "bad.json": { ...good, severity: "urgent", false_positives: [] } };
    expect(() => parseRulePack(files)).toThrow(ConfigurationError);
    try {
      parseRulePack(files);
    } catch (error) {
      expect((error as ConfigurationError).problems).toEqual([
        expect.stringMatching(/^rules\/bad\.json: severity: .*\(see rules\/README\.md\)$/),
        expect.stringMatching(/^rules\/bad\.json: false_positives: /),
      ]);
    }
  });
});

describe("a Kibana that never answers", () => {
  it("is given the request's own time and attempts, then one error naming it", async () => {
    const { createServer } = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const client = new KibanaClient({
      url: `http://127.0.0.1:${port}`,
      authorization: `ApiKey ${KEY}`,
      credentialSource: "KIBANA_API_KEY",
      http: defaultHttpSettings({ logger: silentLogger, sleep: async () => {} }),
    });
    try {
      const started = Date.now();
      await expect(client.request("GET", "/api/status", { timeoutMs: 200, maxAttempts: 2 })).rejects.toThrow(
        /^Kibana GET \/api\/status failed after 2 attempt\(s\) .*no complete answer within 200 ms.*\(Kibana at 127\.0\.0\.1:\d+\)$/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
