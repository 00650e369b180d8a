import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../cli/io.ts";
import { runCli } from "../../cli/program.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { cli, cliProcess, ndjson as lines, ROOT as root, testSignals } from "../helpers/cli.ts";
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

/** About `mib` MiB of generated events as JSON texts (a kilobyte or less each). */
function generatedTexts(mib: number): string[] {
  const start = Date.parse("2026-03-01T00:00:00Z");
  const count = Math.ceil((mib * 1024 * 1024) / 600);
  return generateTenantEvents({ seed: 3, start, end: start + 86_400_000, count }).map((g) =>
    JSON.stringify(g.event),
  );
}

describe("cli map, input larger than it holds (streamed)", () => {
  const texts = generatedTexts(2);

  it.each([
    ["a JSON array, one event a line", `[\n${texts.join(",\n")}\n]\n`],
    ["a JSON array on one line", `\uFEFF[${texts.join(",")}]`],
    ["{events: [{message}]}", JSON.stringify({ events: texts.map((message) => ({ message })) }, null, 2)],
    ["one event a line", `${texts.join("\r\n")}\n`],
  ])("maps %s the same as each event alone", async (_form, stdin) => {
    const { code, stdout, stderr } = await cli(["map", "--format", "docs"], { stdin });
    expect(code).toBe(0);
    const docs = lines(stdout);
    expect(docs).toHaveLength(texts.length);
    expect(docs.map((d) => d.event.id)).toStrictEqual(texts.map((t) => JSON.parse(t).id));
    expect(docs.every((d) => d.event.kind === undefined)).toBe(true);
    expect(stderr).toContain(`mapped ${texts.length} event(s)`);
  });

  it("keeps a bad line as an error document, the lines around it mapped", async () => {
    const stdin = [...texts.slice(0, 1000), "{broken", ...texts.slice(1000)].join("\n");
    const { code, stdout, stderr } = await cli(["map", "--format", "docs"], { stdin });
    expect(code).toBe(0);
    const docs = lines(stdout);
    expect(docs).toHaveLength(texts.length + 1);
    expect(docs[1000].event.kind).toBe("pipeline_error");
    expect(docs[1000].event.original).toBe("{broken");
    expect(stderr).toContain(
      `mapped ${texts.length + 1} event(s) for logs-jumpcloud.events-default; 1 pipeline error(s)`,
    );
  });

  it("fails (exit 1) on a JSON array broken part way, the events before it written whole", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "map-")), "cut.json");
    const whole = `[\n${texts.join(",\n")}\n]\n`;
    writeFileSync(file, whole.slice(0, Math.floor(whole.length * 0.75)));
    const { code, stdout, stderr } = await cli(["map", "--format", "bulk", file]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/the input is no valid JSON array past its \d+ event\(s\) read/);
    const out = lines(stdout);
    expect(out.length % 2).toBe(0);
    expect(out.length).toBeGreaterThan(texts.length);
  });

  it("reads stdin as it writes: a chunk of output goes out before most of the input is read", async () => {
    const text = `${texts.join("\n")}\n`;
    const size = 64 * 1024;
    let read = 0;
    const readAtWrite: number[] = [];
    let out = "";
    async function* stdin() {
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < text.length; i += size) {
          read++;
          yield Buffer.from(text.slice(i, i + size));
        }
      }
    }
    const io: CliIo = {
      write: async (chunk) => {
        readAtWrite.push(read);
        out += chunk;
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
      log: () => {},
      readStdin: async () => {
        throw new Error("map reads stdin chunk by chunk");
      },
      readStdinChunks: stdin,
    };
    expect(await runCli(["map", "--format", "docs"], { env: {}, io, signals: testSignals() })).toBe(0);
    expect(lines(out)).toHaveLength(4 * texts.length);
    expect(readAtWrite.length).toBeGreaterThan(4);
    // Each megabyte of output waits for its write: the reader is never far ahead.
    expect(readAtWrite[0]).toBeLessThan(read / 4);
    for (const [i, at] of readAtWrite.entries())
      if (i > 0) expect(at - (readAtWrite[i - 1] ?? 0)).toBeLessThan(30);
  });
});
