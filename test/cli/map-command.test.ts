import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cli, cliProcess, ndjson as lines, ROOT as root } from "../helpers/cli.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { loadSamples, SAMPLE_FILES } from "../helpers/samples.ts";

describe("cli map", () => {
  it("writes _bulk create pairs for the fixture file (as a process of its own)", async () => {
    const { code, stdout, stderr } = await cliProcess([
      "map",
      fixturePath("elastic-jumpcloud/test-events.json"),
    ]);
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

  it.each(SAMPLE_FILES)("maps the sample file %s as it is", async (file) => {
    const { code, stdout } = await cli(["map", "--format", "docs", fixturePath(`jumpcloud-samples/${file}`)]);
    expect(code).toBe(0);
    const docs = lines(stdout);
    const raw = loadSamples().filter((s) => s.file === file);
    expect(docs).toHaveLength(raw.length);
    for (const [i, doc] of docs.entries()) {
      expect(doc.event.kind).toBeUndefined();
      expect(doc.error).toBeUndefined();
      expect(doc.event.id).toBe(raw[i]?.event.id);
      // The event's own time (all samples are UTC), not the collection time.
      expect(doc["@timestamp"].slice(0, 19)).toBe(String(raw[i]?.event.timestamp).slice(0, 19));
      if (raw[i]?.event.event_type) expect(doc.event.action).toBe(raw[i]?.event.event_type);
    }
  });

  it.each([
    [["map"], "not json at all", /no line of the input is a JSON object/],
    [["map"], "1\n\u0000\u00ff garbage\n[2]\n", /no line of the input is a JSON object \(3 line\(s\) read\)/],
    [["map"], "", /input is empty/],
    [["map", "/nonexistent/events.json"], "", /cannot read \/nonexistent\/events\.json: ENOENT/],
    [["map", "--namespace", "Bad-NS"], "{}", /^error: --namespace must be lowercase .*, not "Bad-NS"$/m],
    [["map", "--geoip-city", fixturePath("geoip/GeoLite2-ASN-Test.mmdb")], "{}", /expected a City database/],
    [["map", "--format", "csv"], "{}", /Allowed choices are bulk, docs/],
    [["map", "--namespace", ""], "{}", /--namespace must not be empty/],
    [
      [
        "map",
        "--namespace",
        "Bad",
        "--geoip-city",
        "/nope/City.mmdb",
        "--geoip-asn",
        fixturePath("geoip/GeoLite2-City-Test.mmdb"),
      ],
      "{}",
      /--namespace must be lowercase .*"Bad"[\s\S]*--geoip-city: cannot read the GeoIP City database \/nope\/City\.mmdb[\s\S]*--geoip-asn: .*expected an ASN database/,
    ],
  ])("fails clearly on unusable input: %j", async (args, stdin, message) => {
    const { code, stdout, stderr } = await cli(args, { stdin });
    // Unusable input is a failure (1); a bad flag, variable or GeoIP file is configuration (2).
    expect(code).toBe(/JSON object|input is empty|ENOENT/.test(message.source) ? 1 : 2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("the CLI reference documents the map command's flags", () => {
    const readme = readFileSync(`${root}/docs/cli.md`, "utf8");
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
