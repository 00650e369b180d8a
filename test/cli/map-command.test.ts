import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fixturePath, readJsonFixture } from "../helpers/fixtures.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would (`npm run cli -- ...` runs the same entry point). */
function cli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "cli/main.ts", ...args],
      { cwd: root, env: { PATH: process.env.PATH, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? "");
  });
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

describe("cli map", () => {
  it("writes _bulk create pairs for the fixture file", async () => {
    const { code, stdout, stderr } = await cli(["map", fixturePath("elastic-jumpcloud/test-events.json")]);
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toHaveLength(6);
    expect(out[0]).toStrictEqual({
      create: { _index: "logs-jumpcloud.events-default", _id: "+n2ZBv39b9wASQ0vnepOMg==" },
    });
    expect(out[1].event.id).toBe("63c264c6c1bd55c1b7e901a4");
    expect(stderr).toContain("mapped 3 event(s)");
  });

  it("writes one document per line with --format docs, reading stdin, keeping bad lines as error documents", async () => {
    const stdin = '{"id":"a","timestamp":"2024-05-01T10:00:00Z"}\nnot json\n';
    const { code, stdout, stderr } = await cli(["map", "--format", "docs"], { stdin });
    expect(code).toBe(0);
    const [good, bad] = lines(stdout);
    expect(good["@timestamp"]).toBe("2024-05-01T10:00:00.000Z");
    expect(bad.event.kind).toBe("pipeline_error");
    expect(bad.event.original).toBe("not json");
    expect(stderr).toContain("1 pipeline error(s)");
  });

  it("takes options from flags", async () => {
    const { stdout } = await cli([
      "map",
      "--namespace",
      "team_a",
      "--preserve-original-event",
      "--preserve-duplicate-custom-fields",
      "--geoip-city",
      fixturePath("geoip/GeoLite2-City-Test.mmdb"),
      "--geoip-asn",
      fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
      "--tags",
      "x,y",
      fixturePath("elastic-jumpcloud/test-events.json"),
    ]);
    const [action, doc] = lines(stdout);
    expect(action.create._index).toBe("logs-jumpcloud.events-team_a");
    expect(doc.client.geo.city_name).toBe("London");
    expect(doc.tags).toStrictEqual(["preserve_original_event", "preserve_duplicate_custom_fields", "x", "y"]);
    expect(doc.jumpcloud.event.id).toBe("63c264c6c1bd55c1b7e901a4");
  });

  it("takes options from the environment (DESIGN.md names)", async () => {
    const { stdout } = await cli(
      ["map", "--format", "docs", fixturePath("elastic-jumpcloud/test-events.json")],
      {
        env: {
          DATA_STREAM_NAMESPACE: "from_env",
          PRESERVE_ORIGINAL_EVENT: "true",
          GEOIP_CITY_DB: fixturePath("geoip/GeoLite2-City-Test.mmdb"),
        },
      },
    );
    const [doc] = lines(stdout);
    expect(doc.data_stream.namespace).toBe("from_env");
    expect(typeof doc.event.original).toBe("string");
    expect(doc.client.geo.country_iso_code).toBe("GB");
  });

  it.each([
    "elastic_integrations_jumpcloud.json",
    "jumpcloud_api_doc_examples.json",
    "sumologic_docs_organization_create.json",
  ])("maps the sample file %s", async (file) => {
    const { code, stdout } = await cli(["map", "--format", "docs", fixturePath(`jumpcloud-samples/${file}`)]);
    expect(code).toBe(0);
    const docs = lines(stdout);
    expect(docs.length).toBe(
      readJsonFixture<{ events: unknown[] }>(`jumpcloud-samples/${file}`).events.length,
    );
    for (const doc of docs) expect(doc.event.kind).toBeUndefined();
  });

  it("maps the Sekoia samples as NDJSON on stdin", async () => {
    const { events } = readJsonFixture<{ events: { event: unknown }[] }>(
      "jumpcloud-samples/sekoia_intake_formats_fixtures.json",
    );
    const { code, stdout } = await cli(["map", "--format", "docs", "-"], {
      stdin: events.map((e) => JSON.stringify(e.event)).join("\n"),
    });
    expect(code).toBe(0);
    expect(lines(stdout)).toHaveLength(events.length);
  });

  it.each([
    [["map"], "not json at all", /no valid JSON/],
    [["map"], "", /input is empty/],
    [["map", "/nonexistent/events.json"], "", /cannot read \/nonexistent\/events\.json: ENOENT/],
    [["map", "--namespace", "Bad-NS"], "{}", /DATA_STREAM_NAMESPACE "Bad-NS"/],
    [["map", "--geoip-city", fixturePath("geoip/GeoLite2-ASN-Test.mmdb")], "{}", /expected a City database/],
    [["map", "--format", "csv"], "{}", /Allowed choices are bulk, docs/],
  ])("fails clearly on unusable input: %j", async (args, stdin, message) => {
    const { code, stdout, stderr } = await cli(args, { stdin });
    expect(code).not.toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("README documents the map command's flags", () => {
    const readme = readFileSync(`${root}/README.md`, "utf8");
    for (const flag of [
      "--format",
      "--namespace",
      "--preserve-original-event",
      "--geoip-city",
      "--geoip-asn",
    ]) {
      expect(readme).toContain(flag);
    }
  });
});
