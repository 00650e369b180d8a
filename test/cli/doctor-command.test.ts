import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbCheckpointStore } from "../../lib/collect/dynamodb-checkpoint-store.ts";
import { TEMPLATE_NAME } from "../../lib/elasticsearch/template.ts";
import { ElasticsearchEmulator, type EsEmulatorOptions } from "../../simulators/elasticsearch/server.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { fakeAws } from "../helpers/aws.ts";
import { cliProcess, cli as inProcess } from "../helpers/cli.ts";
import { startDynalite } from "../helpers/dynalite.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { closedPort } from "../helpers/ports.ts";

const ORG_A = "5e00000000000000000000a1";
const ORG_B = "5e00000000000000000000b2";
const ORG_FORBIDDEN = "5e00000000000000000000c3";
const KEY = "doctor-test-key";
const MSP_KEY = "doctor-msp-key";
const NOW = Date.now();
// Every event lies well inside the doctor's "last hour", however long the tests take.
const EVENTS = { A: 37, B: 1_234 };

let jumpcloud: JumpcloudSimulator;
let es: ElasticsearchEmulator;
let scratch: string;
let base: Record<string, string>;

function tenant(orgId: string, count: number, seed: number) {
  const events = generateTenantEvents({
    seed,
    start: NOW - 40 * 60_000,
    end: NOW - 20 * 60_000,
    count,
    organization: orgId,
  });
  return { orgId, events };
}

const GEOIP_FILES = {
  GEOIP_CITY_DB: fixturePath("geoip/GeoLite2-City-Test.mmdb"),
  GEOIP_ASN_DB: fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
};

async function emulator(options: EsEmulatorOptions = {}, setup = true): Promise<ElasticsearchEmulator> {
  const started = new ElasticsearchEmulator(options);
  const url = await started.start();
  if (setup) {
    const key = options.authorizations?.[0]?.replace(/^ApiKey /, "");
    // With the GeoIP settings the checks use: setup installs the pipeline of that mode.
    const done = await inProcess(["setup"], {
      env: { ELASTICSEARCH_URL: url, ...GEOIP_FILES, ...(key && { ELASTICSEARCH_API_KEY: key }) },
    });
    expect(done.code).toBe(0);
  }
  return started;
}

async function doctor(env: Record<string, string | undefined>, options: { json?: boolean } = {}) {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const result = await inProcess(["doctor", ...(options.json ? ["--json"] : [])], { env: defined });
  const line = (name: string) => result.stdout.split("\n").find((l) => l.slice(2).startsWith(`${name}:`));
  return { ...result, line };
}

beforeAll(async () => {
  jumpcloud = new JumpcloudSimulator({
    tenants: [tenant(ORG_A, EVENTS.A, 1), tenant(ORG_B, EVENTS.B, 2), tenant(ORG_FORBIDDEN, 5, 3)],
    keys: [
      { key: KEY, orgs: [ORG_A] },
      { key: MSP_KEY, orgs: [ORG_A, ORG_B], requiresOrgHeader: true },
    ],
    now: () => NOW,
  });
  es = await emulator();
  scratch = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-doctor-"));
  base = {
    JUMPCLOUD_API_URL: await jumpcloud.start(),
    JUMPCLOUD_API_KEY: KEY,
    ELASTICSEARCH_URL: es.url,
    ...GEOIP_FILES,
    CHECKPOINT_FILE: join(scratch, "state", "checkpoints.json"),
  };
});

afterAll(async () => {
  await jumpcloud.stop();
  await es.stop();
});

