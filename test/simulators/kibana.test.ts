import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KibanaEmulator, type KibanaEmulatorOptions } from "../../simulators/kibana/server.ts";

const KEY = "ApiKey emulator-key";
const DASHBOARD = "jumpcloud-fe780080-94a7-11ed-9170-e9f90db17dfc";

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** A started emulator per `describe`, and `call()` (API key and kbn-xsrf unless told otherwise). */
function emulated(options: KibanaEmulatorOptions = {}) {
  const kibana = new KibanaEmulator(options);
  beforeAll(() => kibana.start());
  afterAll(() => kibana.stop());
  const call = async (path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Reply> => {
    const headers = new Headers(init.headers);
    if (init.auth !== null) headers.set("authorization", init.auth ?? KEY);
    if (init.method && init.method !== "GET" && !headers.has("x-no-xsrf")) headers.set("kbn-xsrf", "true");
    headers.delete("x-no-xsrf");
    const res = await fetch(`${kibana.url}${path}`, { ...init, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };
  return { kibana, call };
}

const basic = (userPassword: string) => `Basic ${Buffer.from(userPassword).toString("base64")}`;
const post = (body?: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** A multipart `_import` request of `lines` (objects, or raw text lines) as `filename`. */
function importing(lines: (object | string)[], filename = "rules.ndjson"): RequestInit {
  const form = new FormData();
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");
  form.append("file", new Blob([text]), filename);
  return { method: "POST", body: form };
}

const base = { description: "d", risk_score: 47, severity: "medium" };
const queryRule = (rule_id: string, extra: object = {}) => ({
  rule_id,
  name: `Rule ${rule_id}`,
  type: "query",
  query: "event.action: login",
  ...base,
  ...extra,
});

describe("status, auth, xsrf, routing", () => {
  const t = emulated({
    credentials: { "emulator-key": { fleet: true, rules: true }, "ops:secret": { rules: true } },
  });

  it("answers /api/status in full when authenticated, redacted without credentials", async () => {
    const full = await t.call("/api/status");
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(full.body).toMatchObject({
      name: expect.any(String),
      uuid: expect.any(String),
      version: {
        number: "8.17.0",
        build_hash: expect.any(String),
        build_number: expect.any(Number),
        build_snapshot: false,
      },
      status: { overall: { level: "available" } },
    });
    expect((await t.call("/api/status", { auth: null })).body).toStrictEqual({
      status: { overall: { level: "available" } },
    });
  });

  it("refuses missing and unknown credentials with Kibana's 401 bodies", async () => {
    const missing = await t.call("/api/fleet/check-permissions", { auth: null });
    expect(missing).toMatchObject({
      status: 401,
      body: { statusCode: 401, error: "Unauthorized", message: "Unauthorized" },
    });
    const wrongKey = await t.call("/api/fleet/check-permissions", { auth: "ApiKey nope" });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.message).toContain("unable to authenticate with provided credentials");
    const wrongPassword = await t.call("/api/fleet/check-permissions", { auth: basic("ops:wrong") });
    expect(wrongPassword.body.message).toContain("unable to authenticate user [ops]");
    // Wrong credentials are refused even where none are needed.
    expect((await t.call("/api/status", { auth: "ApiKey nope" })).status).toBe(401);
  });

  it("accepts a basic user and reports it", async () => {
    const privileges = await t.call("/api/detection_engine/privileges", { auth: basic("ops:secret") });
    expect(privileges.body).toMatchObject({
      username: "ops",
      is_authenticated: true,
      has_all_requested: true,
    });
  });

  it("wants kbn-xsrf on every non-GET request", async () => {
    const res = await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", {
      ...post(),
      headers: { "x-no-xsrf": "1" },
    });
    expect(res).toMatchObject({
      status: 400,
      body: { statusCode: 400, error: "Bad Request", message: "Request must contain a kbn-xsrf header." },
    });
    expect(t.kibana.installCount).toBe(0);
  });

  it("answers an unknown path or method with hapi's 404", async () => {
    for (const res of [await t.call("/api/nothing"), await t.call("/api/status", post())])
      expect(res).toMatchObject({
        status: 404,
        body: { statusCode: 404, error: "Not Found", message: "Not Found" },
      });
  });

  it("records requests with their space, and serves injected faults", async () => {
    t.kibana.fail("/api/fleet/check-permissions", 503, undefined, 2);
    expect((await t.call("/s/team-a/api/fleet/check-permissions")).status).toBe(503);
    expect((await t.call("/api/fleet/check-permissions")).body).toMatchObject({ statusCode: 503 });
    expect((await t.call("/api/fleet/check-permissions")).status).toBe(200);
    expect(t.kibana.requests.at(-3)).toMatchObject({ path: "/api/fleet/check-permissions", space: "team-a" });
  });
});

describe("spaces", () => {
  const t = emulated({ spaces: ["team-a"] });

  it("gets existing spaces and 404s others", async () => {
    expect((await t.call("/api/spaces/space/default")).body).toStrictEqual({
      id: "default",
      name: "Default",
      description: "This is your default space!",
      color: "#00bfb3",
      disabledFeatures: [],
      _reserved: true,
    });
    expect((await t.call("/api/spaces/space/team-a")).body).toMatchObject({ id: "team-a" });
    expect(await t.call("/api/spaces/space/ghost")).toMatchObject({
      status: 404,
      body: { statusCode: 404, error: "Not Found", message: "Not Found" },
    });
  });

  it("like Kibana, does not refuse API calls in a space that does not exist: objects land there", async () => {
    const res = await t.call("/s/ghost/api/detection_engine/rules/_import", importing([queryRule("g1")]));
    expect(res.body).toMatchObject({ success: true, success_count: 1 });
    expect(t.kibana.rules("ghost").map((r) => r.rule_id)).toStrictEqual(["g1"]);
    expect(t.kibana.rules()).toStrictEqual([]);
  });
});

describe("Fleet: permissions, package info, install", () => {
  const t = emulated({
    spaces: ["team-a"],
    credentials: { "emulator-key": { fleet: true, rules: true }, "rules-only": { rules: true } },
  });

  it("checks permissions with 200 either way, and refuses Fleet routes with 403", async () => {
    expect((await t.call("/api/fleet/check-permissions")).body).toStrictEqual({ success: true });
    expect((await t.call("/api/fleet/check-permissions", { auth: "ApiKey rules-only" })).body).toStrictEqual({
      success: false,
      error: "MISSING_PRIVILEGES",
    });
    const denied = await t.call("/api/fleet/epm/packages/jumpcloud", { auth: "ApiKey rules-only" });
    expect(denied).toMatchObject({
      status: 403,
      body: { statusCode: 403, error: "Forbidden", message: "Forbidden" },
    });
  });

  it("shows the latest version, not installed, and 404s an unknown version", async () => {
    const info = await t.call("/api/fleet/epm/packages/jumpcloud");
    expect(info.body.item).toMatchObject({
      name: "jumpcloud",
      version: "1.23.0",
      latestVersion: "1.23.0",
      status: "not_installed",
    });
    expect(info.body.item).not.toHaveProperty("installationInfo");
    expect(await t.call("/api/fleet/epm/packages/jumpcloud/9.9.9")).toMatchObject({
      status: 404,
      body: { statusCode: 404, error: "Not Found", message: "jumpcloud@9.9.9 not found" },
    });
    expect((await t.call("/api/fleet/epm/packages/jumpcloud/latest")).status).toBe(400);
  });

  it("refuses an older version than the registry's latest without force, even with nothing installed", async () => {
    const res = await t.call("/api/fleet/epm/packages/jumpcloud/1.22.0", post({}));
    expect(res).toMatchObject({
      status: 400,
      body: {
        error: "Bad Request",
        message: "jumpcloud-1.22.0 is out-of-date and cannot be installed or updated",
      },
    });
    expect(t.kibana.installedPackage()).toBeUndefined();
  });

  it("installs from the space of the request, with the package's assets", async () => {
    const res = await t.call("/s/team-a/api/fleet/epm/packages/jumpcloud/1.23.0", post());
    expect(res.status).toBe(200);
    expect(res.body._meta).toStrictEqual({ install_source: "registry", name: "jumpcloud" });
    expect(res.body.items).toEqual(
      expect.arrayContaining([
        { id: DASHBOARD, type: "dashboard" },
        { id: "logs-jumpcloud.events", type: "index_template" },
        { id: "logs-jumpcloud.events-1.23.0", type: "ingest_pipeline" },
      ]),
    );
    expect(t.kibana.installCount).toBe(1);
    expect(t.kibana.installedPackage()).toStrictEqual({ name: "jumpcloud", version: "1.23.0" });
    expect(t.kibana.dashboards("team-a")).toStrictEqual([DASHBOARD]);
    expect(t.kibana.dashboards()).toStrictEqual([]);
  });

  it("serves the dashboard saved object only in the space it was installed into", async () => {
    const found = await t.call(`/s/team-a/api/saved_objects/dashboard/${DASHBOARD}`);
    expect(found.body).toMatchObject({
      id: DASHBOARD,
      type: "dashboard",
      attributes: { title: "[JumpCloud] Directory Insights Summary" },
    });
    expect(await t.call(`/api/saved_objects/dashboard/${DASHBOARD}`)).toMatchObject({
      status: 404,
      body: {
        statusCode: 404,
        error: "Not Found",
        message: `Saved object [dashboard/${DASHBOARD}] not found`,
      },
    });
  });

  it("answers 'already installed' with the same items and installs nothing", async () => {
    const res = await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", post({ force: false }));
    expect(res.status).toBe(200);
    expect(res.body.items).toContainEqual({ id: DASHBOARD, type: "dashboard" });
    expect(t.kibana.installCount).toBe(1);
    // Nothing reinstalled, so no dashboard in the default space either.
    expect(t.kibana.dashboards()).toStrictEqual([]);
  });

  it("reports the installation whatever version is asked for", async () => {
    const info = await t.call("/api/fleet/epm/packages/jumpcloud/1.22.0");
    expect(info.body.item).toMatchObject({
      version: "1.22.0",
      status: "installed",
      installationInfo: {
        version: "1.23.0",
        install_status: "installed",
        installed_kibana_space_id: "team-a",
      },
      savedObject: { id: "jumpcloud" },
    });
  });

  it("refuses a downgrade without force, does it with force, then upgrades", async () => {
    expect((await t.call("/api/fleet/epm/packages/jumpcloud/1.22.0", post())).status).toBe(400);
    expect((await t.call("/api/fleet/epm/packages/jumpcloud/1.22.0", post({ force: true }))).status).toBe(
      200,
    );
    expect(t.kibana.installedPackage()?.version).toBe("1.22.0");
    // Without a version, Fleet describes the installed version; the latest is in latestVersion.
    const unversioned = await t.call("/api/fleet/epm/packages/jumpcloud");
    expect(unversioned.body.item).toMatchObject({
      version: "1.22.0",
      latestVersion: "1.23.0",
      status: "installed",
    });
    expect((await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", post())).status).toBe(200);
    expect(t.kibana.installedPackage()?.version).toBe("1.23.0");
    expect(t.kibana.installCount).toBe(3);
    expect(t.kibana.dashboards()).toStrictEqual([DASHBOARD]);
  });

  it("validates the install body as Kibana does", async () => {
    expect(
      (await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", { ...post(), body: "{" })).body,
    ).toMatchObject({
      message: "Invalid request payload JSON format",
    });
    expect(
      (await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", post({ force: "yes" }))).body,
    ).toMatchObject({
      message: "[request body.force]: expected value of type [boolean] but got [string]",
    });
  });
});

describe("Fleet without its package registry", () => {
  const t = emulated({ registry: false, version: "9.1.0" });

  it("fails installs and info of a package not installed as Kibana does", async () => {
    expect(await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", post())).toMatchObject({
      status: 404,
      body: { message: "[jumpcloud] package not found in registry" },
    });
    expect(await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0")).toMatchObject({
      status: 404,
      body: { message: "[jumpcloud] package not installed or found in registry" },
    });
  });

  it("serves an installed version from Elasticsearch, and 502s another", async () => {
    t.kibana.registry = true;
    expect((await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0", post())).status).toBe(200);
    t.kibana.registry = false;
    const installed = await t.call("/api/fleet/epm/packages/jumpcloud/1.23.0");
    expect(installed.body.item).toMatchObject({ status: "installed", latestVersion: "1.23.0" });
    // 9.x no longer sends the saved object next to installationInfo.
    expect(installed.body.item).not.toHaveProperty("savedObject");
    const other = await t.call("/api/fleet/epm/packages/jumpcloud/1.22.0");
    expect(other.status).toBe(502);
    expect(other.body.message).toMatch(/^Error connecting to package registry/);
  });
});

describe("detection engine: privileges and import", () => {
  const t = emulated({
    spaces: ["team-a"],
    credentials: { "emulator-key": { fleet: true, rules: true }, "fleet-only": { fleet: true } },
  });

  it("refuses callers without the securitySolution privilege", async () => {
    const res = await t.call("/api/detection_engine/rules/_find?per_page=5", { auth: "ApiKey fleet-only" });
    expect(res).toMatchObject({
      status: 403,
      body: {
        statusCode: 403,
        error: "Forbidden",
        message:
          "API [GET /api/detection_engine/rules/_find?per_page=5] is unauthorized for user, this action is granted by the Kibana privileges [securitySolution]",
      },
    });
  });

  it("reports privileges on the space's alerts index", async () => {
    const { body } = await t.call("/s/team-a/api/detection_engine/privileges");
    expect(body).toMatchObject({ is_authenticated: true, has_encryption_key: true, has_all_requested: true });
    expect(body.index).toStrictEqual({
      ".alerts-security.alerts-team-a": expect.objectContaining({ read: true, write: true }),
    });
  });

  it("checks the file part and its extension", async () => {
    expect(
      await t.call("/api/detection_engine/rules/_import", importing([queryRule("x")], "rules.json")),
    ).toMatchObject({
      status: 400,
      body: { message: "Invalid file extension .json", status_code: 400 },
    });
    const noFile = await t.call("/api/detection_engine/rules/_import", post({}));
    expect(noFile).toMatchObject({ status: 500, body: { status_code: 500 } });
  });

  it("imports valid lines and reports each invalid one, per rule type", async () => {
    const lines = [
      queryRule("q-ok", {
        threat: [
          {
            framework: "MITRE ATT&CK",
            tactic: {
              id: "TA0001",
              name: "Initial Access",
              reference: "https://attack.mitre.org/tactics/TA0001/",
            },
          },
        ],
      }),
      { rule_id: "no-name", type: "query", ...base },
      {
        rule_id: "th-ok",
        name: "t",
        type: "threshold",
        query: "*",
        threshold: { field: "user.name", value: 5 },
        ...base,
      },
      {
        rule_id: "th-bad",
        name: "t",
        type: "threshold",
        query: "*",
        threshold: { field: ["a"], value: 0 },
        ...base,
      },
      {
        rule_id: "nt-ok",
        name: "n",
        type: "new_terms",
        query: "*",
        new_terms_fields: ["source.ip"],
        history_window_start: "now-7d",
        ...base,
      },
      {
        rule_id: "nt-bad",
        name: "n",
        type: "new_terms",
        query: "*",
        new_terms_fields: ["a", "b", "c", "d"],
        ...base,
      },
      { rule_id: "eql-ok", name: "e", type: "eql", language: "eql", query: "any where true", ...base },
      { rule_id: "eql-bad", name: "e", type: "eql", language: "kuery", query: "x", ...base },
      queryRule("sev-bad", { severity: "urgent", risk_score: 101 }),
      queryRule("type-bad", { type: "sigma" }),
      queryRule("threat-bad", { threat: [{ framework: "MITRE ATT&CK" }] }),
      "{not json",
    ];
    const { status, body } = await t.call("/api/detection_engine/rules/_import", importing(lines));
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: false, success_count: 4, rules_count: 12 });
    const messages = (
      body.errors as { rule_id: string; error: { status_code: number; message: string } }[]
    ).map((e) => {
      expect(e).toMatchObject({ rule_id: "(unknown id)", error: { status_code: 400 } });
      return e.error.message;
    });
    expect(messages.slice(0, 7)).toStrictEqual([
      "name: Required",
      "threshold.value: Number must be greater than or equal to 1",
      "new_terms_fields: Array must contain at most 3 element(s), history_window_start: Required",
      'language: Invalid literal value, expected "eql"',
      "risk_score: Number must be less than or equal to 100, severity: Invalid enum value. Expected 'low' | 'medium' | 'high' | 'critical', received 'urgent'",
      "type: Invalid discriminator value. Expected 'eql' | 'query' | 'saved_query' | 'threshold' | 'threat_match' | 'machine_learning' | 'new_terms' | 'esql'",
      "threat.0.tactic: Required",
    ]);
    expect(messages[7]).toMatch(/JSON/);
    expect(body).toMatchObject({
      exceptions_success: true,
      exceptions_success_count: 0,
      exceptions_errors: [],
      action_connectors_success: true,
      action_connectors_success_count: 0,
      action_connectors_errors: [],
      action_connectors_warnings: [],
    });
    expect(t.kibana.rules().map((r) => r.rule_id)).toStrictEqual(["q-ok", "th-ok", "nt-ok", "eql-ok"]);
  });

  it("stores server fields and defaults, drops unknown keys, normalizes the threshold field", async () => {
    const rule = t.kibana.rules().find((r) => r.rule_id === "q-ok");
    expect(rule).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      revision: 0,
      immutable: false,
      rule_source: { type: "internal" },
      enabled: false,
      version: 1,
      max_signals: 100,
      interval: "5m",
      from: "now-6m",
      to: "now",
      language: "kuery",
      exceptions_list: [],
      actions: [],
      tags: [],
      setup: "",
      created_by: "elastic",
    });
    expect(rule).not.toHaveProperty("execution_summary");
    expect(t.kibana.rules().find((r) => r.rule_id === "th-ok")?.threshold).toStrictEqual({
      field: ["user.name"],
      value: 5,
    });
    await t.call(
      "/api/detection_engine/rules/_import?overwrite=true",
      importing([queryRule("extra", { colour: "red" })]),
    );
    expect(t.kibana.rules().find((r) => r.rule_id === "extra")).not.toHaveProperty("colour");
  });

  it("refuses an existing rule_id without overwrite, and a rule_id twice in one file", async () => {
    const again = await t.call("/api/detection_engine/rules/_import", importing([queryRule("q-ok")]));
    expect(again.body).toMatchObject({
      success: false,
      success_count: 0,
      errors: [{ rule_id: "q-ok", error: { status_code: 409, message: 'rule_id: "q-ok" already exists' } }],
    });
    const twice = await t.call(
      "/api/detection_engine/rules/_import",
      importing([queryRule("dup"), queryRule("dup")]),
    );
    expect(twice.body).toMatchObject({
      success_count: 1,
      errors: [
        {
          rule_id: "dup",
          error: { status_code: 400, message: 'More than one rule with rule-id: "dup" found' },
        },
      ],
    });
  });

  it("overwrites in place: same id, revision bumped only by a change, enabled as given", async () => {
    const before = t.kibana.rules().find((r) => r.rule_id === "q-ok");
    const changed = queryRule("q-ok", { query: "event.action: logout", enabled: true });
    await t.call("/api/detection_engine/rules/_import?overwrite=true", importing([changed]));
    const after = t.kibana.rules().find((r) => r.rule_id === "q-ok");
    expect(after).toMatchObject({
      id: before?.id,
      revision: 1,
      enabled: true,
      created_at: before?.created_at,
    });
    await t.call("/api/detection_engine/rules/_import?overwrite=true", importing([changed]));
    expect(t.kibana.rules().find((r) => r.rule_id === "q-ok")?.revision).toBe(1);
  });
});

describe("detection engine: read and _find", () => {
  const t = emulated();
  beforeAll(async () => {
    const rules = Array.from({ length: 25 }, (_, i) =>
      queryRule(`r-${String(i).padStart(2, "0")}`, { tags: i % 5 === 0 ? ["JumpCloud"] : ["Other"] }),
    );
    await t.call("/api/detection_engine/rules/_import", importing(rules));
  });

  it("reads one rule by rule_id, 404 otherwise", async () => {
    expect((await t.call("/api/detection_engine/rules?rule_id=r-03")).body).toMatchObject({
      rule_id: "r-03",
    });
    expect(await t.call("/api/detection_engine/rules?rule_id=nope")).toMatchObject({
      status: 404,
      body: { message: 'rule_id: "nope" not found', status_code: 404 },
    });
  });

  it("pages", async () => {
    const first = await t.call("/api/detection_engine/rules/_find?per_page=10&page=3");
    expect(first.body).toMatchObject({ page: 3, perPage: 10, total: 25 });
    expect((first.body.data as unknown[]).length).toBe(5);
    const defaults = await t.call("/api/detection_engine/rules/_find");
    expect(defaults.body).toMatchObject({ page: 1, perPage: 20, total: 25 });
    expect((await t.call("/api/detection_engine/rules/_find?page=0")).status).toBe(400);
  });

  it("filters by rule ids and by tag, in KQL", async () => {
    const ids = (res: Reply) => (res.body.data as { rule_id: string }[]).map((r) => r.rule_id);
    const one = await t.call(
      `/api/detection_engine/rules/_find?filter=${encodeURIComponent('alert.attributes.params.ruleId: "r-07"')}`,
    );
    expect(ids(one)).toStrictEqual(["r-07"]);
    const some = await t.call(
      `/api/detection_engine/rules/_find?filter=${encodeURIComponent('alert.attributes.params.ruleId: ("r-01" OR "r-02" or "nope")')}`,
    );
    expect(ids(some)).toStrictEqual(["r-01", "r-02"]);
    const tagged = await t.call(
      `/api/detection_engine/rules/_find?filter=${encodeURIComponent('alert.attributes.tags: "JumpCloud"')}`,
    );
    expect(ids(tagged)).toStrictEqual(["r-00", "r-05", "r-10", "r-15", "r-20"]);
  });

  it("refuses a filter on a key the alert saved object does not have, or bad KQL", async () => {
    const key = await t.call(
      `/api/detection_engine/rules/_find?filter=${encodeURIComponent("rule_id: r-01")}`,
    );
    expect(key).toMatchObject({
      status: 400,
      body: { status_code: 400, message: expect.stringContaining("does NOT exist") },
    });
    const syntax = await t.call(
      `/api/detection_engine/rules/_find?filter=${encodeURIComponent("alert.attributes.tags:")}`,
    );
    expect(syntax.status).toBe(400);
  });

  it("sorts, with field and order together only", async () => {
    const desc = await t.call("/api/detection_engine/rules/_find?sort_field=name&sort_order=desc&per_page=1");
    expect((desc.body.data as { rule_id: string }[])[0]?.rule_id).toBe("r-24");
    expect((await t.call("/api/detection_engine/rules/_find?sort_field=name")).body).toStrictEqual({
      message: ['when "sort_order" and "sort_field" must exist together or not at all'],
      status_code: 400,
    });
  });
});