describe("cli doctor", () => {
  it("passes every check on a working setup, and exits 0", async () => {
    const { code, stdout, stderr, line } = await doctor(base);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(line("Configuration")).toBe("✓ Configuration: valid (JumpCloud credentials: JUMPCLOUD_API_KEY)");
    expect(line("JumpCloud")).toBe(`✓ JumpCloud: ${EVENTS.A} events in the last hour (the key's own org)`);
    expect(line("Elasticsearch")).toMatch(/^✓ Elasticsearch: 8\.15\.0 at 127\.0\.0\.1:\d+$/);
    expect(line("Elasticsearch privileges")).toBe(
      "✓ Elasticsearch privileges: create_doc, auto_configure, read on logs-jumpcloud.events-default; monitor, manage_index_templates, manage_pipeline",
    );
    expect(line("Index template")).toBe(`✓ Index template: ${TEMPLATE_NAME} is current`);
    expect(line("Ingest pipeline")).toMatch(
      /^✓ Ingest pipeline: jumpcloud-elastic-logs-jumpcloud\.events is current \(GEOIP=files; then global@custom, /,
    );
    // MaxMind's test databases were built in February 2026: old enough to be told to update.
    expect(line("GeoIP")).toMatch(
      /^! GeoIP: GEOIP=files: City GeoLite2-City built 2026-02-04 \(\d+ day\(s\) ago\): .*GeoLite2-City-Test\.mmdb, ASN GeoLite2-ASN built 2026-02-04 \(\d+ day\(s\) ago\): .*GeoLite2-ASN-Test\.mmdb — older than 30 days: update them \(`npm run cli -- geoip update --dir <folder>`/,
    );
    expect(line("Checkpoints")).toBe(
      `✓ Checkpoints: no checkpoint yet: the first run creates ${base.CHECKPOINT_FILE}`,
    );
    expect(line("Kibana")).toBe("- Kibana: skipped (no KIBANA_URL: only `setup --kibana` uses Kibana)");
    expect(stdout).toMatch(/\n\n9 checks: 7 passed, 1 warning\(s\), 1 skipped\n$/);
  });

  it("prints a JSON document with --json, and the error on stderr after it", async () => {
    const ok = await doctor(base, { json: true });
    expect(ok.code).toBe(0);
    const document = JSON.parse(ok.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    expect(document.ok).toBe(true);
    expect(document.checks.map((c) => [c.name, c.status])).toStrictEqual([
      ["Configuration", "pass"],
      ["JumpCloud", "pass"],
      ["Elasticsearch", "pass"],
      ["Elasticsearch privileges", "pass"],
      ["Index template", "pass"],
      ["Ingest pipeline", "pass"],
      ["GeoIP", "warn"],
      ["Checkpoints", "pass"],
      ["Kibana", "skip"],
    ]);

    const failed = await doctor({ ...base, JUMPCLOUD_API_KEY: "wrong-key" }, { json: true });
    expect(failed.code).toBe(1);
    const result = JSON.parse(failed.stdout) as {
      ok: boolean;
      checks: { name: string; status: string; detail: string; fix?: string }[];
    };
    expect(result.ok).toBe(false);
    expect(result.checks.find((c) => c.name === "JumpCloud")).toMatchObject({
      status: "fail",
      fix: "check JUMPCLOUD_API_KEY",
    });
    expect(JSON.parse(failed.stderr)).toMatchObject({ error: { kind: "failed", exitCode: 1 } });
  });

  it("names JUMPCLOUD_API_KEY when the key is refused, never the key itself", async () => {
    const { code, stderr, line } = await doctor({ ...base, JUMPCLOUD_API_KEY: "wrong-key" });
    expect(code).toBe(1);
    expect(line("JumpCloud")).toBe(
      "✗ JumpCloud: the credentials were refused (status 401: Unauthorized) — check JUMPCLOUD_API_KEY",
    );
    expect(stderr).toBe("error: 1 of 9 checks failed (JumpCloud): fix what the ✗ lines say\n");
    expect(line("Elasticsearch")).toMatch(/^✓/);
  });

  it("checks each org of JUMPCLOUD_ORG_IDS, and names the one the key cannot read", async () => {
    const { code, line } = await doctor({
      ...base,
      JUMPCLOUD_API_KEY: MSP_KEY,
      JUMPCLOUD_ORG_IDS: `${ORG_A},${ORG_B},${ORG_FORBIDDEN}`,
    });
    expect(code).toBe(1);
    expect(line(`JumpCloud org ${ORG_A}`)).toBe(
      `✓ JumpCloud org ${ORG_A}: ${EVENTS.A} events in the last hour (org ${ORG_A})`,
    );
    expect(line(`JumpCloud org ${ORG_B}`)).toBe(
      `✓ JumpCloud org ${ORG_B}: 1 234 events in the last hour (org ${ORG_B})`,
    );
    expect(line(`JumpCloud org ${ORG_FORBIDDEN}`)).toBe(
      `✗ JumpCloud org ${ORG_FORBIDDEN}: the credentials may not read org ${ORG_FORBIDDEN} (status 401: Unauthorized organization)` +
        ` — give the key access to org ${ORG_FORBIDDEN}, or remove it from JUMPCLOUD_ORG_IDS`,
    );
  });

  it("blames the key, and names the org, when no listed org is readable", async () => {
    const { line } = await doctor({ ...base, JUMPCLOUD_ORG_IDS: ORG_FORBIDDEN });
    expect(line(`JumpCloud org ${ORG_FORBIDDEN}`)).toBe(
      `✗ JumpCloud org ${ORG_FORBIDDEN}: the credentials were refused (status 401: Unauthorized organization)` +
        ` — check JUMPCLOUD_API_KEY, and that they may read org ${ORG_FORBIDDEN} (JUMPCLOUD_ORG_IDS)`,
    );
  });

  it("tells an MSP key without JUMPCLOUD_ORG_IDS to name its orgs", async () => {
    const { line } = await doctor({ ...base, JUMPCLOUD_API_KEY: MSP_KEY });
    expect(line("JumpCloud")).toMatch(
      /^✗ JumpCloud: .*x-org-id header is required.* — set JUMPCLOUD_ORG_IDS: this \(MSP\) key must name the orgs to read$/,
    );
  });

  it("refuses a service Directory Insights does not have, naming JUMPCLOUD_SERVICES", async () => {
    const { code, line } = await doctor({ ...base, JUMPCLOUD_SERVICES: "sso,teleport" });
    expect(code).toBe(1);
    expect(line("Configuration")).toMatch(
      /^✗ Configuration: JUMPCLOUD_SERVICES: teleport is not a Directory Insights service/,
    );
    expect(line("JumpCloud")).toMatch(/^- JumpCloud: skipped/);
  });

  it("names the host when JumpCloud cannot be reached, and asks only once for all orgs", async () => {
    const port = await closedPort();
    const { code, line } = await doctor({
      ...base,
      JUMPCLOUD_API_URL: `http://127.0.0.1:${port}/insights/directory/v1`,
      JUMPCLOUD_ORG_IDS: `${ORG_A},${ORG_B}`,
    });
    expect(code).toBe(1);
    expect(line(`JumpCloud org ${ORG_A}`)).toMatch(
      new RegExp(
        `^✗ JumpCloud org ${ORG_A}: .*network error ECONNREFUSED reaching 127\\.0\\.0\\.1:${port} — check that 127\\.0\\.0\\.1:${port} is reachable from here \\(JUMPCLOUD_API_URL, proxy, firewall\\)$`,
      ),
    );
    expect(line(`JumpCloud org ${ORG_B}`)).toBe(
      `- JumpCloud org ${ORG_B}: skipped (JumpCloud is unreachable)`,
    );
  });

  it("names the hosts that accept connections but never answer, within their timeouts", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const { code, line } = await doctor({
        ...base,
        JUMPCLOUD_API_URL: `http://127.0.0.1:${port}/insights/directory/v1`,
        JUMPCLOUD_TIMEOUT: "1s",
        ELASTICSEARCH_URL: `http://127.0.0.1:${port}`,
        ELASTICSEARCH_REQUEST_TIMEOUT: "300ms",
      });
      expect(code).toBe(1);
      expect(line("JumpCloud")).toMatch(
        new RegExp(
          `^✗ JumpCloud: .*no complete answer within 1000 ms reaching 127\\.0\\.0\\.1:${port} — check that`,
        ),
      );
      expect(line("Elasticsearch")).toBe(
        `✗ Elasticsearch: cannot reach 127.0.0.1:${port} (request timed out) — check that 127.0.0.1:${port} is reachable from here (ELASTICSEARCH_URL, proxy, firewall)`,
      );
    } finally {
      silent.close();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it("skips the Elasticsearch checks when no cluster is configured: documents go to NDJSON files", async () => {
    const { code, stdout } = await doctor({ ...base, ELASTICSEARCH_URL: undefined });
    expect(code).toBe(0);
    const why = "skipped (no ELASTICSEARCH_URL: `run` writes documents to NDJSON files)";
    expect(stdout).toContain(`- Elasticsearch: ${why}\n`);
    expect(stdout).toContain(`- Elasticsearch privileges: ${why}\n`);
    expect(stdout).toContain(`- Index template: ${why}\n`);
    expect(stdout).toContain(`- Ingest pipeline: ${why}\n`);
  });

  it("names a missing index privilege and fails; a missing cluster privilege only warns", async () => {
    const denied = await emulator({ deniedPrivileges: ["create_doc"] });
    const setupOnly = await emulator({ deniedPrivileges: ["manage_index_templates"] });
    try {
      const missing = await doctor({ ...base, ELASTICSEARCH_URL: denied.url, DATA_STREAM_NAMESPACE: "prod" });
      expect(missing.code).toBe(1);
      expect(missing.line("Elasticsearch privileges")).toMatch(
        /^✗ Elasticsearch privileges: missing create_doc on logs-jumpcloud\.events-prod — grant it to the API key's \(or user's\) role/,
      );
      const body = JSON.parse(denied.requests.find((r) => r.path.endsWith("/_has_privileges"))?.body ?? "{}");
      expect(body).toStrictEqual({
        cluster: ["monitor", "manage_index_templates", "manage_pipeline"],
        index: [
          { names: ["logs-jumpcloud.events-prod"], privileges: ["create_doc", "auto_configure", "read"] },
        ],
      });

      const warned = await doctor({ ...base, ELASTICSEARCH_URL: setupOnly.url });
      expect(warned.code).toBe(0);
      expect(warned.line("Elasticsearch privileges")).toMatch(
        /^! Elasticsearch privileges: create_doc, auto_configure, read on logs-jumpcloud\.events-default; missing manage_index_templates \(cluster\) — only `setup`/,
      );
    } finally {
      await denied.stop();
      await setupOnly.stop();
    }
  });

  it("warns when the key may not read the data stream (re-read events cannot be looked up)", async () => {
    const noRead = await emulator({ deniedPrivileges: ["read"] });
    try {
      const warned = await doctor({ ...base, ELASTICSEARCH_URL: noRead.url });
      expect(warned.code).toBe(0);
      expect(warned.line("Elasticsearch privileges")).toMatch(
        /^! Elasticsearch privileges: create_doc, auto_configure on logs-jumpcloud\.events-default; missing read — grant read on the data stream: without it, events read again .* may be stored twice/,
      );
    } finally {
      await noRead.stop();
    }
  });

  it("says to run setup when the template is absent or out of date", async () => {
    const fresh = await emulator({}, false);
    const old = await emulator(
      { indexTemplates: { [TEMPLATE_NAME]: { _meta: { managed_by: "jumpcloud-elastic", hash: "0123" } } } },
      false,
    );
    try {
      const absent = await doctor({ ...base, ELASTICSEARCH_URL: fresh.url });
      expect(absent.code).toBe(1);
      expect(absent.line("Index template")).toMatch(
        new RegExp(`^✗ Index template: ${TEMPLATE_NAME} is not installed — run \`setup\``),
      );
      const outdated = await doctor({ ...base, ELASTICSEARCH_URL: old.url });
      expect(outdated.line("Index template")).toMatch(
        /^✗ Index template: .* is out of date \(installed 0123, this version installs [0-9a-f]{16}\) — run `setup`/,
      );
    } finally {
      await fresh.stop();
      await old.stop();
    }
  });

  it("accepts Elastic's integration template in place of its own", async () => {
    const fleet = await emulator(
      { indexTemplates: { "logs-jumpcloud.events": { _meta: { package: { name: "jumpcloud" } } } } },
      true,
    );
    try {
      const { code, line } = await doctor({ ...base, ELASTICSEARCH_URL: fleet.url });
      expect(code).toBe(0);
      expect(fleet.indexTemplates.has(TEMPLATE_NAME)).toBe(false);
      expect(line("Index template")).toMatch(/^✓ Index template: Elastic's JumpCloud integration template/);
    } finally {
      await fleet.stop();
    }
  });

  it("names ELASTICSEARCH_API_KEY on 401, and skips what needs the connection", async () => {
    const secured = await emulator({ authorizations: ["ApiKey right"] });
    try {
      const { code, line, stdout } = await doctor({
        ...base,
        ELASTICSEARCH_URL: secured.url,
        ELASTICSEARCH_API_KEY: "wrong",
      });
      expect(code).toBe(1);
      expect(line("Elasticsearch")).toMatch(
        /^✗ Elasticsearch: credentials refused \(status 401 security_exception: unable to authenticate\) — check ELASTICSEARCH_API_KEY$/,
      );
      expect(line("Elasticsearch privileges")).toBe(
        "- Elasticsearch privileges: skipped (fix the connection first)",
      );
      expect(stdout).not.toContain("wrong");
      const noCa = await doctor({
        ...base,
        ELASTICSEARCH_URL: secured.url,
        ELASTICSEARCH_API_KEY: "right",
        ELASTICSEARCH_CA_CERT: join(scratch, "missing-ca.pem"),
      });
      expect(noCa.line("Elasticsearch")).toBe(
        `✗ Elasticsearch: ELASTICSEARCH_CA_CERT: cannot read ${join(scratch, "missing-ca.pem")} (ENOENT)`,
      );
      expect(noCa.line("Index template")).toBe("- Index template: skipped (fix the connection first)");
      const right = await doctor({ ...base, ELASTICSEARCH_URL: secured.url, ELASTICSEARCH_API_KEY: "right" });
      expect(right.code).toBe(0);
    } finally {
      await secured.stop();
    }
  });

  it("fails an Elasticsearch older than 8, names an unreachable cluster, and accepts one without security", async () => {
    const old = await emulator({ version: "7.17.22" }, false);
    const open = await emulator({ securityDisabled: true });
    const port = await closedPort();
    try {
      const tooOld = await doctor({ ...base, ELASTICSEARCH_URL: old.url });
      expect(tooOld.line("Elasticsearch")).toMatch(
        /^✗ Elasticsearch: Elasticsearch 7\.17\.22 at .* is not supported — upgrade the cluster to 8\.x or 9\.x/,
      );
      const gone = await doctor({ ...base, ELASTICSEARCH_URL: `http://127.0.0.1:${port}` });
      expect(gone.line("Elasticsearch")).toMatch(
        new RegExp(
          `^✗ Elasticsearch: cannot reach 127\\.0\\.0\\.1:${port} .* — check that 127\\.0\\.0\\.1:${port} is reachable from here \\(ELASTICSEARCH_URL`,
        ),
      );
      const unsecured = await doctor({ ...base, ELASTICSEARCH_URL: open.url });
      expect(unsecured.code).toBe(0);
      expect(unsecured.line("Elasticsearch privileges")).toBe(
        "✓ Elasticsearch privileges: security is off on this cluster: every request is allowed",
      );
    } finally {
      await old.stop();
      await open.stop();
    }
  });

  it("names a GeoIP file that is not a database; unset, enrichment is skipped", async () => {
    const garbage = join(scratch, "garbage.mmdb");
    writeFileSync(garbage, "this is not a MaxMind database");
    const bad = await doctor({ ...base, GEOIP_CITY_DB: garbage });
    expect(bad.code).toBe(1);
    expect(bad.line("GeoIP")).toMatch(
      new RegExp(
        `^✗ GeoIP: GEOIP_CITY_DB: ${garbage.replace(/[.\\]/g, "\\$&")} is not a MaxMind database — point it at`,
      ),
    );
    const none = await doctor({
      ...base,
      ELASTICSEARCH_URL: undefined,
      GEOIP_CITY_DB: undefined,
      GEOIP_ASN_DB: undefined,
    });
    expect(none.code).toBe(0);
    expect(none.line("GeoIP")).toBe(
      "- GeoIP: skipped (GEOIP_CITY_DB and GEOIP_ASN_DB not set: no enrichment)",
    );
    const off = await doctor({ ...base, GEOIP: "off", GEOIP_CITY_DB: undefined, GEOIP_ASN_DB: undefined });
    expect(off.line("GeoIP")).toBe("- GeoIP: skipped (GEOIP is off: no geo)");
    // The same pipeline as files mode (neither has geoip steps): installed by the setup above.
    expect(off.line("Ingest pipeline")).toMatch(
      /^✓ Ingest pipeline: jumpcloud-elastic-logs-jumpcloud\.events is current \(GEOIP=off;/,
    );
  });

  it("reports a configuration problem, still runs the checks it does not affect, and exits 1", async () => {
    const { code, line, stdout, stderr } = await doctor({
      ...base,
      PAGE_LIMIT: "abc",
      JUMPCLOUD_TIMEOUT: "soon",
    });
    expect(code).toBe(1);
    const configuration = stdout.split("\n").filter((l) => l.startsWith("✗ Configuration: "));
    expect(configuration).toHaveLength(2);
    expect(configuration[0]).toMatch(
      /^✗ Configuration: JUMPCLOUD_TIMEOUT must be a duration .*, not "soon"$/,
    );
    expect(configuration[1]).toMatch(/^✗ Configuration: PAGE_LIMIT must be .*, not "abc"$/);
    expect(line("JumpCloud")).toBe("- JumpCloud: skipped (fix configuration first)");
    expect(line("Elasticsearch")).toMatch(/^✓/);
    expect(stderr).toMatch(/^error: 2 of 10 checks failed \(Configuration\)/);
  });

  it("reports checkpoints and a held lease, and a file that cannot be written", async () => {
    const folder = mkdtempSync(join(scratch, "leased-"));
    const file = join(folder, "checkpoints.json");
    const until = NOW + 600_000;
    writeFileSync(
      file,
      JSON.stringify({
        a: { key: "a", cursor: 1, version: 3, done: false, leaseOwner: "cli-42", leaseExpiresAt: until },
        b: { key: "b", cursor: 1, version: 1, done: false, leaseOwner: "old", leaseExpiresAt: NOW - 1 },
      }),
    );
    const leased = await doctor({ ...base, CHECKPOINT_FILE: file });
    expect(leased.line("Checkpoints")).toBe(
      `✓ Checkpoints: 2 checkpoint(s) in ${file}; lease on a held by cli-42 until ${new Date(until).toISOString()}`,
    );
    const blocked = join(scratch, "garbage.txt");
    writeFileSync(blocked, "a file, not a folder");
    const cannot = await doctor({ ...base, CHECKPOINT_FILE: join(blocked, "checkpoints.json") });
    expect(cannot.code).toBe(1);
    expect(cannot.line("Checkpoints")).toBe(
      `✗ Checkpoints: cannot read ${blocked}/checkpoints.json (ENOTDIR) — set CHECKPOINT_FILE to a file in a writable folder`,
    );
  });

  // Root may write anywhere: the folder's permissions can only refuse another user.
  it.skipIf(process.getuid?.() === 0)("names a checkpoint folder that cannot be written", async () => {
    const folder = mkdtempSync(join(scratch, "read-only-"));
    chmodSync(folder, 0o555);
    try {
      const { code, line } = await doctor({
        ...base,
        CHECKPOINT_FILE: join(folder, "state", "checkpoints.json"),
      });
      expect(code).toBe(1);
      expect(line("Checkpoints")).toBe(
        `✗ Checkpoints: ${join(folder, "state", "checkpoints.json")} cannot be written: ${folder} is not writable` +
          " — set CHECKPOINT_FILE to a file in a writable folder",
      );
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it("lists a DynamoDB checkpoint table, and names a missing one", async () => {
    const dynamo = await startDynalite();
    try {
      const store = new DynamoDbCheckpointStore(dynamo.client, dynamo.table);
      await store.acquire("org-a", "lambda-1", 60_000, Date.now());
      const env = { ...base, CHECKPOINT_TABLE: dynamo.table };
      const aws = fakeAws({ dynamodb: dynamo.client });
      const listed = await inProcess(["doctor"], { env, aws });
      expect(listed.stdout).toMatch(
        new RegExp(
          `✓ Checkpoints: 1 checkpoint\\(s\\) in DynamoDB table ${dynamo.table}; lease on org-a held by lambda-1 until `,
        ),
      );
      const missing = await inProcess(["doctor"], { env: { ...env, CHECKPOINT_TABLE: "nope" }, aws });
      expect(missing.code).toBe(1);
      expect(missing.stdout).toContain(
        "✗ Checkpoints: DynamoDB table nope not found — create it, or fix CHECKPOINT_TABLE (and AWS_REGION)",
      );
    } finally {
      await dynamo.stop();
    }
  });

  it("exits 1 as a process of its own, the checklist on stdout and the error on stderr", async () => {
    const { code, stdout, stderr } = await cliProcess(["doctor"], {
      env: { ...base, JUMPCLOUD_API_KEY: "wrong-key", ELASTICSEARCH_URL: "" },
    });
    expect(code).toBe(1);
    expect(stdout).toContain("✗ JumpCloud: the credentials were refused");
    expect(stdout).toContain("- Elasticsearch: skipped (no ELASTICSEARCH_URL");
    expect(stderr).toMatch(/^error: 1 of 9 checks failed \(JumpCloud\)/m);
  });
});
